import { createHash } from 'node:crypto'
import { type KafkaDrConfig } from '../config/index.ts'
import { TopicNaming } from '../core/naming.ts'
import { COPY, type OriginFilter } from '../core/origin-filter.ts'
import { type StoredCopies } from '../core/copy-index.ts'
import { type CopyOwner, copiedOffsetOf } from '../core/copy-owner.ts'
import { segmentCopyMap, sourceAt } from '../core/copy-search.ts'
import { PROVENANCE_HEADER_KEY } from '../core/provenance.ts'
import { RoutePlan } from '../core/routes.ts'
import { TopicFilter } from '../core/topic-filter.ts'
import {
  type Digest,
  PartitionMerge,
  type PartitionVerdict,
  type SourceRecordDigest,
  type VerifyHashing,
  emptyVerdict
} from '../core/verify-merge.ts'
import { resolveOrigins } from '../engine/origin-ids.ts'
import { partitionKey } from '../state/index.ts'
import { KdrError, describeCause } from '../errors.ts'
import { clusterOf, findLink, readTargetState } from '../failover/translate.ts'
import {
  type ClusterConnection,
  type FetchedRecord,
  KafkaAdmin,
  type PartitionRange,
  PartitionFetcher,
  PartitionRangeReader,
  TargetCopyReader,
  type RangeReadEnd
} from '../kafka/index.ts'
import { createLogger } from '../observability/logger.ts'
import { TargetIdLookup } from '../schemas/id-lookup.ts'
import { RegistryClient } from '../schemas/registry-client.ts'
import { SourceLookback } from './source-lookback.ts'

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
}

export interface VerifyProgress {
  topic: string
  partition: number
  /** Source records checked so far, in all partitions, and how many the check covers. */
  checked: number
  total: number
}

