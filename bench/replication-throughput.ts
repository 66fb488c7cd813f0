import { cpus, totalmem } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { parseConfig } from '../src/config/index.ts'
import { Replicator } from '../src/engine/replicator.ts'
import { KafkaAdmin, RecordProducer, type RecordToProduce } from '../src/kafka/index.ts'
import { createLogger } from '../src/observability/logger.ts'
import { bootstrapOf, up } from '../tools/harness/harness.ts'
import { kafkaVersion } from '../tools/harness/paths.ts'

/**
 * Catch-up throughput of kafka-dr alone (the MirrorMaker 2 comparison is a later, separate bench):
 * loads a backlog of fixed-size incompressible records into a fresh dc1 topic, then times the
 * replicator copying it to dc2. Rate is measured between 10 % and 90 % of the records on the
 * target (by listOffsets every 100 ms), so start-up and the tail do not blur it.
 *
 *   npm run bench -- --records 1000000 --size 1024 --partitions 8
 */
const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '500000' },
    size: { type: 'string', default: '1024' },
    partitions: { type: 'string', default: '8' }
  }
})
const records = Number(values.records)
const size = Number(values.size)
const partitions = Number(values.partitions)

await up({ clusters: 2, log: () => {} })
const source = new KafkaAdmin({ alias: 'dc1', bootstrap: [bootstrapOf(1)] })
const target = new KafkaAdmin({ alias: 'dc2', bootstrap: [bootstrapOf(2)] })
const topic = `bench.throughput.${Date.now().toString(36)}`
await source.createTopics([{ name: topic, partitions }])

const producer = new RecordProducer({ alias: 'dc1', bootstrap: [bootstrapOf(1)] })
const payload = Buffer.alloc(size)
for (let i = 0; i < size; i++) payload[i] = (i * 2654435761) >>> 24 // incompressible enough, fixed
const loadStart = Date.now()
for (let sent = 0; sent < records;) {
  const batch: RecordToProduce[] = []
  for (let i = 0; i < 8000 && sent < records; i++, sent++) {
    batch.push({ partition: sent % partitions, timestamp: BigInt(Date.now()), key: null, value: payload, headers: [] })
  }
  await producer.send(topic, batch)
}
await producer.close()
console.log(
  `loaded ${records} x ${size} B into ${topic} (${partitions} partitions) in ${((Date.now() - loadStart) / 1000).toFixed(1)} s`
)

const config = parseConfig(
  `clusters:\n  dc1: { bootstrap: "${bootstrapOf(1)}" }\n  dc2: { bootstrap: "${bootstrapOf(2)}" }\nlinks:\n  - source: dc1\n    target: dc2\n    topics: { include: ["${topic}"] }\n`,
  '<bench>'
)
const replicator = new Replicator(config, createLogger({ level: 'warn' }))
const cpu0 = process.cpuUsage()
const t0 = Date.now()
await replicator.start()
const parts = [...Array(partitions).keys()]
let t10 = 0
let t90 = 0
for (;;) {
  const offsets = await target.listOffsets(topic, parts, 'latest').catch(() => new Map<number, bigint>())
  let copied = 0
  for (const v of offsets.values()) copied += Number(v)
  const now = Date.now()
  if (t10 === 0 && copied >= records * 0.1) t10 = now
  if (t90 === 0 && copied >= records * 0.9) t90 = now
  if (copied >= records) break
  await sleep(100)
}
const total = (Date.now() - t0) / 1000
const cpu = process.cpuUsage(cpu0)
await replicator.stop()
await Promise.all([source.close(), target.close()])

const window = (t90 - t10) / 1000
const rate = (records * 0.8) / window
const mb = (rate * size) / 1e6
const cpuSeconds = (cpu.user + cpu.system) / 1e6
const gib = (records * size) / 2 ** 30
console.log(
  [
    `kafka-dr ${topic}: ${records} records x ${size} B, ${partitions} partitions`,
    `  10-90 % window: ${rate.toFixed(0)} records/s, ${mb.toFixed(1)} MB/s (${window.toFixed(2)} s)`,
    `  start to last record: ${total.toFixed(2)} s`,
    `  replicator CPU: ${cpuSeconds.toFixed(1)} s (${(cpuSeconds / gib).toFixed(1)} CPU-s per GiB), RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`,
    `  machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; Node ${process.versions.node}; Kafka ${kafkaVersion()} (both clusters on this machine)`
  ].join('\n')
)
