import { Kafka, logLevel } from 'kafkajs'
import { bootstrapOf } from '../../tools/harness/harness.ts'
import { kcatReadAll } from './kcat.ts'

/**
 * A real consumer group member (kafkajs, independent of our code): reads `topic` from the group's
 * position, and per partition stops before the first record at or past `stopAt`, committing the
 * offset after the last record it read — what an application that processed those records commits.
 * Returns the values it read per partition.
 */
export async function consumeAndCommit(
  clusterIndex: number,
  groupId: string,
  topic: string,
  stopAt: Map<number, bigint>
): Promise<Map<number, string[]>> {
  const kafka = new Kafka({
    brokers: [bootstrapOf(clusterIndex)],
    clientId: `kafka-dr-test-${groupId}`,
    logLevel: logLevel.NOTHING
  })
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1000 })
  const read = new Map<number, string[]>([...stopAt.keys()].map(p => [p, []]))
  const last = new Map<number, bigint>()
  const done = new Set<number>()
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  let finish: () => void = () => {}
  const finished = new Promise<void>(resolve => (finish = resolve))
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message, pause }) => {
      if (done.has(partition)) return
      const offset = BigInt(message.offset)
      if (offset >= (stopAt.get(partition) ?? 0n)) {
        const next = (last.get(partition) ?? offset - 1n) + 1n
        await consumer.commitOffsets([{ topic, partition, offset: String(next) }])
        done.add(partition)
        pause()
        if (done.size === stopAt.size) finish()
        return
      }
      read.get(partition)!.push(message.value?.toString() ?? '')
      last.set(partition, offset)
    }
  })
  await Promise.race([
    finished,
    new Promise((_, reject) =>
      setTimeout(() => reject(new Error(`group ${groupId} did not reach its stop offsets`)), 60_000).unref()
    )
  ])
  await consumer.disconnect()
  return read
}

/**
 * A real group member on `clusterIndex` reading from the group's committed position to the end of
 * `topic` (`expected` records, if nothing is skipped or read twice). Nothing may be producing to the
 * topic meanwhile. It stops on evidence, not after a pause: every partition the group has anything
 * left to read on was read up to its last record (found by kcat, a read_committed reader like this
 * one), so whatever else the group would see (a re-read, a stray record) has been read by then.
 */
export async function consumeRest(
  clusterIndex: number,
  groupId: string,
  topic: string,
  expected: number
): Promise<Map<number, string[]>> {
  const lastRecord = new Map<number, number>()
  for (const r of await kcatReadAll(bootstrapOf(clusterIndex), topic))
    lastRecord.set(r.partition, Math.max(lastRecord.get(r.partition) ?? -1, r.offset))
  const kafka = new Kafka({
    brokers: [bootstrapOf(clusterIndex)],
    clientId: `kafka-dr-test-${groupId}-rest`,
    logLevel: logLevel.NOTHING
  })
  const admin = kafka.admin()
  await admin.connect()
  const committed = new Map<number, number>()
  const logEnd = new Map<number, number>()
  try {
    for (const t of await admin.fetchOffsets({ groupId, topics: [topic] }))
      for (const p of t.partitions) committed.set(p.partition, Number(p.offset))
    for (const o of await admin.fetchTopicOffsets(topic)) logEnd.set(o.partition, Number(o.high))
  } finally {
    await admin.disconnect()
  }
  // Partitions with a record at or after the committed position, with no commit (read from the start)
  // or with a commit past the log end (the consumer resets to the start: every record is a re-read).
  const pending = new Set(
    [...lastRecord]
      .filter(([p, last]) => (committed.get(p) ?? -1) <= last || (committed.get(p) ?? -1) > (logEnd.get(p) ?? 0))
      .map(([p]) => p)
  )
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1000 })
  const read = new Map<number, string[]>()
  let count = 0
  let finish: () => void = () => {}
  const finished = new Promise<void>(resolve => (finish = resolve))
  if (pending.size === 0) finish()
  await consumer.connect()
  // fromBeginning only applies when the group has no committed offset: a missing commit would show up as re-reads.
  await consumer.subscribe({ topic, fromBeginning: true })
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      let list = read.get(partition)
      if (list === undefined) read.set(partition, (list = []))
      list.push(message.value?.toString() ?? '')
      count++
      if (Number(message.offset) >= (lastRecord.get(partition) ?? -1)) {
        pending.delete(partition)
        if (pending.size === 0) finish()
      }
    }
  })
  // unref: a guard timer must not keep the test process alive once the race is decided. On timeout
  // the caller's assertions show what was read (and what is missing).
  await Promise.race([finished, new Promise(resolve => setTimeout(resolve, 60_000).unref())])
  if (pending.size > 0)
    console.error(
      `[groups] ${groupId}: read ${count} of ${expected} expected records; partitions ${[...pending].join(', ')} not read to their end`
    )
  await consumer.disconnect()
  return read
}

/**
 * A real group member on `clusterIndex` reading `topic` from the group's committed position: the
 * values of the first `counts.get(p)` records of each partition p, in order. Commits nothing. Fails
 * after 60 s if a partition has fewer records than asked for after the position.
 */
export async function consumeFirst(
  clusterIndex: number,
  groupId: string,
  topic: string,
  counts: Map<number, number>
): Promise<Map<number, string[]>> {
  const kafka = new Kafka({
    brokers: [bootstrapOf(clusterIndex)],
    clientId: `kafka-dr-test-${groupId}-first`,
    logLevel: logLevel.NOTHING
  })
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1000 })
  const read = new Map<number, string[]>([...counts.keys()].map(p => [p, []]))
  const done = new Set<number>([...counts].filter(([, n]) => n <= 0).map(([p]) => p))
  let finish: () => void = () => {}
  const finished = new Promise<void>(resolve => (finish = resolve))
  if (done.size === counts.size) finish()
  await consumer.connect()
  try {
    await consumer.subscribe({ topic, fromBeginning: true })
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message, pause }) => {
        const list = read.get(partition)
        if (list === undefined || done.has(partition)) return
        list.push(message.value?.toString() ?? '')
        if (list.length >= counts.get(partition)!) {
          done.add(partition)
          pause()
          if (done.size === counts.size) finish()
        }
      }
    })
    await Promise.race([
      finished,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`group ${groupId} did not read its first records`)), 60_000).unref()
      )
    ])
  } finally {
    await consumer.disconnect()
  }
  return read
}
