import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { parseConfig } from '../../../src/config/index.ts'
import { issuesOf, yaml } from './helpers.ts'

const clusters = {
  dc1: { bootstrap: '127.0.0.1:19092' },
  dc2: { bootstrap: '127.0.0.1:29092' },
  dc3: { bootstrap: '127.0.0.1:39092' }
}

describe('config: two links writing one target topic', () => {
  test('refused with both links, both source topics and the keys', () => {
    const issues = issuesOf(
      yaml({
        clusters,
        links: [
          { name: 'a', source: 'dc1', target: 'dc3', naming: 'prefix', topics: { include: ['orders'] } },
          { name: 'b', source: 'dc2', target: 'dc3', topics: { include: ['payments', 'dc1.orders'] } }
        ]
      })
    )
    assert.deepEqual(issues, [
      {
        path: 'links[1].topics.include[1]',
        message:
          'link b would write topic "dc1.orders" on dc3 (from its source topic "dc1.orders", naming identity), which link a writes too (from source topic "orders", links[0].topics.include[0], naming prefix "dc1."): two links must not write one target topic; exclude the topic from one of them (topics.exclude) or change its naming'
      }
    ])
  })

  test('the same source topic copied by two links into one cluster: every record twice', () => {
    const issues = issuesOf(
      yaml({
        clusters,
        links: [
          { name: 'a', source: 'dc1', target: 'dc2', topics: { include: ['orders'] } },
          { name: 'b', source: 'dc1', target: 'dc2', topics: { include: ['ord.*'] } }
        ]
      })
    )
    assert.equal(issues.length, 1)
    assert.equal(issues[0]!.path, 'links[1].topics.include[0]')
    assert.match(issues[0]!.message, /both copy dc1's topic "orders", so every record would be written twice/)
  })

  test('a hub with identity naming is the routed multi-origin model: accepted; unknowable pairs warned', () => {
    const hub = parseConfig(
      yaml({
        clusters,
        links: [
          { source: 'dc1', target: 'dc3', topics: { include: ['orders', '.*'] } },
          { source: 'dc2', target: 'dc3', topics: { include: ['orders', '.*'] } }
        ]
      })
    )
    assert.deepEqual(hub.warnings, [])
    const mixed = parseConfig(
      yaml({
        clusters,
        links: [
          { source: 'dc1', target: 'dc3', naming: 'prefix', topics: { include: ['.*'] } },
          { source: 'dc2', target: 'dc3', topics: { include: ['.*'] } }
        ]
      })
    )
    assert.equal(mixed.warnings.length, 1)
    assert.match(mixed.warnings[0]!, /^links\[1\] \(dc2->dc3\) and links\[0\] \(dc1->dc3\) both write into dc3/)
  })
})
