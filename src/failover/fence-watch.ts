import { STALE_HEARTBEAT_INTERVALS } from '../core/write-lease.ts'
import { type HeartbeatDocument } from '../state/index.ts'

/**
 * When failover may compute its failover points: only once no replicator of the link can write to the
 * target any more. Decided from the heartbeats in the target's state topic, ordered by their OFFSETS
 * relative to the fence record, never by comparing two hosts' clocks:
 *
 *   - a `fenced` or `stopped` heartbeat at an offset after the fence: the replicator read the fence,
 *     finished its in-flight writes, made its final commit and wrote this as its last state record;
 *   - the newest heartbeat is `fenced` or `stopped` and lies before the fence: no replicator was running.
 *     One that starts later writes its first heartbeat (after the fence) before copying anything and then
 *     reads the state topic, so it sees the fence and stops without copying;
 *   - stale: no heartbeat appended for `staleIntervals` heartbeat intervals. The time is elapsed time on
 *     this host's monotonic clock between reading the newest heartbeat and a later read of the state
 *     topic's end that found none newer; both reads are of the broker's log, so the log had no heartbeat
 *     for at least that long. The replicator's own clock is never read.
 *
 * Pure logic: the caller reads the state topic and passes the heartbeats in offset order.
 */

export interface SeenHeartbeat {
  /** Offset of the heartbeat record in the state topic; -1 when only known to lie before the fence. */
  offset: bigint
  state: string
  host: string
  pid: number
  intervalMs: number
  /** False when a stopping replicator's final commit failed. */
  committed: boolean
}

export type FenceVerdict = { done: true; replicator: Record<string, unknown> } | { done: false; latest: SeenHeartbeat }

/** core/write-lease.ts: a replicator stops starting produces one interval before failover's verdict. */
export { STALE_HEARTBEAT_INTERVALS }

export class FenceWatch {
  readonly #fenceOffset: bigint
  readonly #staleIntervals: number
  #latest: SeenHeartbeat | null
  /** Monotonic time at which #latest was first read. */
  #latestSeenAt: number

  constructor(
    fenceOffset: bigint,
    before: SeenHeartbeat | null,
    seenAt: number,
    staleIntervals = STALE_HEARTBEAT_INTERVALS
  ) {
    this.#fenceOffset = fenceOffset
    this.#staleIntervals = staleIntervals
    this.#latest = before
    this.#latestSeenAt = seenAt
  }

  /** A heartbeat of the link read from the state topic at `seenAt` (monotonic ms); offsets only grow. */
  observe(heartbeat: SeenHeartbeat, seenAt: number): void {
    if (this.#latest !== null && heartbeat.offset <= this.#latest.offset) return
    this.#latest = heartbeat
    this.#latestSeenAt = seenAt
  }

  /** Longest the verdict can take to become final for the heartbeats seen so far, in ms. */
  get staleAfterMs(): number {
    return this.#staleIntervals * (this.#latest?.intervalMs ?? 0)
  }

  /**
   * The verdict after a read of the state topic that STARTED at `readStartedAt` (monotonic ms) and went
   * to the end: everything appended before that moment has been observed.
   */
  verdict(readStartedAt: number): FenceVerdict {
    const latest = this.#latest
    if (latest === null) return { done: true, replicator: { replicator: 'none seen' } }
    const who = { host: latest.host, pid: latest.pid }
    const after = latest.offset > this.#fenceOffset
    const ended = latest.state === 'fenced' || latest.state === 'stopped'
    if (after && ended) {
      return {
        done: true,
        replicator: { replicator: `${latest.state} after the fence`, ...who, committed: latest.committed }
      }
    }
    if (!after && ended) return { done: true, replicator: { replicator: `${latest.state} before the fence`, ...who } }
    const silentMs = readStartedAt - this.#latestSeenAt
    if (silentMs > this.staleAfterMs) {
      return {
        done: true,
        replicator: {
          replicator: `stale: no heartbeat for ${this.#staleIntervals} intervals of ${latest.intervalMs} ms`,
          ...who,
          lastState: latest.state,
          silentMs: Math.round(silentMs)
        }
      }
    }
    return { done: false, latest }
  }
}

/** A heartbeat document as stored by the replicator, read at `offset`. */
export function seenHeartbeat(offset: bigint, value: HeartbeatDocument): SeenHeartbeat {
  return {
    offset,
    state: value.state,
    host: value.host,
    pid: value.pid,
    intervalMs: value.intervalMs,
    committed: value.committed
  }
}

/**
 * The verdict for every worker of a scaled-out link (docs/scale-out.md): one FenceWatch per worker id.
 * Each heartbeat names the members of its writer's group generation; a member not heard from yet
 * counts as running from the moment it is named, so it must acknowledge the fence or go stale like
 * any other. Done when every worker's verdict is.
 */
export class GroupFenceWatch {
  readonly #fenceOffset: bigint
  readonly #staleIntervals: number
  readonly #watches = new Map<string, FenceWatch>()

