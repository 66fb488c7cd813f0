import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { FenceWatch, type SeenHeartbeat, seedGroupWatch } from '../../../src/failover/fence-watch.ts'
import { type HeartbeatDocument } from '../../../src/state/index.ts'
import { heartbeatDoc } from '../../support/heartbeats.ts'

const hb = (offset: bigint, state: string, intervalMs = 1000): SeenHeartbeat => ({
  offset,
  state,
  host: 'h1',
  pid: 42,
  intervalMs,
  committed: true
})

describe('FenceWatch: when failover may compute its points', () => {
  test('no heartbeat ever: no replicator ran on the link', () => {
    assert.equal(new FenceWatch(10n, null, 0).verdict(0).done, true)
  })

  test('a running replicator is waited for until its fenced heartbeat AFTER the fence', () => {
    const watch = new FenceWatch(10n, hb(-1n, 'running'), 0)
    assert.equal(watch.verdict(500).done, false)
    watch.observe(hb(12n, 'running'), 900) // written before it read the fence
    assert.equal(watch.verdict(2500).done, false)
    watch.observe(hb(15n, 'fenced'), 3000)
    const verdict = watch.verdict(3000)
    assert.deepEqual(verdict, {
      done: true,
      replicator: { replicator: 'fenced after the fence', host: 'h1', pid: 42, committed: true }
    })
  })

  test('a fenced heartbeat from an earlier fence (before this one) is not an acknowledgement of a running one', () => {
    const watch = new FenceWatch(10n, hb(-1n, 'running'), 0)
    watch.observe(hb(5n, 'running'), 100)
    assert.equal(watch.verdict(200).done, false)
  })

  test('the newest heartbeat says stopped before the fence: nothing runs', () => {
    const watch = new FenceWatch(10n, hb(-1n, 'stopped'), 0)
    assert.deepEqual(watch.verdict(0), {
      done: true,
      replicator: { replicator: 'stopped before the fence', host: 'h1', pid: 42 }
    })
  })

  test('stale only after N intervals with no newer heartbeat in the log, measured from when the last one was read', () => {
    const watch = new FenceWatch(10n, hb(-1n, 'running', 1000), 0)
    assert.equal(watch.verdict(2999).done, false)
    watch.observe(hb(11n, 'running', 1000), 2500) // still alive after the fence: the clock restarts
    assert.equal(watch.verdict(5400).done, false)
    const verdict = watch.verdict(5600)
    assert.equal(verdict.done, true)
    assert.match(
      String(verdict.done && verdict.replicator.replicator),
      /stale: no heartbeat for 3 intervals of 1000 ms/
    )
  })

  test('a replicator draining its in-flight produces (stopping heartbeats) is waited for, not judged stale', () => {
    const watch = new FenceWatch(10n, hb(-1n, 'running', 1000), 0)
    watch.observe(hb(11n, 'stopping', 1000), 2000)
    watch.observe(hb(12n, 'stopping', 1000), 4000)
    assert.equal(watch.verdict(6000).done, false)
    watch.observe(hb(14n, 'fenced', 1000), 6500)
    assert.equal(watch.verdict(6500).done, true)
  })

  test('an older heartbeat read late does not replace a newer one', () => {
    const watch = new FenceWatch(10n, null, 0)
    watch.observe(hb(15n, 'fenced'), 1)
    watch.observe(hb(12n, 'running'), 2)
    assert.equal(watch.verdict(3).done, true)
  })
})

describe('seedGroupWatch: which workers a failover waits for', () => {
  const doc = (worker: string, at: number, state = 'running', members: string[] = []): HeartbeatDocument =>
    heartbeatDoc(worker, at, { state, members, generation: 3, owned: 1 })
  const now = 100_000

  test("the newest heartbeat's members, and a worker it does not name; a member whose own record says stopped is not waited for", () => {
    const latest = doc('w1', now, 'running', ['w1', 'w3'])
    const workers = [latest, doc('w2', now - 500), doc('w3', now - 200, 'stopped'), doc('w2', now - 9000, 'stopped')]
    const watch = seedGroupWatch(10n, latest, workers, 0)
    assert.equal(watch.verdict(0).done, false)
    // w1 acknowledges; w2 (running by its newest record, not named by w1's generation) is still waited for.
    watch.observe('w1', ['w1'], hb(12n, 'fenced'), 100)
    assert.equal(watch.verdict(100).done, false)
    watch.observe('w2', [], hb(13n, 'fenced'), 200)
    const done = watch.verdict(200)
    assert.ok(done.done)
    assert.deepEqual(Object.keys(done.replicator.workers as object).sort(), ['w1', 'w2', 'w3'])
  })

  test('a slot record of a worker that ended without a last word is waited for only until it is stale', () => {
    const latest = doc('w1', now, 'fenced', ['w1'])
    const watch = seedGroupWatch(10n, latest, [latest, doc('crashed', now - 600_000)], 0)
    assert.equal(watch.verdict(0).done, false)
    assert.equal(watch.verdict(watch.staleAfterMs + 1).done, true)
  })

  test('no heartbeat at all: nothing to wait for', () => {
    assert.equal(seedGroupWatch(10n, undefined, [], 0).verdict(0).done, true)
  })
})
