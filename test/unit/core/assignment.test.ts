import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type AssignmentMember, assignPartitions } from '../../../src/core/assignment.ts'

/** The worker group's assignment (scale-out, issue 16): balanced, weighted by bytes/s, sticky. */

const partitionsOf = (topics: string[], count: number): string[] =>
  topics.flatMap(topic => Array.from({ length: count }, (_, p) => `${topic}:${p}`))
const members = (...ids: string[]): AssignmentMember[] => ids.map(id => ({ id, owned: [] }))
const counts = (byMember: Map<string, string[]>): number[] => [...byMember.values()].map(keys => keys.length)
const spread = (values: number[]): number => Math.max(...values) - Math.min(...values)

test('3 workers, 2 topics x 12 partitions, no rates known yet: 8 each, every partition once', () => {
  const partitions = partitionsOf(['orders', 'payments'], 12)
  const { byMember, moved } = assignPartitions({ members: members('w1', 'w2', 'w3'), partitions, rates: new Map() })
  assert.deepEqual(counts(byMember), [8, 8, 8])
  assert.deepEqual([...byMember.values()].flat().sort(), [...partitions].sort())
  assert.equal(moved, 0)
})

test('equal rates: counts within one partition', () => {
  const partitions = partitionsOf(['t'], 25)
  const rates = new Map(partitions.map(p => [p, 1000]))
  const { byMember } = assignPartitions({ members: members('a', 'b', 'c'), partitions, rates })
  assert.ok(spread(counts(byMember)) <= 1, `counts ${counts(byMember).join('/')}`)
})

test('one partition ten times hotter than the rest: assigned by bytes, not by count', () => {
  const partitions = partitionsOf(['orders', 'payments'], 12)
  const rates = new Map(partitions.map(p => [p, p === 'orders:0' ? 10_000 : 1000]))
  const { byMember } = assignPartitions({ members: members('w1', 'w2', 'w3'), partitions, rates })
  // Bytes/s per member, from the true rates (the assignment weighs them on a coarser scale).
  const loads = [...byMember.values()].map(keys => keys.reduce((sum, key) => sum + rates.get(key)!, 0))
  assert.ok(Math.max(...loads) <= 1.2 * Math.min(...loads), `loads ${loads.join('/')}`)
  const hot = [...byMember.entries()].find(([, keys]) => keys.includes('orders:0'))!
  assert.ok(hot[1].length < 8, 'the member with the hot partition copies fewer partitions')
})

test('rates that differ tenfold: every member within 20 % of the mean bytes/s', () => {
  const partitions = partitionsOf(['a', 'b', 'c'], 10)
  // Deterministic rates between 1,000 and 10,000 bytes/s.
  const rates = new Map(partitions.map((p, i) => [p, 1000 + ((i * 7919) % 9001)]))
  for (const ids of [
    ['w1', 'w2'],
    ['w1', 'w2', 'w3'],
    ['w1', 'w2', 'w3', 'w4']
  ]) {
    const { byMember } = assignPartitions({ members: members(...ids), partitions, rates })
    const loads = [...byMember.values()].map(keys => keys.reduce((sum, key) => sum + rates.get(key)!, 0))
    const mean = loads.reduce((a, b) => a + b, 0) / loads.length
    for (const l of loads)
      assert.ok(Math.abs(l - mean) <= 0.2 * mean, `${ids.length} members: loads ${loads.join('/')}`)
  }
})

test('sticky: the same group again moves nothing', () => {
  const partitions = partitionsOf(['orders', 'payments'], 12)
  const rates = new Map(partitions.map((p, i) => [p, 500 + i * 50]))
  const first = assignPartitions({ members: members('w1', 'w2', 'w3'), partitions, rates })
  const again = assignPartitions({
    members: [...first.byMember].map(([id, owned]) => ({ id, owned })),
    partitions,
    rates
  })
  assert.equal(again.moved, 0)
  assert.deepEqual(again.byMember, first.byMember)
})

test('a fourth worker joins: it takes a quarter, nothing moves among the other three', () => {
  const partitions = partitionsOf(['orders', 'payments'], 12)
  const first = assignPartitions({ members: members('w1', 'w2', 'w3'), partitions, rates: new Map() })
  const joined = assignPartitions({
    members: [...[...first.byMember].map(([id, owned]) => ({ id, owned })), { id: 'w4', owned: [] }],
    partitions,
    rates: new Map()
  })
  assert.ok(joined.moved <= partitions.length / 4, `moved ${joined.moved}`)
  assert.deepEqual(counts(joined.byMember), [6, 6, 6, 6])
  for (const id of ['w1', 'w2', 'w3']) {
    const before = new Set(first.byMember.get(id))
    assert.ok(
      joined.byMember.get(id)!.every(key => before.has(key)),
      `${id} received nothing from another`
    )
  }
})

test('a worker leaves: only its partitions move', () => {
  const partitions = partitionsOf(['orders'], 12)
  const first = assignPartitions({ members: members('w1', 'w2', 'w3'), partitions, rates: new Map() })
  const left = assignPartitions({
    members: [...first.byMember].filter(([id]) => id !== 'w2').map(([id, owned]) => ({ id, owned })),
    partitions,
    rates: new Map()
  })
  assert.equal(left.moved, 0, 'nothing is taken from a member that stays')
  assert.deepEqual(counts(left.byMember), [6, 6])
  const received = ['w1', 'w3'].flatMap(id => left.byMember.get(id)!.filter(k => !first.byMember.get(id)!.includes(k)))
  assert.deepEqual(received.sort(), [...first.byMember.get('w2')!].sort(), 'exactly the partitions of w2 moved')
})

test('a partition claimed by two members stays with the first; input order does not matter', () => {
  const partitions = ['t:0', 't:1']
  const input = {
    members: [
      { id: 'b', owned: ['t:0', 't:1'] },
      { id: 'a', owned: ['t:0'] }
    ],
    partitions,
    rates: new Map<string, number>()
  }
  const result = assignPartitions(input)
  assert.deepEqual(result.byMember.get('a'), ['t:0'])
  assert.deepEqual(result.byMember.get('b'), ['t:1'])
  const reversed = assignPartitions({ ...input, members: [...input.members].reverse() })
  assert.deepEqual(reversed.byMember, result.byMember)
})

test('no members: nothing assigned; partitions that no longer exist are dropped', () => {
  assert.equal(assignPartitions({ members: [], partitions: ['t:0'], rates: new Map() }).byMember.size, 0)
  const { byMember } = assignPartitions({
    members: [{ id: 'a', owned: ['gone:0', 't:0'] }],
    partitions: ['t:0'],
    rates: new Map()
  })
  assert.deepEqual(byMember.get('a'), ['t:0'])
})

test('without balancing (a follow-up round), only orphans move: owned partitions stay even when loads differ', () => {
  const partitions = ['t:0', 't:1', 't:2', 't:3']
  const result = assignPartitions({
    members: [
      { id: 'a', owned: ['t:0', 't:1', 't:2'] },
      { id: 'b', owned: [] }
    ],
    partitions,
    rates: new Map(),
    balance: false
  })
  assert.deepEqual(result.byMember.get('a'), ['t:0', 't:1', 't:2'])
  assert.deepEqual(result.byMember.get('b'), ['t:3'], 'the orphan goes to the least loaded member')
  assert.equal(result.moved, 0)
})
