import { type LinkConfig } from '../config/index.ts'
import { type TailVerdict, classifyTail } from '../core/target-tail.ts'
import { KdrError, describeCause } from '../errors.ts'
import { type ClusterConnection, type KafkaAdmin, PartitionFetcher } from '../kafka/index.ts'
import { type Logger } from '../observability/logger.ts'

/**
 * Target partitions a link is about to copy into without stored progress (docs/replication.md
 * "Nothing silent"), looked at before the first write (core/target-tail.ts):
 * - empty: nothing to say;
 * - foreign data (no kdr-prov header among its newest records): copying would silently mix the source's
 *   records with someone else's, so the partition stops with KDR_ERR_FOREIGN_TARGET, unless the link
 *   says `onForeignTarget: append` (then a warning says what is appended after);
 * - copies of this very source partition: the link's progress is gone (`__kdr_state` lost, or a crash
 *   before the first commit): a warning says that what the target holds is copied again;
 * - copies of another origin (a hub's other link): nothing to say;
 * - cannot tell: a warning.
 * Skipped where the target is also a source of the config: its own producers write there (active-active, mesh).
 */

/** How many of the newest records are looked at. */
const TAIL_RECORDS = 20n

export interface TailInspection {
  /** Records (offsets from log start to end) the partition holds. */
  held: bigint
  end: bigint
  verdict: TailVerdict | { kind: 'error'; reason: string }
}

/**
 * Reads the newest records of each non-empty partition of `targetTopic` among `partitions`: what they
 * say about who wrote them. Empty partitions are left out of the answer.
 */
export async function inspectTargetTails(
  target: ClusterConnection,
  admin: KafkaAdmin,
  targetTopic: string,
  partitions: readonly number[],
  origin: { sourceClusterId: string | null; topic: string }
): Promise<Map<number, TailInspection>> {
  const found = new Map<number, TailInspection>()
  if (partitions.length === 0) return found
  const [starts, ends] = await Promise.all([
    admin.listOffsets(targetTopic, [...partitions], 'earliest'),
    admin.listOffsets(targetTopic, [...partitions], 'latest')
  ])
  const filled = partitions.filter(p => (ends.get(p) ?? 0n) > (starts.get(p) ?? 0n))
  if (filled.length === 0) return found
  const fetcher = new PartitionFetcher(
    { ...target, clientId: `${target.clientId ?? 'kafka-dr'}-tail` },
    { maxWaitMs: 0, isolation: 'read_uncommitted', partitionMaxBytes: 256 * 1024 }
  )
  try {
    const requests = filled.map(partition => {
      const start = starts.get(partition) ?? 0n
      const end = ends.get(partition)!
      return { topic: targetTopic, partition, offset: end - TAIL_RECORDS > start ? end - TAIL_RECORDS : start }
    })
    for (const result of await fetcher.fetch(requests)) {
      const end = ends.get(result.partition)!
      const held = end - (starts.get(result.partition) ?? 0n)
      found.set(result.partition, {
        held,
        end,
        verdict:
          result.error !== undefined
            ? { kind: 'error', reason: result.error.error.message }
            : classifyTail(result.records, { ...origin, partition: result.partition })
      })
    }
  } finally {
    await fetcher.close()
  }
  return found
}

/**
 * Applies the policy to what the inspection found: the partitions that must not be written (each with
 * its error); everything else worth saying is logged.
 */
export async function foreignPartitions(
  config: LinkConfig,
  target: ClusterConnection,
  admin: KafkaAdmin,
  origin: { sourceClusterId: string; topic: string },
  targetTopic: string,
  partitions: readonly number[],
  log: Logger
): Promise<Map<number, KdrError>> {
  const refused = new Map<number, KdrError>()
  if (config.targetIsSource || partitions.length === 0) return refused
  let tails: Map<number, TailInspection>
  try {
    tails = await inspectTargetTails(target, admin, targetTopic, partitions, origin)
  } catch (error) {
    log.warn(
      { target: targetTopic, partitions, err: describeCause(error) },
      'could not look at the target partitions the link has no progress for (foreign data check); copying into them'
    )
    return refused
  }
  for (const [partition, { held, end, verdict }] of tails) {
    const where = { target: targetTopic, partition, held: String(held) }
    switch (verdict.kind) {
      case 'foreign':
        if (config.onForeignTarget === 'append') {
          log.warn(
            where,
            `target partition holds ${held} offsets of records kafka-dr did not write: policy onForeignTarget=append, copying after them`
          )
          break
        }
        refused.set(
          partition,
          new KdrError(
            'KDR_ERR_FOREIGN_TARGET',
            `target partition holds records kafka-dr did not write (${held} offsets; none of its newest records carries the kdr-prov header) and the link has no stored progress for it: copying would mix the source's records with them. Policy onForeignTarget=stop: partition stopped. Use an empty target topic, or set onForeignTarget: append on link ${config.name} to copy after them`,
            { cluster: config.target, topic: targetTopic, partition, offset: end }
          )
        )
        break
      case 'own':
        log.warn(
          { ...where, newestCopied: String(verdict.newestSourceOffset) },
          `target partition already holds copies of this source partition up to source offset ${verdict.newestSourceOffset} but the link has no stored progress for it (__kdr_state lost, or a crash before the first commit): copying again from the start position, those copies will be on the target twice`
        )
        break
      case 'copies':
        break
      case 'unknown':
      case 'error':
        log.warn(
          { ...where, reason: verdict.kind === 'error' ? verdict.reason : 'no record returned' },
          'could not tell who wrote the target partition the link has no progress for (foreign data check); copying into it'
        )
        break
    }
  }
  return refused
}
