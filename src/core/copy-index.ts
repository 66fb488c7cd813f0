import { type OffsetRun, type Translation, translateRuns } from './offset-runs.ts'

/**
 * Where the copies of one source partition sit on the target, kept small whatever the source does.
 *
 * Every record kafka-dr writes carries its source offset in the provenance header, so the exact
 * mapping is on the target already; what is stored is only a sparse index over it: the SEGMENTS.
 * A segment starts where one run of writing starts (a copier session after start-up, or a write
 * whose first source offset is not above the last one written: a replay, a re-created topic) and
 * ends one past its last copy (`targetEnd`; for the current segment, the partition's `targetEnd`).
 * Other writers' records after a segment's last copy (written while the replicator was down, for
 * example) lie outside every segment's range, so a search never has to cross them.
 *
 * Invariant: within a segment's target range, the records of this link's partition have strictly
 * increasing source offsets (records of other writers may sit between them). Gaps in the source
 * (transaction markers, compaction, records skipped as loops or dead-lettered) create no segment,
 * so what is stored grows with restarts and replays, not with the source's gaps; segments below the
 * source log start are pruned. Translation searches a segment's range on the target
 * (core/copy-search.ts).
 *
 * A copier also keeps the exact runs it wrote in this session, bounded (RecentCopies), so the
 * checkpoint loop rarely needs the target for offsets near the head.
 */

export interface Segment {
  /** Source offset of the first record written in the segment. */
  sourceStart: bigint
  /** Target offset of that record. */
  targetStart: bigint
  /** One past the target offset of its last copy; absent for the current (last) segment. */
  targetEnd?: bigint
}

export interface StoredCopies {
  /** In target order (targetStart increasing). */
  segments: Segment[]
  /** One past the target offset of the last copy; null when nothing was copied. */
  targetEnd: bigint | null
  /** Source offset of that last copy, when stored with it (lets a new session continue the segment). */
  lastCopied?: bigint | null
}

export interface CopyIndexChanges {
  /** The partition's full segment list when it changed since the last take, else null. */
  segments: Segment[] | null
  targetEnd: bigint | null
  /** Source offset of the last copy (null when nothing was copied). */
  lastCopied: bigint | null
  /** Keys (sourceStart) of old-format run records still stored, to delete (written once). */
  legacyRuns: bigint[]
}

/** Most exact runs a copier keeps in memory; the oldest half is dropped beyond it. */
export const MAX_RECENT_RUNS = 256

/**
 * Exact runs written in this copier session, newest last, bounded. Answers only for source offsets
 * at or above `coveredFrom`: below it, copies may be older than what the cache holds.
 */
export class RecentCopies {
  #runs: OffsetRun[] = []
  #coveredFrom: bigint | null = null

  get size(): number {
    return this.#runs.length
  }

  /** Starts over from `sourceOffset` (a new session or segment: newer copies win from there on). */
  reset(sourceOffset: bigint): void {
    this.#runs = []
    this.#coveredFrom = sourceOffset
  }

  append(sourceStart: bigint, targetStart: bigint, length: bigint): void {
    const last = this.#runs.at(-1)
    if (
      last !== undefined &&
      last.sourceStart + last.length === sourceStart &&
      last.targetStart + last.length === targetStart
    ) {
      last.length += length
      return
    }
    this.#runs.push({ sourceStart, targetStart, length })
    if (this.#runs.length > MAX_RECENT_RUNS) {
      const dropped = this.#runs.splice(0, MAX_RECENT_RUNS >>> 1)
      const lastDropped = dropped.at(-1)!
      // Source offsets between the last dropped run and the first kept one were not copied.
      this.#coveredFrom = lastDropped.sourceStart + lastDropped.length
    }
  }

