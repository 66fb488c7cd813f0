import { setTimeout as sleep } from 'node:timers/promises'
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry'
import { Kafka, logLevel } from 'kafkajs'
import { loadConfig } from '../src/config/index.ts'
import { Replicator } from '../src/engine/replicator.ts'
import { drillLink } from '../src/failover/drill.ts'
import { failover } from '../src/failover/failover.ts'
import {
  KafkaAdmin,
  PartitionFetcher,
  RecordProducer,
  type RecordToProduce,
  readPartitionRange
} from '../src/kafka/index.ts'
import { createLogger } from '../src/observability/logger.ts'
import { up } from '../tools/harness/harness.ts'
import { registryUrl } from '../tools/harness/registry.ts'

/**
 * `npm run demo`: two local clusters with their schema registries, sample traffic in dc1 (JSON, and
 * Avro in the Confluent wire format), replicated to dc2 by kafka-dr with examples/kafka-dr.yaml, then
 * a summary read back from both clusters, Avro records decoded on dc2 with dc2's registry, a DR drill
 * of a demo consumer group (would it resume exactly on dc2?) and a failover dry run. The clusters stay up.
 */
const CONFIG = 'examples/kafka-dr.yaml'
const TOPICS = [
  { name: 'orders', partitions: 8, records: 40_000 },
  { name: 'payments.eu', partitions: 4, records: 10_000 },
  { name: 'payments.internal.audit', partitions: 1, records: 1_000 }, // excluded by the config
  { name: 'orders.avro', partitions: 4, records: 2_000 }
]
const AVRO_TOPIC = 'orders.avro'
/** A consumer group of dc1 that has read half of `orders`: the drill checks it would resume exactly on dc2. */
const DEMO_GROUP = 'demo-billing'
const orderSchema = {
  type: 'record',
  name: 'Order',
  namespace: 'dev.kafkadr.demo',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'customer', type: 'string' },
    { name: 'amount', type: 'double' }
  ]
}

const clusters = await up({ clusters: 2, schemaRegistry: true })
const dc1Registry = new SchemaRegistry({ host: registryUrl(1) })
// dc2's registry already holds a schema of its own, so the ids it assigns differ from dc1's.
await new SchemaRegistry({ host: registryUrl(2) }).register(
  { type: SchemaType.AVRO, schema: JSON.stringify({ type: 'record', name: 'Dc2Local', fields: [] }) },
  { subject: 'dc2-local-value' }
)
const { id: sourceSchemaId } = await dc1Registry.register(
  { type: SchemaType.AVRO, schema: JSON.stringify(orderSchema) },
  { subject: `${AVRO_TOPIC}-value` }
)
const [dc1, dc2] = clusters.map(c => new KafkaAdmin({ alias: `dc${c.index}`, bootstrap: [c.bootstrap] })) as [
  KafkaAdmin,
  KafkaAdmin
]
const producer = new RecordProducer({ alias: 'dc1', bootstrap: [clusters[0]!.bootstrap] })

console.log('\nproducing sample traffic in dc1 ...')
const existing = new Set(await dc1.listTopics())
for (const topic of TOPICS) {
  if (!existing.has(topic.name)) await dc1.createTopics([{ name: topic.name, partitions: topic.partitions }])
  const batch: RecordToProduce[] = []
  for (let i = 0; i < topic.records; i++) {
    const customer = `customer-${i % 997}`
    batch.push({
      partition: i % topic.partitions,
      timestamp: BigInt(Date.now()),
      key: Buffer.from(customer),
      value:
        topic.name === AVRO_TOPIC
          ? await dc1Registry.encode(sourceSchemaId, { id: i, customer, amount: (i % 1000) / 10 })
          : i % 50 === 49
            ? null
            : Buffer.from(JSON.stringify({ id: i, customer, amount: (i % 1000) / 10, note: 'x'.repeat(i % 200) })),
      headers: [
        [Buffer.from('source'), Buffer.from('demo')],
        [Buffer.from('trace-id'), Buffer.from(`t-${i}`)]
      ]
    })
    if (batch.length === 5000) await producer.send(topic.name, batch.splice(0))
  }
  await producer.send(topic.name, batch.splice(0))
}
await producer.close()

