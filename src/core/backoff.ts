/**
 * Retry pacing shared by every bounded retry loop (state reads, failback reads, verify reads):
 * exponential delays with jitter, capped, and a bound by attempts and/or by elapsed time. Pure: it
 * computes delays, the caller sleeps. Time and randomness are injected so tests are exact.
 *
 * Invariants: the n-th delay (n from 0) is `min(maxMs, initialMs * multiplier^n)` scaled by a factor in
 * [1 - jitter, 1]; `next()` returns null, and keeps returning null until `reset()`, once `maxAttempts`
 * delays were handed out or the deadline (`maxElapsedMs` after the first failure) has passed; a delay is
 * never longer than the time left before the deadline, so the last attempt happens at the deadline.
 */

export interface BackoffPolicy {
  /** First delay. */
  initialMs: number
  /** Largest delay. */
  maxMs: number
  /** Growth per attempt (default 2). */
  multiplier?: number
  /** Share of each delay taken off at random, 0..1 (default 0.2): spreads retries of many readers. */
  jitter?: number
  /** Delays handed out before giving up (retries, not counting the first try). */
  maxAttempts?: number
  /** Time from the first failure after which no further retry is allowed. */
  maxElapsedMs?: number
}

export interface BackoffClock {
  now(): number
  /** Uniform in [0, 1). */
  random(): number
}

export const systemClock: BackoffClock = { now: () => Date.now(), random: () => Math.random() }

export class Backoff {
  readonly policy: Readonly<BackoffPolicy>
  readonly #clock: BackoffClock
  #attempts = 0
  #startedAt: number | null = null

  constructor(policy: BackoffPolicy, clock: BackoffClock = systemClock) {
    if (!(policy.initialMs >= 0) || !(policy.maxMs >= policy.initialMs)) {
      throw new RangeError(`backoff: need 0 <= initialMs <= maxMs, got ${policy.initialMs} and ${policy.maxMs}`)
    }
    if (policy.maxAttempts === undefined && policy.maxElapsedMs === undefined) {
      throw new RangeError('backoff: a bound is required (maxAttempts and/or maxElapsedMs)')
    }
    this.policy = policy
    this.#clock = clock
  }

  /** Retries handed out since the last reset. */
  get attempts(): number {
    return this.#attempts
  }

  /** Milliseconds since the first failure of this series (0 before it). */
  get elapsedMs(): number {
    return this.#startedAt === null ? 0 : this.#clock.now() - this.#startedAt
  }

  /** The delay before the next retry, or null when the bound is reached: give up. */
  next(): number | null {
    const now = this.#clock.now()
    this.#startedAt ??= now
    const { maxAttempts, maxElapsedMs } = this.policy
    if (maxAttempts !== undefined && this.#attempts >= maxAttempts) return null
    let left = Infinity
    if (maxElapsedMs !== undefined) {
      left = this.#startedAt + maxElapsedMs - now
      if (left <= 0) return null
    }
    const multiplier = this.policy.multiplier ?? 2
    const jitter = Math.min(1, Math.max(0, this.policy.jitter ?? 0.2))
    const base = Math.min(this.policy.maxMs, this.policy.initialMs * multiplier ** this.#attempts)
    this.#attempts++
    const delay = Math.round(base * (1 - jitter * this.#clock.random()))
    return Math.min(delay, left)
  }

  /** After a success: the next failure starts a new series (first delay, full budget). */
  reset(): void {
    this.#attempts = 0
    this.#startedAt = null
  }
}
