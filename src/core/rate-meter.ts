/**
 * Per-partition rates for the worker group's assignment (engine/link-workers.ts), from a counter per
 * partition (the source's high watermark: records/s arriving at the source): an exponentially
 * weighted moving average over about `windowMs`, sampled at a steady pace (each heartbeat interval),
 * so the rate a worker reports does not depend on when the last rebalance happened. A partition has a
 * rate once it was sampled for a whole window (before that its average still leans on where it
 * started, and two workers' figures for equal partitions would differ); a partition no longer sampled
 * is forgotten.
 */
export class RateMeter {
  readonly #windowMs: number
  readonly #last = new Map<string, { bytes: number; at: number; since: number }>()
  readonly #rates = new Map<string, number>()

  constructor(windowMs = 10_000) {
    this.#windowMs = windowMs
  }

  /** Counters of every partition measured now, at monotonic time `now` (ms). */
  sample(now: number, bytes: ReadonlyMap<string, number>): void {
    for (const [key, total] of bytes) {
      const last = this.#last.get(key)
      this.#last.set(key, { bytes: total, at: now, since: last?.since ?? now })
      if (last === undefined || now <= last.at || total < last.bytes) continue
      const instant = ((total - last.bytes) * 1000) / (now - last.at)
      const previous = this.#rates.get(key)
      const weight = 1 - Math.exp(-(now - last.at) / this.#windowMs)
      this.#rates.set(key, previous === undefined ? instant : previous + weight * (instant - previous))
    }
    for (const key of [...this.#last.keys()]) {
      if (bytes.has(key)) continue
      this.#last.delete(key)
      this.#rates.delete(key)
    }
  }

  /** Counter units per second, per partition sampled for a whole window. */
  rates(): Record<string, number> {
    const rates: Record<string, number> = {}
    for (const [key, rate] of this.#rates) {
      const last = this.#last.get(key)
      if (last !== undefined && last.at - last.since >= this.#windowMs) rates[key] = rate
    }
    return rates
  }
}
