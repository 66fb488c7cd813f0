import { createHash } from 'node:crypto'
import { COPY, type OriginFilter } from '../core/origin-filter.ts'
import { type StoredCopies } from '../core/copy-index.ts'
import { type CopyOwner, copiedOffsetOf } from '../core/copy-owner.ts'
import { segmentCopyMap, sourceAt } from '../core/copy-search.ts'
import { PROVENANCE_HEADER_KEY } from '../core/provenance.ts'
import {
  type Digest,
  PartitionMerge,
  type PartitionVerdict,
  type SourceRecordDigest,
  type VerifyHashing,
  emptyVerdict
} from '../core/verify-merge.ts'
import { partitionKey } from '../state/index.ts'
import { KdrError, describeCause } from '../errors.ts'
import {
  type FetchedRecord,
  type KafkaAdmin,
  type PartitionFetcher,
  type PartitionRange,
  PartitionRangeReader,
  TargetCopyReader,
  type RangeReadEnd
} from '../kafka/index.ts'
import { type TargetIdLookup } from '../schemas/id-lookup.ts'
import { SourceLookback } from './source-lookback.ts'
import { type VerifySession } from './session.ts'

/**
 * One source partition checked against its target partition, the comparison behind `kafka-dr verify`
 * and continuous verification alike: source records of [from, to) are matched to their copies by the
 * provenance header and compared by digest (core/verify-merge.ts classifies every record).
 */

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

/** A source partition and the range of its offsets to check. */
export interface PlannedPartition {
  topic: string
  topicId: string
  partition: number
  /** The source log start when the range was planned. */
  logStart: bigint
  from: bigint
  /** Exclusive. */
  to: bigint
}

export interface CheckOptions {
  rangeSize: number
  strict: boolean
  /** Partitions of the target topic (0: it does not exist). */
  targetPartitions: number
  progress?: (checked: number) => void
  /**
   * At most this many target records are read (a bound on the work of one check); beyond it the check
   * ends with an error, never with a verdict. Absent: the whole target partition from the first copy on.
   */
  targetReadLimit?: number
}

/** Checks one planned partition against what the session's stored state says was replicated. */
export async function checkPartition(
  session: VerifySession,
  item: PlannedPartition,
  options: CheckOptions
): Promise<PartitionReport> {
  const targetTopic = session.naming.targetTopic(item.topic)
  const stored = session.state.partitions.get(partitionKey(item.topic, item.partition))
  const copies: StoredCopies = stored?.copies ?? { segments: [], targetEnd: null }
  const sourceClusterId = stored?.progress?.sourceClusterId ?? null
  const replicatedNext = stored?.progress?.next ?? null
  const storedTopicId = stored?.progress?.topicId
  if (storedTopicId !== undefined && storedTopicId !== item.topicId) {
    // Same name, another topic: the copies on the target belong to the old one.
    return {
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
    }
  }
  const gaps = (stored?.gaps ?? []).map(g => ({ from: Number(g.from), to: Number(g.to), reason: g.reason }))
  return verifyPartition({
    ...item,
    origins: session.origins,
    lostOnSource: lossBeforeReplication(replicatedNext, item.logStart, gaps),
    recordedGaps: gaps,
    targetTopic,
    targetPartitions: options.targetPartitions,
    copies,
    sourceClusterId,
    replicatedNext,
    rangeSize: options.rangeSize,
    strict: options.strict,
    sourceFetcher: session.sourceFetcher,
    lookbackFetcher: session.lookbackFetcher,
    targetFetcher: session.targetFetcher,
    targetAdmin: session.targetAdmin,
    ids: session.ids,
    targetReadLimit: options.targetReadLimit ?? null,
    targetCluster: session.link.target,
    progress: options.progress ?? (() => {})
  })
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
  targetReadLimit: number | null
  targetCluster: string
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
  const digestOf = (record: FetchedRecord): Promise<Digest | null> =>
    expectedCopyDigest(record, topic, input.origins, input.ids)
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
      const limit = input.targetReadLimit
      let read = 0
      for await (const record of partitionRecords(input.targetFetcher, range)) {
        if (limit !== null && ++read > limit)
          throw targetReadBound(input.targetCluster, input.targetTopic, partition, start, limit)
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

/** A check that would read more target records than its bound allows: not checked, and says why. */
function targetReadBound(cluster: string, topic: string, partition: number, from: bigint, limit: number): KdrError {
  return new KdrError(
    'KDR_ERR_RUNTIME',
    `not checked: more than ${limit} records on the target after the first copy (target offset ${from}); other writers or a large replay lie between the copies`,
    { cluster, topic, partition, offset: from }
  )
}

/** Whether the link copies this source record: by its first provenance header, as the copier reads it. */
/**
 * The digest a copy of this source record must have on the target (as the link writes it: schema ids
 * translated under translate-ids); null for records the link does not copy. Verify and the drill.
 */
export async function expectedCopyDigest(
  record: FetchedRecord,
  topic: string,
  origins: OriginFilter,
  ids: TargetIdLookup | null
): Promise<Digest | null> {
  if (!copiedByLink(record, origins)) return null
  return recordDigest(ids === null ? record : await ids.translate(record, topic))
}

export function copiedByLink(record: FetchedRecord, origins: OriginFilter): boolean {
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
