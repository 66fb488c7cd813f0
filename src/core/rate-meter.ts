/**
 * Per-partition rates for the worker group's assignment (engine/link-workers.ts), from a counter per
 * partition (the source's high watermark: records/s arriving at the source): an exponentially
 * weighted moving average over about `windowMs`, sampled at a steady pace (each heartbeat interval),
 * so the rate a worker reports does not depend on when the last rebalance happened. A partition has a
 * rate from its second sample on; a partition no longer sampled is forgotten.
 */
export class RateMeter {
  readonly #windowMs: number
  readonly #last = new Map<string, { bytes: number; at: number }>()
  readonly #rates = new Map<string, number>()

  constructor(windowMs = 30_000) {
    this.#windowMs = windowMs
  }

  /** Counters of every partition measured now, at monotonic time `now` (ms). */
  sample(now: number, bytes: ReadonlyMap<string, number>): void {
    for (const [key, total] of bytes) {
      const last = this.#last.get(key)
      this.#last.set(key, { bytes: total, at: now })
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

  /** Counter units per second, per partition with a rate. */
  rates(): Record<string, number> {
    return Object.fromEntries(this.#rates)
  }
}
