import { randomBytes } from 'node:crypto'
import { Kafka, logLevel, type Transaction, type Producer } from 'kafkajs'
import { bootstrapOf } from '../../tools/harness/harness.ts'
import { kcatCounts, kcatPositions } from './kcat.ts'
import { waitFor } from './replication.ts'
import { progressOf } from './state.ts'

/**
 * Support for the exactly-once tests (`delivery: exactly-once`). What the replicator wrote is judged
 * by readers that share no code with kafka-dr: kcat (librdkafka) and kafkajs, reading read_committed
 * as the applications of an exactly-once pipeline do.
 */

/**
 * Records of transactions still open on `topic` of cluster `index`: those at or past their
 * partition's last stable offset (the first offset of the oldest open transaction), which a
 * read_uncommitted reader sees and a read_committed one does not (yet). Exact when the topic's only
 * writer is transactional and not writing meanwhile (a frozen replicator).
 */
export async function openTransactionRecords(
  index: number,
  topic: string
): Promise<{ partition: number; offset: number }[]> {
  const stable = await lastStableOffsets(index, topic)
  const records = await kcatPositions(bootstrapOf(index), topic, 'read_uncommitted')
  return records.filter(r => BigInt(r.offset) >= (stable[r.partition] ?? 0n))
}

/**
 * Waits until `link` stored progress at `sourceEnds` on every partition of `topic`, and a
 * read_committed reader of the copy (`targetTopic` on cluster `targetIndex`) sees `records[p]` records
 * per partition. Stored progress is read by kafka-dr's state reader: it only says when to look; the
 * copies are counted by kcat.
 */
export async function waitForCommittedCopies(options: {
  link: string
  topic: string
  targetTopic?: string
  sourceEnds: bigint[]
  records: number[]
  targetIndex?: number
  timeoutMs: number
}): Promise<void> {
  const { link, topic, sourceEnds, records, timeoutMs } = options
  const targetIndex = options.targetIndex ?? 2
  const partitions = sourceEnds.length
  await waitFor(`${link}: progress at the source ends ${sourceEnds.join(',')}`, timeoutMs, async () =>
    (await progressOf(link, topic, partitions, targetIndex)).every((next, p) => next === sourceEnds[p])
  )
  await waitFor(`${link}: ${records.join(',')} committed records per partition`, timeoutMs, async () => {
    const counts = await kcatCounts(bootstrapOf(targetIndex), options.targetTopic ?? topic, partitions)
    return counts.every((n, p) => n >= records[p]!)
  })
}

/** A transaction left open on purpose (a producer of the test's own transactional id). */
export interface HeldTransaction {
  /** Offset of the held record: a read_committed reader cannot read at or past it while the transaction is open. */
  offset: bigint
  abort(): Promise<void>
}

/**
 * Opens a transaction on cluster `index` with its own transactional id (`test-hold-<random>`), sends one
 * record to partition 0 of `topic` and neither commits nor aborts until `abort()`: the partition's last
 * stable offset stays at or below that record. The coordinator aborts it after `timeoutMs` in any case,
 * so a test that dies cannot hold it for longer.
 */
export async function holdTransaction(
  index: number,
  topic: string,
  key: string,
  value: string,
  timeoutMs = 60_000
): Promise<HeldTransaction> {
  const kafka = new Kafka({ brokers: [bootstrapOf(index)], clientId: 'kafka-dr-test-hold', logLevel: logLevel.NOTHING })
  const producer: Producer = kafka.producer({
    transactionalId: `test-hold-${randomBytes(6).toString('hex')}`,
    idempotent: true,
    maxInFlightRequests: 1,
    transactionTimeout: timeoutMs
  })
  await producer.connect()
  let transaction: Transaction | null = null
  try {
    transaction = await producer.transaction()
    const [sent] = await transaction.send({ topic, messages: [{ key, value, partition: 0 }] })
    if (sent?.baseOffset === undefined) throw new Error(`no offset for the held record on ${topic}`)
    const held = transaction
    return {
      offset: BigInt(sent.baseOffset),
      abort: async () => {
        try {
          await held.abort()
        } finally {
          await producer.disconnect()
        }
      }
    }
  } catch (error) {
    await transaction?.abort().catch(() => {})
    await producer.disconnect()
    throw error
  }
}

/** The last stable offset of each partition of `topic` (kafkajs ListOffsets, read_committed), by partition. */
export async function lastStableOffsets(index: number, topic: string): Promise<bigint[]> {
  const admin = new Kafka({ brokers: [bootstrapOf(index)], logLevel: logLevel.NOTHING }).admin()
  await admin.connect()
  try {
    // kafkajs asks ListOffsets (v2+) with isolation level read_committed: "latest" is the last stable offset.
    const offsets = await admin.fetchTopicOffsets(topic)
    return offsets.sort((a, b) => a.partition - b.partition).map(o => BigInt(o.high))
  } finally {
    await admin.disconnect()
  }
}

/**
 * A transactional source: `rounds` rounds on cluster `index`, each with two transactions (two
 * transactional producers of their own ids) open at once, their records interleaved across the
 * partitions of `topic`, plain records between them; by round both commit, both abort, or one of each.
 * Returns the values of the records a read_committed reader must see and of the aborted ones.
 */
export async function writeTransactionalSource(
  index: number,
  topic: string,
  partitions: number,
  rounds: number
): Promise<{ committed: Set<string>; aborted: Set<string> }> {
  const kafka = new Kafka({
    brokers: [bootstrapOf(index)],
    clientId: 'kafka-dr-test-tx-source',
    logLevel: logLevel.NOTHING
  })
  const txProducers = [0, 1].map(i =>
    kafka.producer({ transactionalId: `${topic}.tx${i}`, idempotent: true, maxInFlightRequests: 1 })
  )
  const plain = kafka.producer()
  await Promise.all([...txProducers, plain].map(p => p.connect()))
  const committed = new Set<string>()
  const aborted = new Set<string>()
  let n = 0
  try {
    for (let round = 0; round < rounds; round++) {
      const txs = await Promise.all(txProducers.map(p => p.transaction()))
      const values: string[][] = [[], []]
      for (let i = 0; i < 2 + (round % 4); i++) {
        for (const [t, tx] of txs.entries()) {
          const value = `r${round}.t${t}.${n++}`
          await tx.send({ topic, messages: [{ value, partition: (i + t + round) % partitions }] })
          values[t]!.push(value)
        }
        const value = `plain.${n++}`
        await plain.send({ topic, messages: [{ value, partition: i % partitions }] })
        committed.add(value)
      }
      for (const [t, tx] of txs.entries()) {
        const commit = t === 0 ? round % 3 !== 0 : round % 2 === 0
        await (commit ? tx.commit() : tx.abort())
        for (const v of values[t]!) (commit ? committed : aborted).add(v)
      }
    }
  } finally {
    await Promise.all([...txProducers, plain].map(p => p.disconnect()))
  }
  return { committed, aborted }
}
