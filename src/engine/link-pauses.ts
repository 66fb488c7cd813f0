import { type Pause, PauseSet, describePause } from '../core/pauses.ts'
import { type KafkaAdmin } from '../kafka/index.ts'
import { type Logger } from '../observability/logger.ts'
import { type PartitionCopier } from './partition-copier.ts'

/**
 * The operators' pauses of one link (core/pauses.ts) applied to this worker's copiers. The pauses
 * come from the state topic: those loaded at start, then each one the state tail brings (the commit
 * loop reads it every commitIntervalMs, so a pause takes effect within one commit interval on every
 * worker). A paused copier keeps its partition: the group does not rebalance, and resuming continues
 * from committed progress.
 */
export class LinkPauses {
  readonly #copiers: ReadonlyMap<string, PartitionCopier>
  readonly #log: Logger
  #pauses = new PauseSet()
  /** Paused copiers whose unreplicated records retention deleted: warned once each. */
  readonly #retentionWarned = new WeakSet<PartitionCopier>()

  constructor(copiers: ReadonlyMap<string, PartitionCopier>, log: Logger) {
    this.#copiers = copiers
    this.#log = log
  }

  /** The pauses stored when the state was loaded (at start, before any copier). */
  loaded(pauses: PauseSet): void {
    this.#pauses = pauses
    for (const [topic, pause] of pauses.entries()) this.#log.warn({ topic, pause }, describePause(pause, topic))
  }

  /** A pause or resume read from the state tail: applied to the copiers at once. */
  changed(topic: string, pause: Pause | null): void {
    this.#pauses.apply(topic, pause)
    this.#log.warn({ topic, pause }, pause === null ? `resumed: ${topic}` : describePause(pause, topic))
    for (const copier of this.#copiers.values()) this.applyTo(copier)
  }

  /** Pauses or resumes one copier as the pauses say (also for a copier just started). */
  applyTo(copier: PartitionCopier): void {
    const covering = this.#pauses.covering(copier.topic)
    if (covering === null) copier.resume()
    else copier.pause(describePause(covering.pause, covering.scope))
  }

  /**
   * Lists the source's high watermarks of the paused partitions (no fetch brings them while paused),
   * so their lag keeps growing in status and metrics. One ListOffsets per topic.
   */
  async measureLag(admin: KafkaAdmin): Promise<void> {
    const byTopic = new Map<string, PartitionCopier[]>()
    for (const copier of this.#copiers.values()) {
      if (!copier.paused) continue
      const list = byTopic.get(copier.topic)
      if (list === undefined) byTopic.set(copier.topic, [copier])
      else list.push(copier)
    }
    for (const [topic, copiers] of byTopic) {
      const partitions = copiers.map(c => c.partition)
      const [starts, ends] = await Promise.all([
        admin.listOffsets(topic, partitions, 'earliest'),
        admin.listOffsets(topic, partitions, 'latest')
      ])
      for (const copier of copiers) {
        // Resumed meanwhile: its own fetches say more than this listing.
        if (!copier.paused) continue
        const start = starts.get(copier.partition) ?? -1n
        copier.observeSourceOffsets(start, ends.get(copier.partition) ?? -1n)
        if (start > copier.fetchOffset && !this.#retentionWarned.has(copier)) {
          this.#retentionWarned.add(copier)
          this.#log.warn(
            { topic, partition: copier.partition, next: String(copier.fetchOffset), logStart: String(start) },
            'retention deleted source records of a paused partition before they were copied: on resume the onDataLoss policy applies'
          )
        }
      }
    }
  }
}
