import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { Backoff, type BackoffClock } from '../../../src/core/backoff.ts'

/** A clock the test moves by hand, with a fixed "random" value. */
function fakeClock(random = 0): BackoffClock & { t: number } {
  const clock = { t: 1000, now: () => clock.t, random: () => random }
  return clock
}

describe('backoff', () => {
  test('delays grow exponentially up to the maximum; the attempt bound ends the series', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, maxAttempts: 6, jitter: 0.5 }, fakeClock(0))
    assert.deepEqual(
      Array.from({ length: 7 }, () => b.next()),
      [100, 200, 400, 800, 1000, 1000, null]
    )
    assert.equal(b.next(), null, 'stays given up until reset')
    assert.equal(b.attempts, 6)
  })

  test('jitter takes up to its share off each delay', () => {
    const high = new Backoff({ initialMs: 1000, maxMs: 1000, maxAttempts: 1, jitter: 0.5 }, fakeClock(0.99))
    assert.equal(high.next(), 505)
    const none = new Backoff({ initialMs: 1000, maxMs: 1000, maxAttempts: 1, jitter: 0 }, fakeClock(0.99))
    assert.equal(none.next(), 1000)
  })

  test('the deadline bounds the series; the last delay ends at the deadline', () => {
    const clock = fakeClock(0)
    const b = new Backoff({ initialMs: 400, maxMs: 400, maxElapsedMs: 1000 }, clock)
    const delays: number[] = []
    for (let d = b.next(); d !== null; d = b.next()) {
      delays.push(d)
      clock.t += d
    }
    assert.deepEqual(delays, [400, 400, 200])
    assert.equal(b.elapsedMs, 1000)
  })

  test('reset starts a new series with the full budget', () => {
    const clock = fakeClock(0)
    const b = new Backoff({ initialMs: 100, maxMs: 800, maxAttempts: 2, maxElapsedMs: 500 }, clock)
    assert.equal(b.next(), 100)
    clock.t += 450
    assert.equal(b.next(), 50)
    assert.equal(b.next(), null)
    b.reset()
    clock.t += 10_000
    assert.equal(b.next(), 100)
  })

  test('a policy without a bound is refused', () => {
    assert.throws(() => new Backoff({ initialMs: 1, maxMs: 2 }), /a bound is required/)
    assert.throws(() => new Backoff({ initialMs: 5, maxMs: 2, maxAttempts: 1 }), /initialMs <= maxMs/)
  })
})
