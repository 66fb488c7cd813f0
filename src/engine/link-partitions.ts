import { type LinkConfig } from '../config/index.ts'
import { CopyIndex } from '../core/copy-index.ts'
import { type OriginFilter } from '../core/origin-filter.ts'
import { KdrError } from '../errors.ts'
import { type KafkaAdmin, type RecordProducer } from '../kafka/index.ts'
import { type Logger } from '../observability/logger.ts'
import { type EngineEvents } from '../engine-events/index.ts'
import { type ReplicatedTopic, type SyncResult } from '../sync/topic-sync.ts'
import { type LinkState, partitionKey } from '../state/index.ts'
import { type CopierSchemas } from './copier-types.ts'
import { copierSettings, resumePoint } from './copier-setup.ts'
import { type FetchLanes } from './fetch-lanes.ts'
import { PartitionCopier } from './partition-copier.ts'
import { withinDeadline } from './shutdown.ts'
import { type WriteBoundary } from './transaction-boundary.ts'

/**
 * The partitions one worker of a link copies (link-replicator.ts): those its worker group gave it
 * (link-workers.ts), each with a PartitionCopier once its topic is known. Acquiring starts copiers
 * from stored progress; releasing drains them and has their progress committed before the group
 * hears of it, so a partition's next owner starts where this one stopped.
 */

/** What copiers need from the link; most of it exists only once the link has started. */
export interface PartitionContext {
  sourceAdmin(): KafkaAdmin
  clusterIds(): { source: string; target: string }
  copierSchemas(): CopierSchemas | null
  origins(): OriginFilter | null
  boundary(): WriteBoundary
  deadLetters(): RecordProducer
  /** Whether copiers may start a produce now (no fence, write lease and group membership hold). */
  mayWrite(): boolean
  /** Pauses a copier just started when an operator's pause covers its topic (link-pauses.ts). */
  applyPause(copier: PartitionCopier): void
  /** Of `partitions` (no stored progress), those whose target must not be written (foreign-target.ts). */
  foreignPartitions(topic: ReplicatedTopic, partitions: readonly number[]): Promise<Map<number, KdrError>>
  stopping(): boolean
}

export class LinkPartitions {
  /** Copiers by partitionKey, shared with the fetch lanes and the commit cycle (they only read it). */
  readonly copiers: Map<string, PartitionCopier>
  /** Partitions the group gave this worker ("topic:partition"). */
  readonly owned = new Set<string>()
  readonly #config: LinkConfig
  readonly #log: Logger
  readonly #events: EngineEvents
  readonly #lanes: FetchLanes
  readonly #context: PartitionContext
  /** Stored progress as last read: copiers start from it. */
  #stored: LinkState = new Map()
  /** Source topics of this process's first topic pass: startFrom applies to them only. */
  readonly #initialTopics = new Set<string>()
  /** Set once the first generation's copiers started: startFrom applies before that only. */
  #started = false

  constructor(
    config: LinkConfig,
    log: Logger,
    events: EngineEvents,
    lanes: FetchLanes,
    copiers: Map<string, PartitionCopier>,
    context: PartitionContext
  ) {
    this.copiers = copiers
    this.#config = config
    this.#log = log
    this.#events = events
    this.#lanes = lanes
    this.#context = context
  }

  /** Stored progress read (at the first generation, or again before acquiring partitions). */
  set stored(state: LinkState) {
    this.#stored = state
  }

  /**
   * Starts copying `partitions`. `reload` reads the stored progress again first (what their previous
   * owner committed when it released them, or before its slot was fenced); ownership is recorded only
   * then, because the topic loop also starts copiers for owned partitions and must never start one
   * from progress read before the previous owner's last commit.
   */
  async acquire(
    partitions: readonly string[],
    known: Iterable<ReplicatedTopic>,
    reload: (() => Promise<LinkState>) | null
  ): Promise<void> {
    if (partitions.length > 0) {
      if (reload !== null) this.#stored = await reload()
      for (const key of partitions) this.owned.add(key)
      for (const topic of known) await this.ensure(topic)
    }
    this.#started = true
  }

