import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  type WorkerAssignment,
  decodeWorkerAssignment,
  encodeWorkerAssignment
} from '../../../src/core/worker-metadata.ts'
import { type Generation, WorkerMembership } from '../../../src/engine/worker-membership.ts'
import { type HeartbeatAnswer, type Joined } from '../../../src/kafka/worker-group.ts'
import { createLogger } from '../../../src/observability/logger.ts'

/** A worker's decisions in a rebalance, with a fake group: release before acquire, rejoin after a release. */

function fakeGroup(rounds: { assignment: Partial<WorkerAssignment>; heartbeats?: (HeartbeatAnswer | Error)[] }[]) {
  const steps: string[] = []
  let round = -1
  const group = {
    join: (): Promise<Joined> => {
      round++
      const r = rounds[Math.min(round, rounds.length - 1)]!
      steps.push(`join ${round}`)
      const assignment: WorkerAssignment = {
        version: 1,
        generation: round,
        partitions: [],
        slot: 0,
        members: ['w'],
        refused: null,
        ...r.assignment
      }
      return Promise.resolve({
        generation: round,
        memberId: 'm',
        leaderId: 'm',
        isLeader: true,
        assignment: encodeWorkerAssignment(assignment)
      })
    },
    heartbeat: (): Promise<HeartbeatAnswer> => {
      const answer = rounds[round]?.heartbeats?.shift() ?? 'ok'
      steps.push(`heartbeat ${answer instanceof Error ? 'error' : answer}`)
      return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer)
    },
    leave: () => {
      steps.push('leave')
      return Promise.resolve()
    }
  }
  const owner = {
    release: (partitions: readonly string[]) => {
      steps.push(`release ${partitions.join(',')}`)
      return Promise.resolve()
    },
    acquire: (partitions: readonly string[], { generation }: Generation) => {
      steps.push(`acquire ${partitions.join(',')} @${generation}`)
      return Promise.resolve()
    },
    refuse: (reason: string) => steps.push(`refuse: ${reason}`)
  }
  return { steps, group, owner }
}

const options = (leaveOnStop = false) => ({
  sessionTimeoutMs: 50,
  heartbeatIntervalMs: 5,
  leaveOnStop,
  decode: decodeWorkerAssignment
})
const quiet = createLogger({ write: () => {} })

/** The owner, stopping the worker once it acquired generation `generation`. */
function stopAt(owner: ReturnType<typeof fakeGroup>['owner'], generation: number, stop: AbortController) {
  return {
    ...owner,
    acquire: async (partitions: readonly string[], g: Generation) => {
      await owner.acquire(partitions, g)
      if (g.generation === generation) setImmediate(() => stop.abort())
    }
  }
}

test('a rebalance releases what moved away before acquiring what came, then joins again at once', async () => {
  const stop = new AbortController()
  const { steps, group, owner } = fakeGroup([
    { assignment: { partitions: ['t:0', 't:1', 't:2'] }, heartbeats: ['ok', 'rebalance'] },
    { assignment: { partitions: ['t:0', 't:3'] } }, // t:1 and t:2 move away, t:3 comes
    { assignment: { partitions: ['t:0', 't:3'] }, heartbeats: ['ok'] }
  ])
  const membership = new WorkerMembership(group, stopAt(owner, 2, stop), options(true), quiet)
  assert.equal(await membership.run(stop.signal), 'stopped')
  assert.deepEqual(steps.slice(0, 9), [
    'join 0',
    'acquire t:0,t:1,t:2 @0',
    'heartbeat ok',
    'heartbeat rebalance',
    'join 1',
    'release t:1,t:2',
    'acquire t:3 @1',
    'join 2', // released partitions: the next round hands them to their new owner, no heartbeat first
    'acquire  @2'
  ])
  assert.deepEqual(steps.slice(-2), ['release t:0,t:3', 'leave'], 'a stop releases everything, then leaves')
})

test('a refused worker acquires nothing, says why and leaves (the group must not wait for it)', async () => {
  const { steps, group, owner } = fakeGroup([{ assignment: { refused: 'differs in delivery' } }])
  const membership = new WorkerMembership(group, owner, options(), quiet)
  assert.equal(await membership.run(new AbortController().signal), 'refused')
  assert.deepEqual(steps, ['join 0', 'refuse: differs in delivery', 'leave'])
})

test('heartbeats failing for a session timeout release every partition before joining again', async () => {
  const stop = new AbortController()
  const failing = Array.from({ length: 30 }, () => new Error('coordinator gone'))
  const { steps, group, owner } = fakeGroup([
    { assignment: { partitions: ['t:0'] }, heartbeats: failing },
    { assignment: { partitions: ['t:0'] } }
  ])
  const membership = new WorkerMembership(group, stopAt(owner, 1, stop), options(), quiet)
  await membership.run(stop.signal)
  const released = steps.indexOf('release t:0')
  assert.ok(released > 0 && steps[released - 1] === 'heartbeat error', 'released after failed heartbeats')
  assert.equal(steps[released + 1], 'join 1', 'then joins again')
  assert.ok(!steps.includes('leave'), 'a static member that stops does not leave by default')
})

