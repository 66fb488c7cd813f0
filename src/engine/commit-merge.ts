import { type CommitPart } from '../state/index.ts'

/**
 * A partition's commit part that failed to commit, merged with the next one (link-replicator.ts),
 * so nothing is forgotten: progress and topic id of the newer part, the gaps and legacy runs of
 * both in order, and the newest full segment list.
 */
export function mergeCommitParts(earlier: CommitPart, part: CommitPart): CommitPart {
  return {
    ...part,
    copies: {
      // The newest full segment list wins; an unchanged one (null) keeps the earlier change.
      segments: part.copies.segments ?? earlier.copies.segments,
      targetEnd: part.copies.targetEnd,
      lastCopied: part.copies.lastCopied,
      legacyRuns: [...earlier.copies.legacyRuns, ...part.copies.legacyRuns]
    },
    gaps: [...earlier.gaps, ...part.gaps]
  }
}
