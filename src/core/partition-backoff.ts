/**
 * Retry timing of one partition's fetches: bounded exponential backoff with jitter, kept per
 * partition so that one partition's errors never delay the others of its fetch lane. The delay of
 * the n-th consecutive failure is drawn from [base/2, base] with base = min(maxMs, initialMs * 2^(n-1)),
 * so partitions that failed together (a broker restart) do not retry in lockstep. A success resets it.
 */
export class PartitionBackoff {
  readonly #initialMs: number
  readonly #random: () => number
  #failures = 0
  #retryAt = 0

  constructor(options: { initialMs?: number; random?: () => number } = {}) {
    this.#initialMs = options.initialMs ?? 100
    this.#random = options.random ?? Math.random
  }

  /** Consecutive failures since the last success. */
  get failures(): number {
    return this.#failures
  }

  /** Whether the partition may be fetched at `now` (ms). */
  ready(now: number): boolean {
    return this.#failures === 0 || now >= this.#retryAt
  }

  /**
   * Records a failure at `now`; returns the delay (ms) before the next attempt, at most `maxMs`.
   * `initialMs` overrides the first delay (a long-lived cause starts slower).
   */
  fail(now: number, maxMs: number, initialMs = this.#initialMs): number {
    this.#failures++
    const base = Math.min(maxMs, initialMs * 2 ** Math.min(this.#failures - 1, 30))
    const delay = Math.round(base / 2 + (base / 2) * this.#random())
    this.#retryAt = now + delay
    return delay
  }

  /** Records a success; true when it ends a run of failures. */
  succeed(): boolean {
    if (this.#failures === 0) return false
    this.#failures = 0
    this.#retryAt = 0
    return true
  }
}
