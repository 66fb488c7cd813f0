import { type LinkConfig } from '../config/index.ts'
import { KdrError } from '../errors.ts'
import { type KafkaAdmin } from '../kafka/index.ts'
import { type Logger } from '../observability/logger.ts'

/** What a link (link-replicator.ts) checks and creates before it joins its worker group. */

/** Both clusters' ids; a link whose source and target are one cluster is refused. */
export async function clusterIds(
  config: LinkConfig,
  source: KafkaAdmin,
  target: KafkaAdmin,
  log: Logger
): Promise<{ source: string; target: string }> {
  const [s, t] = await Promise.all([source.describeCluster(), target.describeCluster()])
  if (s.clusterId === t.clusterId) {
    throw new KdrError(
      'KDR_ERR_CONFIG',
      `link ${config.name}: source and target are the same cluster (id ${s.clusterId})`
    )
  }
  log.info({ sourceClusterId: s.clusterId, targetClusterId: t.clusterId }, 'connected')
  return { source: s.clusterId, target: t.clusterId }
}

/** `onRecordError: dead-letter`: the dead-letter topic exists on the target (one partition). */
export async function ensureDeadLetterTopic(config: LinkConfig, target: KafkaAdmin, log: Logger): Promise<void> {
  if (config.onRecordError !== 'dead-letter') return
  const [dlq] = await target.describeTopics([config.deadLetterTopic])
  if (dlq !== undefined) return
  await target.createTopics([
    {
      name: config.deadLetterTopic,
      partitions: 1,
      ...(config.replicationFactor === null ? {} : { replicationFactor: config.replicationFactor })
    }
  ])
  log.info({ topic: config.deadLetterTopic }, 'dead-letter topic created')
}
