import { type BenchRun, LABEL, allWith, cell, figureWith, fmt, ratio, validWith } from './figures.ts'
import { CONFIGS, type ConfigName, isKafkaDr } from './replicators.ts'
import { type Spread, spread } from './stats.ts'
import { type TrialResult } from './trial.ts'
import { type Workload } from './workloads.ts'

/**
 * The report's tables for the scale-out workloads: W7 (W1's backlog by 1 and by 2 kafka-dr workers)
 * and W8 (many partitions across 2 workers, one of which leaves). Figures are medians over the valid
 * trials of each configuration and worker count, with the range in parentheses.
 */

/** The kafka-dr configurations and worker counts of a workload that ran in this run. */
function variants(run: BenchRun, workload: Workload): { config: ConfigName; workers: number }[] {
  return CONFIGS.filter(isKafkaDr).flatMap(config =>
    workload.workers
      .filter(workers => allWith(run, workload.id, config, workers).length > 0)
      .map(workers => ({ config, workers }))
  )
}

/** Each worker's figure (by its place in the trial: w1, w2, ...), as "w1 250, w2 240". */
function perWorker(trials: TrialResult[], workers: number, pick: (r: TrialResult, i: number) => number): string {
  const cells: string[] = []
  for (let i = 0; i < workers; i++) cells.push(`w${i + 1} ${cell(spread(trials.map(r => pick(r, i))), 0)}`)
  return cells.join(', ')
}

const workerRss = (r: TrialResult, i: number): number => r.scaleOut?.workers[i]?.peakRssMiB ?? NaN

function notCounted(run: BenchRun, workload: Workload): string[] {
  return run.results
    .filter(r => r.workload === workload.id && !r.valid)
    .map(
      r =>
        `- ${LABEL[r.config]}, ${r.scaleOut?.workers.length ?? '?'} worker(s), trial ${r.round + 1} is not counted: ${r.error ?? 'invalid'}`
    )
}

function coresNote(run: BenchRun): string {
  return `This machine has ${run.machine.cores} cores, shared by both brokers and every worker: two workers here split the same cores one worker has, so their aggregate cannot exceed what one process gets on this machine. The figure shows what sharing a link costs (group membership, two processes, the rebalance at start), not what a second machine adds. MirrorMaker 2 does not run the scale-out workloads (the bench runs its dedicated mode, one JVM).`
}

/** W7: catch-up by 1 and by N workers, and the ratio of the aggregates. */
export function scaleOutCatchUpTable(run: BenchRun, workload: Workload): string {
  const ceiling = run.calibration?.ceilingMbPerSecond ?? NaN
  const lines = [
    '| configuration | workers | MB/s (all workers) | records/s | of ceiling | CPU-s per GiB (sum of workers) | peak RSS per worker (MiB) | group settled (s) | start-up (s) | machine busy | valid trials | duplicates |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |'
  ]
  for (const { config, workers } of variants(run, workload)) {
    const trials = allWith(run, workload.id, config, workers)
    const ok = validWith(run, workload.id, config, workers)
    const f = (pick: (r: TrialResult) => number): Spread | null => figureWith(run, workload.id, config, workers, pick)
    lines.push(
      `| ${LABEL[config]} | ${workers} | ${cell(
        f(r => r.mbPerSecond),
        1
      )} | ${cell(
        f(r => r.recordsPerSecond),
        0
      )} | ${cell(
        f(r => (r.mbPerSecond / ceiling) * 100),
        0
      )} % | ${cell(
        f(r => r.cpuSecondsPerGiB),
        1
      )} | ${perWorker(ok, workers, workerRss)} | ${cell(
        f(r => r.scaleOut?.groupSettledSeconds ?? NaN),
        1
      )} | ${cell(
        f(r => r.startupSeconds),
        1
      )} | ${cell(
        f(r => r.hostBusyPercent),
        0
      )} % | ${ok.length} of ${trials.length} | ${trials.reduce((n, r) => n + (r.check?.duplicates ?? 0), 0)} |`
    )
  }
  lines.push('', ...ratios(run, workload), '', coresNote(run))
  const failures = notCounted(run, workload)
  if (failures.length > 0) lines.push('', ...failures)
  return lines.join('\n')
}

