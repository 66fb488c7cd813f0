import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { Kafka, logLevel } from 'kafkajs'
import { parseConfig } from '../../src/config/index.ts'
import { loadLinkState } from '../../src/state/index.ts'
import { failover } from '../../src/failover/failover.ts'
import { RecordProducer, type RecordToProduce } from '../../src/kafka/index.ts'
import { bootstrapOf } from '../../tools/harness/harness.ts'
import { clusterConnection, uniqueTopic } from '../support/clusters.ts'
import { consumeAndCommit } from '../support/groups.ts'
import { admins, endOffsets, namedLinkYaml, startReplicator, waitFor } from '../support/replication.ts'

/**
 * Failover never races a writing replicator: failover starts while the replicator copies a large backlog
 * at full speed; it waits for the replicator's `fenced` heartbeat, and the failover points it records are
 * exactly where the target's partitions end once the replicator stopped (read with kafkajs, which shares
 * no code with kafka-dr). A group committed on the source resumes on the target exactly after its
 * position: nothing skipped, nothing read twice.
 */

const PARTITIONS = 4
const PER_PARTITION = 125_000
const GROUP_AT = 1000n

/** Records `a:<partition>:<seq>|xxx...` for seq in [from, to) on every partition. */
async function producePadded(producer: RecordProducer, topic: string, from = 0, to = PER_PARTITION): Promise<void> {
  const pad = '|'.padEnd(80, 'x')
  const chunk = 2500
  for (let start = from; start < to; start += chunk) {
    const records: RecordToProduce[] = []
    for (let p = 0; p < PARTITIONS; p++) {
      for (let seq = start; seq < Math.min(start + chunk, to); seq++) {
        records.push({
          partition: p,
          timestamp: BigInt(Date.now()),
          key: Buffer.from(`k${seq % 97}`),
          value: Buffer.from(`a:${p}:${seq}${pad}`),
          headers: []
        })
      }
    }
    await producer.send(topic, records)
  }
}

/** End offsets through kafkajs. */
async function kafkajsEnds(clusterIndex: number, topic: string): Promise<bigint[]> {
  const admin = new Kafka({ brokers: [bootstrapOf(clusterIndex)], logLevel: logLevel.NOTHING }).admin()
  await admin.connect()
  try {
    const offsets = await admin.fetchTopicOffsets(topic)
    return offsets.sort((a, b) => a.partition - b.partition).map(o => BigInt(o.high))
  } finally {
    await admin.disconnect()
  }
}

/**
 * A kafkajs group member on dc2 reading from the group's committed position until every partition
 * reached `ends`: per partition the offsets and values it read, in order.
 */
async function readToEnds(
  group: string,
  topic: string,
  ends: bigint[]
): Promise<Map<number, { offsets: bigint[]; values: string[] }>> {
  const kafka = new Kafka({ brokers: [bootstrapOf(2)], clientId: `${group}-resume`, logLevel: logLevel.NOTHING })
  const consumer = kafka.consumer({ groupId: group, sessionTimeout: 10_000, heartbeatInterval: 1000 })
  const read = new Map<number, { offsets: bigint[]; values: string[] }>(
    ends.map((_, p) => [p, { offsets: [], values: [] }])
  )
  const reached = new Set<number>(ends.flatMap((end, p) => (end === GROUP_AT ? [p] : [])))
  let finish: () => void = () => {}
  const finished = new Promise<void>(resolve => (finish = resolve))
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      const entry = read.get(batch.partition)!
      for (const message of batch.messages) {
        entry.offsets.push(BigInt(message.offset))
        entry.values.push(message.value?.toString().split('|')[0] ?? '')
        if (BigInt(message.offset) + 1n >= ends[batch.partition]!) reached.add(batch.partition)
      }
      if (reached.size === ends.length) finish()
    }
  })
  if (reached.size === ends.length) finish()
  try {
    await Promise.race([
      finished,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`group ${group} did not reach the end offsets`)), 120_000).unref()
      )
    ])
  } finally {
    await consumer.disconnect()
  }
  return read
}

