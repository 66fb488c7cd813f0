import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { TopicFilter } from '../../../src/core/topic-filter.ts'
import { createLogger } from '../../../src/observability/logger.ts'
import { TargetIdLookup } from '../../../src/schemas/id-lookup.ts'
import { KeySchemaIds } from '../../../src/schemas/key-ids.ts'
import { RegistryClient } from '../../../src/schemas/registry-client.ts'
import { SchemaSync } from '../../../src/schemas/schema-sync.ts'
import { type FakeRegistry, startFakeRegistry } from '../../support/fake-registry.ts'

/**
 * The decision whether a key that starts like the wire format is a schema reference: only when the
 * source registry holds its id under `<topic>-key` (or a schemas.keySubjects subject). Epoch-ms keys
 * (a big-endian long read as "magic 0, id N") are not, and are copied byte-identical.
 */

async function register(registry: FakeRegistry, subject: string, schema: string): Promise<number> {
  const response = await fetch(`${registry.url}/subjects/${subject}/versions`, {
    method: 'POST',
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ schema })
  })
  return ((await response.json()) as { id: number }).id
}

/** An 8-byte big-endian epoch-milliseconds key, and the "schema id" its bytes 1-4 read as. */
function epochKey(ms: number): { key: Buffer; id: number } {
  const key = Buffer.alloc(8)
  key.writeBigInt64BE(BigInt(ms))
  return { key, id: key.readUInt32BE(1) }
}

const lookups = (registry: FakeRegistry): number =>
  registry.requests.filter(r => r.startsWith('GET /schemas/ids/')).length

describe('KeySchemaIds: which keys are in the wire format', () => {
  const open: FakeRegistry[] = []
  after(async () => Promise.all(open.map(r => r.close())))

  test('an epoch-ms key is no schema reference; decided once per id, logged once, counted', async () => {
    const registry = await startFakeRegistry({ firstId: 1 })
    open.push(registry)
    const { key, id } = epochKey(Date.UTC(2026, 11, 2, 17, 0, 0))
    assert.equal(key[0], 0, 'an epoch-ms long starts with a zero byte: it looks like the wire format')
    assert.ok(id > 0)
    const logs: string[] = []
    const keys = new KeySchemaIds(
      new RegistryClient({ alias: 'dc1', url: registry.url }),
      null,
      createLogger({ level: 'info', write: line => logs.push(line) })
    )
    assert.equal(keys.isWire('orders', id), undefined, 'undecided before the registry was asked')
    await keys.decide('orders', [id])
    await keys.decide('orders', [id, id])
    assert.equal(keys.isWire('orders', id), false)
    assert.equal(lookups(registry), 1, 'one registry call for the id, not one per record')
    assert.equal(keys.notWireFormat, 1)
    const logged = logs.filter(l => l.includes('KDR_KEY_NOT_WIRE_FORMAT'))
    assert.equal(logged.length, 1)
    assert.match(
      logged[0]!,
      new RegExp(`schema id ${id} are not schema references \\(id unknown to the source registry`)
    )
  })

  test('only ids under <topic>-key (or schemas.keySubjects) count; a value schema id in a key does not', async () => {
    const registry = await startFakeRegistry({ firstId: 100 })
    open.push(registry)
    const keyId = await register(registry, 'orders-key', '"long"')
    const valueId = await register(registry, 'orders-value', '"string"')
    const recordKeyId = await register(registry, 'com.acme.OrderKey', '{"type":"record","name":"OrderKey","fields":[]}')
    const client = new RegistryClient({ alias: 'dc1', url: registry.url })
    const plain = new KeySchemaIds(client, null, null)
    await plain.decide('orders', [keyId, valueId, recordKeyId])
    await plain.decide('payments', [keyId])
    assert.equal(plain.isWire('orders', keyId), true)
    assert.equal(plain.isWire('orders', valueId), false, 'a value schema id at the start of a key')
    assert.equal(plain.isWire('orders', recordKeyId), false, 'RecordNameStrategy subjects need schemas.keySubjects')
    assert.equal(plain.isWire('payments', keyId), false, "another topic's key schema")
    assert.equal(lookups(registry), 3, 'the subjects of an id are asked once, whatever the topic')

    const withRecordKeys = new KeySchemaIds(client, new TopicFilter(['com\\.acme\\..*Key'], [], () => false), null)
    await withRecordKeys.decide('orders', [recordKeyId, valueId])
    assert.equal(withRecordKeys.isWire('orders', recordKeyId), true)
    assert.equal(withRecordKeys.isWire('orders', valueId), false)
  })

  test('a registry that does not answer decides nothing (the partition waits and asks again)', async () => {
    const keys = new KeySchemaIds(
      new RegistryClient({ alias: 'dc1', url: 'http://127.0.0.1:1', timeoutMs: 500 }),
      null,
      null
    )
    await assert.rejects(keys.decide('orders', [12345]))
    assert.equal(keys.isWire('orders', 12345), undefined)
  })

  test('SchemaSync: a "no" becomes "yes" when the same schema (same id) is registered under <topic>-key later', async () => {
    const source = await startFakeRegistry({ firstId: 100 })
    const target = await startFakeRegistry({ firstId: 1 })
    open.push(source, target)
    const id = await register(source, 'shared-value', '"long"')
    const sync = new SchemaSync(
      { link: 'dc1->dc2', mode: 'translate-ids', subjects: new TopicFilter(['.*'], [], () => false), retryMs: 60_000 },
      new RegistryClient({ alias: 'dc1', url: source.url }),
      new RegistryClient({ alias: 'dc2', url: target.url }),
      createLogger({ level: 'error', write: () => {} })
    )
    await sync.decideKeys('orders', [id])
    assert.equal(sync.keyIsWire('orders', id), false)
    assert.equal(sync.state().keysNotWireFormat, 1)
    assert.equal(await register(source, 'orders-key', '"long"'), id, 'the registry reuses the id for the same schema')
    await sync.syncAll()
    assert.equal(sync.keyIsWire('orders', id), true)
  })

  test('verify compares keys as the link writes them: epoch-ms keys untouched, key schemas translated', async () => {
    const source = await startFakeRegistry({ firstId: 100 })
    const target = await startFakeRegistry({ firstId: 7 })
    open.push(source, target)
    const keyId = await register(source, 'orders-key', '"long"')
    const targetKeyId = await register(target, 'orders-key', '"long"')
    assert.notEqual(keyId, targetKeyId)
    const lookup = new TargetIdLookup(
      new RegistryClient({ alias: 'dc1', url: source.url }),
      new RegistryClient({ alias: 'dc2', url: target.url }),
      { keys: true, values: true }
    )
    const record = (key: Buffer): Parameters<TargetIdLookup['translate']>[0] => ({
      offset: 0n,
      timestamp: 0n,
      timestampType: 'create',
      key,
      value: null,
      headers: []
    })
    const wire = Buffer.from([0, 0, 0, 0, keyId, 2, 4])
    const translated = await lookup.translate(record(wire), 'orders')
    assert.equal(translated.key!.readUInt32BE(1), targetKeyId)
    const { key: epoch } = epochKey(Date.UTC(2026, 0, 1))
    const untouched = await lookup.translate(record(epoch), 'orders')
    assert.ok(untouched.key!.equals(epoch))
    // The same bytes as a key of another topic are no key schema there.
    assert.ok((await lookup.translate(record(wire), 'payments')).key!.equals(wire))
  })
})
