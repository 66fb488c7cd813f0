import { type KafkaDrConfig, type LinkConfig } from '../config/index.ts'
import { type CopyOwner } from '../core/copy-owner.ts'
import { type DrillComparison, compareDrillWindow } from '../core/drill-compare.ts'
import { KdrError, describeCause, formatLocation } from '../errors.ts'
import { type FetchedRecord, PartitionFetcher, copyIsolation } from '../kafka/index.ts'
import { partitionKey } from '../state/index.ts'
import { type VerifySession, openVerifySession } from '../verify/session.ts'
import { expectedCopyDigest, recordDigest } from '../verify/verify.ts'
import { type TargetWindow, readSourceWindow, readTargetWindow } from './drill-read.ts'
import {
  type TranslationRow,
  clusterOf,
  committedOffsets,
  findLink,
  openTransactionNote,
  targetCopies,
  translateFromState
} from './translate.ts'

/**
 * `kafka-dr drill`: rehearses the failover of consumer groups without touching production. For each
 * group its committed source offsets are translated exactly as `translate` and `failover` do
 * (translate.ts, from the state the engine stored on the target: works while the replicator is down);
 * then, per partition, the records a consumer would read on the target from the translated offset are
 * compared with the records the group would read next on the source (core/drill-compare.ts), by the
 * digest `verify` uses. Both reads go through fetchers outside any consumer group: nothing is committed
 * on either cluster and no group is created on the target. The source must answer (it is compared).
 *
 * RTO components per group, measured on this host's monotonic clock: translate (state read plus the
 * group's translation), first target record (translate plus the time until the first record of the
 * group came back from the target), total (the whole drill of the group, reads and comparison included).
 */

export const DEFAULT_DRILL_RECORDS = 100
export const MAX_DRILL_RECORDS = 100_000

export interface DrillOptions {
  /** Records compared per partition (default DEFAULT_DRILL_RECORDS). */
  records?: number
}

export interface DrillPartitionReport extends Omit<DrillComparison, 'exact'> {
  topic: string
  partition: number
  targetTopic: string
  /** The group's committed source offset and where translation puts it on the target (null: nothing replicated). */
  sourceOffset: number
  targetOffset: number | null
  translationExact: boolean
  translationNote: string | null
  /** Source records of the window the link does not copy (they came from the target: active-active). */
  notCopied: number
  exact: boolean
  error: string | null
}

export interface DrillGroupReport {
  group: string
  exact: boolean
  partitions: DrillPartitionReport[]
  rto: { translateMs: number; firstTargetRecordMs: number | null; totalMs: number }
  error: string | null
}

export interface DrillReport {
  link: string
  source: string
  target: string
  records: number
  startedAt: string
  finishedAt: string
  /** Every group would resume exactly: nothing mismatched, skipped or re-read, no error. */
  exact: boolean
  stateNote: string | null
  groups: DrillGroupReport[]
}

/** What the drill of one link shares across its groups: verify's session (clients, state, origins, ids). */
interface DrillContext {
  session: VerifySession
  /** How long opening the session took (the state read is part of every group's translation). */
  stateMs: number
  /** Reads the target as a consumer of the link's copies would (verify's own reader sees every record). */
  consumerFetcher: PartitionFetcher
  records: number
}

export async function drillLink(
  config: KafkaDrConfig,
  linkName: string,
  groups: readonly string[],
  options: DrillOptions = {}
): Promise<DrillReport> {
  const link = findLink(config, linkName)
  const records = options.records ?? DEFAULT_DRILL_RECORDS
  if (!Number.isSafeInteger(records) || records < 1 || records > MAX_DRILL_RECORDS) {
    throw new KdrError(
      'KDR_ERR_CONFIG',
      `records: expected a whole number from 1 to ${MAX_DRILL_RECORDS}, got ${records}`
    )
  }
  if (groups.length === 0) throw new KdrError('KDR_ERR_CONFIG', 'groups: expected at least one consumer group')
  const startedAt = new Date().toISOString()
  const opening = performance.now()
  const session = await openVerifySession(config, link, 'drill').catch(sourceUnreachable(link, true))
  const stateMs = performance.now() - opening
  const consumerFetcher = new PartitionFetcher(clusterOf(config, link.target, 'drill'), {
    maxWaitMs: 0,
    partitionMaxBytes: 1024 * 1024,
    isolation: copyIsolation(link.delivery)
  })
  try {
    const context: DrillContext = { session, stateMs, consumerFetcher, records }
    const reports: DrillGroupReport[] = []
    for (const group of groups) reports.push(await drillGroup(config, context, group))
    return {
      link: link.name,
      source: link.source,
      target: link.target,
      records,
      startedAt,
      finishedAt: new Date().toISOString(),
      exact: reports.every(g => g.exact),
      stateNote: openTransactionNote(session.state),
      groups: reports
    }
  } finally {
    await Promise.allSettled([consumerFetcher.close(), session.close()])
  }
}

