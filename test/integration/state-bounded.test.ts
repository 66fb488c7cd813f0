import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { Kafka, logLevel } from 'kafkajs'
import { parseConfig } from '../../src/config/index.ts'
import { ensureStateTopic, loadLinkState, partitionKey } from '../../src/state/index.ts'
import { translateGroup } from '../../src/failover/translate.ts'
import { bootstrapOf } from '../../tools/harness/harness.ts'
import { clusterConnection, uniqueTopic } from '../support/clusters.ts'
import { kcatReadAll } from '../support/kcat.ts'
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
 * Thousands of small source transactions (each leaves a commit marker: a gap in source offsets) on 4
 * partitions, replicated with a restart in the middle and other writers' records on the target. What
 * kafka-dr writes to __kdr_state stays bounded by commits and partitions, not by gaps, and group
 * offsets at records and at markers translate exactly (checked against the target's records read
 * with kafkajs, whose provenance headers are decoded here independently of src/).
 */

const PARTITIONS = 4
const TRANSACTIONS_PER_PARTITION = 500
const LOCAL_ON_TARGET = 11

/** The documented kdr-prov layout, decoded without src/: [version, hops, L, origin, T, topic, partition, offset]. */
function provenance(value: Buffer | undefined): { topic: string; partition: number; offset: bigint } | null {
  if (value === undefined || value.length < 3) return null
  const originLength = value[2]!
  let at = 3 + originLength
  const topicLength = value.readUInt16BE(at)
  at += 2
  const topic = value.subarray(at, at + topicLength).toString()
  at += topicLength
  return { topic, partition: value.readInt32BE(at), offset: value.readBigInt64BE(at + 4) }
}

interface TargetRecord {
  offset: bigint
  /** Source offset from the provenance header, null for another writer's record. */
  source: bigint | null
}

/** Every record of the target partitions (kafkajs), in offset order. */
async function readTarget(topic: string, ends: bigint[]): Promise<Map<number, TargetRecord[]>> {
  const kafka = new Kafka({ brokers: [bootstrapOf(2)], clientId: 'kafka-dr-test-state', logLevel: logLevel.NOTHING })
  const consumer = kafka.consumer({ groupId: `${topic}.reader` })
  const out = new Map<number, TargetRecord[]>([...Array(PARTITIONS).keys()].map(p => [p, []]))
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  let finish: () => void = () => {}
  const finished = new Promise<void>(resolve => (finish = resolve))
  const done = (): boolean => [...out].every(([p, list]) => BigInt(list.length) >= ends[p]!)
  await consumer.run({
    autoCommit: false,
    eachMessage: ({ partition, message }) => {
      const header = message.headers?.['kdr-prov']
      const p = provenance(Buffer.isBuffer(header) ? header : undefined)
      out.get(partition)!.push({
        offset: BigInt(message.offset),
        source: p !== null && p.topic === topic && p.partition === partition ? p.offset : null
      })
      if (done()) finish()
      return Promise.resolve()
    }
  })
  await Promise.race([finished, new Promise(resolve => setTimeout(resolve, 30_000).unref())])
  await consumer.disconnect()
  return out
}

/** State records whose key names `link`, from offset `from` of __kdr_state on dc2 (kafkajs). */
async function stateRecordsOf(link: string, from: bigint, to: bigint): Promise<number> {
  if (to <= from) return 0
  const kafka = new Kafka({ brokers: [bootstrapOf(2)], clientId: 'kafka-dr-test-state', logLevel: logLevel.NOTHING })
  const consumer = kafka.consumer({ groupId: `kafka-dr-test-state-count-${link}` })
  let count = 0
  let finish: () => void = () => {}
  const finished = new Promise<void>(resolve => (finish = resolve))
  await consumer.connect()
  await consumer.subscribe({ topic: '__kdr_state', fromBeginning: true })
  await consumer.run({
    autoCommit: false,
    eachMessage: ({ message }) => {
      const offset = BigInt(message.offset)
      if (offset >= from && offset < to && message.key?.toString().includes(JSON.stringify(link)) === true) count++
      if (offset >= to - 1n) finish()
      return Promise.resolve()
    }
  })
  consumer.seek({ topic: '__kdr_state', partition: 0, offset: String(from) })
  await Promise.race([finished, new Promise(resolve => setTimeout(resolve, 30_000).unref())])
  await consumer.disconnect()
  return count
}

