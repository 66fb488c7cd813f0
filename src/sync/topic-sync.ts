import { type TopicNaming } from '../core/naming.ts'
import { type TopicFilter } from '../core/topic-filter.ts'
import {
  configChanges,
  configsForNewTarget,
  targetTimestampWarnings,
  timestampTypeCorrection
} from '../core/topic-configs.ts'
import { describeCause } from '../errors.ts'
import { type KafkaAdmin, type TopicDescription } from '../kafka/index.ts'
import { type Logger } from '../observability/logger.ts'

/**
 * Keeps target topics in line with the source for one link: creates target topics on first sight
 * (same partition count, allow-listed configs, CreateTime), adds partitions when the source grows,
 * copies config changes, and reports source topics that were deleted or re-created. It never deletes
 * anything on the target. Each pass is idempotent: running it again with nothing changed on the
 * source changes nothing on the target.
 */

export interface ReplicatedTopic {
  source: string
  target: string
  partitions: number
  topicId: string
}

export interface SyncResult {
  topics: ReplicatedTopic[]
  /** Source topics that were known and are gone. */
  deleted: string[]
}

export interface TopicSyncOptions {
  link: string
  sourceAlias: string
  targetAlias: string
  replicationFactor: number | null
  filter: TopicFilter
  naming: TopicNaming
}

export class TopicSync {
  readonly #options: TopicSyncOptions
  readonly #source: KafkaAdmin
  readonly #target: KafkaAdmin
  readonly #log: Logger
  readonly #known = new Map<string, ReplicatedTopic>()
  readonly #warned = new Set<string>()
  /** Target partition counts as last seen, so a pass only asks for what may have changed. */
  readonly #targetPartitions = new Map<string, number>()

  constructor(options: TopicSyncOptions, source: KafkaAdmin, target: KafkaAdmin, log: Logger) {
    this.#options = options
    this.#source = source
    this.#target = target
    this.#log = log.child({ task: 'topic-sync' })
  }

  get known(): ReadonlyMap<string, ReplicatedTopic> {
    return this.#known
  }

  /**
   * One pass over topics and partition counts. `create: false` (a worker that does not lead its group)
   * only looks: a topic whose target is missing or smaller is left for the leader and not returned.
   */
  async syncTopics(options: { create: boolean } = { create: true }): Promise<SyncResult> {
    const { filter, naming, targetAlias } = this.#options
    const sourceTopics = await this.#source.listTopics()
    const selected = sourceTopics.filter(t => filter.matches(t))
    const cycles = selected.filter(t => naming.cameFrom(t, targetAlias))
    for (const t of cycles)
      this.#warnOnce(`cycle:${t}`, `topic ${t} came from ${targetAlias} by its name; not copied back`)
    const wanted = selected.filter(t => !naming.cameFrom(t, targetAlias))

    for (const literal of filter.literalIncludes) {
      if (!sourceTopics.includes(literal)) {
        this.#warnOnce(
          `missing:${literal}`,
          `topic ${literal} is in the include list but does not exist on ${this.#options.sourceAlias}; waiting for it`
        )
      } else {
        this.#warned.delete(`missing:${literal}`)
      }
    }