  /**
   * Stops copying partitions the group moved to another worker: their writes under way finish (within
   * drainTimeoutMs), then `commit` stores their progress; only then are their copiers dropped. A drain
   * that times out fails (the link restarts from committed state; exactly-once aborts what was open).
   */
  async release(partitions: readonly string[], commit: () => Promise<void>): Promise<void> {
    for (const key of partitions) this.owned.delete(key)
    const copiers = partitions.flatMap(key => this.copiers.get(key) ?? [])
    const drained = await withinDeadline(
      Promise.all(copiers.map(c => c.drain())),
      performance.now() + this.#config.drainTimeoutMs
    )
    if (!drained.inTime) {
      for (const copier of copiers) copier.abandon()
      throw new KdrError(
        'KDR_ERR_RUNTIME',
        `link ${this.#config.name}: partitions moving to another worker (${partitions.join(', ')}) did not finish their writes within drainTimeoutMs (${this.#config.drainTimeoutMs} ms); restarting from committed state`,
        { cluster: this.#config.target }
      )
    }
    await commit()
    for (const copier of copiers) {
      this.copiers.delete(partitionKey(copier.topic, copier.partition))
      this.#lanes.unassign(copier)
    }
  }

  /**
   * Follows one topic pass: a changed topic id (deleted and re-created, whether or not a pass saw it
   * missing in between) and deleted topics go to their copiers; owned partitions without a copier get one.
   */
  async follow(result: SyncResult, initial: boolean): Promise<void> {
    for (const topic of result.topics) {
      if (initial) this.#initialTopics.add(topic.source)
      for (const copier of this.copiers.values()) {
        if (copier.topic === topic.source && copier.topicId !== topic.topicId)
          copier.sourceRecreated(copier.topicId, topic.topicId)
      }
      if (!initial) await this.ensure(topic)
    }
    for (const topic of result.deleted) {
      for (const copier of this.copiers.values()) if (copier.topic === topic) copier.sourceDeleted()
    }
  }

  /** Starts a copier for each partition of `topic` this worker owns and has no copier for yet. */
  async ensure(topic: ReplicatedTopic): Promise<void> {
    const missing: number[] = []
    for (let p = 0; p < topic.partitions; p++) {
      const key = partitionKey(topic.source, p)
      if (this.owned.has(key) && !this.copiers.has(key)) missing.push(p)
    }
    if (missing.length === 0) return
    // Partitions without stored progress: startFrom applies to topics seen at start-up; a topic or
    // partition that appears later is copied from its beginning, so nothing written to it is missed.
    const latest = this.#initialTopics.has(topic.source) && this.#config.startFrom === 'latest' && !this.#started
    const startOffsets = await this.#context
      .sourceAdmin()
      .listOffsets(topic.source, missing, latest ? 'latest' : 'earliest')
    const foreign = await this.#context.foreignPartitions(
      topic,
      missing.filter(p => (this.#stored.get(partitionKey(topic.source, p))?.progress ?? null) === null)
    )
    for (const partition of missing) {
      const key = partitionKey(topic.source, partition)
      // Released meanwhile (listOffsets took a while): nothing to start.
      if (!this.owned.has(key) || this.copiers.has(key) || this.#context.stopping()) continue
      const copier = this.#start(topic, partition, startOffsets.get(partition) ?? 0n)
      const error = foreign.get(partition)
      if (error !== undefined) copier.fail(error)
    }
  }

  #start(topic: ReplicatedTopic, partition: number, startOffset: bigint): PartitionCopier {
    const context = this.#context
    const clusterIds = context.clusterIds()
    const stored = this.#stored.get(partitionKey(topic.source, partition))
    const progress = stored?.progress ?? null
    const { offset, recreatedFrom } = resumePoint(progress, topic.topicId, clusterIds.source, startOffset)
    const copier = new PartitionCopier(
      copierSettings(this.#config, clusterIds, context.copierSchemas(), this.#events, context.origins()),
      { boundary: context.boundary(), deadLetters: context.deadLetters(), mayWrite: () => context.mayWrite() },
      this.#log,
      topic.source,
      partition,
      topic.target,
      // A copier of a re-created topic starts with the old id, so sourceRecreated() below applies the policy.
      {
        offset,
        copies: new CopyIndex(stored?.copies, stored?.legacyRuns),
        topicId: recreatedFrom ?? topic.topicId
      }
    )
    copier.onSpace = () => this.#lanes.wake()
    context.applyPause(copier)
    this.copiers.set(partitionKey(topic.source, partition), copier)
    this.#lanes.assign(copier)
    if (recreatedFrom !== null) copier.sourceRecreated(recreatedFrom, topic.topicId)
    this.#log.info(
      {
        topic: topic.source,
        partition,
        target: topic.target,
        from: String(offset),
        resumed: progress !== null && recreatedFrom === null
      },
      'partition replication started'
    )
    return copier
  }
}
