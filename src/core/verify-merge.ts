/**
 * The comparison behind `kafka-dr verify`, for one source partition and its target partition, as a
 * streaming merge: target records arrive in target order and name the source offset they were copied
 * from (provenance header); source records are pulled in offset order up to that offset. Memory is
 * bounded by the anomaly examples kept and the list of missing ranges, never by the partition size.
 *
 * Classification (each source record in the checked range ends in exactly one class):
 * - matched: first copy on the target, same digest (key, value, headers without provenance, timestamp);
 * - altered: first copy on the target, other digest;
 * - missing: no copy, although replication claims to be past it (stored progress or a later copy);
 * - reordered: copied, but after a copy of a later source record (counted when it shows up late);
 * - notReplicated: no copy yet and at or after the replication position: lag, not an error;
 * - expiredOnTarget: no copy because the target's retention already removed it (offset mapping).
 * Target records that are a further copy of a source record are duplicates (at-least-once replays);
 * target records naming a source offset the source no longer holds (compaction) or another source
 * are counted apart and never make verification fail.
 */

export interface OffsetRange {
  from: number
  /** Exclusive. */
  to: number
}

/** Per range of source offsets: how many records and a digest of their digests, in offset order. */
export interface RangeDigest {
  from: number
  to: number
  sourceRecords: number
  targetRecords: number
  sourceDigest: string
  targetDigest: string
  match: boolean
}

export interface PartitionVerdict {
  checked: number
  matched: number
  altered: { count: number; offsets: number[] }
  missing: { count: number; ranges: OffsetRange[] }
  reordered: { count: number; offsets: number[] }
  duplicates: { count: number; offsets: number[] }
  notReplicated: { count: number; from: number | null }
  expiredOnTarget: number
  /** Target copies of source offsets the source no longer holds (compacted or deleted since). */
  goneFromSource: number
  /** Target records of this partition with no provenance for this source partition. */
  foreign: number
  ranges: RangeDigest[]
  ok: boolean
}

/** Digest of one record as both sides compute it. */
export type Digest = Buffer

export interface VerifyHashing {
  /** A fresh accumulator for a range digest. */
  rangeHasher(): { update(d: Digest): void; digest(): string }
}

const EXAMPLES = 20

function pushExample(list: number[], offset: number): void {
  if (list.length < EXAMPLES) list.push(offset)
}

class RangeAccumulator {
  readonly from: number
  readonly to: number
  readonly #source: ReturnType<VerifyHashing['rangeHasher']>
  readonly #target: ReturnType<VerifyHashing['rangeHasher']>
  sourceRecords = 0
  targetRecords = 0
  constructor(from: number, to: number, hashing: VerifyHashing) {
    this.from = from
    this.to = to
    this.#source = hashing.rangeHasher()
    this.#target = hashing.rangeHasher()
  }
  source(d: Digest): void {
    this.sourceRecords++
    this.#source.update(d)
  }
  target(d: Digest): void {
    this.targetRecords++
    this.#target.update(d)
  }
  finish(): RangeDigest {
    const sourceDigest = this.#source.digest()
    const targetDigest = this.#target.digest()
    return {
      from: this.from,
      to: this.to,
      sourceRecords: this.sourceRecords,
      targetRecords: this.targetRecords,
      sourceDigest,
      targetDigest,
      match: sourceDigest === targetDigest && this.sourceRecords === this.targetRecords
    }
  }
}

/** A verdict with nothing counted (and not ok): the start of every merge, and the report of a failed one. */
export function emptyVerdict(): PartitionVerdict {
  return {
    checked: 0,
    matched: 0,
    altered: { count: 0, offsets: [] },
    missing: { count: 0, ranges: [] },
    reordered: { count: 0, offsets: [] },
    duplicates: { count: 0, offsets: [] },
    notReplicated: { count: 0, from: null },
    expiredOnTarget: 0,
    goneFromSource: 0,
    foreign: 0,
    ranges: [],
    ok: false
  }
}

export interface SourceRecordDigest {
  offset: number
  digest: Digest
}

export interface MergeOptions {
  /** First source offset checked (log start, or the offset for --from-time). */
  from: number
  /** Source end offset at the start of the check (records after it are not checked). */
  to: number
  /** The stored replication position: source records before it are claimed to be on the target. */
  replicatedNext: number | null
  /** Source offset -> target offset for a record copied earlier (the stored offset runs), or null. */
  targetOffsetOf: (sourceOffset: number) => number | null
  /** The target partition's log start: copies below it were removed by the target's retention. */
  targetLogStart: number
  rangeSize: number
  hashing: VerifyHashing
}

/**
 * Feed target records with `target()`, in target order, and end with `finish()`. `pullSource` gives
 * the source records of [from, to) in offset order, one per call, and null at the end.
 */
