import { type CopyMap } from '../core/copy-search.ts'
import { type CheckpointValue, type StateEntry } from '../state/index.ts'
import { type TopicFilter } from '../core/topic-filter.ts'
import { translateOffset } from '../core/translate.ts'
import { describeCause } from '../errors.ts'
import { type KafkaAdmin } from '../kafka/index.ts'
import { type Logger } from '../observability/logger.ts'

/**
 * Consumer-group checkpoints for one link: every interval, the committed offsets of the selected
 * groups on the source are translated through the engine's copy index and written to the target's
 * state topic. Optionally (syncGroupOffsets) the translations are committed into the target's
 * __consumer_offsets for groups that have no members there, never moving a target offset back.
 *
 * Invariant: a checkpoint's target offset never decreases unless the group's source offset did (the
 * group itself rewound). The in-memory copy of the checkpoints changes only after their write
 * succeeded: a failed write leaves them as they were, so the next pass writes them again.
 */

export interface PartitionMapping {
  copies: CopyMap
  /** Next source offset to replicate. */
  replicatedNext: bigint
}

export interface CheckpointSyncOptions {
  link: string
  groups: TopicFilter
  syncGroupOffsets: boolean
  /** Source topic -> target topic, for topics this link replicates; undefined for others. */
  targetTopic: (sourceTopic: string) => string | undefined
  mapping: (topic: string, partition: number) => PartitionMapping | undefined
  /** Writes state entries (one atomic batch). */
  write: (entries: StateEntry[]) => Promise<void>
  /** Whether group offsets may be committed on the target now (false once the link is fenced). */
  mayWrite?: () => boolean
}

export interface CheckpointPassResult {
  groups: number
  written: number
  synced: number
}

const key = (group: string, topic: string, partition: number): string => `${group}\u0000${topic}\u0000${partition}`

export class CheckpointSync {
  readonly #options: CheckpointSyncOptions
  readonly #source: KafkaAdmin
  readonly #target: KafkaAdmin
  readonly #log: Logger
  readonly #last = new Map<string, CheckpointValue>()

  constructor(options: CheckpointSyncOptions, source: KafkaAdmin, target: KafkaAdmin, log: Logger) {
    this.#options = options
    this.#source = source
    this.#target = target
    this.#log = log.child({ task: 'checkpoints' })
  }

  /** Checkpoints already stored (from the state topic), so the no-rewind rule survives restarts. */
  seed(checkpoints: Iterable<{ group: string; topic: string; partition: number; value: CheckpointValue }>): void {
    for (const c of checkpoints) this.#last.set(key(c.group, c.topic, c.partition), c.value)
  }

  get checkpoints(): ReadonlyMap<string, CheckpointValue> {
    return this.#last
  }

  async run(): Promise<CheckpointPassResult> {
    const { groups: filter, targetTopic, mapping, link } = this.#options
    const groups = (await this.#source.listGroups()).filter(g => filter.matches(g.groupId))
    const entries: StateEntry[] = []
    const byGroup = new Map<string, Map<string, Map<number, bigint>>>()
    const passed = new Map<string, CheckpointValue>()
    const now = Date.now()
    for (const { groupId } of groups) {
      let committed: Map<string, Map<number, bigint>>
      try {
        committed = await this.#source.groupOffsets(groupId)
      } catch (error) {
        this.#log.warn(
          { group: groupId, err: describeCause(error) },
          'cannot read committed offsets of this group; skipped this pass'
        )
        continue
      }
      for (const [topic, partitions] of committed) {
        const target = targetTopic(topic)
        if (target === undefined) continue
        for (const [partition, sourceOffset] of partitions) {
          const m = mapping(topic, partition)
          if (m === undefined) continue
          let t: Awaited<ReturnType<typeof translateOffset>>
          try {
            t = await translateOffset(sourceOffset, m.copies, m.replicatedNext)
          } catch (error) {
            this.#log.warn(
              { group: groupId, topic, partition, err: describeCause(error) },
              'cannot translate this offset now (target not readable); retrying next pass'
            )
            continue
          }
          if (t.targetOffset === null) continue
          const k = key(groupId, topic, partition)
          const previous = this.#last.get(k)
          let targetOffset = t.targetOffset
          if (previous !== undefined && sourceOffset >= previous.sourceOffset && targetOffset < previous.targetOffset) {
            targetOffset = previous.targetOffset // never backwards while the group moves forward
          }
          const value: CheckpointValue = {
            sourceOffset,
            targetOffset,
            exact: t.exact,
            notReplicated: t.notReplicated,
            at: now
          }
          if (
            previous === undefined ||
            previous.sourceOffset !== value.sourceOffset ||
            previous.targetOffset !== value.targetOffset ||
            previous.exact !== value.exact ||
            previous.notReplicated !== value.notReplicated
          ) {
            entries.push({ kind: 'checkpoint', link, group: groupId, topic, partition, value })
          }
          passed.set(k, value)
          let perTopic = byGroup.get(groupId)
          if (perTopic === undefined) byGroup.set(groupId, (perTopic = new Map()))
          let perPartition = perTopic.get(target)
          if (perPartition === undefined) perTopic.set(target, (perPartition = new Map()))
          perPartition.set(partition, targetOffset)
        }
      }
    }
    if (entries.length > 0) await this.#options.write(entries)
    // Only now: a write that failed (thrown above) leaves the stored view unchanged, so the same
    // checkpoints differ from it next pass and are written again.
    for (const [k, value] of passed) this.#last.set(k, value)
    let synced = 0
    if (this.#options.syncGroupOffsets) {
      for (const [group, offsets] of byGroup) synced += await this.#syncGroup(group, offsets)
    }
    return { groups: groups.length, written: entries.length, synced }
  }

  /** Commits translated offsets for a group with no members on the target, never moving one back. */
  async #syncGroup(group: string, translated: Map<string, Map<number, bigint>>): Promise<number> {
    try {
      const { members, state } = await this.#target.describeGroup(group)
      if (members > 0) {
        this.#log.debug({ group, state }, 'group active on the target: offsets not synced')
        return 0
      }
      const current = await this.#target.groupOffsets(group)
      const commit = new Map<string, Map<number, bigint>>()
      for (const [topic, partitions] of translated) {
        for (const [partition, offset] of partitions) {
          const existing = current.get(topic)?.get(partition)
          if (existing !== undefined && existing >= offset) continue // never rewind what a target consumer moved
          let perPartition = commit.get(topic)
          if (perPartition === undefined) commit.set(topic, (perPartition = new Map()))
          perPartition.set(partition, offset)
        }
      }
      if (commit.size === 0) return 0
      // A pass that was under way when failover fenced the link leaves the groups to failover.
      if (this.#options.mayWrite?.() === false) return 0
      await this.#target.commitGroupOffsets(group, commit)
      let n = 0
      for (const p of commit.values()) n += p.size
      return n
    } catch (error) {
      this.#log.warn(
        { group, err: describeCause(error) },
        'group offset sync failed for this group; retrying next pass'
      )
      return 0
    }
  }
}
