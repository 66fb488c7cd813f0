/** Small statistics for benchmark figures. */

export interface Spread {
  median: number
  min: number
  max: number
  n: number
}

export function spread(values: readonly number[]): Spread | null {
  const finite = values.filter(v => Number.isFinite(v)).sort((a, b) => a - b)
  if (finite.length === 0) return null
  const mid = finite.length >> 1
  const median = finite.length % 2 === 1 ? finite[mid]! : (finite[mid - 1]! + finite[mid]!) / 2
  return { median, min: finite[0]!, max: finite.at(-1)!, n: finite.length }
}

/** Nearest-rank percentile of a sorted array (q in 0..1). */
export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[rank]!
}

/** Time at which a sampled, non-decreasing series first reaches `level` (linear between samples). */
export function crossing(samples: readonly { t: number; value: number }[], level: number): number | null {
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i]!
    if (s.value < level) continue
    const before = samples[i - 1]
    if (before === undefined || s.value === before.value) return s.t
    return before.t + ((level - before.value) / (s.value - before.value)) * (s.t - before.t)
  }
  return null
}

/** Value of a sampled series at time t (linear between samples). */
export function valueAt(samples: readonly { t: number; value: number }[], t: number): number | null {
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1]!
    const b = samples[i]!
    if (t > b.t) continue
    if (b.t === a.t) return b.value
    return a.value + ((t - a.t) / (b.t - a.t)) * (b.value - a.value)
  }
  return samples.at(-1)?.value ?? null
}
