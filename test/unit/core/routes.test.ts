import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { COPY, HOP_LIMIT, LOOP, OTHER_ROUTE, OriginFilter } from '../../../src/core/origin-filter.ts'
import { ProvenanceEncoder } from '../../../src/core/provenance.ts'
import { RoutePlan, type RouteLink } from '../../../src/core/routes.ts'

const links = (...pairs: string[]): RouteLink[] =>
  pairs.map(pair => {
    const [source, target] = pair.split('>') as [string, string]
    return { source, target }
  })
const both = (...pairs: string[]): RouteLink[] =>
  links(...pairs.flatMap(pair => [pair, pair.split('>').reverse().join('>')]))

const topologies: Record<string, { clusters: string[]; links: RouteLink[] }> = {
  chain: { clusters: ['dc1', 'dc2', 'dc3'], links: links('dc1>dc2', 'dc2>dc3') },
  'chain both ways': { clusters: ['dc1', 'dc2', 'dc3'], links: both('dc1>dc2', 'dc2>dc3') },
  ring: { clusters: ['dc1', 'dc2', 'dc3'], links: links('dc1>dc2', 'dc2>dc3', 'dc3>dc1') },
  'ring of four': { clusters: ['a', 'b', 'c', 'd'], links: links('a>b', 'b>c', 'c>d', 'd>a') },
  'hub and spokes': { clusters: ['hub', 's1', 's2', 's3'], links: both('hub>s1', 'hub>s2', 'hub>s3') },
  'full mesh': { clusters: ['dc1', 'dc2', 'dc3'], links: both('dc1>dc2', 'dc1>dc3', 'dc2>dc3') },
  'full mesh of four': { clusters: ['a', 'b', 'c', 'd'], links: both('a>b', 'a>c', 'a>d', 'b>c', 'b>d', 'c>d') },
  diamond: { clusters: ['dc1', 'dc2', 'dc3', 'dc4'], links: links('dc1>dc2', 'dc2>dc4', 'dc1>dc3', 'dc3>dc4') },
  'diamond both ways': {
    clusters: ['dc1', 'dc2', 'dc3', 'dc4'],
    links: both('dc1>dc2', 'dc2>dc4', 'dc1>dc3', 'dc3>dc4')
  }
}

/** Which clusters a path of links reaches from `origin` (plain graph search, independent of RoutePlan). */
function reachable(origin: string, all: RouteLink[]): Set<string> {
  const seen = new Set([origin])
  const queue = [origin]
  while (queue.length > 0) {
    const at = queue.shift()!
    for (const l of all) if (l.source === at && !seen.has(l.target)) queue.push((seen.add(l.target), l.target))
  }
  seen.delete(origin)
  return seen
}

/**
 * Runs the copy rule over the links: every copy of a record sits on one cluster; each link copies
 * what its source holds when the plan says so. Returns how many copies each cluster holds (the
 * origin's own record included), failing if copying does not stop.
 */
function simulate(plan: RoutePlan, all: RouteLink[], origin: string): Map<string, number> {
  const held = new Map<string, number>([[origin, 1]])
  let pending = [origin]
  for (let round = 0; pending.length > 0; round++) {
    assert.ok(round < 50, `records of ${origin} keep being copied (cycle)`)
    const next: string[] = []
    for (const at of pending) {
      for (const link of all) {
        if (link.source !== at || link.target === origin) continue
        if (!plan.forwardedBy(link.source, link.target).includes(origin)) continue
        held.set(link.target, (held.get(link.target) ?? 0) + 1)
        next.push(link.target)
      }
    }
    pending = next
  }
  return held
}

