import assert from 'node:assert/strict'
import { after, afterEach, describe, test } from 'node:test'
import { SchemaType } from '@kafkajs/confluent-schema-registry'
import { parseConfig } from '../../src/config/index.ts'
import { status } from '../../src/failover/status.ts'
import { verifyLink } from '../../src/verify/verify.ts'
import { RecordProducer, type RecordToProduce } from '../../src/kafka/index.ts'
import { startDelayProxy } from '../../tools/harness/delay-proxy.ts'
import { registryUrl } from '../../tools/harness/registry.ts'
import { clusterConnection, uniqueTopic } from '../support/clusters.ts'
import { admins, endOffsets, startReplicator, waitFor, type RunningReplicator } from '../support/replication.ts'
import {
  idOf,
  readRecords,
  registryConfigYaml,
  registryGet,
  registryPut,
  registrySend,
  serializer,
  spreadIds,
  subjectsOf
} from '../support/schemas.ts'

/**
 * Schema Registry replication against two real registries (Apicurio's Confluent API), records
 * produced and decoded with an independent serializer (@kafkajs/confluent-schema-registry).
 */

/** Schemas are made unique per run (namespace, title): a registry gives equal content the same id. */
const run = `r${Date.now().toString(36)}`
const avroV1 = {
  type: 'record',
  name: 'Order',
  namespace: `com.acme.${run}`,
  fields: [
    { name: 'id', type: 'long' },
    { name: 'item', type: 'string' },
    { name: 'amount', type: 'double' }
  ]
}
const avroV2 = { ...avroV1, fields: [...avroV1.fields, { name: 'currency', type: 'string', default: 'EUR' }] }
const keySchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: `CustomerKey-${run}`,
  type: 'object',
  properties: { customer: { type: 'string' } },
  required: ['customer']
}

const REGISTRY_PASSWORD = 'CANARY-registry-pw'

interface Order {
  id: number
  item: string
  amount: number
  currency?: string
}

function linkYaml(name: string, topic: string, schemas: string, extra = ''): string {
  return `  - name: ${name}
    source: dc1
    target: dc2
    commitIntervalMs: 200
    topics: { include: ["${topic}"] }
    schemas: ${schemas}
${extra}`
}

