import { type LinkConfig } from '../config/index.ts'
import { shardTransactionalIds } from '../core/transactional-ids.ts'
import { type ClusterConnection, fenceTransactionalIds } from '../kafka/index.ts'
import { type Logger } from '../observability/logger.ts'
import { type LinkWorkersDeps } from './link-workers.ts'
import { type PartitionCopier } from './partition-copier.ts'

/** What a link's worker group needs from the link's copiers and target (link-workers.ts). */

/** LinkWorkersDeps.sourceLoad: per copier, the source's high watermark and its average record size. */
export function sourceLoad(
  copiers: ReadonlyMap<string, PartitionCopier>
): Map<string, { offset: number; recordBytes: number | null }> {
  const load = new Map<string, { offset: number; recordBytes: number | null }>()
  for (const [key, copier] of copiers) {
    const s = copier.status()
    // Not fetched yet: the high watermark is unknown (0), not zero records so far.
    if (s.sourceHighWatermark <= 0n) continue
    load.set(key, {
      offset: Number(s.sourceHighWatermark),
      recordBytes: s.replicatedRecords > 0 ? s.replicatedBytes / s.replicatedRecords : null
    })
  }
  return load
}

/**
 * LinkWorkersDeps.fenceSlots: under exactly-once, the leader fences writer slots (each a pair of
 * transactional ids, core/transactional-ids.ts) by InitProducerId; at-least-once has nothing to fence.
 */
export function slotFencer(config: LinkConfig, target: ClusterConnection, log: Logger): LinkWorkersDeps['fenceSlots'] {
  if (config.delivery !== 'exactly-once') return null
  return async slots => {
    const ids = slots.flatMap(slot => shardTransactionalIds(config.name, slot))
    await fenceTransactionalIds(
      target,
      ids,
      config.transaction.timeoutMs,
      `the free writer slots of link ${config.name}`,
      `kafka-dr-${config.name}-leader`
    )
    log.info({ slots, transactionalIds: ids.length }, 'worker group: free writer slots fenced')
  }
}
