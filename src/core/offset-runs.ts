/**
 * Source -> target offset mapping of one partition as runs: a run says source offsets
 * [sourceStart, sourceStart + length) were written to target offsets [targetStart, targetStart + length).
 * Consecutive copies extend the last run, so an uninterrupted stream is a single entry; a new run
 * starts where either side jumps (source gaps from compaction, transaction markers or loop-filtered
 * records; target gaps from other writers or a replay after a crash).
 *
 * Invariants: runs are sorted by sourceStart and do not overlap on the source side. When a replay
 * after a crash copies source offsets again, the newer target location replaces the older one:
 * translation then points at the latest copy, which every later record follows.
 */

export interface OffsetRun {
  sourceStart: bigint
  targetStart: bigint
  length: bigint
}

export interface Translation {
  /** Target offset a consumer should resume from. */
  targetOffset: bigint
  /**
   * True when the source offset itself was copied; false when it fell into a gap and the result is
   * the next copied record (still exact in the sense that nothing is skipped or re-read).
   */
  copied: boolean
}

/** What changed since the last `takeChanges()`: runs to (re)write and run keys to delete. */
export interface RunChanges {
  upserts: OffsetRun[]
  deletes: bigint[]
}

export class OffsetRuns {
  #runs: OffsetRun[] = []
  readonly #dirty = new Set<OffsetRun>()
  readonly #deleted = new Set<bigint>()
  /** The run the latest append created or extended; not always the last by source order. */
  #current: OffsetRun | undefined

  static from(runs: readonly OffsetRun[]): OffsetRuns {
    const result = new OffsetRuns()
    for (const run of [...runs].sort((a, b) => compare(a.sourceStart, b.sourceStart))) result.#insert({ ...run })
    result.markClean()
    return result
  }

  get runs(): readonly OffsetRun[] {
    return this.#runs
  }

  /** The run that the last append went to. */
  get last(): OffsetRun | undefined {
    return this.#current ?? this.#runs.at(-1)
  }

  /** One past the last mapped source offset, or null when empty. */
  get sourceEnd(): bigint | null {
    const last = this.#runs.at(-1)
    return last === undefined ? null : last.sourceStart + last.length
  }

  /**
   * Records that source [sourceOffset, +count) went to target [targetOffset, +count). Returns the run
   * it extended or created.
   */
  append(sourceOffset: bigint, targetOffset: bigint, count = 1n): OffsetRun {
    const last = this.last
    if (
      last !== undefined &&
      last.sourceStart + last.length === sourceOffset &&
      last.targetStart + last.length === targetOffset
    ) {
      if (last === this.#runs.at(-1)) {
        last.length += count
        this.#dirty.add(last)
        return last
      }
      // Extending a run in the middle (a replay over older runs): the longer run may now overlap
      // the next ones, so it goes through the superseding insert.
      this.#runs.splice(this.#runs.indexOf(last), 1)
      const extended = { ...last, length: last.length + count }
      this.#deleted.add(last.sourceStart)
      this.#dirty.delete(last)
      this.#insert(extended)
      this.#current = extended
      return extended
    }
    const run = { sourceStart: sourceOffset, targetStart: targetOffset, length: count }
    this.#insert(run)
    this.#current = run
    return run
  }

  /**
   * Target position for a consumer whose committed source offset is `sourceOffset` (the next record
   * it would read). Null when nothing at or after that offset has been copied yet.
   */
  translate(sourceOffset: bigint): Translation | null {
    return translateRuns(this.#runs, sourceOffset)
  }

  /**
   * The source offset whose copy sits at `targetOffset`; for a target offset between copies (records
   * other writers put on the target), the source start of the next copy. Null past the last copy.
   */
  sourceFor(targetOffset: bigint): bigint | null {
    let next: OffsetRun | null = null
    for (const run of this.#runs) {
      if (targetOffset >= run.targetStart && targetOffset < run.targetStart + run.length) {
        return run.sourceStart + (targetOffset - run.targetStart)
      }
      if (run.targetStart > targetOffset && (next === null || run.targetStart < next.targetStart)) next = run
    }
    return next === null ? null : next.sourceStart
  }

  /** Drops runs entirely below `sourceOffset` (data gone from the source); returns the dropped ones. */
  truncateBefore(sourceOffset: bigint): OffsetRun[] {
    const keepFrom = this.#runs.findIndex(r => r.sourceStart + r.length > sourceOffset)
    const cut = keepFrom === -1 ? this.#runs.length : keepFrom
    const dropped = this.#runs.splice(0, cut)
    for (const r of dropped) this.#forget(r)
    if (this.#current !== undefined && dropped.includes(this.#current)) this.#current = undefined
    return dropped
  }

  /** Changes since the previous call, keyed by sourceStart, for persisting incrementally. */
  takeChanges(): RunChanges {
    const upserts = [...this.#dirty].map(r => ({ ...r }))
    const upserted = new Set(upserts.map(r => r.sourceStart))
    const deletes = [...this.#deleted].filter(k => !upserted.has(k))
    this.#dirty.clear()
    this.#deleted.clear()
    return { upserts, deletes }
  }

  /** Marks everything clean (after loading from storage). */
  markClean(): void {
    this.#dirty.clear()
    this.#deleted.clear()
  }

  #forget(run: OffsetRun): void {
    this.#dirty.delete(run)
    this.#deleted.add(run.sourceStart)
  }

  /** Inserts keeping order; a run overlapping earlier runs on the source side supersedes them there. */
  #insert(run: OffsetRun): void {
    const runs = this.#runs
    const end = run.sourceStart + run.length
    let i = runs.length
    while (i > 0 && runs[i - 1]!.sourceStart + runs[i - 1]!.length > run.sourceStart) i--
    // runs[i..] overlap or follow `run` on the source side
    const kept: OffsetRun[] = []
    for (let j = i; j < runs.length; j++) {
      const r = runs[j]!
      const rEnd = r.sourceStart + r.length
      if (rEnd <= run.sourceStart || r.sourceStart >= end) {
        kept.push(r)
        continue
      }
      this.#forget(r)
      if (r.sourceStart < run.sourceStart) this.#keep(kept, { ...r, length: run.sourceStart - r.sourceStart })
      if (rEnd > end) {
        this.#keep(kept, { sourceStart: end, targetStart: r.targetStart + (end - r.sourceStart), length: rEnd - end })
      }
    }
    this.#keep(kept, run)
    kept.sort((a, b) => compare(a.sourceStart, b.sourceStart))
    runs.splice(i, runs.length - i, ...kept)
  }

  #keep(list: OffsetRun[], run: OffsetRun): void {
    list.push(run)
    this.#dirty.add(run)
  }
}

function compare(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/**
 * Where the copy of `sourceOffset` is among `runs` (sorted by source offset, not overlapping): in the
 * run that holds it (copied), else at the start of the next run (not copied: gone or skipped on the
 * source). Null when no run ends beyond `sourceOffset`. Binary search: no allocation but the answer.
 */
export function translateRuns(runs: readonly OffsetRun[], sourceOffset: bigint): Translation | null {
  let lo = 0
  let hi = runs.length
  // first run whose end is beyond sourceOffset
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    const r = runs[mid]!
    if (r.sourceStart + r.length <= sourceOffset) lo = mid + 1
    else hi = mid
  }
  const run = runs[lo]
  if (run === undefined) return null
  if (sourceOffset >= run.sourceStart) {
    return { targetOffset: run.targetStart + (sourceOffset - run.sourceStart), copied: true }
  }
  return { targetOffset: run.targetStart, copied: false }
}
