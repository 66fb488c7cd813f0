import { setTimeout as sleep } from 'node:timers/promises'
import { parseConfig } from '../../src/config/index.ts'
import { Replicator } from '../../src/engine/replicator.ts'
import { KafkaAdmin, type RecordProducer, type RecordToProduce } from '../../src/kafka/index.ts'
import { createLogger, type Logger } from '../../src/observability/logger.ts'
import { bootstrapOf } from '../../tools/harness/harness.ts'
import { pinAtLeastOnce } from './delivery-pin.ts'
import { clusterConnection } from './clusters.ts'

/** YAML for the two test clusters plus the given links section. */
export function configYaml(links: string): string {
  return `clusters:\n  dc1: { bootstrap: "${bootstrapOf(1)}" }\n  dc2: { bootstrap: "${bootstrapOf(2)}" }\nlinks:\n${links}`
}

/** Per-link settings some tests set (absent: the config's defaults). */
export interface LinkOptions {
  delivery?: 'at-least-once' | 'exactly-once'
  /** exactly-once: the coordinator aborts a transaction left open this long (transaction.timeoutMs). */
  transactionTimeoutMs?: number
}

/** The lines `options` adds to a link entry of the links section (indented as its other keys). */
export function linkOptionsYaml(options: LinkOptions): string {
  const delivery = options.delivery === undefined ? '' : `    delivery: ${options.delivery}\n`
  const transaction =
    options.transactionTimeoutMs === undefined
      ? ''
      : `    transaction: { timeoutMs: ${options.transactionTimeoutMs} }\n`
  return delivery + transaction
}

/** One named dc1 -> dc2 link for `topic` (and `group`, if given), with short commit and checkpoint intervals. */
export function namedLinkYaml(link: string, topic: string, group?: string, options: LinkOptions = {}): string {
  const groups = group === undefined ? '' : `    checkpointIntervalMs: 1000\n    groups: { include: ["${group}"] }\n`
  return configYaml(
    `  - name: ${link}\n    source: dc1\n    target: dc2\n    commitIntervalMs: 200\n    topics: { include: ["${topic}"] }\n${groups}${linkOptionsYaml(options)}`
  )
}

export interface RunningReplicator {
  replicator: Replicator
  logs: string[]
  stop(): Promise<void>
}

/** Runs the replication engine in this process, capturing its log lines. */
export async function startReplicator(yaml: string): Promise<RunningReplicator> {
  const config = parseConfig(pinAtLeastOnce(yaml), '<test>')
  const logs: string[] = []
  const log: Logger = createLogger({
    level: process.env.KAFKA_DR_TEST_LOG_LEVEL ?? 'info',
    secrets: config.secrets,
    write: line => logs.push(line)
  })
  const replicator = new Replicator(config, log)
  await replicator.start()
  return { replicator, logs, stop: () => replicator.stop() }
}

/** Polls `check` until it returns a value other than undefined/false, or fails after timeoutMs. */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined | false>
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const value = await check()
      if (value !== undefined && value !== false) return value
    } catch (error) {
      last = error
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: last })
    await sleep(200)
  }
}

/** End offsets of every partition, by partition index. */
export async function endOffsets(admin: KafkaAdmin, topic: string, partitions: number): Promise<bigint[]> {
  const offsets = await admin.listOffsets(topic, [...Array(partitions).keys()], 'latest')
  return [...Array(partitions).keys()].map(p => offsets.get(p) ?? -1n)
}

export function admins(): { dc1: KafkaAdmin; dc2: KafkaAdmin; close(): Promise<void> } {
  const dc1 = new KafkaAdmin(clusterConnection(1))
  const dc2 = new KafkaAdmin(clusterConnection(2))
  return { dc1, dc2, close: async () => void (await Promise.all([dc1.close(), dc2.close()])) }
}

/** Produces `perPartition` records to each partition: value "<tag>:<partition>:<seq>", sequence = source offset on a fresh topic. */
export async function produceSequence(
  producer: RecordProducer,
  topic: string,
  partitions: number,
  perPartition: number,
  tag: string,
  from = 0
): Promise<void> {
  const chunk = 2000
  for (let start = from; start < from + perPartition; start += chunk) {
    const records: RecordToProduce[] = []
    for (let p = 0; p < partitions; p++) {
      for (let seq = start; seq < Math.min(start + chunk, from + perPartition); seq++) {
        records.push({
          partition: p,
          timestamp: BigInt(Date.now()),
          key: Buffer.from(`k${seq % 97}`),
          value: Buffer.from(`${tag}:${p}:${seq}`),
          headers: []
        })
      }
    }
    await sendWhenKnown(producer, topic, records)
  }
}

/**
 * Sends once the producer's broker knows the topic: right after a topic is created, or after its
 * broker restarted, metadata may not list it for a moment (Kafka clients retry UNKNOWN_TOPIC the same
 * way). Bounded: 20 tries, 100 ms apart.
 */
async function sendWhenKnown(producer: RecordProducer, topic: string, records: RecordToProduce[]): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await producer.send(topic, records)
      return
    } catch (error) {
      if (attempt >= 20 || !/Unknown topic/i.test(String((error as Error).message))) throw error
      await new Promise(resolve => setTimeout(resolve, 100))
    }
  }
}
