import { type CopyIndexChanges } from '../core/copy-index.ts'
import { type RecordProducer } from '../kafka/index.ts'
import { type StateEntry } from './records.ts'
import { writeState } from './store.ts'

/**
 * What a commit of replication progress writes to the state topic (the engine's commit loop): the
 * records of the partitions that moved, and the deletion of old-format run records apart from it.
 */

/** What one partition's commit stores: its progress, the changes to its copy index, and gaps. */
export interface CommitPart {
  topic: string
  partition: number
  topicId: string
  next: bigint
  copies: CopyIndexChanges
  gaps: { from: bigint; to: bigint; reason: string }[]
}

/**
 * The state entries of a commit: per partition the segment index when it changed, gaps, then the
 * progress they support (with the target end of the copies). Bounded by the partitions that moved:
 * old-format run records are deleted apart (deleteLegacyRuns), never in a commit's batch.
 */
export function commitEntries(
  link: string,
  sourceClusterId: string,
  parts: readonly CommitPart[],
  /** Who commits (scale-out): stored with each progress record, shown by `status`. */
  writer: { worker: string; generation: number } | null = null
): StateEntry[] {
  const now = Date.now()
  const entries: StateEntry[] = []
  for (const part of parts) {
    const base = { link, topic: part.topic, partition: part.partition }
    if (part.copies.segments !== null) entries.push({ kind: 'segments', ...base, value: part.copies.segments })
    for (const gap of mergeAdjacent(part.gaps))
      entries.push({ kind: 'gap', ...base, from: gap.from, value: { to: gap.to, reason: gap.reason, at: now } })
    entries.push({
      kind: 'progress',
      ...base,
      value: {
        next: part.next,
        topicId: part.topicId,
        sourceClusterId,
        updatedAt: now,
        targetEnd: part.copies.targetEnd,
        lastCopied: part.copies.lastCopied,
        ...(writer === null ? {} : writer)
      }
    })
  }
  return entries
}

/** Tombstones per write when old-format run records are deleted (about 70 bytes each). */
export const LEGACY_DELETES_PER_WRITE = 10_000

/**
 * Deletes the old-format run records of partitions whose segments a commit has just stored, in
 * writes of at most LEGACY_DELETES_PER_WRITE tombstones: a state topic upgraded from a version that
 * wrote one record per gap may hold millions, more than one batch may carry. Once a partition's
 * segments are stored its runs are ignored when the state is read, so a deletion that fails is only
 * tried again at the next start (loadLinkState lists them again); it never holds a commit back.
 */
export async function deleteLegacyRuns(
  producer: RecordProducer,
  link: string,
  parts: readonly CommitPart[]
): Promise<number> {
  let entries: StateEntry[] = []
  let deleted = 0
  for (const part of parts) {
    for (const sourceStart of part.copies.legacyRuns) {
      entries.push({ kind: 'run', link, topic: part.topic, partition: part.partition, sourceStart, value: null })
      if (entries.length >= LEGACY_DELETES_PER_WRITE) {
        await writeState(producer, entries)
        deleted += entries.length
        entries = []
      }
    }
  }
  if (entries.length > 0) await writeState(producer, entries)
  return deleted + entries.length
}

/** Gaps that continue one another (skips in a row) become one record: fewer keys, same ranges. */
function mergeAdjacent(gaps: readonly { from: bigint; to: bigint; reason: string }[]): typeof gaps {
  const merged: { from: bigint; to: bigint; reason: string }[] = []
  for (const gap of gaps) {
    const last = merged.at(-1)
    if (last !== undefined && last.to === gap.from && last.reason === gap.reason) last.to = gap.to
    else merged.push({ ...gap })
  }
  return merged
}