    const descriptions = wanted.length === 0 ? [] : await this.#source.describeTopics(wanted)
    const result: SyncResult = { topics: [], deleted: [] }
    const seen = new Set<string>()
    for (const description of descriptions) {
      seen.add(description.name)
      try {
        // A changed topic id (deleted and re-created) is for the link to judge against its copiers.
        const topic = await this.#syncOne(description, options.create)
        if (topic === null) continue
        this.#known.set(topic.source, topic)
        result.topics.push(topic)
      } catch (error) {
        this.#log.error(
          { topic: description.name, err: describeCause(error) },
          'topic sync failed for this topic; retrying next pass'
        )
      }
    }
    for (const name of [...this.#known.keys()]) {
      if (!seen.has(name) && !sourceTopics.includes(name)) {
        result.deleted.push(name)
        this.#known.delete(name)
        this.#log.warn(
          { topic: name, target: naming.targetTopic(name) },
          'source topic deleted: not mirrored, the target topic is kept'
        )
      }
    }
    return result
  }

  /** One pass over the configs of every known topic. */
  async syncConfigs(): Promise<void> {
    for (const topic of this.#known.values()) {
      try {
        const [source, target] = await Promise.all([
          this.#source.describeTopicConfig(topic.source),
          this.#target.describeTopicConfig(topic.target)
        ])
        const changes = configChanges(source, target)
        if (Object.keys(changes).length > 0) {
          await this.#target.setTopicConfigs(topic.target, changes)
          const fields = { topic: topic.source, target: topic.target, changes }
          // Someone set LogAppendTime on the target since: said as a warning, not as routine sync.
          const corrected = timestampTypeCorrection(topic.target, target)
          if (corrected !== null) this.#log.warn(fields, corrected.message)
          else this.#log.info(fields, 'target topic configs updated')
        }
      } catch (error) {
        this.#log.error(
          { topic: topic.source, err: describeCause(error) },
          'config sync failed for this topic; retrying next pass'
        )
      }
    }
  }

  /** Target topic name for a source topic under this link's naming policy. */
  targetTopic(source: string): string {
    return this.#options.naming.targetTopic(source)
  }

  async #syncOne(description: TopicDescription, create: boolean): Promise<ReplicatedTopic | null> {
    const source = description.name
    const target = this.#options.naming.targetTopic(source)
    const partitions = description.partitions.length
    let targetCount = this.#targetPartitions.get(target)
    if (targetCount === undefined || targetCount < partitions) {
      const [existing] = await this.#target.describeTopics([target])
      targetCount = existing?.partitions.length
    }
    if (!create) {
      if (targetCount === undefined) return null
      this.#targetPartitions.set(target, targetCount)
      // Partitions the target lacks yet are the leader's to add: only those that exist are copied.
      return { source, target, partitions: Math.min(partitions, targetCount), topicId: description.topicId }
    }
    if (targetCount === undefined) {
      const sourceConfigs = await this.#source.describeTopicConfig(source)
      const configs = configsForNewTarget(sourceConfigs)
      const created = await this.#target.createTopics([
        {
          name: target,
          partitions,
          ...(this.#options.replicationFactor === null ? {} : { replicationFactor: this.#options.replicationFactor }),
          configs
        }
      ])
      if (created.length > 0) {
        this.#log.info({ topic: source, target, partitions, configs }, 'target topic created')
        await this.#checkTargetLimits(target)
        this.#targetPartitions.set(target, partitions)
        return { source, target, partitions, topicId: description.topicId }
      }
      // Created meanwhile by another process (another worker of the link starting too, or not
      // kafka-dr at all): looked at as any existing topic, since its partition count may differ.
      const [now] = await this.#target.describeTopics([target])
      if (now === undefined) return null // deleted again at once: the next pass decides
      this.#log.info({ topic: source, target }, 'target topic created meanwhile by another process')
      targetCount = now.partitions.length
    }
    if (targetCount < partitions) {
      await this.#target.createPartitions(target, partitions)
      const fields = { topic: source, target, from: targetCount, to: partitions }
      if (this.#known.has(source)) {
        this.#log.info(fields, 'target partitions added to follow the source')
      } else {
        // A topic kafka-dr did not create, with fewer partitions: grown so that every source
        // partition has its own target partition (records are never mapped onto another one).
        this.#log.warn(
          fields,
          `existing target topic ${target} had ${targetCount} partitions, the source ${partitions}: partitions added so that partition numbers match`
        )
        await this.#checkTargetLimits(target)
      }
      targetCount = partitions
    } else if (!this.#known.has(source)) {
      // An existing target topic: adopted. Say so, and check it can take the records.
      this.#log.info({ topic: source, target, partitions: targetCount }, 'target topic exists; replicating into it')
      if (targetCount > partitions) {
        this.#warnOnce(
          `more:${target}`,
          `target topic ${target} has ${targetCount} partitions, the source ${partitions}: partitions ${partitions}..${targetCount - 1} receive nothing`
        )
      }
      await this.#checkTargetLimits(target)
    }
    this.#targetPartitions.set(target, targetCount)
    return { source, target, partitions, topicId: description.topicId }
  }

  /** Before copying into a target topic: LogAppendTime corrected (logged), timestamp windows warned. */
  async #checkTargetLimits(target: string): Promise<void> {
    const configs = await this.#target.describeTopicConfig(target)
    const corrected = timestampTypeCorrection(target, configs)
    if (corrected !== null) {
      await this.#target.setTopicConfigs(target, corrected.changes)
      this.#log.warn({ target, changes: corrected.changes }, corrected.message)
    }
    for (const warning of targetTimestampWarnings(target, configs)) this.#warnOnce(`ts:${warning}`, warning)
  }

  #warnOnce(key: string, message: string): void {
    if (this.#warned.has(key)) return
    this.#warned.add(key)
    this.#log.warn(message)
  }
}