/** Aggregate of the most workers against one worker, per configuration, from the medians. */
function ratios(run: BenchRun, workload: Workload): string[] {
  const most = Math.max(...workload.workers)
  const out: string[] = []
  for (const config of CONFIGS.filter(isKafkaDr)) {
    const mb = (n: number): Spread | null => figureWith(run, workload.id, config, n, r => r.mbPerSecond)
    const cpu = (n: number): Spread | null => figureWith(run, workload.id, config, n, r => r.cpuSecondsPerGiB)
    if (mb(1) === null || mb(most) === null) continue
    const t = ratio(mb(most), mb(1))
    out.push(
      `- ${LABEL[config]}: ${most} workers / 1 worker = **${fmt(t, 2)} ×** aggregate throughput (${fmt(mb(most)?.median ?? NaN, 1)} vs ${fmt(mb(1)?.median ?? NaN, 1)} MB/s; target ≥ 0.90 ×: ${t >= 0.9 ? 'met' : '**not met**'}), ${fmt(ratio(cpu(most), cpu(1)), 2)} × the CPU-seconds per GiB.`
    )
  }
  return out
}

/** W8: latency and memory with every worker running, then the rebalance when one leaves. */
export function scaleOutSteadyTable(run: BenchRun, workload: Workload): string {
  const lines = [
    '| configuration | workers | latency p50 (ms) | p99 (ms) | p99.9 (ms) | CPU-s per GiB (sum of workers) | peak RSS per worker before the departure (MiB) | remaining worker’s peak RSS at the end (MiB) | group settled (s) | machine busy | valid trials |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |'
  ]
  const departures = [
    '| configuration | worker that left | partitions moved | exited (s) | all owned, dashboard (s) | all owned, its log (s) | records flowing again (s) | p99 afterwards, one worker (ms) | max lag (records) | drained after (ms) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |'
  ]
  for (const { config, workers } of variants(run, workload)) {
    const ok = validWith(run, workload.id, config, workers)
    const f = (pick: (r: TrialResult) => number, digits: number): string =>
      cell(figureWith(run, workload.id, config, workers, pick), digits)
    const d = (r: TrialResult): NonNullable<TrialResult['scaleOut']>['departure'] => r.scaleOut?.departure ?? null
    const remaining = (r: TrialResult): number =>
      r.scaleOut?.workers.find(w => w.id !== d(r)?.worker)?.peakRssMiB ?? NaN
    lines.push(
      `| ${LABEL[config]} | ${workers} | ${f(r => r.latency?.p50 ?? NaN, 0)} | ${f(r => r.latency?.p99 ?? NaN, 0)} | ${f(r => r.latency?.p999 ?? NaN, 0)} | ${f(r => r.cpuSecondsPerGiB, 1)} | ${perWorker(ok, workers, (r, i) => d(r)?.peakRssAtSignalMiB[i] ?? workerRss(r, i))} | ${f(remaining, 0)} | ${f(r => r.scaleOut?.groupSettledSeconds ?? NaN, 1)} | ${f(r => r.hostBusyPercent, 0)} % | ${ok.length} of ${allWith(run, workload.id, config, workers).length} |`
    )
    const seconds = (pick: (r: TrialResult) => number | null | undefined): string => f(r => (pick(r) ?? NaN) / 1000, 1)
    departures.push(
      `| ${LABEL[config]} | ${[...new Set(ok.map(r => `${d(r)?.worker ?? '?'}${d(r)?.wasLeader === true ? ' (the leader)' : ''}`))].join(', ')} | ${f(r => d(r)?.partitionsMoved ?? NaN, 0)} | ${seconds(r => d(r)?.exitedMs)} | ${seconds(r => d(r)?.allOwnedMs)} | ${seconds(r => d(r)?.allOwnedLogMs)} | ${seconds(r => d(r)?.flowingAgainMs)} | ${f(r => d(r)?.latencyAfter?.p99 ?? NaN, 0)} | ${f(r => r.maxLagRecords ?? NaN, 0)} | ${f(r => r.drainMs ?? NaN, 0)} |`
    )
  }
  const rate = spread(run.results.filter(r => r.workload === workload.id).map(r => r.recordsPerSecond))
  const w = workload.kind === 'steady' ? workload : null
  lines.push(
    '',
    `Produced rate: ${cell(rate, 0)} records/s over ${fmt((w?.durationMs ?? NaN) / 1000, 0)} s per trial. Latency covers records appended from ${fmt((w?.warmupMs ?? NaN) / 1000, 0)} s (after the warm-up) until 1 s before the departure at ${fmt((w?.departure?.afterMs ?? NaN) / 1000, 0)} s, while both workers ran (records of the last second may still wait in the leaving worker's lag: they are part of the rebalance, below).`,
    '',
    '**When one worker leaves** (SIGTERM to the group’s leader; every time from the signal, medians over the valid trials):',
    '',
    ...departures,
    '',
    `Both workers, both brokers, the load generator and the tailing reader share this machine's ${run.machine.cores} cores. MirrorMaker 2 does not run the scale-out workloads.`,
    '',
    'A worker started with `--worker-id` is a static member of its group: on SIGTERM it drains, commits and exits, but stays a member until `workers.sessionTimeoutMs` (10 s by default, used here) has passed, so that a restart within that time gets its partitions back without a rebalance (docs/scale-out.md). Its partitions move only then, which sets most of the rebalance time. "Records flowing again" is when every partition it copied has a record on the target that the source appended after the worker exited (at 5 records/s per partition, a record every 200 ms); "p99 afterwards" covers records appended from 5 s after that to the end of production, with the remaining worker holding every partition; max lag and drain include the departure.'
  )
  const failures = notCounted(run, workload)
  if (failures.length > 0) lines.push('', ...failures)
  return lines.join('\n')
}

