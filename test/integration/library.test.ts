import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import kafkajs from 'kafkajs'
import { RecordProducer } from '../../src/kafka/index.ts'
import { bootstrapOf } from '../../tools/harness/harness.ts'
import { clusterConnection, uniqueTopic } from '../support/clusters.ts'
import { kcatCounts, kcatReadAll } from '../support/kcat.ts'
import {
  type RunningReplicator,
  admins,
  namedLinkYaml,
  produceSequence,
  startReplicator,
  waitFor
} from '../support/replication.ts'

/**
 * The library API as another Node program uses it: imported by the package's name (`kafka-dr`, its
 * `exports` entry, built by `npm ci` and again by `npm test`'s pretest), it translates a consumer group's offsets and a client's own
 * source positions, and reads what is not replicated, from what a running replicator stored. The
 * answers are checked against the target's records read with kcat.
 */

const PARTITIONS = 2
const link = `library-${process.pid}`
const topic = uniqueTopic('library')
const group = `library-group-${process.pid}`
const yaml = namedLinkYaml(link, topic)
let replicator: RunningReplicator | null = null

before(async () => {
  const { dc1, close } = admins()
  try {
    await dc1.createTopics([{ name: topic, partitions: PARTITIONS }])
  } finally {
    await close()
  }
  const producer = new RecordProducer(clusterConnection(1), { idempotent: true })
  try {
    await produceSequence(producer, topic, PARTITIONS, 50, 'lib')
  } finally {
    await producer.close()
  }
  replicator = await startReplicator(yaml)
})

after(async () => {
  await replicator?.stop()
})

test("import { translateGroup, translateOffsets, status } from 'kafka-dr' answers from the stored state", async () => {
  // By the package name, as a user's program does: the built entry point, not the sources.
  const kdr = await import('kafka-dr')
  const config = kdr.parseConfig(yaml, '<library test>')
  const targetTopic = replicator!.replicator.status()[0]!.partitions[0]!.targetTopic
  await waitFor('the copy complete', 60_000, async () =>
    (await kcatCounts(bootstrapOf(2), targetTopic, PARTITIONS, 'read_uncommitted')).every(n => n === 50)
  )
  const source = new kafkajs.Kafka({ brokers: [bootstrapOf(1)], logLevel: kafkajs.logLevel.NOTHING }).admin()
  await source.connect()
  try {
    await source.setOffsets({
      groupId: group,
      topic,
      partitions: [
        { partition: 0, offset: '20' },
        { partition: 1, offset: '50' }
      ]
    })
  } finally {
    await source.disconnect()
  }
  // The replicator commits progress every 200 ms: translation reads it from the state topic.
  const translation = await waitFor('a translation of every partition', 30_000, async () => {
    const t = await kdr.translateGroup(config, link, group)
    return t.rows.length === PARTITIONS && t.rows.every(r => r.targetOffset !== null && r.exact) ? t : undefined
  })
  const targetRecords = await kcatReadAll(bootstrapOf(2), targetTopic, 'read_uncommitted')
  for (const row of translation.rows) {
    // Exact: the record before the target offset is the copy of the record before the source offset.
    const before = targetRecords.find(r => r.partition === row.partition && BigInt(r.offset) === row.targetOffset! - 1n)
    assert.equal(
      before?.payload,
      `lib:${row.partition}:${row.sourceOffset - 1n}`,
      `partition ${row.partition}: source ${row.sourceOffset} -> target ${row.targetOffset}`
    )
    assert.equal(row.notReplicated, 0n)
  }

  const {
    rows: [own]
  } = await kdr.translateOffsets(config, link, [{ topic, partition: 1, offset: 30n }])
  assert.equal(own?.exact, true)
  const copy = targetRecords.find(r => r.partition === 1 && BigInt(r.offset) === own!.targetOffset!)
  assert.equal(copy?.payload, 'lib:1:30', 'the target offset holds the copy of source offset 30')

  await assert.rejects(
    kdr.translateOffsets(config, link, [{ topic: 'not-replicated', partition: 0, offset: 0n }]),
    (error: unknown) => kdr.KdrError.is(error) && /does not replicate topic "not-replicated"/.test(error.message)
  )
  await assert.rejects(
    kdr.translateOffsets(config, link, [{ topic, partition: -1, offset: 0n }]),
    /partition must be a whole number >= 0/
  )

  const [linkStatus] = await kdr.status(config, link)
  assert.equal(linkStatus?.partitions.length, PARTITIONS)
  assert.ok(
    linkStatus!.partitions.every(p => p.records === 0n),
    linkStatus!.partitions.map(p => `${p.partition}: ${p.records}`).join(', ')
  )
})