/**
 * A drill compares with the source, so it needs the source (unlike translate and failover); the
 * error says so. With `onlyNamed` (calls that reach both clusters), only errors naming the source are
 * rephrased; the others pass unchanged.
 */
function sourceUnreachable(link: LinkConfig, onlyNamed = false): (error: unknown) => never {
  return error => {
    const named = KdrError.is(error) && error.location.cluster === link.source
    if (onlyNamed && !named) throw error
    // A KdrError's message ends with its own location: keep only its reason, the new one says where.
    const reason = KdrError.is(error)
      ? error.message.slice(0, error.message.length - formatLocation(error.location).length)
      : describeCause(error)
    throw new KdrError(
      'KDR_ERR_KAFKA_CONNECT',
      `a drill reads the records the groups would read next on the source, and the source failed: ${reason}`,
      { cluster: link.source },
      { cause: error }
    )
  }
}

async function drillGroup(config: KafkaDrConfig, context: DrillContext, group: string): Promise<DrillGroupReport> {
  const { link, state } = context.session
  const started = performance.now()
  const elapsed = (): number => Math.round(context.stateMs + performance.now() - started)
  const committed = await committedOffsets(config, link, group).catch(sourceUnreachable(link))
  const copies = targetCopies(config, link, 'drill')
  let rows: TranslationRow[]
  try {
    rows = (await translateFromState(link, state, group, committed, copies)).rows
  } finally {
    await copies.close()
  }
  const translateMs = elapsed()
  let firstTargetRecordMs: number | null = null
  const partitions: DrillPartitionReport[] = []
  for (const row of rows) {
    partitions.push(
      await drillPartition(context, row, () => {
        firstTargetRecordMs ??= elapsed()
      })
    )
  }
  const error =
    rows.length === 0
      ? `group ${group} has no committed offsets on ${link.source} for topics link ${link.name} replicates`
      : null
  return {
    group,
    exact: error === null && partitions.every(p => p.exact),
    partitions,
    rto: { translateMs, firstTargetRecordMs, totalMs: elapsed() },
    error
  }
}

async function drillPartition(
  context: DrillContext,
  row: TranslationRow,
  onFirstTargetRecord: () => void
): Promise<DrillPartitionReport> {
  const { topic, partition, targetTopic } = row
  const { session } = context
  const stored = session.state.partitions.get(partitionKey(topic, partition))
  const replicatedNext = stored?.progress?.next ?? null
  const base = {
    topic,
    partition,
    targetTopic,
    sourceOffset: Number(row.sourceOffset),
    targetOffset: row.targetOffset === null ? null : Number(row.targetOffset),
    translationExact: row.exact,
    translationNote: row.note
  }
  try {
    const sourceEnd = (await session.sourceAdmin.listOffsets(topic, [partition], 'latest')).get(partition) ?? 0n
    const digestOf = (record: FetchedRecord): Promise<Buffer | null> =>
      expectedCopyDigest(record, topic, session.origins, session.ids)
    const source = await readSourceWindow(
      session.sourceFetcher,
      { topic, partition, from: row.sourceOffset, to: sourceEnd },
      context.records,
      digestOf
    )
    let target: TargetWindow = { records: [], complete: true }
    if (row.targetOffset !== null) {
      const targetEnd = (await session.targetAdmin.listOffsets(targetTopic, [partition], 'latest')).get(partition) ?? 0n
      const owner: CopyOwner = {
        topic,
        partition,
        sourceClusterId: stored?.progress?.sourceClusterId ?? null,
        origins: session.origins
      }
      target = await readTargetWindow(
        context.consumerFetcher,
        { topic: targetTopic, partition, from: row.targetOffset, to: targetEnd },
        owner,
        source.records.at(-1)?.offset ?? null,
        // Room for re-reads and other writers' records around the copies of the window.
        context.records * 4 + 100,
        recordDigest,
        onFirstTargetRecord
      )
    }
    const comparison = compareDrillWindow({
      committed: row.sourceOffset,
      source: source.records,
      target: target.records,
      targetComplete: target.complete,
      replicatedNext
    })
    if (row.targetOffset === null && source.records.length > 0) {
      // Nothing to resume from on the target: the window's records are not proof of anything.
      return {
        ...base,
        ...comparison,
        notCopied: source.notCopied,
        exact: false,
        error: `translation found no position on ${session.link.target} for source offset ${row.sourceOffset}: nothing of the partition is replicated there (${row.note ?? 'no copies'})`
      }
    }
    return { ...base, ...comparison, notCopied: source.notCopied, error: null }
  } catch (error) {
    const empty = compareDrillWindow({
      committed: row.sourceOffset,
      source: [],
      target: [],
      targetComplete: true,
      replicatedNext
    })
    return { ...base, ...empty, notCopied: 0, exact: false, error: describeCause(error) }
  }
}