export interface PartitionReport extends PartitionVerdict {
  topic: string
  partition: number
  targetTopic: string
  sourceRange: { from: number; to: number }
  targetRange: { from: number; to: number } | null
  replicatedNext: number | null
  /**
   * Records the source deleted (retention) after the stored replication position and before they
   * were copied, that no recorded gap accounts for: lost, and a failure.
   */
  lostOnSource: { from: number; to: number; count: number } | null
  /**
   * Source records that came from the target cluster (their provenance names it as origin): in
   * active-active setups they are never copied back, so they are not expected on the target. With
   * routes (three or more clusters) also the copies another link delivers to the target.
   */
  fromTarget: number
  /** Ranges the replicator skipped by policy (onDataLoss: skip) and recorded; reported, not a failure. */
  recordedGaps: { from: number; to: number; reason: string }[]
  /**
   * Source offsets [from, to) that could not be checked because an open transaction holds the
   * source's last stable offset at `from` (read_committed: not readable yet). Reported, not a failure:
   * the replicator copies them only once the transaction ends.
   */
  uncheckedOnSource: { from: number; to: number; reason: string } | null
  error: string | null
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

const hashing: VerifyHashing = {
  rangeHasher() {
    const hash = createHash('sha256')
    return {
      update: (d: Digest) => hash.update(d),
      digest: () => hash.digest('hex').slice(0, 32)
    }
  }
}

const NULL_LENGTH = Buffer.from([0xff, 0xff, 0xff, 0xff])

/** Digest of what a copy must preserve: key, value, headers except provenance (in order), timestamp. */
export function recordDigest(record: FetchedRecord): Digest {
  const hash = createHash('sha256')
  const length = Buffer.allocUnsafe(4)
  const part = (bytes: Buffer | null): void => {
    if (bytes === null) {
      hash.update(NULL_LENGTH)
      return
    }
    length.writeUInt32BE(bytes.length)
    hash.update(length)
    hash.update(bytes)
  }
  part(record.key)
  part(record.value)
  for (const [name, value] of record.headers) {
    if (name.equals(PROVENANCE_HEADER_KEY)) continue
    part(name)
    part(value)
  }
  const ts = Buffer.allocUnsafe(8)
  ts.writeBigInt64BE(record.timestamp)
  hash.update(ts)
  return hash.digest().subarray(0, 16)
}

/**
 * The records of one partition in [from, to), in offset order, fetched as needed through the shared
 * range reader (retries bounded with backoff). A log start that moves past the reader during the check
 * (retention) is followed. `ended` receives how the read ended: short when an open transaction holds
 * the last stable offset below `to`.
 */
async function* partitionRecords(
  fetcher: PartitionFetcher,
  range: PartitionRange,
  ended: (end: RangeReadEnd) => void = () => {}
): AsyncGenerator<FetchedRecord> {
  const reader = new PartitionRangeReader(fetcher, range, { followLogStart: true })
  for (let records = await reader.next(); records !== null; records = await reader.next()) yield* records
  ended(reader.end!)
}

interface Target {
  topic: string
  partitions: number
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
  const sourceConnection: ClusterConnection = clusterOf(config, link.source, 'verify')
  const targetConnection: ClusterConnection = clusterOf(config, link.target, 'verify')
  const sourceAdmin = new KafkaAdmin(sourceConnection)
  const targetAdmin = new KafkaAdmin(targetConnection)
  const fetchOptions = { maxWaitMs: 0, isolation: 'read_committed' as const, partitionMaxBytes: 4 * 1024 * 1024 }
  const sourceFetcher = new PartitionFetcher(sourceConnection, fetchOptions)
  const lookbackFetcher = new PartitionFetcher(sourceConnection, fetchOptions)
  // The target side reads everything the log holds: copies are never transactional.
  const targetFetcher = new PartitionFetcher(targetConnection, { ...fetchOptions, isolation: 'read_uncommitted' })
  const naming = new TopicNaming(link.naming, link.source)
  const filter = new TopicFilter(link.topics.include, link.topics.exclude)
  const rangeSize = options.rangeSize ?? 10_000
  const reports: PartitionReport[] = []
  // translate-ids rewrites schema ids: source records are compared as the link writes them.
  const sourceRegistry = config.registries.get(link.source)
  const targetRegistry = config.registries.get(link.target)
  const ids =
    link.schemas?.mode === 'translate-ids' && sourceRegistry !== undefined && targetRegistry !== undefined
      ? new TargetIdLookup(new RegistryClient(sourceRegistry), new RegistryClient(targetRegistry), link.schemas)
      : null
  try {
    const state = await readTargetState(config, link, 'verify')
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
    const sourceTopics = (await sourceAdmin.listTopics()).filter(
      t => filter.matches(t) && (options.topics === undefined || options.topics.includes(t))
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
    const targets = new Map<string, Target>()
    for (const t of await targetAdmin.describeTopics(described.map(d => naming.targetTopic(d.name)))) {
      targets.set(t.name, { topic: t.name, partitions: t.partitions.length })
    }
    // Ranges first, so progress can say how much is left.
    const plan: { topic: string; topicId: string; partition: number; logStart: bigint; from: bigint; to: bigint }[] = []
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
      const targetTopic = naming.targetTopic(item.topic)
      const stored = state.partitions.get(partitionKey(item.topic, item.partition))
      const copies: StoredCopies = stored?.copies ?? { segments: [], targetEnd: null }
      const sourceClusterId = stored?.progress?.sourceClusterId ?? null
      const replicatedNext = stored?.progress?.next ?? null
      const storedTopicId = stored?.progress?.topicId
      if (storedTopicId !== undefined && storedTopicId !== item.topicId) {
        // Same name, another topic: the copies on the target belong to the old one.
        reports.push({
          ...emptyVerdict(),
          topic: item.topic,
          partition: item.partition,
          targetTopic,
          sourceRange: { from: Number(item.from), to: Number(item.to) },
          targetRange: null,
          replicatedNext: replicatedNext === null ? null : Number(replicatedNext),
          lostOnSource: null,
          fromTarget: 0,
          recordedGaps: [],
          uncheckedOnSource: null,
          error: `source topic was re-created since it was replicated (topic id ${storedTopicId} -> ${item.topicId}): the target holds copies of the old topic, not of this one`
        })
        continue
      }
      const gaps = (stored?.gaps ?? []).map(g => ({ from: Number(g.from), to: Number(g.to), reason: g.reason }))
      const lostOnSource = lossBeforeReplication(replicatedNext, item.logStart, gaps)
      const report = await verifyPartition({
        ...item,
        origins,
        lostOnSource,
        recordedGaps: gaps,
        targetTopic,
        targetPartitions: targets.get(targetTopic)?.partitions ?? 0,
        copies,
        sourceClusterId,
        replicatedNext,
        rangeSize,
        strict,
        sourceFetcher,
        lookbackFetcher,
        targetFetcher,
        targetAdmin,
        ids,
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
    await Promise.allSettled([
      sourceFetcher.close(),
      lookbackFetcher.close(),
      targetFetcher.close(),
      sourceAdmin.close(),
      targetAdmin.close()
    ])
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

/**
 * The source log starts after the stored replication position: the records in between were deleted
 * before they were copied, unless a recorded gap (policy skip) covers them.
 */
function lossBeforeReplication(
  replicatedNext: bigint | null,
  logStart: bigint,
  gaps: { from: number; to: number }[]
): { from: number; to: number; count: number } | null {
  if (replicatedNext === null || replicatedNext >= logStart) return null
  const from = Number(replicatedNext)
  const to = Number(logStart)
  let covered = from
  for (const g of gaps) if (g.from <= covered && g.to > covered) covered = g.to
  return covered >= to ? null : { from: covered, to, count: to - covered }
}

async function verifyPartition(input: {
  topic: string
  partition: number
  origins: OriginFilter
  lostOnSource: { from: number; to: number; count: number } | null
  recordedGaps: { from: number; to: number; reason: string }[]
  from: bigint
  to: bigint
  targetTopic: string
  targetPartitions: number
  copies: StoredCopies
  sourceClusterId: string | null
  replicatedNext: bigint | null
  rangeSize: number
  strict: boolean
  sourceFetcher: PartitionFetcher
  /** A second source reader for re-reads, so the main source stream keeps its position. */
  lookbackFetcher: PartitionFetcher
  targetFetcher: PartitionFetcher
  targetAdmin: KafkaAdmin
  ids: TargetIdLookup | null
  progress: (checked: number) => void
}): Promise<PartitionReport> {
  const { topic, partition, from, to, copies } = input
  const base = {
    topic,
    partition,
    lostOnSource: input.lostOnSource,
    recordedGaps: input.recordedGaps,
    targetTopic: input.targetTopic,
    sourceRange: { from: Number(from), to: Number(to) },
    replicatedNext: input.replicatedNext === null ? null : Number(input.replicatedNext)
  }
  let targetRange: { from: number; to: number } | null = null
  if (partition < input.targetPartitions) {
    const [start, end] = await Promise.all([
      input.targetAdmin.listOffsets(input.targetTopic, [partition], 'earliest'),
      input.targetAdmin.listOffsets(input.targetTopic, [partition], 'latest')
    ])
    targetRange = { from: Number(start.get(partition) ?? 0n), to: Number(end.get(partition) ?? 0n) }
  }
  const owner: CopyOwner = { topic, partition, sourceClusterId: input.sourceClusterId, origins: input.origins }
  const reader = new TargetCopyReader(input.targetFetcher, input.targetTopic, partition, owner)
  let firstKept: number | null = null
  if (targetRange !== null && targetRange.from > 0 && copies.segments.length > 0) {
    const kept = await sourceAt(BigInt(targetRange.from), copies.targetEnd, reader).catch(() => null)
    firstKept = kept === null ? null : Number(kept)
  }
  let uncheckedOnSource: PartitionReport['uncheckedOnSource'] = null
  const source = partitionRecords(input.sourceFetcher, { topic, partition, from, to }, end => {
    if (end.shortfall !== null) {
      uncheckedOnSource = {
        from: Number(end.shortfall.at),
        to: Number(to),
        reason:
          end.shortfall.reason === 'open-transaction'
            ? `an open transaction holds the last stable offset at ${end.shortfall.lastStableOffset}`
            : `the source log ends at ${end.shortfall.highWatermark}`
      }
    }
  })
  let pulled = 0
  let fromTarget = 0
  /** The digest a copy of this source record must have; null for records not expected on the target. */
  const digestOf = async (record: FetchedRecord): Promise<Digest | null> => {
    if (!copiedByLink(record, input.origins)) return null
    return recordDigest(input.ids === null ? record : await input.ids.translate(record, topic))
  }
  const lookback = new SourceLookback(async at => {
    // A log start moved past `at` since (retention): that record is gone, the copy counts as such.
    const reader = new PartitionRangeReader(
      input.lookbackFetcher,
      { topic, partition, from: at, to },
      { followLogStart: true }
    )
    return (await reader.next()) ?? []
  }, digestOf)
  const merge = new PartitionMerge(
    {
      from: Number(from),
      to: Number(to),
      replicatedNext: base.replicatedNext,
      // A source record without a copy is expired on the target when it precedes the first copy
      // still there (the target's retention removed it), else missing.
      targetOffsetOf: offset => (firstKept !== null && offset < firstKept ? -1 : null),
      targetLogStart: targetRange?.from ?? 0,
      rangeSize: input.rangeSize,
      hashing,
      strict: input.strict,
      sourceDigestAt: offset => lookback.digestAt(offset)
    },
    async (): Promise<SourceRecordDigest | null> => {
      for (;;) {
        const next = await source.next()
        if (next.done === true) return null
        if (++pulled % 20_000 === 0) input.progress(pulled)
        const digest = await digestOf(next.value)
        if (digest === null) {
          fromTarget++
          continue
        }
        return { offset: Number(next.value.offset), digest }
      }
    }
  )
  let error: string | null = null
  try {
    if (targetRange !== null && targetRange.to > targetRange.from) {
      // Copies of records before `from` come before the copy of `from`: start there when it is known.
      const first = await segmentCopyMap(copies.segments, copies.targetEnd, reader).locate(from)
      const start = BigInt(Math.max(targetRange.from, first === null ? targetRange.from : Number(first.targetOffset)))
      const range = { topic: input.targetTopic, partition, from: start, to: BigInt(targetRange.to) }
      for await (const record of partitionRecords(input.targetFetcher, range)) {
        await merge.target(copiedFrom(record, owner), recordDigest(record), Number(record.offset))
      }
    }
  } catch (e) {
    error = describeCause(e)
  }
  const verdict = await merge.finish().catch((e: unknown) => {
    error ??= describeCause(e)
    return null
  })
  input.progress(pulled)
  if (verdict === null || error !== null) {
    return { ...base, ...(verdict ?? emptyVerdict()), fromTarget, targetRange, uncheckedOnSource, error, ok: false }
  }
  return {
    ...base,
    ...verdict,
    fromTarget,
    ok: verdict.ok && input.lostOnSource === null,
    targetRange,
    uncheckedOnSource,
    error: null
  }
}

/** Whether the link copies this source record: by its first provenance header, as the copier reads it. */
function copiedByLink(record: FetchedRecord, origins: OriginFilter): boolean {
  for (const [name, value] of record.headers) {
    if (name.equals(PROVENANCE_HEADER_KEY)) return value === null || origins.decide(value, 0, value.length) === COPY
  }
  return true
}

/** The source offset a target record was copied from by this link (core/copy-owner.ts), or null. */
function copiedFrom(record: FetchedRecord, owner: CopyOwner): number | null {
  const offset = copiedOffsetOf(record.headers, owner)
  return offset === null ? null : Number(offset)
}
