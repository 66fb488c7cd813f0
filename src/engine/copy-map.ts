import { segmentCopyMap } from '../core/copy-search.ts'
import { type PartitionMapping } from '../sync/checkpoints.ts'
import { type PartitionCopier } from './partition-copier.ts'

/**
 * Where a partition's copies are on the target, for checkpoints (sync/checkpoints.ts): the copier's
 * segment index and recent mappings, read through `reader` where the index is sparse.
 */
export function copierMapping(
  copier: PartitionCopier,
  reader: Parameters<typeof segmentCopyMap>[2],
  exactlyOnce: boolean
): PartitionMapping {
  const { segments, targetEnd, recent } = copier.copies
  if (exactlyOnce) {
    // Only committed copies: a group offset on the target never points into a transaction that
    // may still be aborted. Copies below committedNext are all committed.
    return {
      copies: segmentCopyMap(segments, copier.committedTargetEnd, reader, recent),
      replicatedNext: copier.committedNext
    }
  }
  const replicatedNext = copier.replicatedNext
  // A batch written but not yet complete (a split batch's first half) may lie past
  // replicatedNext: the end of the copies is then where the copy of replicatedNext is.
  const ahead = recent.translate(replicatedNext)
  const end = ahead === undefined || ahead === null ? targetEnd : ahead.targetOffset
  return { copies: segmentCopyMap(segments, end, reader, recent), replicatedNext }
}
