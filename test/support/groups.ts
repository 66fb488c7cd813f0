import { Kafka, logLevel } from 'kafkajs'
import { bootstrapOf } from '../../tools/harness/harness.ts'

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

/** A real group member on `clusterIndex` reading from the group's committed position to the end (`expected` records). */
export async function consumeRest(
  clusterIndex: number,
  groupId: string,
  topic: string,
  expected: number
): Promise<Map<number, string[]>> {
  const kafka = new Kafka({
    brokers: [bootstrapOf(clusterIndex)],
    clientId: `kafka-dr-test-${groupId}-rest`,
    logLevel: logLevel.NOTHING
  })
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1000 })
  const read = new Map<number, string[]>()
  let count = 0
  await consumer.connect()
  // fromBeginning only applies when the group has no committed offset: a missing commit would show up as re-reads.
  await consumer.subscribe({ topic, fromBeginning: true })
  let finish: () => void = () => {}
  const finished = new Promise<void>(resolve => (finish = resolve))
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      let list = read.get(partition)
      if (list === undefined) read.set(partition, (list = []))
      list.push(message.value?.toString() ?? '')
      if (++count >= expected) finish()
    }
  })
  // unref: a guard timer must not keep the test process alive once the race is decided
  await Promise.race([finished, new Promise(resolve => setTimeout(resolve, 20_000).unref())])
  // A little longer: anything beyond `expected` would be a re-read or a stray record.
  await new Promise(resolve => setTimeout(resolve, 1500))
  await consumer.disconnect()
  return read
}
