import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { COPY, OTHER_ROUTE } from '../../../src/core/origin-filter.ts'
import { ProvenanceEncoder } from '../../../src/core/provenance.ts'
import { RoutePlan } from '../../../src/core/routes.ts'
import { resolveOrigins, storedOrigins } from '../../../src/engine/origin-ids.ts'
import { KdrError } from '../../../src/errors.ts'
import { type ClusterConnection } from '../../../src/kafka/index.ts'
import { createLogger } from '../../../src/observability/logger.ts'

/**
 * Link dc1 -> dc3 of a full mesh needs dc2's cluster id (dc2's records reach dc3 directly, so this
 * link must recognise and skip them). dc2 does not answer here (nothing listens on its port).
 */
describe('origin cluster ids of a link', () => {
  const nobody: ClusterConnection = { alias: 'dc2', bootstrap: ['127.0.0.1:1'], connectTimeoutMs: 200 }
  const clusters = new Map([['dc2', nobody]])
  const mesh = RoutePlan.of(
    [],
    ['dc1>dc2', 'dc2>dc1', 'dc1>dc3', 'dc3>dc1', 'dc2>dc3', 'dc3>dc2'].map(p => {
      const [source, target] = p.split('>') as [string, string]
      return { source, target }
    })
  )
  const known = new Map([
    ['dc1', 'ID-1'],
    ['dc3', 'ID-3']
  ])
  const header = new ProvenanceEncoder('orders', 0).encode('ID-2', 1, 7n)

  test('an unreachable origin with no remembered id: the link does not start, the error names the cluster', async () => {
    const logs: string[] = []
    await assert.rejects(
      resolveOrigins(
        'dc1->dc3',
        mesh.linkRouting('dc1', 'dc3'),
        { alias: 'dc3', id: 'ID-3' },
        known,
        clusters,
        undefined,
        createLogger({ write: line => logs.push(line) })
      ),
      (error: unknown) =>
        KdrError.is(error) &&
        error.code === 'KDR_ERR_KAFKA_CONNECT' &&
        /needs the cluster id of dc2/.test(error.message)
    )
  })

  test('an unreachable origin is recognised by the id remembered in the last heartbeat', async () => {
    const logs: string[] = []
    const { ids, filter } = await resolveOrigins(
      'dc1->dc3',
      mesh.linkRouting('dc1', 'dc3'),
      { alias: 'dc3', id: 'ID-3' },
      known,
      clusters,
      { dc2: 'ID-2' },
      createLogger({ write: line => logs.push(line) })
    )
    assert.deepEqual(Object.fromEntries(ids), { dc1: 'ID-1', dc2: 'ID-2', dc3: 'ID-3' })
    assert.equal(filter.decide(header, 0, header.length), OTHER_ROUTE)
    assert.equal(logs.filter(l => l.includes('its cluster id from the last run')).length, 1)
  })

  test('a link whose target has no other origin needs no other cluster', async () => {
    const { filter } = await resolveOrigins(
      'dc1->dc3',
      RoutePlan.of([], [{ source: 'dc1', target: 'dc3' }]).linkRouting('dc1', 'dc3'),
      { alias: 'dc3', id: 'ID-3' },
      known,
      clusters,
      undefined,
      createLogger({ write: () => {} })
    )
    assert.equal(filter.decide(header, 0, header.length), COPY, 'an origin outside the routes is copied')
  })
})

describe('origin rules from stored ids (failover, translate, failback: no cluster asked)', () => {
  const plan = (pairs: string[]): RoutePlan =>
    RoutePlan.of(
      [],
      pairs.map(p => {
        const [source, target] = p.split('>') as [string, string]
        return { source, target }
      })
    )
  const header = (origin: string, hops: number): Buffer => new ProvenanceEncoder('t', 0).encode(origin, hops, 1n)

  test('a mesh link recognises only its own origins, from the ids its heartbeat recorded', () => {
    const mesh = plan(['dc1>dc2', 'dc2>dc1', 'dc1>dc3', 'dc3>dc1', 'dc2>dc3', 'dc3>dc2'])
    const filter = storedOrigins(mesh.linkRouting('dc1', 'dc3'), 'dc3', { dc1: 'id1', dc2: 'id2', dc3: 'id3' })
    assert.ok(filter !== null)
    const one = header('id1', 1)
    const two = header('id2', 2)
    assert.equal(filter.decide(one, 0, one.length), COPY)
    assert.equal(filter.decide(two, 0, two.length), OTHER_ROUTE)
  })

  test('two clusters, or ids not recorded: no rules (the hop-1 rule applies)', () => {
    assert.equal(storedOrigins(plan(['dc1>dc2', 'dc2>dc1']).linkRouting('dc1', 'dc2'), 'dc2', {}), null)
    const mesh = plan(['dc1>dc2', 'dc2>dc1', 'dc1>dc3', 'dc3>dc1', 'dc2>dc3', 'dc3>dc2'])
    assert.equal(storedOrigins(mesh.linkRouting('dc1', 'dc3'), 'dc3', { dc1: 'id1', dc3: 'id3' }), null)
    assert.equal(storedOrigins(mesh.linkRouting('dc1', 'dc3'), 'dc3', undefined), null)
  })
})
