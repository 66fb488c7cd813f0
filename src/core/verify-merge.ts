/**
 * The comparison behind `kafka-dr verify`, for one source partition and its target partition, as a
 * streaming merge: target records arrive in target order and name the source offset they were copied
 * from (provenance header); source records are pulled in offset order up to that offset. Memory is
 * bounded by the anomaly examples kept and the list of missing ranges, never by the partition size.
 *
 * Classification (each source record in the checked range ends in exactly one class):
 * - matched: first copy on the target, same digest (key, value, headers without provenance, timestamp);
 * - altered: first copy on the target, other digest (further copies: see below);
 * - missing: no copy, although replication claims to be past it (stored progress or a later copy);
 * - reordered: copied, but after a copy of a later source record (counted when it shows up late);
 * - notReplicated: no copy yet and at or after the replication position: lag, not an error;
 * - expiredOnTarget: no copy because the target's retention already removed it (offset mapping).
 * Every further copy of a source record (an at-least-once replay, or a late copy) is compared with
 * the source too: an equal one is a duplicate, a different one counts as altered (a record carrying
 * the provenance of a source offset cannot pass with another content). The digests of the most recent
 * source records are kept to compare against; an older offset is read from the source again. Target
 * records naming a source offset the source no longer holds (compaction) are counted apart; records
 * with no provenance for this source partition (other writers) are counted and their target offsets
 * listed, and fail the check only in strict mode (active-passive: a write to the standby).
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
  /** Copies that differ from their source record: source offsets, and the copies' target offsets. */
  altered: { count: number; offsets: number[]; targetOffsets: number[] }
  missing: { count: number; ranges: OffsetRange[] }
  reordered: { count: number; offsets: number[] }
  duplicates: { count: number; offsets: number[] }
  notReplicated: { count: number; from: number | null }
  expiredOnTarget: number
  /** Target copies of source offsets the source no longer holds (compacted or deleted since). */
  goneFromSource: number
  /** Target records of this partition with no provenance for this source partition. */
  foreign: number
  /** Target offsets of the first of them. */
  foreignOffsets: number[]
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
const RECENT_DIGESTS = 65_536

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
    altered: { count: 0, offsets: [], targetOffsets: [] },
    missing: { count: 0, ranges: [] },
    reordered: { count: 0, offsets: [] },
    duplicates: { count: 0, offsets: [] },
    notReplicated: { count: 0, from: null },
    expiredOnTarget: 0,
    goneFromSource: 0,
    foreign: 0,
    foreignOffsets: [],
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
  /**
   * The digest of one source record read again, for a further copy of a record older than the recent
   * digests kept; null when the source has no record there (compacted, or not expected on the target).
   */
  sourceDigestAt: (sourceOffset: number) => Promise<Digest | null>
  /** How many recent source digests are kept for comparing further copies (default 65,536). */
  recentDigests?: number
  /** Records of other writers fail the check (active-passive links: the standby takes no writes). */
  strict?: boolean
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
  /** Source offset -> digest of the most recent source records taken, oldest first. */
  readonly #recent = new Map<number, Digest>()

  constructor(options: MergeOptions, pullSource: () => Promise<SourceRecordDigest | null>) {
    this.#options = options
    this.#pull = pullSource
  }

  /**
   * A target record of this partition at `targetOffset`; `sourceOffset` null when it carries no
   * provenance for this source partition.
   */
  async target(sourceOffset: number | null, digest: Digest, targetOffset: number): Promise<void> {
    const v = this.#verdict
    if (sourceOffset === null) {
      v.foreign++
      pushExample(v.foreignOffsets, targetOffset)
      return
    }
    const { from, to } = this.#options
    if (sourceOffset < from || sourceOffset >= to) return // outside the checked range
    if (sourceOffset <= this.#maxSeen) {
      await this.#furtherCopy(sourceOffset, digest, targetOffset)
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
    this.#remember(source)
    v.checked++
    this.#rangeFor(sourceOffset).source(source.digest)
    this.#rangeFor(sourceOffset).target(digest)
    if (source.digest.equals(digest)) {
      v.matched++
    } else {
      this.#altered(sourceOffset, targetOffset)
    }
  }

  /** A copy of a source offset at or below the highest seen: a late copy of a hole, or a further copy. */
  async #furtherCopy(sourceOffset: number, digest: Digest, targetOffset: number): Promise<void> {
    const v = this.#verdict
    const late = this.#removeHole(sourceOffset)
    if (late) {
      v.reordered.count++
      pushExample(v.reordered.offsets, sourceOffset)
      v.missing.count--
    }
    const source = this.#recent.get(sourceOffset) ?? (await this.#options.sourceDigestAt(sourceOffset))
    if (source === null) {
      if (!late) v.goneFromSource++
      return
    }
    if (!source.equals(digest)) this.#altered(sourceOffset, targetOffset)
    else if (!late) {
      v.duplicates.count++
      pushExample(v.duplicates.offsets, sourceOffset)
    }
  }

  #altered(sourceOffset: number, targetOffset: number): void {
    const v = this.#verdict
    v.altered.count++
    if (v.altered.offsets.length < EXAMPLES) {
      v.altered.offsets.push(sourceOffset)
      v.altered.targetOffsets.push(targetOffset)
    }
  }

  /** Keeps a source digest for further copies; the oldest goes when the window is full. */
  #remember(record: SourceRecordDigest): void {
    this.#recent.set(record.offset, record.digest)
    if (this.#recent.size > (this.#options.recentDigests ?? RECENT_DIGESTS)) {
      this.#recent.delete(this.#recent.keys().next().value!)
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
    v.ok =
      v.missing.count === 0 &&
      v.altered.count === 0 &&
      v.reordered.count === 0 &&
      (this.#options.strict !== true || v.foreign === 0)
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
    this.#remember(record)
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
