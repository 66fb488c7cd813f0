import { type KafkaDrConfig } from '../config/index.ts'
import { KdrError } from '../errors.ts'
import { findLink } from '../failover/translate.ts'
import { type PartitionReport, type PlannedPartition, checkPartition } from './partition.ts'
import { openVerifySession } from './session.ts'

export { type PartitionReport, copiedByLink, expectedCopyDigest, recordDigest } from './partition.ts'

/**
 * `kafka-dr verify`: proves, partition by partition, that the target holds what the source still
 * holds, by reading both (the engine need not run). Source records are matched to their copies by
 * the provenance header, which names the source topic, partition and offset of each copy; content is
 * compared by a digest over key, value, headers (without provenance) and timestamp. See
 * core/verify-merge.ts for how every record is classified.
 */

export interface VerifyOptions {
  /** Source topics to check (default: every source topic the link replicates). */
  topics?: string[]
  /** Check only source records from this time (epoch ms) on. */
  fromTime?: number
  /** Source offsets per range digest. */
  rangeSize?: number
  /**
   * Active-passive links: target records no copy of this link explains (other writers) fail the check.
   * Refused for a link whose reverse link is in the same config (active-active).
   */
  strict?: boolean
  onProgress?: (progress: VerifyProgress) => void
  /** Ends the check early (verify --watch on SIGINT): the clients close and verifyLink rejects. */
  signal?: AbortSignal
}

export interface VerifyProgress {
  topic: string
  partition: number
  /** Source records checked so far, in all partitions, and how many the check covers. */
  checked: number
  total: number
}

export interface VerifyReport {
  link: string
  source: string
  target: string
  startedAt: string
  finishedAt: string
  /** Records of other writers on the target failed the check (--strict). */
  strict: boolean
  ok: boolean
  partitions: PartitionReport[]
  totals: {
    partitions: number
    failedPartitions: number
    checked: number
    matched: number
    missing: number
    lostOnSource: number
    altered: number
    reordered: number
    duplicates: number
    notReplicated: number
    expiredOnTarget: number
    goneFromSource: number
    foreign: number
  }
}

export async function verifyLink(
  config: KafkaDrConfig,
  linkName: string,
  options: VerifyOptions = {}
): Promise<VerifyReport> {
  const link = findLink(config, linkName)
  const strict = options.strict === true
  if (strict) {
    const reverse = config.links.find(l => l.source === link.target && l.target === link.source)
    if (reverse !== undefined) {
      throw new KdrError(
        'KDR_ERR_CONFIG',
        `--strict is for active-passive links: the config also replicates ${reverse.name}, so ${link.target} takes writes of its own`
      )
    }
  }
  const startedAt = new Date().toISOString()
  const rangeSize = options.rangeSize ?? 10_000
  const reports: PartitionReport[] = []
  const session = await openVerifySession(config, link, 'verify')
  const { sourceAdmin, targetAdmin, naming } = session
  // A stop (verify --watch on SIGINT) closes the clients: the read under way ends at once.
  const stop = (): void => void session.close()
  options.signal?.addEventListener('abort', stop, { once: true })
  if (options.signal?.aborted === true) stop()
  try {
    const sourceTopics = (await sourceAdmin.listTopics()).filter(
      t => session.filter.matches(t) && (options.topics === undefined || options.topics.includes(t))
    )
    for (const wanted of options.topics ?? []) {
      if (!sourceTopics.includes(wanted)) {
        throw new KdrError('KDR_ERR_UNKNOWN_TOPIC', `topic ${wanted} is not a source topic of link ${link.name}`, {
          cluster: link.source,
          topic: wanted
        })
      }
    }
    const described = await sourceAdmin.describeTopics(sourceTopics)
    const targets = new Map<string, number>()
    for (const t of await targetAdmin.describeTopics(described.map(d => naming.targetTopic(d.name)))) {
      targets.set(t.name, t.partitions.length)
    }
    // Ranges first, so progress can say how much is left.
    const plan: PlannedPartition[] = []
    for (const topic of described.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const partitions = topic.partitions.map(p => p.partition)
      const [earliest, start, end] = await Promise.all([
        sourceAdmin.listOffsets(topic.name, partitions, 'earliest'),
        options.fromTime === undefined
          ? sourceAdmin.listOffsets(topic.name, partitions, 'earliest')
          : sourceAdmin.listOffsets(topic.name, partitions, { timestamp: BigInt(options.fromTime) }),
        sourceAdmin.listOffsets(topic.name, partitions, 'latest')
      ])
      for (const p of partitions) {
        const to = end.get(p) ?? 0n
        // listOffsets by time answers -1 when no record is that recent: nothing to check.
        const fromRaw = start.get(p) ?? 0n
        plan.push({
          topic: topic.name,
          topicId: topic.topicId,
          partition: p,
          logStart: earliest.get(p) ?? 0n,
          from: fromRaw < 0n ? to : fromRaw,
          to
        })
      }
    }
    const total = plan.reduce((n, p) => n + Number(p.to - p.from), 0)
    let checkedBefore = 0
    for (const item of plan) {
      if (options.signal?.aborted === true) throw new KdrError('KDR_ERR_RUNTIME', `verify of ${link.name} stopped`)
      const report = await checkPartition(session, item, {
        rangeSize,
        strict,
        targetPartitions: targets.get(naming.targetTopic(item.topic)) ?? 0,
        progress: checked =>
          options.onProgress?.({
            topic: item.topic,
            partition: item.partition,
            checked: checkedBefore + checked,
            total
          })
      })
      checkedBefore += report.checked
      reports.push(report)
    }
  } finally {
    options.signal?.removeEventListener('abort', stop)
    await session.close()
  }
  const sum = (pick: (r: PartitionReport) => number): number => reports.reduce((n, r) => n + pick(r), 0)
  const failed = reports.filter(r => !r.ok).length
  return {
    link: link.name,
    source: link.source,
    target: link.target,
    startedAt,
    finishedAt: new Date().toISOString(),
    strict,
    ok: failed === 0,
    partitions: reports,
    totals: {
      partitions: reports.length,
      failedPartitions: failed,
      checked: sum(r => r.checked),
      matched: sum(r => r.matched),
      missing: sum(r => r.missing.count),
      lostOnSource: sum(r => r.lostOnSource?.count ?? 0),
      altered: sum(r => r.altered.count),
      reordered: sum(r => r.reordered.count),
      duplicates: sum(r => r.duplicates.count),
      notReplicated: sum(r => r.notReplicated.count),
      expiredOnTarget: sum(r => r.expiredOnTarget),
      goneFromSource: sum(r => r.goneFromSource),
      foreign: sum(r => r.foreign)
    }
  }
}
