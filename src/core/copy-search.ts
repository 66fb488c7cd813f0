import { type Segment, type RecentCopies } from './copy-index.ts'
import { type Translation } from './offset-runs.ts'

/**
 * Exact source -> target translation from the segment index (core/copy-index.ts) and the target's
 * records: within the chosen segment, a binary search over target offsets for the first copy whose
 * provenance source offset is at or above the one asked, reading one record per step.
 */

/** One copy of this link's partition found on the target. */
export interface FoundCopy {
  targetOffset: bigint
  sourceOffset: bigint
}

/** Reads the target partition (see kafka/copy-reader.ts for the one backed by a broker). */
export interface CopyReader {
  /**
   * The first record of this link's source partition at a target offset in [from, to), skipping
   * other writers' records and records below the target's log start; null when there is none.
   */
  firstCopy(from: bigint, to: bigint): Promise<FoundCopy | null>
}

/** Source -> target lookups as translation needs them (core/translate.ts). */
export interface CopyMap {
  /** The segment (or run) with the smallest source start; null when nothing was copied. */
  first(): Segment | null
  /** One past the target offset of the last copy; null when nothing was copied. */
  readonly endOfCopies: bigint | null
  /**
   * The copy of `sourceOffset` (copied: true) or the next copy after it (copied: false); null when
   * nothing at or after it was copied. Asked only for offsets at or above first().sourceStart.
   */
  locate(sourceOffset: bigint): Promise<Translation | null>
}

/**
 * The copy of `sourceOffset`, or the next copy, using the latest segment (target order) starting
 * at or below it: newer copies win. Reads O(log2 of the segment's target range) records.
 */
export async function locateCopy(
  segments: readonly Segment[],
  targetEnd: bigint | null,
  sourceOffset: bigint,
  reader: CopyReader
): Promise<Translation | null> {
  let index = -1
  for (let i = segments.length - 1; i >= 0; i--) {
    if (segments[i]!.sourceStart <= sourceOffset) {
      index = i
      break
    }
  }
  if (index < 0) {
    const first = firstSegment(segments)
    return first === null ? null : { targetOffset: first.targetStart, copied: false }
  }
  const segment = segments[index]!
  const next = segments[index + 1]
  const end = segment.targetEnd ?? next?.targetStart ?? targetEnd
  if (end === null) return null
  let lo = segment.targetStart
  let hi = end
  let best: FoundCopy | null = null
  // Invariant: the answer (the first copy in [segment start, end) with a source offset >=
  // sourceOffset) is `best` or lies in [lo, hi); copies below lo have smaller source offsets.
  while (lo < hi) {
    const mid = lo + (hi - lo) / 2n
    const found = await reader.firstCopy(mid, hi)
    if (found === null || found.sourceOffset >= sourceOffset) {
      if (found !== null) best = found
      hi = mid
    } else {
      lo = found.targetOffset + 1n
    }
  }
  if (best !== null) return { targetOffset: best.targetOffset, copied: best.sourceOffset === sourceOffset }
  // Beyond the segment's last copy: every later segment starts above sourceOffset.
  return next === undefined ? null : { targetOffset: next.targetStart, copied: false }
}

/**
 * The source offset of the copy at `targetOffset`, or of the next copy after it; null past the last
 * copy (failback: a position on the target back to the source).
 */
export async function sourceAt(
  targetOffset: bigint,
  targetEnd: bigint | null,
  reader: CopyReader
): Promise<bigint | null> {
  if (targetEnd === null || targetOffset >= targetEnd) return null
  return (await reader.firstCopy(targetOffset, targetEnd))?.sourceOffset ?? null
}

function firstSegment(segments: readonly Segment[]): Segment | null {
  let first: Segment | null = null
  for (const s of segments) if (first === null || s.sourceStart < first.sourceStart) first = s
  return first
}

/**
 * The CopyMap of one partition: the copier's recent exact runs first (no target read), else a
 * search of the segments on the target.
 */
export function segmentCopyMap(
  segments: readonly Segment[],
  targetEnd: bigint | null,
  reader: CopyReader,
  recent: RecentCopies | null = null
): CopyMap {
  return {
    first: () => firstSegment(segments),
    endOfCopies: targetEnd,
    locate: async sourceOffset => {
      const cached = recent?.translate(sourceOffset)
      if (cached !== undefined) return cached
      return locateCopy(segments, targetEnd, sourceOffset, reader)
    }
  }
}
