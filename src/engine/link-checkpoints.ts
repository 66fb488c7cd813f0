import { type LinkConfig } from '../config/index.ts'
import { TopicFilter, isInternalGroup } from '../core/topic-filter.ts'
import { type KafkaAdmin, type RecordProducer } from '../kafka/index.ts'
import { type Logger } from '../observability/logger.ts'
import { writeState } from '../state/index.ts'
import { CheckpointSync } from '../sync/checkpoints.ts'
import { type TopicSync } from '../sync/topic-sync.ts'
import { type CopyMaps } from './copy-map.ts'

/**
 * A link's checkpoint sync (sync/checkpoints.ts): consumer group offsets translated through the copy
 * maps of this worker's partitions, stored in the state topic while the link is not fenced.
 */
export function linkCheckpoints(
  config: LinkConfig,
  deps: {
    topicSync: TopicSync
    copyMaps: CopyMaps
    producer: RecordProducer
    sourceAdmin: KafkaAdmin
    targetAdmin: KafkaAdmin
    /** Whether a failover fenced the link (read from the state topic). */
    fenced: () => boolean
    stopping: () => boolean
  },
  log: Logger
): CheckpointSync {
  const { topicSync, copyMaps, producer, fenced, stopping } = deps
  return new CheckpointSync(
    {
      link: config.name,
      groups: new TopicFilter(config.groups.include, config.groups.exclude, isInternalGroup),
      syncGroupOffsets: config.syncGroupOffsets,
      targetTopic: topic => topicSync.known.get(topic)?.target,
      mapping: (topic, partition) => copyMaps.mapping(topic, partition),
      // Nothing new after the fence: a write issued before it lands before the `fenced` heartbeat (one producer, one partition).
      write: async entries => void (fenced() ? null : await writeState(producer, entries)),
      mayWrite: () => !fenced() && !stopping()
    },
    deps.sourceAdmin,
    deps.targetAdmin,
    log
  )
}
