import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { TopicFilter } from '../../../src/core/topic-filter.ts'
import { createLogger } from '../../../src/observability/logger.ts'
import { RegistryClient } from '../../../src/schemas/registry-client.ts'
import { SchemaSync } from '../../../src/schemas/schema-sync.ts'
import { type SchemaIdMode } from '../../../src/engine-events/index.ts'
import { type FakeRegistry, startFakeRegistry } from '../../support/fake-registry.ts'

/**
 * SchemaSync against in-process registries that implement the Confluent API's IMPORT mode with
 * given ids (the keep-ids path, which the integration suite's real registry, Apicurio, does not
 * support), and the reference-version mapping of translate-ids.
 */

const address = JSON.stringify({ type: 'record', name: 'Address', fields: [{ name: 'city', type: 'string' }] })
const customer = (v: number): string =>
  JSON.stringify({
    type: 'record',
    name: 'Customer',
    fields: [{ name: 'address', type: 'Address' }, ...(v > 1 ? [{ name: 'email', type: 'string', default: '' }] : [])]
  })

async function register(registry: FakeRegistry, subject: string, body: Record<string, unknown>): Promise<number> {
  const response = await fetch(`${registry.url}/subjects/${subject}/versions`, {
    method: 'POST',
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify(body)
  })
  return ((await response.json()) as { id: number }).id
}

/** dc1's registry: address v1, customer v1 and v2 (both referencing address v1), a JSON schema. */
interface SourceIds {
  address: number
  customerV1: number
  customerV2: number
  json: number
  internal: number
}

async function sourceRegistry(): Promise<{ registry: FakeRegistry; ids: SourceIds }> {
  const registry = await startFakeRegistry({ firstId: 100 })
  const ref = [{ name: 'Address', subject: 'address', version: 1 }]
  const ids: SourceIds = {
    address: await register(registry, 'address', { schema: address }),
    customerV1: await register(registry, 'customer-value', { schema: customer(1), references: ref }),
    customerV2: await register(registry, 'customer-value', { schema: customer(2), references: ref }),
    json: await register(registry, 'events-value', { schema: '{"type":"object"}', schemaType: 'JSON' }),
    internal: await register(registry, 'internal-value', { schema: '"string"' })
  }
  return { registry, ids }
}

function sync(mode: SchemaIdMode, source: FakeRegistry, target: FakeRegistry, logs: string[] = []): SchemaSync {
  return new SchemaSync(
    { link: 'dc1->dc2', mode, subjects: new TopicFilter(['.*'], ['internal-value'], () => false), retryMs: 60_000 },
    new RegistryClient({ alias: 'dc1', url: source.url }),
    new RegistryClient({ alias: 'dc2', url: target.url }),
    createLogger({ level: 'info', write: line => logs.push(line) })
  )
}

describe('SchemaSync', () => {
  const open: FakeRegistry[] = []
  after(async () => Promise.all(open.map(r => r.close())))

  test('keep-ids: the probe passes, every version lands under its source id and version, in IMPORT mode', async () => {
    const { registry: source, ids } = await sourceRegistry()
    const target = await startFakeRegistry({ firstId: 1 })
    open.push(source, target)
    await register(target, 'unrelated', { schema: '"int"' }) // id 1 on the target
    const schemas = sync('keep-ids', source, target)
    await schemas.preflight()
    const state = await schemas.syncAll()
    assert.deepEqual(state.totals, { subjects: 3, versions: 4, inSync: 4, pending: 0, failed: 0, softDeleted: 0 })
    const customerVersions = target.subjects.get('customer-value')!
    assert.deepEqual(
      customerVersions.map(v => [v.version, v.id]),
      [
        [1, ids.customerV1],
        [2, ids.customerV2]
      ]
    )
    assert.deepEqual(customerVersions[0]!.references, [{ name: 'Address', subject: 'address', version: 1 }])
    assert.equal(target.subjects.get('address')![0]!.id, ids.address)
    assert.equal(schemas.targetId(ids.json), ids.json)
    // The probe subject is gone; address was registered before the schema that references it.
    assert.ok(![...target.subjects.keys()].some(s => s.startsWith('_kafka-dr-probe')))
    const posts = target.requests.filter(r => r.startsWith('POST') && r.endsWith('/versions'))
    assert.ok(
      posts.indexOf('POST /subjects/address/versions') < posts.indexOf('POST /subjects/customer-value/versions')
    )
    assert.ok(target.requests.includes('PUT /mode/customer-value'))
    assert.equal(
      state.subjects.find(s => s.subject === 'internal-value'),
      undefined,
      'excluded subject not copied'
    )
  })

  test('keep-ids against a registry that assigns its own ids: the preflight names the registry and the ids', async () => {
    const { registry: source } = await sourceRegistry()
    const target = await startFakeRegistry({ honourIds: false, firstId: 5 })
    open.push(source, target)
    await assert.rejects(
      sync('keep-ids', source, target).preflight(),
      new RegExp(
        `^KdrError: schemas\\.mode keep-ids for link dc1->dc2: the schema registry of cluster dc2 \\(${target.url.replaceAll('.', '\\.')}\\) does not keep schema ids: asked to register id \\d+ in IMPORT mode, it assigned id 5\\. Use schemas\\.mode: translate-ids`
      )
    )
  })

  test('translate-ids: references point at the versions the referenced schemas got on the target', async () => {
    const { registry: source, ids } = await sourceRegistry()
    const target = await startFakeRegistry({ firstId: 1 })
    open.push(source, target)
    // The target's "address" subject already has a version 1 of its own: the copy becomes version 2.
    await register(target, 'address', { schema: JSON.stringify({ type: 'record', name: 'Old', fields: [] }) })
    const schemas = sync('translate-ids', source, target)
    await schemas.preflight()
    // On demand (the data path): customer v2 needs customer v1 (version order) and address.
    const resolved = await schemas.ensureIds([ids.customerV2])
    const targetId = resolved.get(ids.customerV2)
    assert.equal(typeof targetId, 'number')
    assert.notEqual(targetId, ids.customerV2)
    const customerVersions = target.subjects.get('customer-value')!
    assert.deepEqual(
      customerVersions.map(v => v.references),
      [[{ name: 'Address', subject: 'address', version: 2 }], [{ name: 'Address', subject: 'address', version: 2 }]]
    )
    assert.equal(customerVersions[1]!.id, targetId)
    assert.equal(schemas.targetId(ids.customerV1), customerVersions[0]!.id)
  })

  test('ids the source does not know, or whose subjects are not selected, fail with a reason; nothing is registered', async () => {
    const { registry: source, ids } = await sourceRegistry()
    const target = await startFakeRegistry({ firstId: 1 })
    open.push(source, target)
    const logs: string[] = []
    const schemas = sync('translate-ids', source, target, logs)
    const resolved = await schemas.ensureIds([424242, ids.internal])
    assert.deepEqual(resolved.get(424242), {
      kind: 'unknown-id',
      reason:
        'schema id 424242 is unknown to the schema registry of cluster dc1 (never registered there, or only under deleted versions, which are not copied)'
    })
    assert.deepEqual(resolved.get(ids.internal), {
      kind: 'excluded',
      reason: `schema id ${ids.internal} is registered only under subject(s) internal-value v1, which schemas.subjects does not select`
    })
    assert.equal(target.subjects.size, 0)
    // Failures are remembered until retryMs passes: asking again does not call the registry.
    const before = source.requests.length
    await schemas.ensureIds([424242])
    assert.equal(source.requests.length, before)
  })
})
