import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { Kafka, logLevel } from 'kafkajs'
import { parseConfig } from '../../src/config/index.ts'
import { translateGroup } from '../../src/failover/translate.ts'
import { bootstrapOf } from '../../tools/harness/harness.ts'
import { uniqueTopic } from '../support/clusters.ts'
import { consumeAndCommit, consumeRest } from '../support/groups.ts'
import { type KcatRecord, kcatReadAll } from '../support/kcat.ts'
import {
  type RunningReplicator,
  admins,
  configYaml,
  endOffsets,
  startReplicator,
  waitFor
} from '../support/replication.ts'
import { progressOf } from '../support/state.ts'

/**
 * Real consumer groups (kafkajs) read part of a topic in dc1 and commit; kafka-dr translates their
 * offsets and syncs them to dc2; a member of the same group on dc2 reads the rest. Checked by record
 * identity: nothing skipped, nothing read twice, for a group near the head, a lagging group, and a
 * group whose committed offset points into a gap (an aborted transaction). The target topic holds
 * local records first, so source and target offsets differ.
 */

const PARTITIONS = 3
const BEFORE_TXN = 600
const AFTER_TXN = 400
const LOCAL_ON_TARGET = 37

describe('consumer offsets: exact translation and group offset sync', () => {
  const { dc1, dc2, close } = admins()
  const topic = uniqueTopic('offsets')
  const groups = { head: `${topic}.g-head`, lag: `${topic}.g-lag`, gap: `${topic}.g-gap` }
  const read = new Map<string, Map<number, string[]>>()
  let source: Map<number, KcatRecord[]>
  let running: RunningReplicator
  let yaml = ''

  before(async () => {
    await dc1.createTopics([{ name: topic, partitions: PARTITIONS }])
    await dc2.createTopics([{ name: topic, partitions: PARTITIONS }])
    const kafka1 = new Kafka({
      brokers: [bootstrapOf(1)],
      clientId: 'kafka-dr-test-offsets',
      logLevel: logLevel.NOTHING
    })
    const kafka2 = new Kafka({
      brokers: [bootstrapOf(2)],
      clientId: 'kafka-dr-test-offsets',
      logLevel: logLevel.NOTHING
    })
    const plain = kafka1.producer()
    const local = kafka2.producer()
    const tx = kafka1.producer({ transactionalId: `${topic}.tx`, idempotent: true, maxInFlightRequests: 1 })
    await Promise.all([plain.connect(), local.connect(), tx.connect()])
    const sendPlain = async (from: number, count: number): Promise<void> => {
      for (let p = 0; p < PARTITIONS; p++) {
        const messages = Array.from({ length: count }, (_, i) => ({ partition: p, value: `s:${p}:${from + i}` }))
        await plain.send({ topic, messages })
      }
    }
    await local.send({
      topic,
      messages: Array.from({ length: PARTITIONS * LOCAL_ON_TARGET }, (_, i) => ({
        partition: i % PARTITIONS,
        value: `local:${i}`
      }))
    })
    await sendPlain(0, BEFORE_TXN)
    for (const commit of [false, true]) {
      const t = await tx.transaction()
      for (let p = 0; p < PARTITIONS; p++) {
        const n = commit ? 5 : 7
        await t.send({
          topic,
          messages: Array.from({ length: n }, (_, i) => ({
            partition: p,
            value: `${commit ? 'tx' : 'aborted'}:${p}:${i}`
          }))
        })
      }
      await (commit ? t.commit() : t.abort())
    }
    await sendPlain(BEFORE_TXN, AFTER_TXN)
    await Promise.all([plain.disconnect(), local.disconnect(), tx.disconnect()])

    // What a read_committed reader sees on the source, with offsets (kcat, independent of our code).
    source = new Map()
    for (const r of await kcatReadAll(bootstrapOf(1), topic)) {
      let list = source.get(r.partition)
      if (list === undefined) source.set(r.partition, (list = []))
      list.push(r)
    }
    for (const list of source.values()) list.sort((a, b) => a.offset - b.offset)
    assert.equal(source.get(0)!.length, BEFORE_TXN + 5 + AFTER_TXN)
    assert.ok(source.get(0)!.every(r => !r.payload!.startsWith('aborted')))

    const stopAt = (index: (records: KcatRecord[]) => number): Map<number, bigint> =>
      new Map([...source].map(([p, records]) => [p, BigInt(records[index(records)]!.offset)]))
    // head: read all but the last 100; lag: read 50; gap: stop at the first committed transactional
    // record, so the commit (last read + 1) is the first offset of the aborted transaction.
    read.set(
      groups.head,
      await consumeAndCommit(
        1,
        groups.head,
        topic,
        stopAt(r => r.length - 100)
      )
    )
    read.set(
      groups.lag,
      await consumeAndCommit(
        1,
        groups.lag,
        topic,
        stopAt(() => 50)
      )
    )
    read.set(
      groups.gap,
      await consumeAndCommit(
        1,
        groups.gap,
        topic,
        stopAt(r => r.findIndex(x => x.payload!.startsWith('tx:')))
      )
    )

    yaml = configYaml(`  - source: dc1
    target: dc2
    checkpointIntervalMs: 1000
    syncGroupOffsets: true
    # The target topic holds dc2's own records before the first copy: copied after them on purpose.
    onForeignTarget: append
    topics: { include: ["${topic}"] }
    groups: { include: ["${topic.replaceAll('.', '\\\\.')}\\\\.g-.*"] }
`)
    running = await startReplicator(yaml)
    const sourceEnd = await endOffsets(dc1, topic, PARTITIONS)
    await waitFor('everything replicated and committed', 30_000, async () =>
      (await progressOf('dc1->dc2', topic, PARTITIONS)).every((o, i) => o === sourceEnd[i])
    )
    await running.replicator.links[0]!.checkpoint()
  })

  after(async () => {
    await running.stop()
    await close()
  })

  test('every committed offset translates exactly, including one inside an aborted transaction', async () => {
    const config = parseConfig(yaml, '<test>')
    for (const group of Object.values(groups)) {
      const result = await translateGroup(config, 'dc1->dc2', group)
      assert.equal(result.sourceReachable, true)
      assert.equal(result.rows.length, PARTITIONS, group)
      for (const row of result.rows) {
        assert.equal(row.exact, true, `${group} ${row.topic}/${row.partition}: ${row.note}`)
        assert.equal(row.notReplicated, 0n)
        assert.ok(row.targetOffset! >= BigInt(LOCAL_ON_TARGET), 'target offsets are shifted by the local records')
      }
    }
    const gapRows = (await translateGroup(config, 'dc1->dc2', groups.gap)).rows
    for (const row of gapRows) {
      const records = source.get(row.partition)!
      assert.ok(
        !records.some(r => BigInt(r.offset) === row.sourceOffset),
        'the gap group committed an offset no record has'
      )
    }
  })

  test('groups resume on dc2 exactly where they left off: nothing skipped, nothing read twice', async () => {
    const rereads: Record<string, number> = {}
    for (const [name, group] of Object.entries(groups)) {
      await waitFor(`${group} offsets synced to dc2`, 15_000, async () => {
        await running.replicator.links[0]!.checkpoint()
        return (await dc2.groupOffsets(group)).get(topic)?.size === PARTITIONS
      })
      const already = read.get(group)!
      const expected = new Map(
        [...source].map(([p, records]) => [p, records.slice(already.get(p)!.length).map(r => r.payload!)])
      )
      const total = [...expected.values()].reduce((n, l) => n + l.length, 0)
      const rest = await consumeRest(2, group, topic, total)
      let reread = 0
      for (let p = 0; p < PARTITIONS; p++) {
        const got = rest.get(p) ?? []
        const seen = new Set(already.get(p))
        reread += got.filter(v => seen.has(v)).length
        assert.deepEqual(got, expected.get(p), `${group} partition ${p}: exactly the records it had not read, in order`)
      }
      rereads[name] = reread
    }
    console.error(`[offsets] re-read after failover per group: ${JSON.stringify(rereads)}`)
    assert.deepEqual(rereads, { head: 0, lag: 0, gap: 0 })
  })

  test('the target group offsets are never moved back once a target consumer moved them', async () => {
    const before = await dc2.groupOffsets(groups.lag)
    await running.replicator.links[0]!.checkpoint()
    const after = await dc2.groupOffsets(groups.lag)
    assert.deepEqual(
      after,
      before,
      'the lagging group consumed to the end on dc2; the older translation is not written back'
    )
  })
})
