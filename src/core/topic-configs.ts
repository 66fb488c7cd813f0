/**
 * Which topic configs replication copies to the target, and how. Only values set on the source
 * topic itself (topic-level overrides) are copied; broker defaults stay each cluster's own choice.
 * The model is an allow-list: a key not listed here is never copied, so a new or vendor-specific
 * key cannot leak onto the target by accident.
 */

/** Copied when set on the source topic, at creation and whenever they change. */
export const SYNCED_TOPIC_CONFIGS: ReadonlySet<string> = new Set([
  'cleanup.policy',
  'compression.type',
  'compression.gzip.level',
  'compression.lz4.level',
  'compression.zstd.level',
  'delete.retention.ms',
  'file.delete.delay.ms',
  'flush.messages',
  'flush.ms',
  'index.interval.bytes',
  'max.compaction.lag.ms',
  'max.message.bytes',
  'min.cleanable.dirty.ratio',
  'min.compaction.lag.ms',
  'preallocate',
  'retention.bytes',
  'retention.ms',
  'segment.bytes',
  'segment.index.bytes',
  'segment.jitter.ms',
  'segment.ms'
])

/**
 * Set by kafka-dr on every target topic it creates, whatever the source says. A LogAppendTime
 * target would overwrite each replicated record's timestamp with the time of the copy; with
 * CreateTime the target keeps the timestamp the record had on the source (for LogAppendTime sources,
 * the source broker's append time, which the fetcher reports as the record timestamp).
 */
export const FORCED_TARGET_CONFIGS: Readonly<Record<string, string>> = {
  'message.timestamp.type': 'CreateTime'
}

/**
 * Target topic configs that make the broker refuse records with OLD timestamps (the Kafka >= 3.6
 * name and the older one). `message.timestamp.after.max.ms` (default 1 h) only concerns future
 * timestamps, which replicated records do not have unless clocks disagree.
 */
export const TIMESTAMP_LIMIT_CONFIGS = [
  'message.timestamp.before.max.ms',
  'message.timestamp.difference.max.ms'
] as const

/** Long.MAX_VALUE: Kafka's "no limit" for the timestamp configs. */
const NO_LIMIT = '9223372036854775807'

export interface ConfigValue {
  value: string | null
  topicLevel: boolean
}

/** The configs to create a target topic with, from the source topic's configuration. */
export function configsForNewTarget(source: ReadonlyMap<string, ConfigValue>): Record<string, string> {
  const result: Record<string, string> = {}
  for (const [name, entry] of source) {
    if (entry.topicLevel && entry.value !== null && SYNCED_TOPIC_CONFIGS.has(name)) result[name] = entry.value
  }
  return { ...result, ...FORCED_TARGET_CONFIGS }
}

/**
 * The SET operations that bring the target in line with the source. Keys never removed: an override
 * that exists only on the target (set by its operator) is left alone.
 */
export function configChanges(
  source: ReadonlyMap<string, ConfigValue>,
  target: ReadonlyMap<string, ConfigValue>
): Record<string, string> {
  const wanted = configsForNewTarget(source)
  const changes: Record<string, string> = {}
  for (const [name, value] of Object.entries(wanted)) {
    if (target.get(name)?.value !== value) changes[name] = value
  }
  return changes
}

/**
 * Warnings for a target topic whose limits would reject replicated records: timestamp windows (old
 * data would be refused). A LogAppendTime type is not warned about but corrected (see
 * timestampTypeCorrection).
 */
export function targetTimestampWarnings(topic: string, target: ReadonlyMap<string, ConfigValue>): string[] {
  const warnings: string[] = []
  for (const key of TIMESTAMP_LIMIT_CONFIGS) {
    const value = target.get(key)?.value
    if (value != null && value !== NO_LIMIT && Number(value) >= 0) {
      warnings.push(
        `target topic ${topic} has ${key}=${value}: records whose timestamp is further than ${value} ms from the copy time will be refused`
      )
    }
  }
  return warnings
}

/**
 * The decision for a target topic with `message.timestamp.type=LogAppendTime` (one kafka-dr did not
 * create, or one changed since): it is changed to CreateTime, because under LogAppendTime the target
 * broker replaces every copy's timestamp with the time of the copy and the source timestamps are lost.
 * This is the only setting kafka-dr changes on a topic it did not create (besides the synced allow-list);
 * the caller applies it before copying into the topic and logs `message` as a warning. Null when the
 * topic already keeps record timestamps.
 */
export function timestampTypeCorrection(
  topic: string,
  target: ReadonlyMap<string, ConfigValue>
): { changes: Record<string, string>; message: string } | null {
  const current = target.get('message.timestamp.type')?.value
  if (current !== 'LogAppendTime') return null
  return {
    changes: { ...FORCED_TARGET_CONFIGS },
    message: `target topic ${topic} had message.timestamp.type=LogAppendTime: changed to CreateTime so that replicated records keep their source timestamps`
  }
}