describe('routes over a topology', () => {
  for (const [name, topology] of Object.entries(topologies)) {
    test(`${name}: each record exactly once on every cluster it can reach, never cycling`, () => {
      const plan = RoutePlan.of(topology.clusters, topology.links)
      for (const origin of topology.clusters) {
        const held = simulate(plan, topology.links, origin)
        const expected = new Map([[origin, 1], ...[...reachable(origin, topology.links)].map(c => [c, 1] as const)])
        assert.deepEqual(
          new Map([...held].sort()),
          new Map([...expected].sort()),
          `${name}: copies of ${origin}'s records`
        )
        for (const target of topology.clusters) {
          if (target === origin) continue
          // Exactly one link into the target copies the origin's records, if any path exists.
          const copying = topology.links.filter(
            l => l.target === target && plan.forwardedBy(l.source, l.target).includes(origin)
          )
          assert.equal(copying.length, reachable(origin, topology.links).has(target) ? 1 : 0, `${origin} -> ${target}`)
        }
      }
    })
  }

  test('routes are the shortest paths, ties broken by alias, and a direct link is always the route', () => {
    const diamond = RoutePlan.of([], topologies.diamond!.links)
    assert.deepEqual(diamond.route('dc1', 'dc4'), ['dc1', 'dc2', 'dc4'])
    assert.deepEqual(diamond.forwardedBy('dc2', 'dc4'), ['dc2', 'dc1'])
    assert.deepEqual(diamond.forwardedBy('dc3', 'dc4'), ['dc3'])
    assert.equal(diamond.route('dc4', 'dc1'), null)

    const mesh = RoutePlan.of([], topologies['full mesh']!.links)
    for (const [a, b] of [
      ['dc1', 'dc2'],
      ['dc1', 'dc3'],
      ['dc2', 'dc3']
    ] as const) {
      assert.deepEqual(mesh.route(a, b), [a, b])
      assert.deepEqual(mesh.forwardedBy(a, b), [a], 'in a full mesh every link copies only its source own records')
    }
    assert.deepEqual(mesh.multiHop(), [])

    const chain = RoutePlan.of([], topologies.chain!.links)
    assert.deepEqual(chain.route('dc1', 'dc3'), ['dc1', 'dc2', 'dc3'])
    assert.deepEqual(chain.forwardedBy('dc2', 'dc3'), ['dc2', 'dc1'])
    assert.deepEqual(chain.originsOf('dc3'), ['dc1', 'dc2'])
    assert.deepEqual(chain.multiHop(), [{ origin: 'dc1', target: 'dc3', path: ['dc1', 'dc2', 'dc3'] }])

    const ring = RoutePlan.of([], topologies.ring!.links)
    assert.deepEqual(ring.route('dc2', 'dc1'), ['dc2', 'dc3', 'dc1'])
    assert.deepEqual(ring.forwardedBy('dc3', 'dc1'), ['dc3', 'dc2'])

    // Order of the links in the config does not matter.
    const shuffled = RoutePlan.of([], [...topologies['diamond both ways']!.links].reverse())
    const ordered = RoutePlan.of([], topologies['diamond both ways']!.links)
    assert.deepEqual(shuffled.multiHop(), ordered.multiHop())
  })

  test('a forwarded record never has more hops than clusters - 1', () => {
    for (const [name, topology] of Object.entries(topologies)) {
      const plan = RoutePlan.of(topology.clusters, topology.links)
      for (const route of plan.multiHop())
        assert.ok(route.path.length - 1 < plan.clusters.length, `${name}: ${route.path.join('>')}`)
    }
  })
})

describe('origin filter (per-record decision of one link)', () => {
  const encoder = new ProvenanceEncoder('orders', 0)
  const header = (origin: string, hops: number): Buffer => encoder.encode(origin, hops, 42n)
  // Link dc2 -> dc3 of the chain dc1 -> dc2 -> dc3 plus dc4 -> dc3 directly.
  const filter = new OriginFilter({
    targetId: 'ID-3',
    forwardIds: ['ID-2', 'ID-1'],
    otherRouteIds: ['ID-4'],
    hopLimit: 4
  })

  test('decides by the origin in the header, compared in place', () => {
    const decide = (value: Buffer): number => {
      // Inside a larger buffer, as in a fetched batch.
      const data = Buffer.concat([Buffer.from('xxxx'), value, Buffer.from('yy')])
      return filter.decide(data, 4, value.length)
    }
    assert.equal(decide(header('ID-3', 1)), LOOP, 'origin is the target')
    assert.equal(decide(header('ID-1', 1)), COPY, 'routed over this link')
    assert.equal(decide(header('ID-2', 2)), COPY, 'the source own origin')
    assert.equal(decide(header('ID-4', 1)), OTHER_ROUTE, 'another link delivers it')
    assert.equal(decide(header('ID-9', 1)), COPY, 'an origin outside the config')
    assert.equal(decide(header('ID-9', 4)), HOP_LIMIT, 'outside the config, at the hop limit')
    assert.equal(decide(header('ID-1', 4)), HOP_LIMIT, 'the last guard applies to routed origins too')
    assert.equal(decide(header('ID-31', 1)), COPY, 'a longer id that starts like the target is another id')
    assert.equal(decide(header('ID', 1)), COPY, 'a prefix of an id is another id')
    assert.equal(decide(Buffer.from([1, 1])), COPY, 'unreadable: replaced by the copier own header')
    assert.equal(decide(Buffer.from([0, 1, 4, 73, 68, 45, 51])), COPY, 'version 0 is not a provenance header')
    assert.equal(decide(Buffer.from([1, 1, 40, 73])), COPY, 'origin length beyond the value')
  })

  test('without routes it only refuses records whose origin is the target (two clusters)', () => {
    const plain = new OriginFilter({ targetId: 'ID-3' })
    assert.equal(plain.decide(header('ID-3', 1), 0, header('ID-3', 1).length), LOOP)
    assert.equal(plain.decide(header('ID-1', 200), 0, header('ID-1', 200).length), COPY)
  })
})
