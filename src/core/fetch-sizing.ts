/**
 * Fetch sizes for the round trip to the source. A partition has one fetch in flight, so it moves at
 * most one fetch's worth of bytes per round trip: the configured sizes (fetch.partitionMaxBytes,
 * fetch.maxBytes, producer.maxBufferedBytesPerPartition) keep a source fed whose round trip is
 * under `stepMs`, and every further `stepMs` of round trip adds the configured size once more, up
 * to `maxScale` times (the bandwidth-delay product of a long link). The link-wide buffer limit
 * (producer.maxBufferedBytes) still bounds memory.
 *
 * The round trip is the smallest of the last `window` probes (small requests timed on their own,
 * never a fetch, whose time includes transfer and the broker's wait for data), so one slow probe
 * does not inflate the sizes.
 */
export class FetchSizing {
  readonly #stepMs: number
  readonly #maxScale: number
  readonly #window: number
  readonly #samples: number[] = []
  #scale = 1

  constructor(options: { stepMs?: number; maxScale?: number; window?: number } = {}) {
    this.#stepMs = options.stepMs ?? 10
    this.#maxScale = options.maxScale ?? 8
    this.#window = options.window ?? 5
  }

  /** Records one round-trip probe; true when the scale changed. */
  sample(roundTripMs: number): boolean {
    if (!(roundTripMs >= 0)) return false
    this.#samples.push(roundTripMs)
    if (this.#samples.length > this.#window) this.#samples.shift()
    const next = Math.min(this.#maxScale, Math.max(1, Math.ceil(this.roundTripMs! / this.#stepMs)))
    const changed = next !== this.#scale
    this.#scale = next
    return changed
  }

  /** The estimated round trip (ms), or null before the first probe. */
  get roundTripMs(): number | null {
    return this.#samples.length === 0 ? null : Math.min(...this.#samples)
  }

  /** What the configured fetch and buffer sizes are multiplied by. */
  get scale(): number {
    return this.#scale
  }
}
