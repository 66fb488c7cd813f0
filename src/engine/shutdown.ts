import { type Logger } from '../observability/logger.ts'

/**
 * Bounded waiting for a stopping link, and the account of what a stop left uncommitted. A link
 * stops within its drain timeout whatever the target does: work still running at the deadline is
 * given up (never counted as done), and what that leaves uncommitted is named per partition.
 */

/**
 * Waits for `work` until `deadline` (a performance.now() time). In time: its value (or its error,
 * thrown). Late: `{ inTime: false }`, and a later failure of `work` is observed here so it never
 * surfaces as an unhandled rejection. The timer is cleared either way, so nothing is left holding
 * the process open.
 */
export async function withinDeadline<T>(
  work: Promise<T>,
  deadline: number
): Promise<{ inTime: true; value: T } | { inTime: false }> {
  work.catch(() => {})
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<{ inTime: false }>(resolve => {
    timer = setTimeout(() => resolve({ inTime: false }), Math.max(0, deadline - performance.now()))
  })
  try {
    return await Promise.race([work.then(value => ({ inTime: true as const, value })), late])
  } finally {
    clearTimeout(timer)
  }
}

/** Where a partition stood when its link stopped. */
export interface StoppedPartition {
  topic: string
  partition: number
  /** Progress committed on the target: a restart resumes here. */
  committedNext: bigint
  /** Next source offset whose predecessors the target acknowledged. */
  replicatedNext: bigint
  /** Next source offset to fetch: everything below it was read from the source. */
  fetchOffset: bigint
  /** A write was still in flight (or retrying) when the drain timeout passed and was given up. */
  abandoned: boolean
}

/** Source offsets [from, to) of a partition that a stop left uncommitted. */
export interface UncommittedRange {
  topic: string
  partition: number
  from: bigint
  to: bigint
  /** [from, acknowledgedTo) is on the target (a restart writes it again); beyond it, unknown or not written. */
  acknowledgedTo: bigint
}

/**
 * The partitions whose stop left source offsets uncommitted: records the target acknowledged after
 * the last commit, and a write given up in flight (from the last commit to what was read, since
 * part of it may be on the target). Records only queued when a clean drain ends are not listed:
 * they were never sent and are simply read again.
 */
export function uncommittedRanges(partitions: Iterable<StoppedPartition>): UncommittedRange[] {
  const ranges: UncommittedRange[] = []
  for (const p of partitions) {
    const to = p.abandoned ? (p.fetchOffset > p.replicatedNext ? p.fetchOffset : p.replicatedNext) : p.replicatedNext
    if (to <= p.committedNext) continue
    ranges.push({
      topic: p.topic,
      partition: p.partition,
      from: p.committedNext,
      to,
      acknowledgedTo: p.replicatedNext > p.committedNext ? p.replicatedNext : p.committedNext
    })
  }
  return ranges.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1))
}

/**
 * One readable sentence naming each partition (up to `limit`, then a count) and its offsets, e.g.
 * "orders/0 offsets 100..249 (100..179 acknowledged by the target, the rest in flight or queued)".
 */
export function describeUncommitted(ranges: readonly UncommittedRange[], limit = 50): string {
  const parts = ranges.slice(0, limit).map(r => {
    const span = `${r.topic}/${r.partition} offsets ${r.from}..${r.to - 1n}`
    if (r.acknowledgedTo >= r.to) return `${span} (acknowledged by the target)`
    if (r.acknowledgedTo <= r.from) return `${span} (none acknowledged: in flight or queued)`
    return `${span} (${r.from}..${r.acknowledgedTo - 1n} acknowledged by the target, the rest in flight or queued)`
  })
  if (ranges.length > limit) parts.push(`and ${ranges.length - limit} more partitions`)
  return parts.join('; ')
}

/**
 * One error line for a stop that left progress uncommitted: readable text naming each partition,
 * and an `uncommitted` field (first 100 partitions) with topic, partition and the inclusive source
 * offsets from..to. Nothing is logged after a clean stop.
 */
export function logUncommitted(log: Logger, target: string, ranges: readonly UncommittedRange[]): void {
  if (ranges.length === 0) return
  log.error(
    {
      target,
      partitions: ranges.length,
      uncommitted: ranges
        .slice(0, 100)
        .map(r => ({ topic: r.topic, partition: r.partition, from: String(r.from), to: String(r.to - 1n) }))
    },
    `stopped with progress left uncommitted; a restart copies these source offsets again: ${describeUncommitted(ranges)}`
  )
}