/** The "How it is measured" lines of the scale-out workloads (none when none ran). */
export function scaleOutMethod(run: BenchRun): string[] {
  if (!run.results.some(r => r.scaleOut !== undefined)) return []
  return [
    '- **Scale-out** (W7, W8): each worker is its own process, `node dist/cli/main.js replicate --config kafka-dr.yaml --worker-id w<i> --http-listen 127.0.0.1:0 --log-level info` (the same config for all; info so that the log holds the HTTP address and the group’s lines), all started at once. CPU-seconds per GiB sum the workers’ CPU (`/proc/<pid>/stat`); peak RSS is per worker. "Group settled" is the time from the start of the processes to the last `partitions acquired` or `partitions released` line of any worker. W7 with one worker runs the same flags, a group of one.'
  ]
}

/** The scale-out part of the bench's one-line summary of a trial. */
export function describeScaleOut(r: TrialResult): string[] {
  if (r.scaleOut === undefined) return []
  const parts = [
    `workers ${r.scaleOut.workers.map(w => `${w.id} peak RSS ${Math.round(w.peakRssMiB)} MiB`).join(', ')}`,
    `group settled ${r.scaleOut.groupSettledSeconds.toFixed(1)} s after start`
  ]
  const d = r.scaleOut.departure
  if (d !== null) {
    const s = (ms: number | null): string => (ms === null ? 'n/a' : `${(ms / 1000).toFixed(1)} s`)
    parts.push(
      `${d.worker} left (${d.partitionsMoved} partitions): exited ${s(d.exitedMs)}, all owned ${s(d.allOwnedMs)} (log ${s(d.allOwnedLogMs)}), flowing again ${s(d.flowingAgainMs)}, p99 afterwards ${d.latencyAfter?.p99 ?? 'n/a'} ms`
    )
  }
  return parts
}
