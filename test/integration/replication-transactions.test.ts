import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Kafka, logLevel } from 'kafkajs'
import { bootstrapOf } from '../../tools/harness/harness.ts'
import { uniqueTopic } from '../support/clusters.ts'
import { kcatReadAll } from '../support/kcat.ts'
import { admins, configYaml, endOffsets, startReplicator, waitFor } from '../support/replication.ts'
import { progressOf } from '../support/state.ts'

/** A transactional source (written by kafkajs): committed records are copied, aborted ones and markers never. */
test('read_committed: aborted transactions and control records never reach the target', async () => {
  const { dc1, close } = admins()
  const topic = uniqueTopic('txn')
  await dc1.createTopics([{ name: topic, partitions: 2 }])
  const kafka = new Kafka({ brokers: [bootstrapOf(1)], clientId: 'kafka-dr-test-txn', logLevel: logLevel.NOTHING })
  const tx = kafka.producer({ transactionalId: `${topic}.tx`, idempotent: true, maxInFlightRequests: 1 })
  const plain = kafka.producer()
  await Promise.all([tx.connect(), plain.connect()])
  const expected: string[][] = [[], []]
  let n = 0
  // Transactions of growing size, every other one aborted, with plain writes in between.
  for (let size = 1; size <= 8; size++) {
    const commit = size % 2 === 1
    const t = await tx.transaction()
    const values = [...Array(size).keys()].map(() => `${commit ? 'c' : 'a'}${n++}`)
    await t.send({ topic, messages: values.map((value, i) => ({ value, partition: i % 2 })) })
    if (commit) values.forEach((v, i) => expected[i % 2]!.push(v))
    await (commit ? t.commit() : t.abort())
    await plain.send({ topic, messages: [{ value: `p${n}`, partition: size % 2 }] })
    expected[size % 2]!.push(`p${n++}`)
  }
  await Promise.all([tx.disconnect(), plain.disconnect()])

  const running = await startReplicator(
    configYaml(`  - source: dc1\n    target: dc2\n    topics: { include: ["${topic}"] }\n`)
  )
  try {
    const sourceEnd = await endOffsets(dc1, topic, 2)
    await waitFor('progress past every marker', 20_000, async () => {
      const progress = await progressOf('dc1->dc2', topic, 2)
      return progress.every((o, i) => o === sourceEnd[i])
    })
    const copied = await kcatReadAll(bootstrapOf(2), topic)
    for (const p of [0, 1]) {
      const values = copied
        .filter(r => r.partition === p)
        .sort((a, b) => a.offset - b.offset)
        .map(r => r.payload)
      assert.deepEqual(values, expected[p], `partition ${p}`)
    }
    const [status] = running.replicator.status()
    assert.ok(
      status!.partitions.every(p => p.lagRecords === 0n),
      'markers count as replicated positions'
    )
  } finally {
    await running.stop()
    await close()
  }
})
