import assert from 'node:assert/strict'
import { after, afterEach, describe, test } from 'node:test'
import { SchemaType } from '@kafkajs/confluent-schema-registry'
import { parseConfig } from '../../src/config/index.ts'
import { RecordProducer, type RecordToProduce } from '../../src/kafka/index.ts'
import { verifyLink } from '../../src/verify/verify.ts'
import { clusterConnection, uniqueTopic } from '../support/clusters.ts'
import { admins, startReplicator, waitFor, type RunningReplicator } from '../support/replication.ts'
import { idOf, readRecords, registryConfigYaml, serializer, spreadIds, subjectsOf } from '../support/schemas.ts'

/**
 * Keys that only look like the Confluent wire format. A big-endian long of 2^24 or more starts with
 * a zero byte, so "magic 0, schema id = bytes 1-4" parses; epoch-milliseconds keys are the everyday
 * case. Under translate-ids such keys must reach dc2 byte-identical, the partition must not stop,
 * and real wire-format keys (subject `<topic>-key`) must still be translated. Everything is read
 * back from dc2 with kafkajs and decoded with an independent serializer against dc2's registry.
 */

const run = `k${Date.now().toString(36)}`
const valueSchema = {
  type: 'record',
  name: 'Reading',
  namespace: `com.acme.${run}`,
  fields: [
    { name: 'n', type: 'long' },
    { name: 'kind', type: 'string' }
  ]
}
const keySchema = {
  type: 'record',
  name: 'DeviceKey',
  namespace: `com.acme.${run}`,
  fields: [{ name: 'device', type: 'string' }]
}

/** An 8-byte big-endian long. */
function longKey(value: bigint): Buffer {
  const key = Buffer.alloc(8)
  key.writeBigInt64BE(value)
  return key
}

describe('schema replication: keys that look like the wire format (dc1 -> dc2, translate-ids)', () => {
  const { dc1, close } = admins()
  const producer = new RecordProducer(clusterConnection(1))
  const source = serializer(1)
  let running: RunningReplicator | null = null

  afterEach(async () => {
    await running?.stop()
    running = null
  })
  after(async () => {
    await producer.close()
    await close()
  })

  test('epoch-ms keys and a long whose bytes 1-4 equal a value schema id are copied byte-identical; <topic>-key keys are translated; no partition stops', async () => {
    const topic = uniqueTopic('schemas.keys')
    await dc1.createTopics([{ name: topic, partitions: 2 }])
    // dc2's registry assigns other ids than dc1's, so a rewritten id would show.
    await spreadIds(2, 1, 10)
    const { id: valueId } = await source.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(valueSchema) },
      { subject: `${topic}-value` }
    )
    const { id: keyId } = await source.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(keySchema) },
      { subject: `${topic}-key` }
    )

    // n -> the exact key bytes produced; the value carries n, so each copy is matched to its source.
    const keys = new Map<number, Buffer>()
    const kinds = new Map<number, string>()
    const records: RecordToProduce[] = []
    const now = BigInt(Date.now())
    let n = 0
    const add = async (key: Buffer, kind: string): Promise<void> => {
      keys.set(n, key)
      kinds.set(n, kind)
      records.push({
        partition: n % 2,
        timestamp: now,
        key,
        value: await source.encode(valueId, { n, kind }),
        headers: []
      })
      n++
    }
    for (let i = 0; i < 200; i++) await add(longKey(now + BigInt(i * 997)), 'epoch-ms')
    // A long whose bytes 1-4 are exactly dc1's id of the value schema: without the key rule it
    // would be rewritten to dc2's id of that schema.
    for (let i = 0; i < 20; i++) await add(longKey((BigInt(valueId) << 24n) | BigInt(i)), 'collides-with-value-id')
    for (let i = 0; i < 30; i++) await add(await source.encode(keyId, { device: `d${i}` }), 'wire-format')
    const epochKey = keys.get(0)!
    assert.equal(epochKey[0], 0, 'an epoch-ms key starts with a zero byte')
    assert.ok(epochKey.readUInt32BE(1) > 0, 'and bytes 1-4 read as a non-zero schema id')
    await producer.send(topic, records)

    running = await startReplicator(
      registryConfigYaml(`  - name: schemas-keys
    source: dc1
    target: dc2
    commitIntervalMs: 200
    topics: { include: ["${topic}"] }
    schemas: { mode: translate-ids, onError: stop, subjects: { include: ["${subjectsOf(topic)}"] } }
`)
    )

    const copied = await readRecords(2, topic, n, 120_000)
    assert.equal(copied.length, n)
    const checker = serializer(2)
    const seen = new Set<number>()
    for (const record of copied) {
      const value = (await checker.decode(record.value!)) as { n: number; kind: string }
      assert.ok(!seen.has(value.n), `record ${value.n} copied once`)
      seen.add(value.n)
      assert.equal(value.kind, kinds.get(value.n))
      assert.notEqual(idOf(record.value), valueId, 'value ids are translated to dc2 ids')
      const produced = keys.get(value.n)!
      if (value.kind === 'wire-format') {
        assert.notEqual(idOf(record.key), keyId, 'a <topic>-key id is translated')
        assert.equal(JSON.stringify(await checker.decode(record.key!)), JSON.stringify(await source.decode(produced)))
        assert.ok(record.key!.subarray(5).equals(produced.subarray(5)), 'only the id bytes of a key schema change')
      } else {
        assert.ok(record.key!.equals(produced), `${value.kind} key of record ${value.n} byte-identical on dc2`)
      }
    }
    assert.equal(seen.size, n)

    const [link] = running.replicator.status()
    assert.deepEqual(
      link!.partitions.map(p => [p.partition, p.state, p.reason]),
      [
        [0, 'running', null],
        [1, 'running', null]
      ]
    )
    // Two ids looked like schema ids (the epoch-ms prefix and dc1's value id): each decided once.
    assert.ok((link!.schemas?.keysNotWireFormat ?? 0) >= 2, JSON.stringify(link!.schemas?.keysNotWireFormat))
    const notes = running.logs.filter(l => l.includes('KDR_KEY_NOT_WIRE_FORMAT'))
    assert.ok(
      notes.some(l => l.includes(`schema id ${valueId} `)),
      notes.join('\n')
    )
    assert.ok(
      notes.some(l => l.includes(`schema id ${epochKey.readUInt32BE(1)} `)),
      notes.join('\n')
    )
    await waitFor('progress committed to the end', 30_000, async () =>
      running!.replicator.status()[0]!.partitions.every(p => p.committedNext === p.sourceHighWatermark)
    )
    await running.stop()
    running = null

    // verify reads the keys as the link writes them: the copy matches, key for key.
    const config = parseConfig(
      registryConfigYaml(`  - name: schemas-keys
    source: dc1
    target: dc2
    topics: { include: ["${topic}"] }
    schemas: { mode: translate-ids, subjects: { include: ["${subjectsOf(topic)}"] } }
`),
      '<test>'
    )
    const verified = await verifyLink(config, 'schemas-keys')
    assert.equal(verified.ok, true, JSON.stringify(verified.partitions.filter(p => !p.ok)))
    assert.equal(verified.totals.matched, n)
  })
})