describe('schema replication dc1 -> dc2', () => {
  const { dc1, dc2, close } = admins()
  const producer = new RecordProducer(clusterConnection(1))
  const source = serializer(1)
  let running: RunningReplicator | null = null

  async function stopReplicator(): Promise<void> {
    await running?.stop()
    running = null
  }

  // A failed test must not leave its replicator running into the next one.
  afterEach(stopReplicator)
  after(async () => {
    await producer.close()
    await close()
  })

  test('translate-ids: Avro values and JSON Schema keys decode on dc2 with dc2 ids; a new version mid-stream is registered before its records', async () => {
    const topic = uniqueTopic('schemas.orders')
    await dc1.createTopics([{ name: topic, partitions: 3 }])
    // dc2's registry already holds other schemas, so the ids it assigns differ from dc1's.
    await spreadIds(2, 1, 10)
    const { id: valueV1 } = await source.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(avroV1) },
      { subject: `${topic}-value` }
    )
    const { id: keyId } = await source.register(
      { type: SchemaType.JSON, schema: JSON.stringify(keySchema) },
      { subject: `${topic}-key` }
    )
    const produced: { key: { customer: string }; value: Order }[] = []
    const send = async (from: number, count: number, valueId: number): Promise<void> => {
      const records: RecordToProduce[] = []
      for (let i = from; i < from + count; i++) {
        const key = { customer: `c${i % 17}` }
        const value: Order = { id: i, item: `item-${i}`, amount: i * 1.5 }
        if (valueId !== valueV1) value.currency = i % 2 === 0 ? 'USD' : 'EUR'
        produced[i] = { key, value }
        records.push({
          partition: i % 3,
          timestamp: BigInt(Date.now()),
          key: await source.encode(keyId, key),
          value: await source.encode(valueId, value),
          headers: []
        })
      }
      await producer.send(topic, records)
    }
    await send(0, 300, valueV1)

    // The periodic pass runs once at start and then only every 10 minutes: whatever arrives later
    // reaches dc2's registry through the data path's on-demand registration alone.
    running = await startReplicator(
      registryConfigYaml(
        linkYaml(
          'schemas-translate',
          topic,
          `{ mode: translate-ids, intervalMs: 600000, subjects: { include: ["${subjectsOf(topic)}"] } }`
        )
      )
    )

    // An independent tail on dc2: the moment a record is visible, its schema id must resolve there.
    const unresolved: string[] = []
    const checker = serializer(2)
    const tail = readRecords(2, topic, 400, 120_000, async record => {
      for (const [part, payload] of [
        ['key', record.key],
        ['value', record.value]
      ] as const) {
        const id = idOf(payload)
        const response = await fetch(`${registryUrl(2)}/schemas/ids/${id}`)
        if (!response.ok)
          unresolved.push(`${part} id ${id} at ${record.partition}/${record.offset}: ${response.status}`)
      }
    })
    await waitFor('first 300 records on dc2', 60_000, async () => {
      const ends = await dc2.listOffsets(topic, [0, 1, 2], 'latest').catch(() => null)
      return ends !== null && [...ends.values()].reduce((a, b) => a + b, 0n) >= 300n
    })
    // A new version, registered on dc1 while replication runs, used at once.
    const { id: valueV2 } = await source.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(avroV2) },
      { subject: `${topic}-value` }
    )
    await send(300, 100, valueV2)
    const copied = await tail

    assert.deepEqual(unresolved, [], 'no record was visible on dc2 before its schema')
    assert.equal(copied.length, 400)
    const targetIds = new Set<number>()
    const idPairs = new Set<string>()
    for (const record of copied) {
      const key = (await checker.decode(record.key!)) as { customer: string }
      const value = (await checker.decode(record.value!)) as Order
      const expected = produced[value.id]!
      assert.deepEqual(key, expected.key)
      assert.deepEqual(plain(value), expected.value)
      targetIds.add(idOf(record.key)).add(idOf(record.value))
      idPairs
        .add(`${keyId}->${idOf(record.key)}`)
        .add(`${value.currency === undefined ? valueV1 : valueV2}->${idOf(record.value)}`)
    }
    assert.equal(targetIds.size, 3)
    assert.equal(idPairs.size, 3, `one target id per source id: ${[...idPairs].join(', ')}`)
    for (const pair of idPairs) {
      const [from, to] = pair.split('->')
      assert.notEqual(from, to, `ids were translated (${pair})`)
    }
    // Versions keep their order on dc2.
    const versions = await registryGet<number[]>(2, `/subjects/${topic}-value/versions`)
    assert.deepEqual(versions, [1, 2])
    const v2 = await registryGet<{ schema: string }>(2, `/subjects/${topic}-value/versions/2`)
    assert.deepEqual(JSON.parse(v2.schema).fields.at(-1).name, 'currency')

    // status compares both registries, replicator running or not.
    await stopReplicator()
    const config = parseConfig(
      registryConfigYaml(linkYaml('schemas-translate', topic, `{ subjects: { include: ["${subjectsOf(topic)}"] } }`)),
      '<test>'
    )
    const [link] = await status(config, 'schemas-translate')
    assert.equal(link!.schemas?.registries.compared, true, link!.schemas?.registries.error ?? '')
    assert.deepEqual(link!.schemas?.registries.totals, {
      subjects: 2,
      versions: 3,
      inSync: 3,
      pending: 0,
      softDeleted: 0
    })
    // verify compares each source record with its copy as written, i.e. with dc2's ids.
    const verified = await verifyLink(config, 'schemas-translate')
    assert.equal(verified.ok, true, JSON.stringify(verified.partitions.filter(p => !p.ok)))
    assert.equal(verified.totals.matched, 400)
  })

  test('references are registered first, compatibility (global and per subject) is copied, soft-deleted versions are reported', async () => {
    const topic = uniqueTopic('schemas.refs')
    await dc1.createTopics([{ name: topic, partitions: 1 }])
    const address = {
      type: 'record',
      name: 'Address',
      namespace: `com.acme.${run}`,
      fields: [
        { name: 'street', type: 'string' },
        { name: 'city', type: 'string' }
      ]
    }
    const customer = {
      type: 'record',
      name: 'Customer',
      namespace: `com.acme.${run}`,
      fields: [
        { name: 'name', type: 'string' },
        { name: 'address', type: `com.acme.${run}.Address` }
      ]
    }
    const addressSubject = `${topic}-address`
    await source.register({ type: SchemaType.AVRO, schema: JSON.stringify(address) }, { subject: addressSubject })
    const { id } = await source.register(
      {
        type: SchemaType.AVRO,
        schema: JSON.stringify(customer),
        references: [{ name: `com.acme.${run}.Address`, subject: addressSubject, version: 1 }]
      },
      { subject: `${topic}-value` }
    )
    await registryPut(1, `/config/${topic}-value`, { compatibility: 'FULL' })
    // A soft-deleted version on the source: reported, never registered on the target.
    const scratch = `${topic}-scratch`
    await registrySend(1, 'POST', `/subjects/${scratch}/versions`, { schema: '"string"' })
    await registrySend(1, 'POST', `/subjects/${scratch}/versions`, { schema: '"long"' })
    const deleted = await fetch(`${registryUrl(1)}/subjects/${scratch}/versions/2`, { method: 'DELETE' })
    assert.equal(deleted.status, 200)
    const globalBefore = await registryGet<{ compatibilityLevel: string }>(1, '/config')
    await registryPut(1, '/config', { compatibility: 'BACKWARD' })
    try {
      const people = [
        { name: 'Ada', address: { street: '1 Loop Rd', city: 'Zurich' } },
        { name: 'Linus', address: { street: '2 Kernel St', city: 'Helsinki' } }
      ]
      await producer.send(
        topic,
        await Promise.all(
          people.map(async p => ({
            partition: 0,
            timestamp: BigInt(Date.now()),
            key: null,
            value: await source.encode(id, p),
            headers: []
          }))
        )
      )
      running = await startReplicator(
        registryConfigYaml(
          linkYaml(
            'schemas-refs',
            topic,
            `{ subjects: { include: ["${subjectsOf(topic, 'value|address|scratch')}"] } }`
          ),
          `{ username: dr, password: "${REGISTRY_PASSWORD}" }`
        )
      )
      const copied = await readRecords(2, topic, 2)
      const checker = serializer(2)
      assert.deepEqual(await Promise.all(copied.map(async r => plain(await checker.decode(r.value!)))), people)
      const registered = await registryGet<{ references?: { name: string; subject: string; version: number }[] }>(
        2,
        `/subjects/${topic}-value/versions/1`
      )
      assert.deepEqual(registered.references, [
        { name: `com.acme.${run}.Address`, subject: addressSubject, version: 1 }
      ])
      const subjectLevel = await registryGet<{ compatibilityLevel: string }>(2, `/config/${topic}-value`)
      assert.equal(subjectLevel.compatibilityLevel, 'FULL')
      const globalLevel = await registryGet<{ compatibilityLevel: string }>(2, '/config')
      assert.equal(globalLevel.compatibilityLevel, 'BACKWARD')
      assert.deepEqual(await registryGet<number[]>(2, `/subjects/${scratch}/versions`), [1])
      const schemas = running.replicator.status()[0]!.schemas!
      const scratchState = schemas.subjects.find(s => s.subject === scratch)
      assert.deepEqual(scratchState?.softDeleted, [2])
      assert.ok(
        running.logs.some(l => l.includes('soft-deleted: reported, not copied') && l.includes(scratch)),
        'the soft-deleted version is logged'
      )
      assert.ok(!running.logs.join('\n').includes(REGISTRY_PASSWORD), 'the registry password is never logged')
      const statusText = JSON.stringify(running.replicator.status(), (_, v: unknown) =>
        typeof v === 'bigint' ? v.toString() : v
      )
      assert.ok(!statusText.includes(REGISTRY_PASSWORD), 'nor shown in the status')
    } finally {
      await stopReplicator()
      await registryPut(1, '/config', { compatibility: globalBefore.compatibilityLevel })
      await registryPut(2, '/config', { compatibility: globalBefore.compatibilityLevel })
    }
  })

  test('a record with an id unknown to the source registry stops its partition (default) or passes through untouched', async () => {
    const topic = uniqueTopic('schemas.unknown')
    const passTopic = uniqueTopic('schemas.unknown-pass')
    await dc1.createTopics([
      { name: topic, partitions: 1 },
      { name: passTopic, partitions: 1 }
    ])
    const { id } = await source.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(avroV1) },
      { subject: `${topic}-value` }
    )
    const unknownId = 1_987_654_321
    const bogus = Buffer.concat([Buffer.from([0]), Buffer.alloc(4), Buffer.from('not avro')])
    bogus.writeUInt32BE(unknownId, 1)
    const records: RecordToProduce[] = []
    for (let i = 0; i < 8; i++) {
      records.push({
        partition: 0,
        timestamp: BigInt(Date.now()),
        key: Buffer.from(`k${i}`),
        value: i === 5 ? bogus : await source.encode(id, { id: i, item: `i${i}`, amount: i }),
        headers: []
      })
    }
    await producer.send(topic, records)
    await producer.send(passTopic, records)
    const subjects = `subjects: { include: ["${subjectsOf(topic)}"] }`
    running = await startReplicator(
      registryConfigYaml(
        linkYaml('schemas-unknown-stop', topic, `{ ${subjects} }`) +
          linkYaml('schemas-unknown-pass', passTopic, `{ onError: pass-through, ${subjects} }`)
      )
    )
    const stopped = await waitFor('the partition to stop', 30_000, async () => {
      const p = running!.replicator.status().find(l => l.link === 'schemas-unknown-stop')?.partitions[0]
      return p?.state === 'errored' ? p : undefined
    })
    assert.equal(
      stopped.reason,
      `schema id ${unknownId} is unknown to the schema registry of cluster dc1 (never registered there, or only under deleted versions, which are not copied). Policy schemas.onError=stop: partition stopped before this record (cluster dc1, topic ${topic}, partition 0, offset 5)`
    )
    assert.equal(stopped.replicatedNext, 5n)
    const before = await readRecords(2, topic, 5)
    assert.equal(before.length, 5)
    assert.deepEqual(
      before.map(r => r.key?.toString()),
      ['k0', 'k1', 'k2', 'k3', 'k4']
    )
    // pass-through: every record copied, the unknown one byte for byte.
    const passed = await readRecords(2, passTopic, 8)
    passed.sort((a, b) => Number(a.offset) - Number(b.offset))
    assert.equal(passed.length, 8)
    assert.deepEqual(passed[5]!.value, bogus)
    assert.ok(
      running.logs.some(l => l.includes('Policy schemas.onError=pass-through') && l.includes(String(unknownId)))
    )
    await stopReplicator()
  })

  test('target registry unreachable: records of a new schema wait, and land once it answers', async () => {
    const topic = uniqueTopic('schemas.outage')
    await dc1.createTopics([{ name: topic, partitions: 1 }])
    const { id: v1 } = await source.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(avroV1) },
      { subject: `${topic}-value` }
    )
    const order = async (from: number, count: number, id: number): Promise<RecordToProduce[]> =>
      Promise.all(
        Array.from({ length: count }, async (_, i) => ({
          partition: 0,
          timestamp: BigInt(Date.now()),
          key: null,
          value: await source.encode(id, { id: from + i, item: `i${from + i}`, amount: from + i }),
          headers: []
        }))
      )
    await producer.send(topic, await order(0, 50, v1))
    // dc2's registry is reached through a proxy that the test can take away and bring back.
    let proxy = await startDelayProxy({ listenPort: 0, targetHost: '127.0.0.1', targetPort: 28081, delayMs: 0 })
    const port = proxy.port
    const yaml = registryConfigYaml(
      linkYaml('schemas-outage', topic, `{ intervalMs: 600000, subjects: { include: ["${subjectsOf(topic)}"] } }`)
    ).replace(`${registryUrl(2)}`, `http://127.0.0.1:${port}/apis/ccompat/v7`)
    try {
      running = await startReplicator(yaml)
      await waitFor('50 records on dc2', 30_000, async () => (await endOffsets(dc2, topic, 1))[0] === 50n)
      await proxy.close()
      const { id: v2 } = await source.register(
        { type: SchemaType.AVRO, schema: JSON.stringify(avroV2) },
        { subject: `${topic}-value` }
      )
      await producer.send(topic, await order(50, 50, v2))
      // Evidence that the partition reached the new schema's records and holds them: the batch that
      // starts at offset 50 was refused by the (absent) registry twice, the second time after a backoff.
      await waitFor('the partition to wait at offset 50 twice', 60_000, async () => {
        const waits = running!.logs.filter(
          l => l.includes('schema registry not available; records wait') && l.includes('"offset":"50"')
        )
        return waits.length >= 2
      })
      assert.deepEqual(await endOffsets(dc2, topic, 1), [50n], 'nothing written while the schema cannot be registered')
      assert.equal(running.replicator.status()[0]!.partitions[0]!.state, 'running')
      proxy = await startDelayProxy({ listenPort: port, targetHost: '127.0.0.1', targetPort: 28081, delayMs: 0 })
      const copied = await readRecords(2, topic, 100)
      const checker = serializer(2)
      const ids = new Set<number>()
      for (const record of copied) {
        ids.add(idOf(record.value))
        assert.equal((plain(await checker.decode(record.value!)) as Order).id, Number(record.offset))
      }
      assert.equal(ids.size, 2, 'both versions, each under its dc2 id')
    } finally {
      await proxy.close()
    }
  })

  test('keep-ids against a registry that ignores given ids: a clear preflight error, no probe left behind', async () => {
    const topic = uniqueTopic('schemas.keep')
    await dc1.createTopics([{ name: topic, partitions: 1 }])
    running = await startReplicator(
      registryConfigYaml(
        linkYaml('schemas-keep', topic, `{ mode: keep-ids, subjects: { include: ["${subjectsOf(topic)}"] } }`)
      )
    )
    const link = running.replicator.status()[0]!
    assert.equal(link.state, 'failed')
    assert.match(
      link.error ?? '',
      /^schemas\.mode keep-ids for link schemas-keep: the schema registry of cluster dc2 \(http:\/\/127\.0\.0\.1:28081\/apis\/ccompat\/v7\) does not keep schema ids: asked to register id \d+ in IMPORT mode, it assigned id \d+\. Use schemas\.mode: translate-ids/
    )
    const subjects = await registryGet<string[]>(2, '/subjects')
    assert.ok(!subjects.some(s => s.startsWith('_kafka-dr-probe')), 'the probe subject is deleted')
    await stopReplicator()
  })
})

/** Decoded Avro records are class instances: compare their data only. */
function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value))
}
