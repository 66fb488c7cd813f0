import { setTimeout as sleep } from 'node:timers/promises'
import { type ReplicatorSet, type WorkerView, logLines, logTime } from './replicator-set.ts'
import { type TailResult, latencies } from './tailing-reader.ts'
import { type LatencyFigures } from './trial.ts'

/**
 * W8's rebalance: one worker of a running group gets SIGTERM while records keep coming, and the
 * others take its partitions. Every time is measured from the signal:
 *
 * - exited: the process ended (a graceful stop drains, commits and exits; a named worker stays a
 *   static member of the group, so the coordinator waits workers.sessionTimeoutMs before it moves
 *   the partitions, docs/scale-out.md);
 * - all owned: the remaining worker's GET /api/dashboard shows every partition of the topic owned
 *   (polled every 100 ms), and the same from its `partitions acquired` log line (the worker's clock);
 * - flowing again: every partition the departed worker copied has, on the target, a record the
 *   source appended after the departed process exited: no such record can be its copy, so it is the
 *   new owner's. From the tailing consumer's arrivals; at 5 records/s a partition gets a record
 *   every 200 ms, which bounds the resolution.
 */

export interface DepartureFigures {
  /** The worker that left: the group's leader (its sync loops move too, the harder case). */
  worker: string
  /** Whether its dashboard named it the leader when signalled. */
  wasLeader: boolean
  /** Partitions it copied when signalled. */
  partitionsMoved: number
  /** Peak RSS of each worker, read just before the signal, MiB (in the order of the trial's workers). */
  peakRssAtSignalMiB: number[]
  /** From the signal, ms; null when it did not happen within the trial. */
  exitedMs: number | null
  exitCode: number | null
  allOwnedMs: number | null
  allOwnedLogMs: number | null
  flowingAgainMs: number | null
  /** The remaining worker alone: records appended from 5 s after flowing again to the end of production. */
  latencyAfter: LatencyFigures | null
}

/** What the trial keeps of a departure until the tailing consumer's arrivals are in. */
export interface Departure {
  figures: DepartureFigures
  /** Wall clock, ms. */
  signalledAt: number
  exitedAt: number | null
  moved: number[]
  /** Partitions of the topic, and the remaining workers' log files (read once production ended). */
  partitions: number
  remainingLogs: string[]
}

const OWNED_TIMEOUT_MS = 120_000

/**
 * Signals the group's leader and waits until a remaining worker owns all `partitions` (or 120 s);
 * `beforeSignal` runs just before the signal (the trial's measured part ends there).
 */
export async function departure(
  replicators: ReplicatorSet,
  topic: string,
  partitions: number,
  beforeSignal: () => void
): Promise<Departure> {
  const views = await Promise.all(replicators.ids().map(id => replicators.dashboard(id, topic)))
  const leaving = views.find(v => v.leader) ?? views[0]!
  const remaining = views.filter(v => v !== leaving)
  replicators.readMemory()
  const peakRssAtSignalMiB = replicators.figures().map(w => w.peakRssMiB)
  beforeSignal()
  const signalledAt = Date.now()
  const t0 = performance.now()
  const exit: { at: number | null; code: number | null } = { at: null, code: null }
  const exited = replicators.exited(leaving.id).then(code => {
    exit.at = Date.now()
    exit.code = code
  })
  replicators.signal(leaving.id, 'SIGTERM')
  const ownedAt = await allOwned(replicators, remaining, topic, partitions, t0)
  // Flowing again is judged from the exit: wait for it too (it normally came long before).
  const timer = new AbortController()
  const left = Math.max(0, OWNED_TIMEOUT_MS - (performance.now() - t0))
  await Promise.race([exited, sleep(left, undefined, { signal: timer.signal }).catch(() => {})])
  timer.abort()
  return {
    figures: {
      worker: leaving.id,
      wasLeader: leaving.leader,
      partitionsMoved: leaving.partitions.length,
      peakRssAtSignalMiB,
      exitedMs: exit.at === null ? null : exit.at - signalledAt,
      exitCode: exit.code,
      allOwnedMs: ownedAt === null ? null : ownedAt - t0,
      allOwnedLogMs: null,
      flowingAgainMs: null,
      latencyAfter: null
    },
    signalledAt,
    exitedAt: exit.at,
    moved: leaving.partitions,
    partitions,
    remainingLogs: remaining.map(v => replicators.logFile(v.id))
  }
}

/** performance.now() when one remaining worker's dashboard first showed every partition owned. */
async function allOwned(
  replicators: ReplicatorSet,
  remaining: WorkerView[],
  topic: string,
  partitions: number,
  t0: number
): Promise<number | null> {
  while (performance.now() - t0 < OWNED_TIMEOUT_MS) {
    for (const worker of remaining) {
      const view = await replicators.dashboard(worker.id, topic).catch(() => null)
      if (view !== null && view.owned === partitions) return performance.now()
    }
    await sleep(100)
  }
  return null
}

/** Wall-clock time of the worker's first `partitions acquired` line after `since` that owns them all. */
function acquiredAll(file: string, partitions: number, since: number): number | null {
  for (const line of logLines(file)) {
    const t = logTime(line)
    if (line.msg === 'worker group: partitions acquired' && line.owned === partitions && t >= since) return t
  }
  return null
}

/**
 * Completes the figures from the remaining workers' logs (read now: a worker shows the partitions
 * owned on its dashboard a moment before it logs them) and from the tailing consumer's arrivals:
 * flowing again (see the top of the file), and the remaining worker's latency from 5 s after that
 * to `producedEnd` (wall clock).
 */
export function completeDeparture(d: Departure, arrivals: TailResult[], producedEnd: number): DepartureFigures {
  const logged = Math.min(...d.remainingLogs.map(f => acquiredAll(f, d.partitions, d.signalledAt) ?? Infinity))
  const figures = { ...d.figures, allOwnedLogMs: Number.isFinite(logged) ? logged - d.signalledAt : null }
  if (d.exitedAt === null || d.moved.length === 0) return figures
  let last = -Infinity
  for (const p of d.moved) {
    const seen = arrivals[p]
    let first = Infinity
    if (seen !== undefined) {
      // Arrivals of a partition are in offset order; the first record appended after the exit is the new owner's first copy.
      for (let i = 0; i < seen.timestamps.length; i++) {
        if (seen.timestamps[i]! > d.exitedAt) {
          first = seen.received[i]!
          break
        }
      }
    }
    last = Math.max(last, first)
  }
  if (!Number.isFinite(last)) return figures
  return {
    ...figures,
    flowingAgainMs: last - d.signalledAt,
    latencyAfter: latencies(arrivals, last + 5000, producedEnd)
  }
}