// The demo group read half of each orders partition on dc1 and committed there.
const groupAdmin = new Kafka({
  clientId: 'kafka-dr-demo',
  brokers: [clusters[0]!.bootstrap],
  logLevel: logLevel.NOTHING
}).admin()
await groupAdmin.connect()
const ordersTopic = TOPICS[0]!
await groupAdmin.setOffsets({
  groupId: DEMO_GROUP,
  topic: ordersTopic.name,
  partitions: [...Array(ordersTopic.partitions).keys()].map(partition => ({
    partition,
    offset: String(ordersTopic.records / ordersTopic.partitions / 2)
  }))
})
await groupAdmin.disconnect()

console.log(`replicating dc1 -> dc2 with kafka-dr (${CONFIG}) ...`)
const config = loadConfig(CONFIG)
const replicator = new Replicator(config, createLogger({ level: 'warn', secrets: config.secrets }))
const started = Date.now()
await replicator.start()
for (;;) {
  await sleep(250)
  const partitions = replicator.status().flatMap(l => l.partitions)
  const caughtUp = partitions.length > 0 && partitions.every(p => p.sourceHighWatermark >= 0n && p.lagRecords === 0n)
  if (caughtUp || Date.now() - started > 120_000) break
}
const seconds = (Date.now() - started) / 1000
const status = replicator.status()
await replicator.stop()

console.log(
  `\n${'topic'.padEnd(26)}${'partitions'.padStart(11)}${'dc1 records'.padStart(13)}${'dc2 records'.padStart(13)}${'copied now'.padStart(12)}${'lag'.padStart(6)}`
)
for (const topic of TOPICS) {
  const parts = [...Array(topic.partitions).keys()]
  const sum = (m: Map<number, bigint>): bigint => [...m.values()].reduce((a, b) => a + b, 0n)
  const source = sum(await dc1.listOffsets(topic.name, parts, 'latest'))
  const onTarget =
    (await dc2.describeTopics([topic.name])).length > 0 ? await committedRecords(topic.name, parts) : null
  const mine = status.flatMap(l => l.partitions).filter(p => p.topic === topic.name)
  const copied = mine.reduce((n, p) => n + p.replicatedRecords, 0)
  const lag = mine.reduce((n, p) => n + p.lagRecords, 0n)
  console.log(
    `${topic.name.padEnd(26)}${String(topic.partitions).padStart(11)}${String(source).padStart(13)}${(onTarget === null ? 'not copied' : String(onTarget)).padStart(13)}${String(copied).padStart(12)}${String(mine.length === 0 ? '-' : lag).padStart(6)}`
  )
}
/**
 * Records a read_committed consumer of dc2 sees. Not the end offsets: with exactly-once delivery (the
 * default) each commit's marker takes an offset in every partition it wrote.
 */
async function committedRecords(topic: string, partitions: number[]): Promise<bigint> {
  const ends = await dc2.listOffsets(topic, partitions, 'latest')
  const fetcher = new PartitionFetcher({ alias: 'dc2', bootstrap: [clusters[1]!.bootstrap], clientId: 'kafka-dr-demo' })
  let count = 0n
  try {
    for (const partition of partitions) {
      const to = ends.get(partition) ?? 0n
      const read = await readPartitionRange(
        { cluster: 'dc2', fetch: requests => fetcher.fetch(requests) },
        { topic, partition, from: 0n, to },
        records => void (count += BigInt(records.length))
      )
      if (!read.complete) throw new Error(`${topic}/${partition}: read ended at ${read.next} of ${to}`)
    }
  } finally {
    await fetcher.close()
  }
  return count
}