test('expelled (UNKNOWN_MEMBER_ID): everything is released and the worker stops holding before it joins again', async () => {
  const stop = new AbortController()
  const { steps, group, owner } = fakeGroup([
    { assignment: { partitions: ['t:0', 't:1'] }, heartbeats: ['ok', 'rejoin'] },
    { assignment: { partitions: ['t:1'] }, heartbeats: ['ok'] }
  ])
  const holdsAtRelease: boolean[] = []
  const membership: WorkerMembership = new WorkerMembership(
    group,
    {
      ...stopAt(owner, 1, stop),
      release: async (partitions: readonly string[]) => {
        holdsAtRelease.push(membership.holds())
        await owner.release(partitions)
      }
    },
    options(),
    quiet
  )
  assert.equal(await membership.run(stop.signal), 'stopped')
  assert.deepEqual(steps.slice(0, 6), [
    'join 0',
    'acquire t:0,t:1 @0',
    'heartbeat ok',
    'heartbeat rejoin',
    'release t:0,t:1',
    'join 1'
  ])
  assert.equal(holdsAtRelease[0], false, 'an expelled worker may not commit what it releases')
})

test('an empty assignment (joined too late for the leader) is not applied: the worker joins again', async () => {
  const stop = new AbortController()
  const { steps, group, owner } = fakeGroup([
    { assignment: { generation: -1, partitions: [] } },
    { assignment: { partitions: ['t:0'] }, heartbeats: ['ok'] }
  ])
  const membership = new WorkerMembership(group, stopAt(owner, 1, stop), options(), quiet)
  assert.equal(await membership.run(stop.signal), 'stopped')
  assert.deepEqual(steps.slice(0, 3), ['join 0', 'join 1', 'acquire t:0 @1'])
})

test('right after a generation, heartbeats come quickly: a rebalance is joined long before the heartbeat interval', async () => {
  const stop = new AbortController()
  const { steps, group, owner } = fakeGroup([
    { assignment: { partitions: ['t:0'] }, heartbeats: ['ok', 'rebalance'] },
    { assignment: { partitions: ['t:0'] } }
  ])
  // One heartbeat a minute, but a settling window of fast heartbeats after each generation.
  const slow = { ...options(), heartbeatIntervalMs: 60_000, settling: { windowMs: 60_000, heartbeatMs: 1 } }
  const membership = new WorkerMembership(group, stopAt(owner, 1, stop), slow, quiet)
  const bound = AbortSignal.timeout(10_000)
  const outcome = await Promise.race([
    membership.run(stop.signal),
    new Promise(resolve => bound.addEventListener('abort', () => resolve('waited for the heartbeat interval')))
  ])
  if (outcome !== 'stopped') stop.abort()
  assert.equal(outcome, 'stopped')
  assert.deepEqual(steps.slice(0, 5), ['join 0', 'acquire t:0 @0', 'heartbeat ok', 'heartbeat rebalance', 'join 1'])
})

test('a rebalance announced while a generation is applied is joined right after, without waiting for a heartbeat', async () => {
  const stop = new AbortController()
  const { steps, group, owner } = fakeGroup([
    { assignment: { partitions: ['t:0'] }, heartbeats: ['rebalance'] },
    { assignment: { partitions: ['t:0'] }, heartbeats: ['ok'] }
  ])
  const slowAcquire = {
    ...stopAt(owner, 1, stop),
    // Acquiring takes a while (state read): the background heartbeat hears of the rebalance meanwhile.
    acquire: async (partitions: readonly string[], g: Generation) => {
      await new Promise(resolve => setTimeout(resolve, 50))
      await stopAt(owner, 1, stop).acquire(partitions, g)
    }
  }
  const membership = new WorkerMembership(group, slowAcquire, options(), quiet)
  assert.equal(await membership.run(stop.signal), 'stopped')
  const afterAcquire = steps.indexOf('acquire t:0 @0') + 1
  assert.ok(steps.slice(0, afterAcquire).includes('heartbeat rebalance'), 'heard during the acquire')
  assert.equal(steps[afterAcquire], 'join 1', 'joins at once after applying')
})

test('heartbeats that hang (a cut-off coordinator) still release everything while the worker holds, so the release may commit', async () => {
  const stop = new AbortController()
  const { steps, group, owner } = fakeGroup([
    { assignment: { partitions: ['t:0'] } },
    { assignment: { partitions: ['t:0'] } }
  ])
  let beats = 0
  const hanging = {
    ...group,
    heartbeat: (): Promise<HeartbeatAnswer> => {
      beats++
      steps.push('heartbeat hangs')
      return beats === 1 ? Promise.resolve('ok') : new Promise<HeartbeatAnswer>(() => {})
    }
  }
  const holdsAtRelease: boolean[] = []
  const membership: WorkerMembership = new WorkerMembership(
    hanging,
    {
      ...stopAt(owner, 1, stop),
      release: async (partitions: readonly string[]) => {
        holdsAtRelease.push(membership.holds())
        await owner.release(partitions)
      }
    },
    // Past the settling window at once: heartbeats every interval, each one hanging.
    { ...options(), sessionTimeoutMs: 300, heartbeatIntervalMs: 60, settling: { windowMs: 0, heartbeatMs: 1 } },
    quiet
  )
  assert.equal(await membership.run(stop.signal), 'stopped')
  assert.ok(steps.includes('release t:0'), steps.join(', '))
  assert.equal(holdsAtRelease[0], true, 'released before the membership could lapse')
  assert.equal(steps[steps.indexOf('release t:0') + 1], 'join 1', 'then joins again')
})