describe('state stays bounded whatever the source does', () => {
  const { dc1, dc2, close } = admins()
  const topic = uniqueTopic('state-bounded')
  const link = `state-bounded-${topic.slice(-8)}`
  let yaml = ''
  let running: RunningReplicator | null = null
  let stateBefore = 0n
  let stateAfter = 0n
  let sourceRecords: Map<number, number[]>
  let sourceEnds: bigint[]

  before(async () => {
    await dc1.createTopics([{ name: topic, partitions: PARTITIONS }])
    await dc2.createTopics([{ name: topic, partitions: PARTITIONS }])
    stateBefore = (await dc2.listOffsets('__kdr_state', [0], 'latest')).get(0) ?? 0n
    yaml = configYaml(`  - name: ${link}
    source: dc1
    target: dc2
    commitIntervalMs: 500
    # dc2's own records are in the target topic before the first copy: copied after them on purpose.
    onForeignTarget: append
    topics: { include: ["${topic}"] }
`)
    const kafka1 = new Kafka({ brokers: [bootstrapOf(1)], clientId: 'kafka-dr-test-state', logLevel: logLevel.NOTHING })
    const kafka2 = new Kafka({ brokers: [bootstrapOf(2)], clientId: 'kafka-dr-test-state', logLevel: logLevel.NOTHING })
    const local = kafka2.producer()
    await local.connect()
    const writeLocal = (tag: string): Promise<unknown> =>
      local.send({
        topic,
        messages: Array.from({ length: PARTITIONS * LOCAL_ON_TARGET }, (_, i) => ({
          partition: i % PARTITIONS,
          value: `local:${tag}:${i}`
        }))
      })
    await writeLocal('before')
    // One transactional producer per partition, each committing transactions of 1-2 records.
    const producers = [...Array(PARTITIONS).keys()].map(p =>
      kafka1.producer({ transactionalId: `${topic}.tx${p}`, idempotent: true, maxInFlightRequests: 1 })
    )
    await Promise.all(producers.map(p => p.connect()))
    const produce = (from: number, to: number): Promise<unknown> =>
      Promise.all(
        producers.map(async (producer, p) => {
          for (let i = from; i < to; i++) {
            const t = await producer.transaction()
            await t.send({
              topic,
              messages: Array.from({ length: 1 + (i % 2) }, (_, j) => ({ partition: p, value: `tx:${p}:${i}:${j}` }))
            })
            await t.commit()
          }
        })
      )
    running = await startReplicator(yaml)
    await produce(0, TRANSACTIONS_PER_PARTITION / 2)
    await writeLocal('middle')
    // A restart in the middle: a new copier session (a new segment) per partition.
    await waitFor('first half replicated', 30_000, async () => {
      const ends = await endOffsets(dc1, topic, PARTITIONS)
      return (await progressOf(link, topic, PARTITIONS)).every((o, i) => o === ends[i])
    })
    await running.stop()
    running = await startReplicator(yaml)
    await produce(TRANSACTIONS_PER_PARTITION / 2, TRANSACTIONS_PER_PARTITION)
    await Promise.all([...producers.map(p => p.disconnect()), local.disconnect()])
    sourceEnds = await endOffsets(dc1, topic, PARTITIONS)
    await waitFor('everything replicated and committed', 60_000, async () =>
      (await progressOf(link, topic, PARTITIONS)).every((o, i) => o === sourceEnds[i])
    )
    stateAfter = (await dc2.listOffsets('__kdr_state', [0], 'latest')).get(0) ?? 0n
    sourceRecords = new Map()
    for (const r of await kcatReadAll(bootstrapOf(1), topic)) {
      let list = sourceRecords.get(r.partition)
      if (list === undefined) sourceRecords.set(r.partition, (list = []))
      list.push(r.offset)
    }
  })

  after(async () => {
    await running?.stop()
    await close()
  })

  test('the state topic grows by fewer records than there were transactions', async () => {
    const transactions = PARTITIONS * TRANSACTIONS_PER_PARTITION
    const written = await stateRecordsOf(link, stateBefore, stateAfter)
    console.error(`state records written for ${transactions} source transactions: ${written}`)
    assert.ok(written > 0)
    assert.ok(written < transactions / 2, `${written} state records for ${transactions} transactions`)
    // Two copier sessions: at most two segments per partition are stored, whatever the markers.
    const target = clusterConnection(2)
    const { partitions } = await loadLinkState(target, dc2, link)
    for (let p = 0; p < PARTITIONS; p++) {
      const segments = partitions.get(partitionKey(topic, p))?.copies.segments ?? []
      assert.ok(segments.length >= 1 && segments.length <= 2, `partition ${p}: ${segments.length} segments`)
    }
  })

  test('group offsets at records and at commit markers translate exactly', async () => {
    const config = parseConfig(yaml, '<test>')
    const readStarted = Date.now()
    const target = await readTarget(topic, await endOffsets(dc2, topic, PARTITIONS))
    console.error(`target read in ${Date.now() - readStarted} ms`)
    {
      // Per partition: offsets of records and of markers spread over the whole partition.
      const samples = 8
      const groups: string[] = []
      for (let g = 0; g < samples; g++) {
        const group = `${topic}.g${g}`
        groups.push(group)
        const partitions = [...Array(PARTITIONS).keys()].map(p => {
          const records = sourceRecords.get(p)!
          const present = new Set(records)
          let i = Math.floor(((g + 0.5) / samples) * records.length)
          // Odd samples: the offset right after a transaction's last record, i.e. its commit marker.
          if (g % 2 === 1) while (present.has(records[i]! + 1)) i++
          const offset = g % 2 === 0 ? records[i]! : records[i]! + 1
          return [p, BigInt(offset)] as const
        })
        // Setup only (what an application's commit leaves): the translation is checked independently below.
        await dc1.commitGroupOffsets(group, new Map([[topic, new Map(partitions)]]))
      }
      let atMarkers = 0
      for (const group of groups) {
        const started = Date.now()
        const result = await translateGroup(config, link, group)
        console.error(`${group}: ${result.targetReads} target reads, ${Date.now() - started} ms`)
        assert.equal(result.rows.length, PARTITIONS, group)
        // Bounded work: a binary search per partition over at most a few thousand target offsets.
        assert.ok(result.targetReads <= PARTITIONS * 32, `${result.targetReads} target reads for ${group}`)
        for (const row of result.rows) {
          const committed = row.sourceOffset
          if (!sourceRecords.get(row.partition)!.includes(Number(committed))) atMarkers++
          // Expected: the first copy (latest copy session first) with a source offset >= committed.
          const copies = target.get(row.partition)!.filter(r => r.source !== null)
          const candidates = copies.filter(r => r.source! >= committed)
          const want = candidates.at(0)
          assert.ok(want !== undefined, `${group} p${row.partition}: a copy at or after ${committed}`)
          assert.equal(row.exact, true, `${group} p${row.partition}`)
          // With one copy per source offset (no replay), the first such copy is the resume point.
          assert.equal(row.targetOffset, want.offset, `${group} p${row.partition} committed ${committed}`)
        }
      }
      assert.ok(atMarkers >= (samples / 2) * PARTITIONS, `${atMarkers} offsets at markers`)
    }
  })
})

test('an existing state topic that is not compacted is refused with the fix', async () => {
  const { dc2, close } = admins()
  const name = uniqueTopic('kdr-state-delete')
  try {
    await dc2.createTopics([{ name, partitions: 1, configs: { 'cleanup.policy': 'delete' } }])
    await assert.rejects(ensureStateTopic(dc2, null, name), (error: Error) => {
      assert.match(error.message, new RegExp(`state topic ${name.replaceAll('.', '\\.')} on cluster dc2`))
      assert.match(error.message, /cleanup\.policy=delete/)
      assert.match(error.message, /--add-config cleanup\.policy=compact/)
      return true
    })
    // A compacted one is accepted as it is.
    const compacted = uniqueTopic('kdr-state-compact')
    await dc2.createTopics([{ name: compacted, partitions: 1, configs: { 'cleanup.policy': 'compact' } }])
    await ensureStateTopic(dc2, null, compacted)
  } finally {
    await close()
  }
})
