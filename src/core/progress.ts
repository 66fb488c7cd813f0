/**
 * Progress of a catch-up (a backlog being copied): records remaining, the rate over the recent past
 * and the time left at that rate. Fed with (time, records copied so far, records remaining) samples;
 * keeps only what the rate window needs. Pure: the caller decides when to sample and where to print.
 */

export interface ProgressReport {
  remaining: number
  /** Records per second over the window; null until two samples span some time. */
  rate: number | null
  /** Seconds until the backlog is gone at that rate; null when unknown or when nothing moves. */
  etaSeconds: number | null
}

export class CatchUpProgress {
  readonly #windowMs: number
  readonly #samples: { at: number; copied: number }[] = []

  constructor(windowMs = 10_000) {
    this.#windowMs = windowMs
  }

  sample(at: number, copied: number, remaining: number): ProgressReport {
    this.#samples.push({ at, copied })
    // Keep one sample at or before the window's start, so the rate always spans the whole window.
    while (this.#samples.length > 2 && at - this.#samples[1]!.at >= this.#windowMs) this.#samples.shift()
    const first = this.#samples[0]!
    const seconds = (at - first.at) / 1000
    const rate = seconds > 0 ? Math.max(0, (copied - first.copied) / seconds) : null
    const etaSeconds = remaining === 0 ? 0 : rate === null || rate === 0 ? null : remaining / rate
    return { remaining, rate, etaSeconds }
  }
}

/** "1,234,567 records remaining, 45,678 records/s, ETA 27 s" */
export function describeProgress(report: ProgressReport): string {
  const rate = report.rate === null ? 'rate unknown' : `${Math.round(report.rate).toLocaleString('en')} records/s`
  const eta =
    report.etaSeconds === null
      ? 'ETA unknown'
      : report.etaSeconds < 90
        ? `ETA ${Math.ceil(report.etaSeconds)} s`
        : `ETA ${Math.ceil(report.etaSeconds / 60)} min`
  return `${report.remaining.toLocaleString('en')} records remaining, ${rate}, ${eta}`
}