export class PartitionMerge {
  readonly #options: MergeOptions
  readonly #pull: () => Promise<SourceRecordDigest | null>
  readonly #verdict: PartitionVerdict = emptyVerdict()
  /** Source records pulled but not yet reached by a target copy (normally one at most). */
  #pending: SourceRecordDigest | null = null
  #sourceDone = false
  /** Highest source offset a first copy was seen for, -1 before the first. */
  #maxSeen = -1
  /** Ranges of source offsets passed over without a copy; a late copy removes its offset. */
  readonly #holes: OffsetRange[] = []
  #range: RangeAccumulator | null = null

  constructor(options: MergeOptions, pullSource: () => Promise<SourceRecordDigest | null>) {
    this.#options = options
    this.#pull = pullSource
  }

  /** A target record of this partition; `sourceOffset` null when it carries no provenance for it. */
  async target(sourceOffset: number | null, digest: Digest): Promise<void> {
    const v = this.#verdict
    if (sourceOffset === null) {
      v.foreign++
      return
    }
    const { from, to } = this.#options
    if (sourceOffset < from || sourceOffset >= to) return // outside the checked range
    if (sourceOffset <= this.#maxSeen) {
      if (this.#removeHole(sourceOffset)) {
        v.reordered.count++
        pushExample(v.reordered.offsets, sourceOffset)
        v.missing.count--
      } else {
        v.duplicates.count++
        pushExample(v.duplicates.offsets, sourceOffset)
      }
      return
    }
    // Source records before this copy that have none so far are holes (missing unless a copy comes late).
    for (;;) {
      const next = await this.#peek()
      if (next === null || next.offset >= sourceOffset) break
      this.#take()
      this.#hole(next)
    }
    const source = await this.#peek()
    this.#maxSeen = sourceOffset
    if (source === null || source.offset !== sourceOffset) {
      v.goneFromSource++
      return
    }
    this.#take()
    v.checked++
    this.#rangeFor(sourceOffset).source(source.digest)
    this.#rangeFor(sourceOffset).target(digest)
    if (source.digest.equals(digest)) {
      v.matched++
    } else {
      v.altered.count++
      pushExample(v.altered.offsets, sourceOffset)
    }
  }

  async finish(): Promise<PartitionVerdict> {
    const v = this.#verdict
    const replicatedNext = Math.max(this.#options.replicatedNext ?? 0, this.#maxSeen + 1)
    for (;;) {
      const next = await this.#peek()
      if (next === null) break
      this.#take()
      if (next.offset < replicatedNext) {
        this.#hole(next)
      } else {
        // Lag: outside the replicated range, so outside the range digests too.
        v.checked++
        v.notReplicated.count++
        v.notReplicated.from ??= next.offset
      }
    }
    if (this.#range !== null) v.ranges.push(this.#range.finish())
    v.missing.ranges = this.#holes.slice(0, EXAMPLES)
    v.ok = v.missing.count === 0 && v.altered.count === 0 && v.reordered.count === 0
    return v
  }

  async #peek(): Promise<SourceRecordDigest | null> {
    if (this.#pending === null && !this.#sourceDone) {
      this.#pending = await this.#pull()
      if (this.#pending === null) this.#sourceDone = true
    }
    return this.#pending
  }

  #take(): void {
    this.#pending = null
  }

  /** A source record with no copy (yet): expired on the target, or a hole. */
  #hole(record: SourceRecordDigest): void {
    const v = this.#verdict
    v.checked++
    const mapped = this.#options.targetOffsetOf(record.offset)
    if (mapped !== null && mapped < this.#options.targetLogStart) {
      v.expiredOnTarget++
      return
    }
    this.#rangeFor(record.offset).source(record.digest)
    v.missing.count++
    const last = this.#holes.at(-1)
    if (last?.to === record.offset) last.to = record.offset + 1
    else this.#holes.push({ from: record.offset, to: record.offset + 1 })
  }

  #removeHole(offset: number): boolean {
    for (let i = 0; i < this.#holes.length; i++) {
      const h = this.#holes[i]!
      if (offset < h.from || offset >= h.to) continue
      const pieces: OffsetRange[] = []
      if (h.from < offset) pieces.push({ from: h.from, to: offset })
      if (offset + 1 < h.to) pieces.push({ from: offset + 1, to: h.to })
      this.#holes.splice(i, 1, ...pieces)
      return true
    }
    return false
  }

  /** The range accumulator for a source offset; ranges are closed in offset order. */
  #rangeFor(offset: number): RangeAccumulator {
    const size = this.#options.rangeSize
    const from = Math.floor(offset / size) * size
    if (this.#range?.from !== from) {
      if (this.#range !== null) this.#verdict.ranges.push(this.#range.finish())
      this.#range = new RangeAccumulator(from, from + size, this.#options.hashing)
    }
    return this.#range
  }
}
