import { randomBytes } from 'node:crypto'
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry'
import { Kafka, logLevel } from 'kafkajs'
import { bootstrapOf } from '../../tools/harness/harness.ts'
import { registryUrl } from '../../tools/harness/registry.ts'
import { waitFor } from './replication.ts'

/**
 * Schema tests read the registries and the target topics with independent clients: the
 * @kafkajs/confluent-schema-registry serializer (its own registry client and Avro/JSON/Protobuf
 * codecs) and a kafkajs consumer, neither of which shares code with kafka-dr.
 */

/** A serializer bound to cluster `index`'s registry (a fresh one has an empty cache). */
export function serializer(index: number): SchemaRegistry {
  return new SchemaRegistry({ host: registryUrl(index) })
}

/**
 * Config for the two test clusters with their registries, plus the given links section. `dc2Auth`
 * (YAML) is sent to dc2's registry, which has authentication off and ignores it.
 */
export function registryConfigYaml(links: string, dc2Auth?: string): string {
  const auth = dc2Auth === undefined ? '' : `, auth: ${dc2Auth}`
  return `clusters:
  dc1: { bootstrap: "${bootstrapOf(1)}", schemaRegistry: { url: "${registryUrl(1)}" } }
  dc2: { bootstrap: "${bootstrapOf(2)}", schemaRegistry: { url: "${registryUrl(2)}"${auth} } }
links:
${links}`
}

/** A regular expression that matches exactly the subjects `<topic>-key` and `<topic>-value` (and `<topic>-<suffix>`). */
export function subjectsOf(topic: string, suffixes = 'key|value'): string {
  return `${topic.replaceAll('.', '\\\\.')}-(${suffixes})`
}

export interface ReadRecord {
  partition: number
  offset: string
  key: Buffer | null
  value: Buffer | null
}

/** Reads `expected` records of `topic` from cluster `index` (kafkajs consumer, from the beginning). */
export async function readRecords(
  index: number,
  topic: string,
  expected: number,
  timeoutMs = 60_000,
  onRecord?: (record: ReadRecord) => Promise<void>
): Promise<ReadRecord[]> {
  const kafka = new Kafka({ clientId: 'schema-test-reader', brokers: [bootstrapOf(index)], logLevel: logLevel.NOTHING })
  const consumer = kafka.consumer({ groupId: `schema-test-${randomBytes(4).toString('hex')}` })
  const records: ReadRecord[] = []
  await consumer.connect()
  try {
    await consumer.subscribe({ topic, fromBeginning: true })
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const record = { partition, offset: message.offset, key: message.key, value: message.value }
        if (onRecord !== undefined) await onRecord(record)
        records.push(record)
      }
    })
    await waitFor(`${expected} records on ${topic}`, timeoutMs, async () => records.length >= expected)
  } finally {
    await consumer.disconnect()
  }
  return records
}

/** The schema id of a wire-format payload. */
export function idOf(payload: Buffer | null): number {
  if (payload === null || payload.length < 5 || payload[0] !== 0) return -1
  return payload.readUInt32BE(1)
}

/** GET against a registry's Confluent API, parsed; throws with the body on an error status. */
export async function registryGet<T>(index: number, path: string): Promise<T> {
  const response = await fetch(`${registryUrl(index)}${path}`)
  const text = await response.text()
  if (!response.ok) throw new Error(`GET ${path} on registry ${index}: ${response.status} ${text}`)
  return JSON.parse(text) as T
}

export async function registryPut(index: number, path: string, body: unknown): Promise<void> {
  await registrySend(index, 'PUT', path, body)
}

/** A request with a JSON body against a registry's Confluent API; the parsed answer. */
export async function registrySend<T>(index: number, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${registryUrl(index)}${path}`, {
    method,
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  const text = await response.text()
  if (!response.ok) throw new Error(`${method} ${path} on registry ${index}: ${response.status} ${text}`)
  return JSON.parse(text) as T
}

/**
 * Registers throwaway schemas on cluster `index` until its ids run at least `gap` ahead of the
 * newest id of cluster `other`: from then on the two registries never assign the same id to a
 * schema registered on both.
 */
export async function spreadIds(index: number, other: number, gap: number): Promise<void> {
  const probe = (cluster: number): Promise<{ id: number }> =>
    registrySend(cluster, 'POST', `/subjects/kafka-dr-test-spread/versions`, {
      schema: JSON.stringify({ type: 'record', name: `Spread${randomBytes(6).toString('hex')}`, fields: [] })
    })
  const { id: newest } = await probe(other)
  for (let id = (await probe(index)).id; id < newest + gap; id = (await probe(index)).id);
}