describe('failover under load', () => {
  const { dc1, dc2, close } = admins()
  const p1 = new RecordProducer(clusterConnection(1))
  after(async () => {
    await p1.close()
    await close()
  })

  test('failover mid-copy: points equal the target ends after the replicator stopped; the moved group resumes exactly', async () => {
    const topic = uniqueTopic('dr-load')
    const link = `${topic}-link`
    const group = `${topic}.app`
    const yaml = namedLinkYaml(link, topic, group)
    const config = parseConfig(yaml, '<test>')
    const auditFile = join(tmpdir(), `${topic}-audit.jsonl`)
    await dc1.createTopics([{ name: topic, partitions: PARTITIONS }])
    // 500,000 records of ~100 bytes: a backlog the replicator needs seconds to copy at full speed.
    await producePadded(p1, topic)
    await consumeAndCommit(1, group, topic, new Map([...Array(PARTITIONS).keys()].map(p => [p, GROUP_AT])))
    const sourceEnds = await kafkajsEnds(1, topic)
    assert.deepEqual(sourceEnds, Array(PARTITIONS).fill(BigInt(PER_PARTITION)))

    const running = await startReplicator(yaml)
    // Producers keep writing to dc1 until failover has returned: the replicator is busy copying when
    // the fence lands, and records written after it exist on the source only, however fast the
    // machine copied the backlog (the mid-copy evidence below does not race the replicator).
    let writing = true
    const writer = (async () => {
      for (let seq = PER_PARTITION; writing; seq += 500) await producePadded(p1, topic, seq, seq + 500)
    })()
    try {
      // Positive evidence that copying is under way and got past the group's position everywhere.
      await waitFor('copy under way', 60_000, async () =>
        (await endOffsets(dc2, topic, PARTITIONS)).every(end => end > GROUP_AT)
      )
      const report = await failover(config, { link, auditFile })
      assert.deepEqual(report.steps, ['preflight', 'fence', 'points', `group ${group}`, 'completed'])
      // failover returned after the replicator acknowledged: it reports fenced once its clients closed.
      await waitFor('replicator fenced', 30_000, async () => running.replicator.status()[0]?.state === 'fenced')
    } finally {
      writing = false
      await writer
      await running.stop()
    }

    const targetEnds = await kafkajsEnds(2, topic)
    const sourceTotal = (await kafkajsEnds(1, topic)).reduce((n, e) => n + e, 0n)
    const total = targetEnds.reduce((n, e) => n + e, 0n)
    assert.ok(total < sourceTotal, `failover happened mid-copy: ${total} of ${sourceTotal} records on the target`)

    const audit = readFileSync(auditFile, 'utf8')
      .trim()
      .split('\n')
      .map(l => JSON.parse(l) as { step: string; details: { replicator?: { replicator: string } } })
    assert.equal(
      audit.find(e => e.step === 'fence')?.details.replicator?.replicator,
      'fenced after the fence',
      'failover waited for the running replicator to acknowledge the fence'
    )

    // The failover points: exactly the target's ends, and (a fresh topic copies offset for offset) the
    // same source offsets: the replicator's final commit covers everything it wrote.
    const { documents } = await loadLinkState(clusterConnection(2), dc2, link)
    const doc = documents.get('failover')
    assert.ok(doc !== undefined)
    assert.deepEqual(
      doc.points.map(p => [p.partition, p.targetEnd, p.sourceNext]),
      targetEnds.map((end, p) => [p, end, end])
    )

    // The group moved to dc2 at its translated position and resumes right after it.
    const read = await readToEnds(group, topic, targetEnds)
    for (let p = 0; p < PARTITIONS; p++) {
      const { offsets, values } = read.get(p)!
      const count = Number(targetEnds[p]! - GROUP_AT)
      assert.equal(offsets.length, count, `partition ${p}: records read`)
      assert.equal(offsets[0] ?? GROUP_AT, GROUP_AT, `partition ${p}: first record read`)
      assert.deepEqual(
        values,
        Array.from({ length: count }, (_, i) => `a:${p}:${Number(GROUP_AT) + i}`),
        `partition ${p}: nothing skipped, nothing read twice`
      )
    }
  })
})
