import { describeCause } from '../errors.ts'
import { type RecordProducer } from '../kafka/index.ts'
import { type Logger } from '../observability/logger.ts'
import { type CommitPart, commitEntries, deleteLegacyRuns, partitionKey } from '../state/index.ts'
import { mergeCommitParts } from './commit-merge.ts'
import { type Delivery } from './delivery.ts'
import { type PartitionCopier } from './partition-copier.ts'
import { withinDeadline } from './shutdown.ts'

/**
 * A link's commit cycle: what each commit stores (per partition that moved: progress, the segment
 * index, gaps) and how the stop's final commit ends. The delivery (delivery.ts) decides how it is
 * stored: one atomic state write after the data (at-least-once), or in the transaction of the data
 * (exactly-once). Parts whose write failed are merged into the next commit, so nothing is forgotten.
 */
export class CommitCycle {
  readonly #link: string
  readonly #delivery: Delivery
  readonly #state: RecordProducer
  readonly #copiers: ReadonlyMap<string, PartitionCopier>
  readonly #log: Logger
  /** Commit parts that failed to commit; merged into the next attempt so nothing is forgotten. */
  readonly #uncommitted = new Map<string, CommitPart>()
  #lastCommitAt: number | null = null
  readonly #writer: () => { worker: string; generation: number } | null

  constructor(
    link: string,
    delivery: Delivery,
    state: RecordProducer,
    copiers: ReadonlyMap<string, PartitionCopier>,
    log: Logger,
    /** Who commits: the worker and its group generation, stored with progress (scale-out). */
    writer: () => { worker: string; generation: number } | null = () => null
  ) {
    this.#writer = writer
    this.#link = link
    this.#delivery = delivery
    this.#state = state
    this.#copiers = copiers
    this.#log = log
  }

  /** When the last commit was stored (epoch ms), null before the first. */
  get lastCommitAt(): number | null {
    return this.#lastCommitAt
  }

  /**
   * Commits every partition that moved. Under exactly-once the parts are gathered when no write of
   * the generation committed is under way, and each copier gives only the progress of its writes up
   * to that generation, so they cover exactly the batches of the transaction that ends with them.
   */
  async commit(sourceClusterId: string): Promise<void> {
    let parts: CommitPart[] = []
    await this.#delivery.commit(generation => {
      for (const copier of this.#copiers.values()) {
        const part = copier.pendingCommit(generation)
        if (part !== null) this.#merge(part)
      }
      if (this.#uncommitted.size === 0) return null
      parts = [...this.#uncommitted.values()]
      return {
        entries: commitEntries(this.#link, sourceClusterId, parts, this.#writer()),
        committed: () => {
          for (const part of parts) {
            const key = partitionKey(part.topic, part.partition)
            this.#copiers.get(key)?.markCommitted(part.next, part.copies.targetEnd)
            if (this.#uncommitted.get(key) === part) this.#uncommitted.delete(key)
          }
          this.#lastCommitAt = Date.now()
        }
      }
    })
    if (parts.some(p => p.copies.legacyRuns.length > 0)) {
      await deleteLegacyRuns(this.#state, this.#link, parts).catch((error: unknown) =>
        this.#log.warn(
          { err: describeCause(error) },
          'old-format offset runs not deleted; tried again at the next start'
        )
      )
    }
  }

  /**
   * The commit of a stop, by `writesBy` (performance.now() time); whether it was stored.
   * exactly-once commits only when every write finished and nothing failed: a write given up may
   * still land, so the transaction is aborted instead and never becomes visible.
   */
  async final(sourceClusterId: string, cleanStop: boolean, writesBy: number): Promise<boolean> {
    const exactlyOnce = this.#delivery.mode === 'exactly-once'
    if (exactlyOnce && !cleanStop) {
      await withinDeadline(this.#delivery.abandon(), writesBy)
      return false
    }
    try {
      if (!(await withinDeadline(this.commit(sourceClusterId), writesBy)).inTime)
        throw new Error('no answer from the target in time')
      return true
    } catch (error) {
      this.#log.error(
        { err: describeCause(error) },
        exactlyOnce
          ? 'final commit failed; the open transaction is aborted and its records copied again on restart'
          : 'final commit failed; records since the last commit will be copied again on restart'
      )
      await withinDeadline(this.#delivery.abandon(), writesBy)
      return false
    }
  }

  #merge(part: CommitPart): void {
    const key = partitionKey(part.topic, part.partition)
    const earlier = this.#uncommitted.get(key)
    this.#uncommitted.set(key, earlier === undefined ? part : mergeCommitParts(earlier, part))
  }
}
