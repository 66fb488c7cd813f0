import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { KdrError } from '../../src/errors.ts'
import { classifyProduceError } from '../../src/engine/errors.ts'
import { BatchProducer, KafkaAdmin, RecordBatchWriter } from '../../src/kafka/index.ts'
import { bootstrapOf } from '../../tools/harness/harness.ts'
import { clusterConnection, uniqueTopic } from '../support/clusters.ts'
import { headerPairs, kcatReadAll } from '../support/kcat.ts'

/**
 * The data path's producer of ready-made batches against a real broker, read back by kcat: offsets
 * it reports, idempotent sequences across batches, and the errors the copier's policies rely on.
 */

const b = (s: string): Buffer => Buffer.from(s)

function batchOf(values: (string | null)[], timestamp = 1_700_000_000_000): Buffer {
  const writer = new RecordBatchWriter()
  writer.begin(0)
  values.forEach((v, i) =>
    writer.appendRecord(timestamp + i, i % 2 === 0 ? b(`k${i}`) : null, v === null ? null : b(v), [[b('h'), b(`${i}`)]])
  )
  return writer.finish(0, null)
}

describe('BatchProducer', () => {
  const connection = clusterConnection(2)
  const admin = new KafkaAdmin(connection)
  const producer = new BatchProducer(connection)
  after(async () => {
    await producer.close()
    await admin.close()
  })

  test('batches land in order with the offsets it reports; kcat reads keys, values, headers, timestamps', async () => {
    const topic = uniqueTopic('batch.producer')
    await admin.createTopics([{ name: topic, partitions: 2 }])
    const first = await producer.send(topic, 1, batchOf(['a', null, 'c']))
    const second = await producer.send(topic, 1, batchOf(['d', 'e'], 1_700_000_100_000))
    const other = await producer.send(topic, 0, batchOf(['x']))
    assert.deepEqual([first, second, other], [0n, 3n, 0n])
    const read = (await kcatReadAll(bootstrapOf(2), topic))
      .filter(r => r.partition === 1)
      .sort((x, y) => x.offset - y.offset)
    assert.deepEqual(
      read.map(r => [r.offset, r.key, r.payload, r.ts, headerPairs(r.headers)]),
      [
        [0, 'k0', 'a', 1_700_000_000_000, [['h', '0']]],
        [1, null, null, 1_700_000_000_001, [['h', '1']]],
        [2, 'k2', 'c', 1_700_000_000_002, [['h', '2']]],
        [3, 'k0', 'd', 1_700_000_100_000, [['h', '0']]],
        [4, null, 'e', 1_700_000_100_001, [['h', '1']]]
      ]
    )
  })

  test('sends to several partitions in the same turn share a request and each gets its own offset', async () => {
    const topic = uniqueTopic('batch.producer.many')
    await admin.createTopics([{ name: topic, partitions: 6 }])
    const offsets = await Promise.all([0, 1, 2, 3, 4, 5].map(p => producer.send(topic, p, batchOf(['v', 'w']))))
    assert.deepEqual(offsets, [0n, 0n, 0n, 0n, 0n, 0n])
    const read = await kcatReadAll(bootstrapOf(2), topic)
    assert.equal(read.length, 12)
  })

  test('a partition beyond the topic is an error naming it, never another partition', async () => {
    const topic = uniqueTopic('batch.producer.missing')
    await admin.createTopics([{ name: topic, partitions: 1 }])
    await assert.rejects(producer.send(topic, 3, batchOf(['z'])), (error: unknown) => {
      assert.ok(KdrError.is(error))
      assert.match(error.message, /partition 3 does not exist \(the topic has 1\).*cluster dc2, topic .*, partition 3/)
      return true
    })
    assert.equal((await kcatReadAll(bootstrapOf(2), topic)).length, 0)
  })

  test('a batch over the topic limit is refused as MESSAGE_TOO_LARGE, a record error for the copier', async () => {
    const topic = uniqueTopic('batch.producer.large')
    await admin.createTopics([{ name: topic, partitions: 1, configs: { 'max.message.bytes': '10000' } }])
    const error = await producer.send(topic, 0, batchOf(['y'.repeat(20_000)])).then(
      () => null,
      (e: unknown) => e
    )
    assert.ok(KdrError.is(error), 'refused')
    assert.deepEqual(classifyProduceError(error), { kind: 'record', name: 'MESSAGE_TOO_LARGE' })
    // The refusal did not use up a sequence number: the next batch is accepted at offset 0.
    assert.equal(await producer.send(topic, 0, batchOf(['small'])), 0n)
  })
})
