import { type CopyMap } from './copy-search.ts'
import { type OffsetRuns } from './offset-runs.ts'

/**
 * Translation of a consumer group's committed source offset (the next record it would read) to the
 * target offset it should resume from, using the copy index the engine stored (segments searched on
 * the target, core/copy-search.ts) or exact runs. The rule that
 * matters: never translate ahead of the data. Every translation either lands exactly on the copy of
 * the committed record, or on the next copied record when the committed offset falls in a gap
 * (compacted away, transaction markers, aborted records, records filtered as loops), or, when the
 * group is ahead of replication, on the end of what was replicated.
 */

export interface OffsetTranslation {
  sourceOffset: bigint
  /** null when nothing of this partition has been replicated yet. */
  targetOffset: bigint | null
  /**
   * True when resuming at targetOffset reads exactly the records the group had not read: nothing
   * skipped, nothing read twice.
   */
  exact: boolean
  /** Source records the group had read or would read before sourceOffset that are not on the target. */
  notReplicated: bigint
  note: string | null
}

/**
 * @param committed the group's committed offset on the source
 * @param copies where the partition's copies are on the target
 * @param replicatedNext next source offset to replicate (everything below is on the target or was
 *   deliberately not copied), null when unknown
 */
export async function translateOffset(
  committed: bigint,
  copies: CopyMap,
  replicatedNext: bigint | null
): Promise<OffsetTranslation> {
  const first = copies.first()
  const endOfCopies = copies.endOfCopies
  if (replicatedNext === null || first === null || endOfCopies === null) {
    return {
      sourceOffset: committed,
      targetOffset: null,
      exact: false,
      notReplicated: 0n,
      note: 'nothing replicated yet'
    }
  }
  if (committed >= replicatedNext) {
    // Ahead of (or exactly at) replication: resume after the last copy. The records in between are
    // not on the target yet; they will be when replication catches up (or are lost on failover).
    const notReplicated = committed - replicatedNext
    return {
      sourceOffset: committed,
      targetOffset: endOfCopies,
      exact: notReplicated === 0n,
      notReplicated,
      note: notReplicated === 0n ? null : `${notReplicated} records before the committed offset are not replicated yet`
    }
  }
  if (committed < first.sourceStart) {
    return {
      sourceOffset: committed,
      targetOffset: first.targetStart,
      exact: false,
      notReplicated: first.sourceStart - committed,
      note: `committed offset precedes the replicated range (first copied source offset ${first.sourceStart})`
    }
  }
  const t = await copies.locate(committed)
  // Past the last copy but below replicatedNext: trailing records that were not copied (markers, loops).
  const targetOffset = t === null ? endOfCopies : t.targetOffset
  return { sourceOffset: committed, targetOffset, exact: true, notReplicated: 0n, note: null }
}

/** A CopyMap over exact runs held in memory (tests, and tools that hold every run). */
export function runsCopyMap(runs: OffsetRuns): CopyMap {
  const last = runs.runs.at(-1)
  const first = runs.runs[0]
  return {
    first: () => (first === undefined ? null : { sourceStart: first.sourceStart, targetStart: first.targetStart }),
    endOfCopies: last === undefined ? null : last.targetStart + last.length,
    locate: sourceOffset => Promise.resolve(runs.translate(sourceOffset))
  }
}
