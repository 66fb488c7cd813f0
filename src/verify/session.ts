import { type KafkaDrConfig, type LinkConfig } from '../config/index.ts'
import { TopicNaming } from '../core/naming.ts'
import { type OriginFilter } from '../core/origin-filter.ts'
import { RoutePlan } from '../core/routes.ts'
import { TopicFilter } from '../core/topic-filter.ts'
import { resolveOrigins } from '../engine/origin-ids.ts'
import { clusterOf, readTargetState } from '../failover/translate.ts'
import { type ClusterConnection, KafkaAdmin, PartitionFetcher } from '../kafka/index.ts'
import { createLogger } from '../observability/logger.ts'
import { TargetIdLookup } from '../schemas/id-lookup.ts'
import { RegistryClient } from '../schemas/registry-client.ts'
import { type LoadedState } from '../state/index.ts'

/**
 * What a verification of one link reads with: the clients of both clusters, the link's stored state
 * (progress, copy index, gaps; read once, when the session opens), the origins whose records the link
 * copies, and the schema-id translation when the link rewrites ids. `kafka-dr verify` opens one per
 * run; continuous verification (continuous.ts) one per pass, so each pass sees the newest progress.
 */
export interface VerifySession {
  link: LinkConfig
  naming: TopicNaming
  filter: TopicFilter
  origins: OriginFilter
  state: LoadedState
  sourceAdmin: KafkaAdmin
  targetAdmin: KafkaAdmin
  sourceFetcher: PartitionFetcher
  /** A second source reader for re-reads, so the main source stream keeps its position. */
  lookbackFetcher: PartitionFetcher
  targetFetcher: PartitionFetcher
  /** translate-ids: source records are compared as the link writes them. */
  ids: TargetIdLookup | null
  /** Closes every client; safe to call more than once (a stop closes a session mid-read). */
  close(): Promise<void>
}

export async function openVerifySession(config: KafkaDrConfig, link: LinkConfig, role: string): Promise<VerifySession> {
  const sourceConnection: ClusterConnection = clusterOf(config, link.source, role)
  const targetConnection: ClusterConnection = clusterOf(config, link.target, role)
  const sourceAdmin = new KafkaAdmin(sourceConnection)
  const targetAdmin = new KafkaAdmin(targetConnection)
  const fetchOptions = { maxWaitMs: 0, isolation: 'read_committed' as const, partitionMaxBytes: 4 * 1024 * 1024 }
  const sourceFetcher = new PartitionFetcher(sourceConnection, fetchOptions)
  const lookbackFetcher = new PartitionFetcher(sourceConnection, fetchOptions)
  // The target side reads everything the log holds: copies are never transactional.
  const targetFetcher = new PartitionFetcher(targetConnection, { ...fetchOptions, isolation: 'read_uncommitted' })
  const sourceRegistry = config.registries.get(link.source)
  const targetRegistry = config.registries.get(link.target)
  const ids =
    link.schemas?.mode === 'translate-ids' && sourceRegistry !== undefined && targetRegistry !== undefined
      ? new TargetIdLookup(new RegistryClient(sourceRegistry), new RegistryClient(targetRegistry), link.schemas)
      : null
  let closing: Promise<void> | null = null
  const close = (): Promise<void> =>
    (closing ??= Promise.allSettled([
      sourceFetcher.close(),
      lookbackFetcher.close(),
      targetFetcher.close(),
      sourceAdmin.close(),
      targetAdmin.close()
    ]).then(() => {}))
  try {
    const state = await readTargetState(config, link, role)
    const targetClusterId = (await targetAdmin.describeCluster()).clusterId
    // The records the link copies are decided as the replicator decides them: by their route.
    const { filter: origins } = await resolveOrigins(
      link.name,
      RoutePlan.of(config.clusters.keys(), config.links).linkRouting(link.source, link.target),
      { alias: link.target, id: targetClusterId },
      new Map([
        [link.source, (await sourceAdmin.describeCluster()).clusterId],
        [link.target, targetClusterId]
      ]),
      config.clusters,
      state.documents.get('heartbeat')?.clusterIds,
      createLogger({ level: 'silent' })
    )
    return {
      link,
      naming: new TopicNaming(link.naming, link.source),
      filter: new TopicFilter(link.topics.include, link.topics.exclude),
      origins,
      state,
      sourceAdmin,
      targetAdmin,
      sourceFetcher,
      lookbackFetcher,
      targetFetcher,
      ids,
      close
    }
  } catch (error) {
    await close()
    throw error
  }
}
