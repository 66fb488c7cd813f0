import assert from 'node:assert/strict'
import { test } from 'node:test'
import { planGroup } from '../../../src/core/group-plan.ts'
import {
  WorkerProtocolError,
  configDifference,
  configDigests,
  decodeWorkerAssignment,
  decodeWorkerMetadata,
  encodeWorkerAssignment,
  encodeWorkerMetadata
} from '../../../src/core/worker-metadata.ts'

test('member metadata and assignments round-trip through their codecs', () => {
  const metadata = {
    version: 1 as const,
    worker: 'host-a-123',
    http: '127.0.0.1:9644',
    config: configDigests({ name: 'dc1-to-dc2', delivery: 'exactly-once' }),
    owned: ['orders:0', 'orders:3'],
    rates: { 'orders:0': 1234.5, 'orders:3': 0 },
    slot: 2
  }
  assert.deepEqual(decodeWorkerMetadata(encodeWorkerMetadata(metadata), 'm1'), metadata)
  const assignment = {
    version: 1 as const,
    generation: 7,
    partitions: ['orders:1'],
    slot: 2,
    members: ['host-a-123', 'host-b-9'],
    refused: null
  }
  assert.deepEqual(decodeWorkerAssignment(encodeWorkerAssignment(assignment)), assignment)
  assert.deepEqual(decodeWorkerAssignment(Buffer.alloc(0)).partitions, [], 'an empty assignment is nothing to copy')
})

