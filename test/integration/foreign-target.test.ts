import assert from 'node:assert/strict'
import { test } from 'node:test'
import kafkajs from 'kafkajs'
import { RecordProducer } from '../../src/kafka/index.ts'
import { bootstrapOf } from '../../tools/harness/harness.ts'
import { clusterConnection, uniqueTopic } from '../support/clusters.ts'
import { kcatCounts } from '../support/kcat.ts'
import { admins, configYaml, produceSequence, startReplicator, waitFor } from '../support/replication.ts'

/**
 * A target topic that already holds records kafka-dr did not write (docs/replication.md "Nothing
 * silent"): the partitions with foreign data stop with KDR_ERR_FOREIGN_TARGET instead of being
 * written into; empty partitions of the same topic are copied; `onForeignTarget: append` copies after
 * the foreign records. The target is counted with kcat.
 */

test('a target partition with foreign records is not written into unless onForeignTarget: append', async () => {
  const topic = uniqueTopic('foreign')
  const link = `foreign-${process.pid}`
  const { dc1, dc2, close } = admins()
  try {
    await dc1.createTopics([{ name: topic, partitions: 2 }])
    await dc2.createTopics([{ name: topic, partitions: 2 }])
  } finally {
    await close()
  }
  // Someone else's records in partition 0 of the target topic (no kafka-dr provenance).
  const other = new kafkajs.Kafka({ brokers: [bootstrapOf(2)], logLevel: kafkajs.logLevel.NOTHING }).producer()
  await other.connect()
  await other.send({ topic, messages: [0, 1, 2].map(i => ({ partition: 0, value: `foreign-${i}` })) })
  await other.disconnect()
  const producer = new RecordProducer(clusterConnection(1), { idempotent: true })
  try {
    await produceSequence(producer, topic, 2, 10, 'f')
  } finally {
    await producer.close()
  }

  const yaml = (extra: string): string =>
    configYaml(
      `  - name: ${link}\n    source: dc1\n    target: dc2\n    delivery: at-least-once\n    commitIntervalMs: 200\n    topics: { include: ["${topic}"] }\n${extra}`
    )
  const stopped = await startReplicator(yaml(''))
  try {
    await waitFor('partition 1 copied', 30_000, async () => (await kcatCounts(bootstrapOf(2), topic, 2))[1] === 10)
    const p0 = stopped.replicator.status()[0]!.partitions.find(p => p.partition === 0)!
    assert.equal(p0.state, 'errored')
    assert.match(p0.reason ?? '', /holds records kafka-dr did not write \(3 offsets/)
    assert.match(p0.reason ?? '', new RegExp(`cluster dc2, topic ${topic}, partition 0`))
    assert.ok(stopped.logs.some(l => l.includes('KDR_ERR_FOREIGN_TARGET')))
    assert.deepEqual(await kcatCounts(bootstrapOf(2), topic, 2), [3, 10], 'nothing written into partition 0')
  } finally {
    await stopped.stop()
  }

  const appending = await startReplicator(yaml('    onForeignTarget: append\n'))
  try {
    await waitFor('partition 0 copied after the foreign records', 30_000, async () => {
      const counts = await kcatCounts(bootstrapOf(2), topic, 2)
      return counts[0] === 13 && counts[1] === 10
    })
    const states = appending.replicator.status()[0]!.partitions.map(p => p.state)
    assert.deepEqual(states, ['running', 'running'])
    assert.ok(
      appending.logs.some(l => l.includes('onForeignTarget=append, copying after them') && l.includes('"partition":0')),
      'what is appended after is said'
    )
  } finally {
    await appending.stop()
  }
})