  constructor(fenceOffset: bigint, staleIntervals = STALE_HEARTBEAT_INTERVALS) {
    this.#fenceOffset = fenceOffset
    this.#staleIntervals = staleIntervals
  }

  /** A heartbeat of `worker`, naming the members of its generation, read at `seenAt` (monotonic ms). */
  observe(worker: string, members: readonly string[], heartbeat: SeenHeartbeat, seenAt: number): void {
    let watch = this.#watches.get(worker)
    if (watch === undefined) {
      watch = new FenceWatch(this.#fenceOffset, heartbeat, seenAt, this.#staleIntervals)
      this.#watches.set(worker, watch)
    } else watch.observe(heartbeat, seenAt)
    for (const member of members) {
      if (this.#watches.has(member)) continue
      const named: SeenHeartbeat = {
        offset: -1n,
        state: 'running',
        host: `worker ${member}`,
        pid: 0,
        intervalMs: heartbeat.intervalMs,
        committed: true
      }
      this.#watches.set(member, new FenceWatch(this.#fenceOffset, named, seenAt, this.#staleIntervals))
    }
  }

  get staleAfterMs(): number {
    return Math.max(0, ...[...this.#watches.values()].map(w => w.staleAfterMs))
  }

  verdict(readStartedAt: number): FenceVerdict {
    if (this.#watches.size === 0) return { done: true, replicator: { replicator: 'none seen' } }
    const done: Record<string, unknown> = {}
    for (const [worker, watch] of this.#watches) {
      const verdict = watch.verdict(readStartedAt)
      if (!verdict.done) return verdict
      done[worker] = verdict.replicator
    }
    const only = [...Object.values(done)]
    return { done: true, replicator: only.length === 1 ? (only[0] as Record<string, unknown>) : { workers: done } }
  }
}

/**
 * The watch of a failover, seeded from the state read before its fence: the link's newest heartbeat
 * names its generation's members; each worker's own heartbeat (under its writer slot, the newest per
 * worker) adds the workers not named there, such as one that joined since or whose heartbeat came
 * from another generation, and tells of named members that stopped. No clocks are compared: a slot
 * record of a worker that ended without a last word is waited for until it goes stale (three
 * intervals); the group's leader removes the records of free slots (link-workers.ts).
 */
export function seedGroupWatch(
  fenceOffset: bigint,
  latest: HeartbeatDocument | undefined,
  workers: Iterable<HeartbeatDocument>,
  seenAt: number
): GroupFenceWatch {
  const watch = new GroupFenceWatch(fenceOffset)
  if (latest === undefined) return watch
  const newest = new Map<string, HeartbeatDocument>()
  for (const h of workers) {
    const seen = newest.get(h.worker)
    if (seen === undefined || h.at > seen.at) newest.set(h.worker, h)
  }
  newest.delete(latest.worker)
  for (const h of newest.values()) watch.observe(h.worker, [], seenHeartbeat(-1n, h), seenAt)
  watch.observe(latest.worker, latest.members, seenHeartbeat(-1n, latest), seenAt)
  return watch
}