const total = status.flatMap(l => l.partitions).reduce((n, p) => n + p.replicatedRecords, 0)
console.log(`\n${total} records copied in ${seconds.toFixed(1)} s; payments.internal.* is excluded by the config.`)
await Promise.all([dc1.close(), dc2.close()])

// The standby side: Avro records read from dc2 and decoded with dc2's registry alone.
const schemas = status.find(l => l.schemas !== null)?.schemas
console.log(
  `\nschemas: ${schemas?.totals.inSync ?? 0} of ${schemas?.totals.versions ?? 0} versions in sync (${schemas?.mode}); ${AVRO_TOPIC} on dc2, decoded with dc2's registry:`
)
const dc2Registry = new SchemaRegistry({ host: registryUrl(2) })
const kafka = new Kafka({ clientId: 'kafka-dr-demo', brokers: [clusters[1]!.bootstrap], logLevel: logLevel.NOTHING })
const consumer = kafka.consumer({ groupId: `kafka-dr-demo-${Date.now()}` })
await consumer.connect()
await consumer.subscribe({ topic: AVRO_TOPIC, fromBeginning: true })
let shown = 0
await new Promise<void>(resolve => {
  void consumer.run({
    eachMessage: async ({ partition, message }) => {
      if (shown >= 3 || message.value === null) return
      shown++
      const id = message.value.readUInt32BE(1)
      const decoded = (await dc2Registry.decode(message.value)) as Record<string, unknown>
      console.log(
        `  dc2 ${AVRO_TOPIC} partition ${partition} offset ${message.offset}: schema id ${id} (dc1 id ${sourceSchemaId}) -> ${JSON.stringify(decoded)}`
      )
      if (shown === 3) resolve()
    }
  })
})
await consumer.disconnect()

// The DR drill and the failover dry run read what kafka-dr stored on dc2: replication is stopped.
const link = config.links[0]!.name
const drill = await drillLink(config, link, [DEMO_GROUP], { records: 100 })
for (const group of drill.groups) {
  const matched = group.partitions.reduce((n, p) => n + p.matched, 0)
  console.log(
    `\ndrill of group ${group.group}: ${group.exact ? 'EXACT' : 'NOT EXACT'}, it would resume on dc2 where it stopped on dc1: ${matched} records compared over ${group.partitions.length} partitions, nothing committed; RTO: translate ${Math.round(group.rto.translateMs)} ms, first record on dc2 ${group.rto.firstTargetRecordMs === null ? '-' : `${Math.round(group.rto.firstTargetRecordMs)} ms`}, total ${Math.round(group.rto.totalMs)} ms`
  )
}
if (!drill.exact) {
  console.error('the drill found that the demo group would not resume exactly: see `kafka-dr drill --json`')
  process.exitCode = 1
}
const dryRun = await failover(config, { link, dryRun: true, groups: [DEMO_GROUP] })
console.log(
  `failover dry run of ${link}: RPO ${dryRun.rpoRecords ?? 'unknown'} records not replicated; group ${DEMO_GROUP} would move to ${dryRun.groups[0]?.rows.filter(r => r.exact).length ?? 0} exact positions on dc2; nothing changed`
)

console.log(`
try:   kcat -b 127.0.0.1:29092 -C -t orders -c 3 -J                    # a replicated record, with its kdr-prov header
       npm run kafka-dr -- status --config ${CONFIG}       # lag, RPO and schema sync state
       npm run kafka-dr -- drill --config ${CONFIG} --link 'dc1->dc2' --groups ${DEMO_GROUP}   # rehearse a failover, touching nothing
       npm run kafka-dr -- failover --config ${CONFIG} --link 'dc1->dc2' --dry-run
       npm run kafka-dr -- replicate --config ${CONFIG}    # keep replicating (Ctrl-C stops gracefully);
                                                                  # meanwhile http://127.0.0.1:9644/ is the dashboard
stop:  npm run kafka -- down`)
