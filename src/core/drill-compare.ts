import { type Digest } from './verify-merge.ts'

/**
 * The comparison behind `kafka-dr drill`, for one partition of one consumer group: the records the
 * group would read next on the source (from its committed offset) against the records a consumer would
 * read on the target from the translated offset, in the order each side serves them. No I/O.
 *
 * Every source record of the window ends in exactly one class:
 * - matched: the next copy on the target is its copy, with the same digest (key, value, headers
 *   without provenance, timestamp);
 * - mismatched: its copy comes next on the target but differs;
 * - skipped: the target goes on with a copy of a later source record, or replication claims to be
 *   past it (`replicatedNext`) and the target holds no copy of it: a consumer would never see it;
 * - notReplicated: no copy yet, and at or after the replication position: lag, not a failure;
 * - unchecked: the target read stopped (its bound) before reaching it.
 * Target records that are not a resumption of the source window are counted too:
 * - reread: a copy of a record the group already processed (below the committed offset), or a second
 *   copy of a record of the window: the consumer would read it again;
 * - unexpected: a copy of a source offset inside the window that the source does not serve (deleted or
 *   aborted since): the consumer would read a record the source never gives it; counted as mismatched;
 * - foreign: records that are not this link's copies (other writers), which a consumer also reads;
 *   reported, not a failure (local writes on an active-active target are expected).
 * The group would resume exactly when nothing is mismatched, skipped, re-read or unchecked.
 */

export interface DrillSourceRecord {
  offset: bigint
  digest: Digest
}

export interface DrillTargetRecord {
  /** Offset on the target partition. */
  offset: bigint
  /** The source offset this record is the link's copy of; null for other writers' records. */
  copiedFrom: bigint | null
  digest: Digest
}

export interface DrillWindow {
  /** The group's committed source offset (the next record it would read). */
  committed: bigint
  /** The source records the group would read next, in offset order (records the link does not copy removed). */
  source: readonly DrillSourceRecord[]
  /** The target records from the translated offset, in target order. */
  target: readonly DrillTargetRecord[]
  /** True when `target` runs to the end of the target partition (nothing more to read there now). */
  targetComplete: boolean
  /** The stored replication position (next source offset to copy); null when unknown. */
  replicatedNext: bigint | null
}

/** At most this many offsets are listed per class; counts are always complete. */
export const DRILL_EXAMPLES = 10

export interface DrillClass {
  count: number
  /** Source offsets (for reread and unexpected: the source offsets their copies name), the first DRILL_EXAMPLES. */
  offsets: number[]
}

export interface DrillComparison {
  matched: number
  mismatched: DrillClass & { targetOffsets: number[] }
  reread: DrillClass & { targetOffsets: number[] }
  skipped: DrillClass
  notReplicated: DrillClass
  unchecked: number
  foreign: number
  exact: boolean
}

function emptyClass(): DrillClass {
  return { count: 0, offsets: [] }
}

function add(c: DrillClass, offset: bigint): void {
  c.count++
  if (c.offsets.length < DRILL_EXAMPLES) c.offsets.push(Number(offset))
}

function addAt(c: DrillClass & { targetOffsets: number[] }, offset: bigint, targetOffset: bigint): void {
  if (c.offsets.length < DRILL_EXAMPLES) c.targetOffsets.push(Number(targetOffset))
  add(c, offset)
}

export function compareDrillWindow(window: DrillWindow): DrillComparison {
  const result: DrillComparison = {
    matched: 0,
    mismatched: { ...emptyClass(), targetOffsets: [] },
    reread: { ...emptyClass(), targetOffsets: [] },
    skipped: emptyClass(),
    notReplicated: emptyClass(),
    unchecked: 0,
    foreign: 0,
    exact: false
  }
  const { source, committed } = window
  const last = source.at(-1)?.offset ?? null
  /** Source offsets of the window whose copy was read already: a further copy is a re-read. */
  const delivered = new Set<bigint>()
  let next = 0
  for (const t of window.target) {
    const c = t.copiedFrom
    if (c === null) {
      result.foreign++
      continue
    }
    if (c < committed || delivered.has(c)) {
      addAt(result.reread, c, t.offset)
      continue
    }
    // Copies beyond the window's last source record are outside what this drill compares.
    if (last === null || c > last) continue
    while (next < source.length && source[next]!.offset < c) add(result.skipped, source[next++]!.offset)
    const s = source[next]
    delivered.add(c)
    if (s === undefined || s.offset !== c) {
      // A copy of an offset the source does not serve (between its records): never what the group reads.
      addAt(result.mismatched, c, t.offset)
      continue
    }
    next++
    if (s.digest.equals(t.digest)) result.matched++
    else addAt(result.mismatched, c, t.offset)
  }
  for (; next < source.length; next++) {
    const offset = source[next]!.offset
    if (!window.targetComplete) result.unchecked++
    else if (window.replicatedNext !== null && offset < window.replicatedNext) add(result.skipped, offset)
    else add(result.notReplicated, offset)
  }
  // A record the target read did not reach is not proof: the drill cannot say the group resumes exactly.
  result.exact =
    result.mismatched.count === 0 && result.skipped.count === 0 && result.reread.count === 0 && result.unchecked === 0
  return result
}
