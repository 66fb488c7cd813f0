import assert from 'node:assert/strict'
import { test } from 'node:test'
import { partitionOwners } from '../../../src/failover/partition-owners.ts'
import { type HeartbeatDocument } from '../../../src/state/index.ts'
import { heartbeatDoc } from '../../support/heartbeats.ts'

/** Who copies each partition, as `kafka-dr status` reads it from the workers' own heartbeat records. */

const NOW = 1_000_000
const record = (
  worker: string,
  at: number,
  owns: Record<string, number[]> | null,
  extra: Partial<HeartbeatDocument> = {}
): HeartbeatDocument => heartbeatDoc(worker, at, { owns, ...extra })

test('each partition belongs to the worker that lists it; its stopped entry gives the state', () => {
  const owners = partitionOwners(
    [
      record(
        'w1',
        NOW - 500,
        { t: [0, 1] },
        { stopped: [{ topic: 't', partition: 1, state: 'errored', reason: 'too large' }] }
      ),
      record('w2', NOW - 400, { t: [2] })
    ],
    NOW
  )
  assert.deepEqual(owners.get('t\u00000'), { worker: 'w1', state: 'running', reason: null })
  assert.deepEqual(owners.get('t\u00001'), { worker: 'w1', state: 'errored', reason: 'too large' })
  assert.deepEqual(owners.get('t\u00002'), { worker: 'w2', state: 'running', reason: null })
})

test('a moved partition belongs to the worker that wrote last; stopped workers and old records own nothing', () => {
  const owners = partitionOwners(
    [
      record('new', NOW - 100, { t: [0] }),
      record(
        'old',
        NOW - 2000,
        { t: [0, 1] },
        { stopped: [{ topic: 't', partition: 0, state: 'errored', reason: 'x' }] }
      ),
      record('left', NOW - 300, { t: [5] }, { state: 'stopped' }),
      record('legacy', NOW - 300, null)
    ],
    NOW
  )
  assert.deepEqual(owners.get('t\u00000'), { worker: 'new', state: 'running', reason: null })
  assert.equal(owners.get('t\u00001')?.worker, 'old')
  assert.equal(owners.has('t\u00005'), false)
  assert.equal(owners.size, 2)
})

test('a worker silent for three intervals: its partitions are shown unresponsive, whatever it said', () => {
  const owners = partitionOwners([record('dead', NOW - 20_000, { t: [0] })], NOW)
  assert.deepEqual(owners.get('t\u00000'), { worker: 'dead', state: 'unresponsive', reason: null })
})