  /**
   * undefined: not known here (ask the target); null: nothing copied at or after `sourceOffset`
   * in this session; else the copy of `sourceOffset` or the next copy.
   */
  translate(sourceOffset: bigint): Translation | null | undefined {
    if (this.#coveredFrom === null || sourceOffset < this.#coveredFrom) return undefined
    return translateRuns(this.#runs, sourceOffset)
  }
}

/** One partition's copy index as the engine maintains it while copying. */
export class CopyIndex {
  #segments: Segment[]
  #targetEnd: bigint | null
  /** Last source offset written in this session; -1 before the first write (starts a segment). */
  #lastSource = -1n
  /** Source offset of the last copy as stored (the previous session's), or null when not known. */
  readonly #storedLastCopied: bigint | null
  #changed = false
  #legacy: bigint[]
  readonly recent = new RecentCopies()

  constructor(stored: StoredCopies = { segments: [], targetEnd: null }, legacyRuns: readonly bigint[] = []) {
    this.#segments = stored.segments.map(s => ({ ...s }))
    this.#targetEnd = stored.targetEnd
    this.#storedLastCopied = stored.lastCopied ?? null
    this.#legacy = [...legacyRuns]
    // Converted from the old format: store the segments once in the new one.
    if (legacyRuns.length > 0) this.#changed = true
  }

  get segments(): readonly Segment[] {
    return this.#segments
  }

  get targetEnd(): bigint | null {
    return this.#targetEnd
  }

  /**
   * Records that `records` (source offsets increasing) were written at target offsets baseOffset,
   * baseOffset + 1, ... by one produce call. No allocation per record.
   */
  record(records: readonly { readonly offset: number }[], baseOffset: bigint): void {
    const count = records.length
    if (count === 0) return
    const first = BigInt(records[0]!.offset)
    if (this.#lastSource < 0n && this.#continuesStored(first, baseOffset)) {
      // A new session whose first write lands right after the stored last copy, above its source
      // offset: the invariant holds across the restart, so the current segment goes on (no segment
      // per restart; only a replay or other writers' records in between start one).
      this.recent.reset(first)
    } else if (this.#lastSource < 0n || first <= this.#lastSource) {
      const previous = this.#segments.at(-1)
      // The segment before ends at its last copy, as far as stored progress knows it.
      if (previous !== undefined && previous.targetEnd === undefined && this.#targetEnd !== null)
        previous.targetEnd = this.#targetEnd
      this.#segments.push({ sourceStart: first, targetStart: baseOffset })
      this.#changed = true
      this.recent.reset(first)
    }
    // Maximal runs of consecutive source offsets (one entry per gap, in memory only, bounded).
    let runSource = records[0]!.offset
    let runTarget = baseOffset
    let length = 1
    for (let i = 1; i < count; i++) {
      const s = records[i]!.offset
      if (s === runSource + length) {
        length++
        continue
      }
      this.recent.append(BigInt(runSource), runTarget, BigInt(length))
      runTarget += BigInt(length)
      runSource = s
      length = 1
    }
    this.recent.append(BigInt(runSource), runTarget, BigInt(length))
    this.#lastSource = BigInt(runSource + length - 1)
    this.#targetEnd = baseOffset + BigInt(count)
  }

  /** Source offset of the last copy: this session's, else the stored one. */
  get lastCopied(): bigint | null {
    return this.#lastSource >= 0n ? this.#lastSource : this.#storedLastCopied
  }

  /**
   * True when a write at `baseOffset` of source offsets from `first` continues the stored current
   * segment: nothing was appended to the target partition since the stored last copy (the write
   * lands exactly at the stored target end, so no other writer's record and no unacknowledged copy
   * of the crashed session lies between) and the source offsets keep increasing.
   */
  #continuesStored(first: bigint, baseOffset: bigint): boolean {
    const last = this.#segments.at(-1)
    return (
      last !== undefined &&
      last.targetEnd === undefined &&
      this.#targetEnd !== null &&
      baseOffset === this.#targetEnd &&
      this.#storedLastCopied !== null &&
      first > this.#storedLastCopied
    )
  }

  /**
   * Drops segments no source offset at or above `sourceLogStart` can need: a segment is needed
   * only while no later segment starts at or below the log start (translation picks the latest
   * segment starting at or below the offset asked). Returns how many were dropped.
   */
  prune(sourceLogStart: bigint): number {
    const dropped = pruneSegments(this.#segments, sourceLogStart)
    if (dropped > 0) {
      this.#segments = this.#segments.slice(dropped)
      this.#changed = true
    }
    return dropped
  }

  /** What to store since the last call (after pruning below `sourceLogStart`, when known). */
  takeChanges(sourceLogStart: bigint | null): CopyIndexChanges {
    if (sourceLogStart !== null && sourceLogStart >= 0n) this.prune(sourceLogStart)
    const changes: CopyIndexChanges = {
      segments: this.#changed ? this.#segments.map(s => ({ ...s })) : null,
      targetEnd: this.#targetEnd,
      lastCopied: this.lastCopied,
      legacyRuns: this.#legacy
    }
    this.#changed = false
    this.#legacy = []
    return changes
  }
}

/** How many leading segments (target order) are not needed for source offsets >= sourceLogStart. */
export function pruneSegments(segments: readonly Segment[], sourceLogStart: bigint): number {
  let keepFrom = 0
  for (let i = 0; i < segments.length; i++) if (segments[i]!.sourceStart <= sourceLogStart) keepFrom = i
  return keepFrom
}

/**
 * Segments from runs stored by kafka-dr versions before segments (one record per run): runs in
 * target order, a new segment wherever the source offset does not increase or the target offset
 * jumps (a replay's superseded copies or other writers' records lie there: a segment boundary keeps
 * the invariant without reading the target).
 */
export function segmentsFromRuns(runs: readonly OffsetRun[]): StoredCopies {
  const byTarget = [...runs].sort((a, b) =>
    a.targetStart < b.targetStart ? -1 : a.targetStart > b.targetStart ? 1 : 0
  )
  const segments: Segment[] = []
  let lastSource = -1n
  let targetEnd: bigint | null = null
  for (const run of byTarget) {
    if (segments.length === 0 || run.sourceStart <= lastSource || run.targetStart !== targetEnd) {
      const previous = segments.at(-1)
      if (previous !== undefined && targetEnd !== null) previous.targetEnd = targetEnd
      segments.push({ sourceStart: run.sourceStart, targetStart: run.targetStart })
    }
    lastSource = run.sourceStart + run.length - 1n
    const end = run.targetStart + run.length
    if (targetEnd === null || end > targetEnd) targetEnd = end
  }
  return { segments, targetEnd }
}
