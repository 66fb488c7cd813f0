import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { describeRoutes } from '../../../src/cli/commands/validate.ts'
import { parseConfig } from '../../../src/config/index.ts'
import { RoutePlan } from '../../../src/core/routes.ts'
import { yaml } from './helpers.ts'

const clusters = {
  dc1: { bootstrap: '127.0.0.1:19092' },
  dc2: { bootstrap: '127.0.0.1:29092' },
  dc3: { bootstrap: '127.0.0.1:39092' }
}
const link = (source: string, target: string, topics = ['orders'], naming?: string): Record<string, unknown> => ({
  source,
  target,
  topics: { include: topics },
  ...(naming === undefined ? {} : { naming })
})

describe('config: routes of a multi-hop topology', () => {
  test('each link is given the origins it copies, from every link of the config', () => {
    const config = parseConfig(yaml({ clusters, links: [link('dc1', 'dc2'), link('dc2', 'dc3')] }))
    const plan = RoutePlan.of(config.clusters.keys(), config.links)
    assert.deepEqual(plan.linkRouting('dc1', 'dc2'), { forwards: ['dc1'], origins: ['dc1'], hopLimit: 3 })
    assert.deepEqual(plan.linkRouting('dc2', 'dc3'), { forwards: ['dc2', 'dc1'], origins: ['dc1', 'dc2'], hopLimit: 3 })
    assert.deepEqual(config.warnings, [])
  })

  test('a full mesh: every link copies only its source own records', () => {
    const pairs = [
      ['dc1', 'dc2'],
      ['dc2', 'dc1'],
      ['dc1', 'dc3'],
      ['dc3', 'dc1'],
      ['dc2', 'dc3'],
      ['dc3', 'dc2']
    ] as const
    const config = parseConfig(yaml({ clusters, links: pairs.map(([s, t]) => link(s, t)) }))
    const plan = RoutePlan.of(config.clusters.keys(), config.links)
    for (const l of config.links) {
      assert.deepEqual(plan.linkRouting(l.source, l.target).forwards, [l.source], l.name)
      assert.equal(plan.linkRouting(l.source, l.target).origins.length, 2, l.name)
    }
    assert.deepEqual(
      describeRoutes(config.clusters.keys(), config.links),
      [],
      'nothing to explain: every route is one link'
    )
  })

  test('validate explains multi-hop routes and warns where a relay reads other topics', () => {
    const config = parseConfig(
      yaml({ clusters, links: [link('dc1', 'dc2'), link('dc2', 'dc3', ['orders', 'payments'])] })
    )
    assert.equal(config.warnings.length, 1)
    assert.match(
      config.warnings[0]!,
      /^links\[1\] \(dc2->dc3\) relays records of dc1 to dc3 \(route dc1 -> dc2 -> dc3\)/
    )
    assert.deepEqual(describeRoutes(config.clusters.keys(), config.links), [
      'routes: each record reaches each cluster over one route; the last link of the route copies it, every other link into that cluster skips it:',
      '  dc1 -> dc3: dc1 -> dc2 -> dc3 (copied by dc2->dc3)',
      '  no route (records never reach): dc2 -> dc1, dc3 -> dc1, dc3 -> dc2'
    ])
    const renamed = parseConfig(
      yaml({ clusters, links: [link('dc1', 'dc2', ['orders'], 'prefix'), link('dc2', 'dc3')] })
    )
    assert.equal(renamed.warnings.length, 1, 'a renaming first hop is warned about too')
  })
})
