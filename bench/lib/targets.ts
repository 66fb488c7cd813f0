import { type BenchRun, all, figure, figureWith, fmt, ran, ratio } from './figures.ts'
import { type ConfigName } from './replicators.ts'
import { type Spread } from './stats.ts'
import { type TrialResult } from './trial.ts'

/** The rows of the report's "Against the targets" table: each target of issue 5, measured in this run. */

export interface TargetRow {
  target: string
  measured: string
  met: boolean | null
}

export function targets(run: BenchRun): TargetRow[] {
  const rows: TargetRow[] = []
  const has = (id: string): boolean => run.workloads.some(w => w.id === id)
  const mb = (w: string, c: ConfigName): Spread | null => figure(run, w, c, r => r.mbPerSecond)
  const cpu = (w: string, c: ConfigName): Spread | null => figure(run, w, c, r => r.cpuSecondsPerGiB)
  const rss = (w: string, c: ConfigName): Spread | null => figure(run, w, c, r => r.peakRssMiB)
  for (const w of ['W1', 'W2']) {
    // Against MirrorMaker 2 tuned only when both ran (a run of kafka-dr configurations alone has no such rows).
    if (!has(w) || !ran(run, w, 'kafka-dr') || !ran(run, w, 'mm2-tuned')) continue
    const t = ratio(mb(w, 'kafka-dr'), mb(w, 'mm2-tuned'))
    rows.push({
      target: `${w}: catch-up throughput ≥ 1.5 × MirrorMaker 2 tuned`,
      measured: `${fmt(t, 2)} × (${fmt(mb(w, 'kafka-dr')?.median ?? NaN, 1)} vs ${fmt(mb(w, 'mm2-tuned')?.median ?? NaN, 1)} MB/s)`,
      met: Number.isFinite(t) ? t >= 1.5 : null
    })
    const c = ratio(cpu(w, 'kafka-dr'), cpu(w, 'mm2-tuned'))
    rows.push({
      target: `${w}: CPU-seconds per GiB ≤ 0.6 × MirrorMaker 2 tuned`,
      measured: `${fmt(c, 2)} × (${fmt(cpu(w, 'kafka-dr')?.median ?? NaN, 1)} vs ${fmt(cpu(w, 'mm2-tuned')?.median ?? NaN, 1)})`,
      met: Number.isFinite(c) ? c <= 0.6 : null
    })
    const m = ratio(rss(w, 'kafka-dr'), rss(w, 'mm2-tuned'))
    rows.push({
      target: `${w}: peak RSS ≤ 0.25 × MirrorMaker 2 tuned`,
      measured: `${fmt(m, 2)} × (${fmt(rss(w, 'kafka-dr')?.median ?? NaN, 0)} vs ${fmt(rss(w, 'mm2-tuned')?.median ?? NaN, 0)} MiB)`,
      met: Number.isFinite(m) ? m <= 0.25 : null
    })
  }
  if (has('W3')) {
    const p99 = figure(run, 'W3', 'kafka-dr', r => r.latency?.p99 ?? NaN)
    rows.push({
      target: 'W3: replication latency p99 ≤ 50 ms',
      measured: `${fmt(p99?.median ?? NaN, 0)} ms (MirrorMaker 2 tuned: ${fmt(figure(run, 'W3', 'mm2-tuned', r => r.latency?.p99 ?? NaN)?.median ?? NaN, 0)} ms)`,
      met: p99 === null ? null : p99.median <= 50
    })
  }
  if (has('W5')) {
    const trials = all(run, 'W5', 'kafka-dr')
    const keptUp = trials.length > 0 && trials.every(keepsUp)
    const p99 = figure(run, 'W5', 'kafka-dr', r => r.latency?.p99 ?? NaN)
    rows.push({
      target: 'W5: keeps up (every trial valid, p99 ≤ 1 s, drained ≤ 5 s after the last record)',
      measured: `${trials.filter(keepsUp).length} of ${trials.length} trials; p99 ${fmt(p99?.median ?? NaN, 0)} ms`,
      met: trials.length === 0 ? null : keptUp
    })
  }
  if (has('W6') && has('W1')) {
    const ours = ratio(mb('W6', 'kafka-dr'), mb('W1', 'kafka-dr'))
    const theirs = ratio(mb('W6', 'mm2-tuned'), mb('W1', 'mm2-tuned'))
    rows.push({
      target: 'W6: kafka-dr keeps ≥ 80 % of its own W1 throughput over a 50 ms round trip',
      measured: `${fmt(ours * 100, 0)} % (MirrorMaker 2 tuned keeps ${fmt(theirs * 100, 0)} %, defaults ${fmt(ratio(mb('W6', 'mm2-default'), mb('W1', 'mm2-default')) * 100, 0)} %)`,
      met: Number.isFinite(ours) ? ours >= 0.8 : null
    })
  }
  if (has('W7')) {
    // Issue 16: on this machine the two workers share its cores (the report says so).
    const one = figureWith(run, 'W7', 'kafka-dr', 1, r => r.mbPerSecond)
    const two = figureWith(run, 'W7', 'kafka-dr', 2, r => r.mbPerSecond)
    const t = ratio(two, one)
    rows.push({
      target: `W7: 2 kafka-dr workers' aggregate ≥ 0.9 × 1 worker (one ${run.machine.cores}-core machine)`,
      measured: `${fmt(t, 2)} × (${fmt(two?.median ?? NaN, 1)} vs ${fmt(one?.median ?? NaN, 1)} MB/s)`,
      met: Number.isFinite(t) ? t >= 0.9 : null
    })
  }
  rows.push(...exactlyOnceTargets(run))
  return rows
}

/**
 * Exactly-once against at-least-once, both kafka-dr, from the medians of this run's valid trials;
 * a row only where both configurations ran on the workload.
 */
function exactlyOnceTargets(run: BenchRun): TargetRow[] {
  const rows: TargetRow[] = []
  const both = (w: string): boolean => ran(run, w, 'kafka-dr') && ran(run, w, 'kafka-dr-eos')
  if (both('W1')) {
    const eos = figure(run, 'W1', 'kafka-dr-eos', r => r.mbPerSecond)
    const alo = figure(run, 'W1', 'kafka-dr', r => r.mbPerSecond)
    const t = ratio(eos, alo)
    rows.push({
      target: 'W1: exactly-once throughput ≥ 0.85 × at-least-once',
      measured: `${fmt(t, 2)} × (${fmt(eos?.median ?? NaN, 1)} vs ${fmt(alo?.median ?? NaN, 1)} MB/s)`,
      met: Number.isFinite(t) ? t >= 0.85 : null
    })
  }
  if (both('W3')) {
    const interval = run.eosCommitIntervalMs
    const limit = interval === null ? NaN : 2 * interval
    const eos = figure(run, 'W3', 'kafka-dr-eos', r => r.latency?.p99 ?? NaN)
    const alo = figure(run, 'W3', 'kafka-dr', r => r.latency?.p99 ?? NaN)
    rows.push({
      target: `W3: exactly-once latency p99 ≤ 2 × commit interval (${fmt(interval ?? NaN, 0)} ms: ≤ ${fmt(limit, 0)} ms)`,
      measured: `${fmt(eos?.median ?? NaN, 0)} ms (at-least-once: ${fmt(alo?.median ?? NaN, 0)} ms)`,
      met: eos === null || !Number.isFinite(limit) ? null : eos.median <= limit
    })
  }
  return rows
}

function keepsUp(r: TrialResult): boolean {
  return r.valid && r.latency !== null && r.latency.p99 <= 1000 && r.drainMs !== null && r.drainMs <= 5000
}
