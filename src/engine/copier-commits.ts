import { type CopyIndex } from '../core/copy-index.ts'
import { type CommitPart } from '../state/index.ts'

/**
 * What one partition copier owes the commits of its link (commit-cycle.ts): the progress committed
 * so far, the gaps not committed yet, and, under exactly-once, which transaction each part of its
 * progress belongs to.
 *
 * Under exactly-once two transactions take turns (transaction-boundary.ts): while generation g
 * commits, the copier may already write into g + 1. The commit of g must store exactly the progress
 * of the writes into g (and of skips before them), never any of g + 1. So when the copier enters a
 * later generation before the commit of the one it wrote in took its progress, that progress is set
 * aside ("sealed") for that commit. Under at-least-once everything is generation 0 and every commit
 * asks for Infinity: it takes all that was acknowledged.
 */

/** Where the copier stands when a part is taken. */
export interface CopierPosition {
  topic: string
  partition: number
  topicId: string
  /** Next source offset whose copy the target acknowledged (or that needs no copy). */
  ackedNext: bigint
  copies: CopyIndex
  /** The source log start, -1 when unknown: segments below it are pruned. */
  logStart: bigint
}

export type Gap = CommitPart['gaps'][number]

export class CopierCommits {
  readonly #position: () => CopierPosition
  #committedNext: bigint
  #committedTargetEnd: bigint | null
  #gaps: Gap[] = []
  /** The generation this copier last wrote in; -1 before its first write. */
  #writtenIn = -1
  /** The latest generation whose commit took this copier's progress. */
  #gatheredThrough = -1
  #sealed: { generation: number; part: CommitPart | null } | null = null

  constructor(start: bigint, targetEnd: bigint | null, position: () => CopierPosition) {
    this.#committedNext = start
    this.#committedTargetEnd = targetEnd
    this.#position = position
  }

  /** Next source offset whose copies are committed (exactly-once: visible to read_committed readers). */
  get committedNext(): bigint {
    return this.#committedNext
  }

  /** One past the target offset of the last committed copy (null when nothing was committed yet). */
  get committedTargetEnd(): bigint | null {
    return this.#committedTargetEnd
  }

  /** Source ranges that will never be copied, stored with the next commit. */
  addGaps(gaps: readonly Gap[]): void {
    this.#gaps.push(...gaps)
  }

  /** The copier's next write goes to `generation`: what it did before belongs to the earlier one. */
  enter(generation: number): void {
    if (generation === this.#writtenIn) return
    if (this.#writtenIn > this.#gatheredThrough) this.#sealed = { generation: this.#writtenIn, part: this.#take() }
    this.#writtenIn = generation
  }

  /**
   * What the commit of `generation` must store since the last commit, or null when nothing changed:
   * the progress up to this copier's writes into `generation` and earlier, never of a later one.
   */
  pending(generation = Number.POSITIVE_INFINITY): CommitPart | null {
    const sealed = this.#sealed
    if (sealed !== null && sealed.generation <= generation) {
      this.#sealed = null
      this.#gatheredThrough = generation
      return sealed.part
    }
    // Everything pending belongs to a later transaction than the one committing.
    if (this.#writtenIn > generation) return null
    this.#gatheredThrough = generation
    return this.#take()
  }

  /** A commit stored progress up to `next`, with the copies ending at `targetEnd` on the target. */
  markCommitted(next: bigint, targetEnd: bigint | null): void {
    this.#committedNext = next
    this.#committedTargetEnd = targetEnd
  }

  #take(): CommitPart | null {
    const position = this.#position()
    if (position.ackedNext === this.#committedNext && this.#gaps.length === 0) return null
    return {
      topic: position.topic,
      partition: position.partition,
      topicId: position.topicId,
      next: position.ackedNext,
      // Segments below the source log start are pruned: no offset still on the source needs them.
      copies: position.copies.takeChanges(position.logStart >= 0n ? position.logStart : null),
      gaps: this.#gaps.splice(0)
    }
  }
}
