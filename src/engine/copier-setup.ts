import { type LinkConfig } from '../config/index.ts'
import { type OriginFilter } from '../core/origin-filter.ts'
import { type ProgressValue } from '../state/index.ts'
import { type EngineEvents } from '../engine-events/index.ts'
import { type CopierSchemas, type CopierSettings } from './copier-types.ts'

/** How a link (link-replicator.ts) sets up the copier of one partition: its settings and where it starts. */

/** A partition copier's settings, from the link's config and what the link learnt at start. */
export function copierSettings(
  config: LinkConfig,
  clusterIds: { source: string; target: string },
  schemas: CopierSchemas | null,
  events: EngineEvents,
  origins: OriginFilter | null
): CopierSettings {
  return {
    link: config.name,
    sourceCluster: config.source,
    targetCluster: config.target,
    sourceClusterId: clusterIds.source,
    targetClusterId: clusterIds.target,
    maxBatchBytes: config.producer.maxBatchBytes,
    maxBufferedBytes: config.producer.maxBufferedBytesPerPartition,
    onRecordError: config.onRecordError,
    onDataLoss: config.onDataLoss,
    deadLetterTopic: config.deadLetterTopic,
    compression: config.producer.compression,
    schemas,
    events,
    ...(origins === null ? {} : { origins })
  }
}

/**
 * Where a partition's copy starts: its stored progress when that was made on this source topic
 * (same topic id, same cluster), else `startOffset`. Progress made on another topic of the same
 * name or on another cluster names where it came from (`recreatedFrom`): the copier then applies
 * the re-created topic policy.
 */
export function resumePoint(
  progress: ProgressValue | null,
  topicId: string,
  sourceClusterId: string | null,
  startOffset: bigint
): { offset: bigint; recreatedFrom: string | null } {
  let offset = startOffset
  let recreatedFrom: string | null = null
  if (progress !== null) {
    if (progress.topicId === topicId && progress.sourceClusterId === sourceClusterId) {
      offset = progress.next
    } else if (progress.topicId !== topicId) {
      recreatedFrom = progress.topicId
    } else {
      recreatedFrom = `cluster ${progress.sourceClusterId}`
    }
  }
  return { offset, recreatedFrom }
}