test('another version or another application is refused with what to do', () => {
  assert.throws(
    () => decodeWorkerMetadata(Buffer.from('{"v":2}'), 'm2'),
    (e: unknown) => e instanceof WorkerProtocolError && /member m2 has version 2.*same release/.test(e.message)
  )
  assert.throws(() => decodeWorkerMetadata(Buffer.from([0, 1, 2]), 'm3'), /member m3 is not kafka-dr's/)
  assert.throws(() => decodeWorkerMetadata(Buffer.from('{"v":1,"worker":5}'), 'm4'), /member m4 is malformed/)
  assert.throws(() => decodeWorkerAssignment(Buffer.from('{"v":1,"generation":"x"}')), /assignment .* malformed/)
})

test('configuration digests name the keys that differ, never their values', () => {
  const a = configDigests({ name: 'l', topics: { include: ['orders'] }, commitIntervalMs: 200, big: 1n })
  const same = configDigests({ big: 1n, commitIntervalMs: 200, topics: { include: ['orders'] }, name: 'l' })
  assert.deepEqual(configDifference(a, same), [], 'key order does not matter')
  const b = configDigests({ name: 'l', topics: { include: ['orders', 'payments'] }, commitIntervalMs: 200 })
  assert.deepEqual(configDifference(a, b), ['big', 'topics'])
  assert.ok(!JSON.stringify(a).includes('orders'), 'values never travel')
})

test('the leader refuses a member whose link configuration differs, naming the keys, and shares the rest', () => {
  const base = { version: 1 as const, http: null, owned: [], rates: {}, slot: -1 }
  const leader = { ...base, worker: 'a', config: configDigests({ name: 'l', delivery: 'exactly-once' }) }
  const same = { ...base, worker: 'b', config: configDigests({ name: 'l', delivery: 'exactly-once' }) }
  const other = { ...base, worker: 'c', config: configDigests({ name: 'l', delivery: 'at-least-once' }) }
  const plan = planGroup(
    [
      { memberId: 'm-a', metadata: leader },
      { memberId: 'm-b', metadata: same },
      { memberId: 'm-c', metadata: other }
    ],
    leader,
    ['t:0', 't:1', 't:2', 't:3'],
    3,
    16
  )
  assert.deepEqual(plan.refused, [{ worker: 'c', keys: ['delivery'] }])
  assert.match(plan.assignments.get('m-c')!.refused!, /differs from the group leader's \(worker a\) in delivery/)
  assert.deepEqual(plan.assignments.get('m-c')!.partitions, [])
  assert.equal(plan.assignments.get('m-a')!.partitions.length + plan.assignments.get('m-b')!.partitions.length, 4)
  assert.equal(plan.assignments.get('m-a')!.generation, 3)
})

test('a partition moving between members is withheld until its owner released it (one writer at a time)', () => {
  const base = { version: 1 as const, http: null, rates: {}, slot: -1, config: configDigests({ name: 'l' }) }
  const all = ['t:0', 't:1', 't:2', 't:3']
  const a = { ...base, worker: 'a', owned: all }
  const b = { ...base, worker: 'b', owned: [] as string[] }
  // Generation 5: b joined; two of a's partitions are to move to b.
  const first = planGroup(
    [
      { memberId: 'm-a', metadata: a },
      { memberId: 'm-b', metadata: b }
    ],
    a,
    all,
    5,
    16
  )
  assert.equal(first.followUp, true)
  assert.equal(first.withheld.length, 2)
  assert.deepEqual(first.assignments.get('m-b')!.partitions, [], 'b gets nothing a still copies')
  const keptByA = first.assignments.get('m-a')!.partitions
  assert.equal(keptByA.length, 2, 'a gives up two: it stops them, commits, rejoins')
  // Generation 6: a reports only what it kept; b now gets the two.
  const second = planGroup(
    [
      { memberId: 'm-a', metadata: { ...a, owned: keptByA } },
      { memberId: 'm-b', metadata: b }
    ],
    a,
    all,
    6,
    16
  )
  assert.equal(second.followUp, false)
  assert.deepEqual(second.assignments.get('m-b')!.partitions, [...first.withheld])
  assert.deepEqual(second.assignments.get('m-a')!.partitions, keptByA)
})

test('the follow-up round hands over what the first round decided, even when rates changed meanwhile', () => {
  const base = { version: 1 as const, http: null, config: configDigests({ name: 'l' }) }
  const all = Array.from({ length: 12 }, (_, i) => `t:${i}`)
  const a = { ...base, worker: 'a', slot: 0, owned: all.slice(0, 6), rates: {} }
  const b = { ...base, worker: 'b', slot: 1, owned: all.slice(6), rates: {} }
  const c = { ...base, worker: 'c', slot: -1, owned: [] as string[], rates: {} }
  const members = (x: typeof a, y: typeof b) => [
    { memberId: 'm-a', metadata: x },
    { memberId: 'm-b', metadata: y },
    { memberId: 'm-c', metadata: c }
  ]
  const first = planGroup(members(a, b), a, all, 1, 16)
  assert.equal(first.withheld.length, 4)
  assert.deepEqual([...new Set(first.handover.values())], ['c'])
  assert.equal(first.assignments.get('m-c')!.slot, 2, 'the newcomer gets the lowest free slot')
  assert.deepEqual(first.takenOver, [2], 'a slot changing hands is fenced too (its last holder may be a zombie)')
  assert.deepEqual(
    first.freeSlots,
    Array.from({ length: 13 }, (_, i) => i + 3)
  )
  // a and b released; their rates now differ wildly (measured over different windows).
  const keptA = first.assignments.get('m-a')!.partitions
  const keptB = first.assignments.get('m-b')!.partitions
  const skewed = Object.fromEntries(keptA.map(k => [k, 50_000]))
  const second = planGroup(
    members({ ...a, owned: keptA, rates: skewed }, { ...b, owned: keptB }),
    a,
    all,
    2,
    16,
    new Map(),
    first.handover
  )
  assert.deepEqual(second.assignments.get('m-c')!.partitions, [...first.withheld].sort())
  assert.deepEqual(second.assignments.get('m-a')!.partitions, keptA)
  assert.equal(second.followUp, false)
})

test('members beyond maxWorkers are refused, naming the setting', () => {
  const base = { version: 1 as const, http: null, config: configDigests({ name: 'l' }), owned: [], rates: {} }
  const plan = planGroup(
    [
      { memberId: 'm-a', metadata: { ...base, worker: 'a', slot: 0 } },
      { memberId: 'm-b', metadata: { ...base, worker: 'b', slot: -1 } }
    ],
    { ...base, worker: 'a', slot: 0 },
    ['t:0'],
    4,
    1
  )
  assert.match(plan.assignments.get('m-b')!.refused!, /workers\.maxWorkers \(1\)/)
  assert.deepEqual(plan.freeSlots, [])
})
