import { setTimeout as sleep } from 'node:timers/promises'
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry'
import { parseConfig } from '../../src/config/index.ts'
import { Replicator } from '../../src/engine/replicator.ts'
import { KafkaAdmin, RecordProducer, type RecordToProduce } from '../../src/kafka/index.ts'
import { createLogger } from '../../src/observability/logger.ts'
import { bootstrapOf, up } from '../../tools/harness/harness.ts'
import { registryUrl } from '../../tools/harness/registry.ts'

/**
 * `npm run bench:schemas -- [records] [rounds]`: what schema replication costs on the data path. One
 * backlog of Avro records in the wire format (about 100 bytes each, 8 partitions) is copied three
 * times into fresh target topics: without `schemas`, with `schemas` in translate-ids (every record's
 * id rewritten) and again without, alternating. Reports records/s and the replicator's CPU seconds.
 * dc2's registry is given schemas of its own first, so translate-ids rewrites every record's id.
 * Uses harness clusters 1 and 2 with their registries (started if needed).
 */

const RECORDS = Number(process.argv[2] ?? 1_000_000)
const PARTITIONS = 8
const run = Date.now().toString(36)
const topic = `bench.schemas.${run}`

await up({ clusters: 2, schemaRegistry: true, log: () => {} })
const dc1 = new KafkaAdmin({ alias: 'dc1', bootstrap: [bootstrapOf(1)] })
const dc2 = new KafkaAdmin({ alias: 'dc2', bootstrap: [bootstrapOf(2)] })
await dc1.createTopics([{ name: topic, partitions: PARTITIONS }])
const registry = new SchemaRegistry({ host: registryUrl(1) })
const { id } = await registry.register(
  {
    type: SchemaType.AVRO,
    schema: JSON.stringify({
      type: 'record',
      name: `Tick${run}`,
      fields: [
        { name: 'seq', type: 'long' },
        { name: 'symbol', type: 'string' },
        { name: 'price', type: 'double' },
        { name: 'note', type: 'string' }
      ]
    })
  },
  { subject: `${topic}-value` }
)
// dc2's registry gets schemas of its own first, so the copy's id differs and every record is rewritten.
const dc2Registry = new SchemaRegistry({ host: registryUrl(2) })
let dc2Id = 0
while (dc2Id <= id) {
  const filler = { type: 'record', name: `Filler${run}${dc2Id}`, fields: [] }
  dc2Id = (
    await dc2Registry.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(filler) },
      { subject: `${topic}-filler-${dc2Id}` }
    )
  ).id
}
const producer = new RecordProducer({ alias: 'dc1', bootstrap: [bootstrapOf(1)] })
const template = await registry.encode(id, { seq: 0, symbol: 'KDR', price: 1.5, note: 'x'.repeat(60) })
let batch: RecordToProduce[] = []
for (let i = 0; i < RECORDS; i++) {
  batch.push({ partition: i % PARTITIONS, timestamp: BigInt(Date.now()), key: null, value: template, headers: [] })
  if (batch.length === 20_000) {
    await producer.send(topic, batch)
    batch = []
  }
}
if (batch.length > 0) await producer.send(topic, batch)
await producer.close()
console.log(
  `backlog: ${RECORDS} records of ${template.length} bytes in ${PARTITIONS} partitions (schema id ${id} on dc1; dc2 ids are past ${dc2Id})`
)

async function trial(name: string, schemas: boolean): Promise<void> {
  const suffix = `${name}.${Date.now().toString(36)}`
  const config = parseConfig(`clusters:
  dc1: { bootstrap: "${bootstrapOf(1)}", schemaRegistry: { url: "${registryUrl(1)}" } }
  dc2: { bootstrap: "${bootstrapOf(2)}", schemaRegistry: { url: "${registryUrl(2)}" } }
links:
  - name: bench-${suffix}
    source: dc1
    target: dc2
    topics: { include: ["${topic}"] }
    naming: { template: "{topic}.${suffix}" }
${schemas ? `    schemas: { mode: translate-ids, subjects: { include: ["${topic.replaceAll('.', '\\\\.')}-value"] } }\n` : ''}`)
  const replicator = new Replicator(config, createLogger({ level: 'warn' }))
  const cpu = process.cpuUsage()
  const started = performance.now()
  await replicator.start()
  for (;;) {
    const partitions = replicator.status().flatMap(l => l.partitions)
    const copied = partitions.reduce((n, p) => n + p.replicatedRecords, 0)
    if (copied >= RECORDS) break
    await sleep(20)
  }
  const seconds = (performance.now() - started) / 1000
  const used = process.cpuUsage(cpu)
  await replicator.stop()
  console.log(
    `${name.padEnd(14)} ${(RECORDS / seconds).toFixed(0).padStart(9)} records/s  ${seconds.toFixed(2)} s  CPU ${((used.user + used.system) / 1e6).toFixed(2)} s`
  )
}

const ROUNDS = Number(process.argv[3] ?? 2)
for (let round = 0; round < ROUNDS; round++) {
  // ABBA order: neither configuration always runs first.
  const order = round % 2 === 0 ? [false, true] : [true, false]
  for (const schemas of order) await trial(schemas ? 'translate-ids' : 'plain', schemas)
}
await Promise.all([dc1.close(), dc2.close()])
console.log(`node ${process.version}, ${new Date().toISOString()}`)
