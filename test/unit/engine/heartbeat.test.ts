import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type PartitionStatus } from '../../../src/engine-events/index.ts'
import { CopiedRate, type HeartbeatOf, heartbeatEntries } from '../../../src/engine/fence-heartbeat.ts'

/** What a worker writes as its heartbeat (state/records.ts) and the copy rate it reports in it. */

function partition(p: number, state: PartitionStatus['state'] = 'running'): PartitionStatus {
  return {
    link: 'l',
    topic: 't',
    partition: p,
    targetTopic: 't',
    state,
    reason: state === 'running' ? null : 'boom',
    replicatedNext: 0n,
    committedNext: 0n,
    sourceLogStart: 0n,
    sourceHighWatermark: 0n,
    lagRecords: 0n,
    lastReplicatedTimestamp: -1,
    oldestUnreplicatedTimestamp: -1,
    replicatedRecords: 0,
    replicatedBytes: 0,
    loopSkippedRecords: 0,
    deadLetteredRecords: 0,
    lostRecords: 0n,
    fetchError: null
  }
}

const of = (slot: number): HeartbeatOf => ({
  link: 'l',
  intervalMs: 1000,
  state: 'running',
  committed: true,
  partitions: [partition(0), partition(1, 'errored')],
  schemas: null,
  clusterIds: null,
  worker: 'w1',
  generation: 4,
  members: ['w1', 'w2'],
  slot,
  bytesPerSecond: 1234
})

test("a worker with a slot writes the link's heartbeat and the same under its slot", () => {
  const entries = heartbeatEntries(of(3))
  assert.deepEqual(
    entries.map(e => (e.kind === 'worker' ? `worker ${e.slot}` : e.kind)),
    ['heartbeat', 'worker 3']
  )
  const [link, mine] = entries
  assert.ok(link?.kind === 'heartbeat' && mine?.kind === 'worker')
  assert.deepEqual(mine.value, { ...link.value, owns: { t: [0, 1] } }, 'the same, with the partitions it copies')
  assert.equal(link.value?.owns, null, "the link's heartbeat does not list them")
  assert.equal(link.value?.owned, 2)
  assert.equal(link.value?.bytesPerSecond, 1234)
  assert.deepEqual(
    link.value?.stopped.map(s => s.partition),
    [1]
  )
})

test("before it joined (slot -1) a worker writes only the link's heartbeat", () => {
  assert.deepEqual(
    heartbeatEntries(of(-1)).map(e => e.kind),
    ['heartbeat']
  )
})

test('the copy rate counts bytes copied between samples; partitions that came or left make no jump', () => {
  const rate = new CopiedRate()
  assert.equal(rate.sample(new Map([['t:0', 1000]]), 0), null, 'nothing to compare the first sample with')
  assert.equal(rate.sample(new Map([['t:0', 3000]]), 1000), 2000)
  // t:1 arrives with 50 MB copied by its earlier owner's run here; t:0 moved away.
  assert.equal(rate.sample(new Map([['t:1', 50_000_000]]), 2000), 0)
  assert.equal(rate.sample(new Map([['t:1', 50_000_500]]), 2500), 1000)
  assert.equal(rate.sample(new Map([['t:1', 50_000_500]]), 2500), null, 'no time passed')
})
