import assert from 'node:assert/strict'
import { test } from 'node:test'
import { classifyProduceError } from '../../../src/engine/errors.ts'
import { BatchProducer, ProducerClosedError, RecordBatchWriter } from '../../../src/kafka/index.ts'

/** A closed batch producer refuses sends with its own error, which the copier never retries. */
test('a send after close() is refused as ProducerClosedError, naming cluster, topic and partition', async () => {
  // Nothing listens on port 9: the refusal must come before any network call.
  const producer = new BatchProducer({ alias: 'dc2', bootstrap: ['127.0.0.1:9'] })
  await producer.close()
  const writer = new RecordBatchWriter()
  writer.begin(0)
  writer.appendRecord(1_700_000_000_000, null, Buffer.from('v'), [])
  const error = await producer.send('orders', 3, writer.finish(0, null)).then(
    () => null,
    (e: unknown) => e
  )
  assert.ok(error instanceof ProducerClosedError)
  assert.match(error.message, /producer is closed \(cluster dc2, topic orders, partition 3\)/)
  assert.equal(classifyProduceError(error).kind, 'closed')
})
