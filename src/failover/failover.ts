import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { type KafkaDrConfig, type LinkConfig } from '../config/index.ts'
import { TopicNaming } from '../core/naming.ts'
import { TopicFilter, isInternalGroup } from '../core/topic-filter.ts'
import { KdrError, describeCause } from '../errors.ts'
import { KafkaAdmin, PartitionFetcher, RecordProducer, fenceTransactionalIds } from '../kafka/index.ts'
import { linkTransactionalIds } from '../core/transactional-ids.ts'
import {
  type FailoverDocument,
  type FailoverPoint,
  type HeartbeatDocument,
  type LoadedState,
  STATE_TOPIC,
  decodeStateEntry,
  loadLinkState,
  writeState
} from '../state/index.ts'
import { seedGroupWatch, seenHeartbeat } from './fence-watch.ts'
import { AuditLog, stepRecorder } from './audit.ts'
import { type WriteGrantsReport, grantWrites, planWriteGrants } from './grant-writes.ts'
import { type TranslationRow, clusterOf, findLink, targetCopies, translateFromState } from './translate.ts'

/**
 * Failover of one link (source -> target): the target becomes the primary. A resumable sequence of
 * steps, each recorded in the target's state topic (the `failover` document) and in the audit log:
 *
 *   1. preflight   target reachable; every replicated partition has its target topic and partition;
 *                  lag (RPO) per partition when the source answers (a dead source is the normal case)
 *   2. fence       a `fence` document for the link; a replicator still running on it stops writing
 *                  and says so in its heartbeat; failover waits for that (or for a stale heartbeat).
 *                  exactly-once links are also fenced hard: InitProducerId on their transactional
 *                  ids aborts the open transaction and refuses the old replicator's next write
 *   3. points      the failover point per partition: the last replicated source offset and the
 *                  target end offset (failback starts from these)
 *   4. groups      translated offsets committed on the target for groups with no members there,
 *                  never moving a target offset back
 *   5. completed   report
 *   6. grant-writes with --grant-writes only: the write ACLs ACL sync held back are created on the
 *                  target (grant-writes.ts); a dry run lists them
 *
 * A dry run does step 1 and computes 3, 4 and 6 without writing anything.
 */

export interface PartitionReport {
  topic: string
  partition: number
  targetTopic: string
  replicatedNext: bigint
  sourceEnd: bigint | null
  /** Records on the source not on the target (the RPO in records); null when the source cannot be asked. */
  notReplicated: bigint | null
  targetPartitionExists: boolean
}

export interface GroupReport {
  group: string
  basis: 'live' | 'checkpoint'
  committed: boolean
  reason: string | null
  rows: TranslationRow[]
}

export interface FailoverReport {
  link: string
  id: string
  dryRun: boolean
  resumed: boolean
  alreadyCompleted: boolean
  sourceReachable: boolean
  sourceError: string | null
  partitions: PartitionReport[]
  groups: GroupReport[]
  /** Total records not replicated; null when the source cannot be asked. */
  rpoRecords: bigint | null
  steps: string[]
  /** With --grant-writes: the held-back write ACLs, granted (or, in a dry run, to be granted); else null. */
  writeGrants: WriteGrantsReport | null
}

export interface FailoverOptions {
  link: string
  /** Groups to move; default: every group of the link's group filter seen on the source or in checkpoints. */
  groups?: string[]
  dryRun?: boolean
  /** How long to wait for a running replicator to acknowledge the fence. */
  fenceTimeoutMs?: number
  /** After the failover, create on the target the write ACLs that ACL sync held back (grant-writes.ts). */
  grantWrites?: boolean
  auditFile?: string
  progress?: (line: string) => void
}

export async function failover(config: KafkaDrConfig, options: FailoverOptions): Promise<FailoverReport> {
  const link = findLink(config, options.link)
  const say = options.progress ?? (() => {})
  const dryRun = options.dryRun === true
  const target = clusterOf(config, link.target, 'failover')
  const admin = new KafkaAdmin(target)
  const producer = dryRun ? null : new RecordProducer(target)
  const copies = targetCopies(config, link, 'failover')
  try {
    await admin.describeCluster()
    let state = await loadLinkState(target, admin, link.name)
    const existing = state.documents.get('failover') ?? null
    const active = existing !== null && existing.failedBackAt === null ? existing : null
    const id = active?.id ?? randomUUID()
    const report: FailoverReport = {
      link: link.name,
      id,
      dryRun,
      resumed: active !== null && active.step !== 'completed',
      alreadyCompleted: active?.step === 'completed',
      sourceReachable: false,
      sourceError: null,
      partitions: [],
      groups: [],
      rpoRecords: null,
      steps: [],
      writeGrants: null
    }
    const audit =
      producer === null
        ? null
        : new AuditLog(options.auditFile ?? 'kafka-dr-audit.jsonl', producer, admin, line => say(`warning: ${line}`))
    const record = stepRecorder(audit, { operation: 'failover', link: link.name, id }, report.steps, say)

    // 1. preflight
    const source = await probeSource(config, link)
    report.sourceReachable = source.admin !== null
    report.sourceError = source.error
    report.partitions = await preflight(link, state, admin, source.admin)
    const missing = report.partitions.filter(p => !p.targetPartitionExists)
    const lagKnown = report.partitions.every(p => p.notReplicated !== null)
    report.rpoRecords = lagKnown ? report.partitions.reduce((n, p) => n + (p.notReplicated ?? 0n), 0n) : null
    if (missing.length > 0 && !dryRun) {
      await record('preflight', { missing: missing.map(p => `${p.targetTopic}/${p.partition}`) }, 'failed')
      throw new KdrError(
        'KDR_ERR_FAILOVER',
        `preflight failed: target partitions missing: ${missing.map(p => `${p.targetTopic}/${p.partition}`).join(', ')}`,
        { cluster: link.target }
      )
    }
    if (!report.alreadyCompleted) {
      await record('preflight', {
        sourceReachable: report.sourceReachable,
        rpoRecords: report.rpoRecords,
        partitions: report.partitions.length
      })
    }

    const groups = await chooseGroups(link, state, source.admin, options.groups)
    const translations = new Map<string, { rows: TranslationRow[]; basis: 'live' | 'checkpoint' }>()
    for (const group of groups) {
      const committed = source.admin === null ? null : await source.admin.groupOffsets(group).catch(() => null)
      const t = await translateFromState(link, state, group, committed, copies)
      translations.set(group, { rows: t.rows, basis: committed === null ? 'checkpoint' : 'live' })
    }

    const grants = options.grantWrites === true ? await planWriteGrants(link, state, source.admin, admin) : null
    report.writeGrants = grants
    if (dryRun || report.alreadyCompleted) {
      report.groups = await planGroups(admin, translations, false)
      await source.admin?.close()
      // A completed failover run again with --grant-writes grants what is still missing.
      if (grants !== null && !dryRun) await grantWrites(grants, admin, record)
      return report
    }

    // 2. fence
    let doc: FailoverDocument = active ?? {
      id,
      startedAt: Date.now(),
      step: 'fenced',
      completedAt: null,
      points: [],
      groups,
      failedBackAt: null
    }
    const fenceAt = Date.now()
    const fenceOffset = await writeState(producer!, [
      { kind: 'fence', link: link.name, value: { failoverId: id, at: fenceAt } }
    ])
    await writeState(producer!, [{ kind: 'failover', link: link.name, value: doc }])
    // exactly-once: the hard fence, after the document, on every writer slot's ids (kafka/transaction-fence.ts):
    // every worker of a scaled-out link is fenced, whichever slot it holds.
    const transactions =
      link.delivery === 'exactly-once'
        ? await fenceTransactionalIds(
            target,
            linkTransactionalIds(link.name, config.workers.maxWorkers),
            link.transaction.timeoutMs,
            `link ${link.name}`,
            `kafka-dr-failover-${link.name}`
          )
        : []
    if (transactions.length > 0) say(`fenced transactional ids: ${transactions.map(t => t.transactionalId).join(', ')}`)
    const replicator = await waitForFence(target, link.name, state, fenceOffset!, options.fenceTimeoutMs ?? 30_000)
    await record('fence', { replicator, fenceOffset: String(fenceOffset), transactions })

    // 3. failover points (after the fence: stored progress is final)
    if (doc.step === 'fenced') {
      state = await loadLinkState(target, admin, link.name)
      const naming = new TopicNaming(link.naming, link.source)
      const points: FailoverPoint[] = []
      for (const p of await preflight(link, state, admin, null)) {
        const ends = await admin.listOffsets(p.targetTopic, [p.partition], 'latest')
        points.push({
          topic: p.topic,
          partition: p.partition,
          targetTopic: naming.targetTopic(p.topic),
          sourceNext: p.replicatedNext,
          targetEnd: ends.get(p.partition) ?? 0n
        })
      }
      doc = { ...doc, step: 'points-recorded', points }
      await writeState(producer!, [{ kind: 'failover', link: link.name, value: doc }])
      await record('points', {
        points: points.map(p => ({ ...p, sourceNext: String(p.sourceNext), targetEnd: String(p.targetEnd) }))
      })
    }

    // 4. groups: re-translated from the final state
    if (doc.step === 'points-recorded') {
      for (const group of groups) {
        const committed = source.admin === null ? null : await source.admin.groupOffsets(group).catch(() => null)
        const t = await translateFromState(link, state, group, committed, copies)
        translations.set(group, { rows: t.rows, basis: committed === null ? 'checkpoint' : 'live' })
      }
      report.groups = await planGroups(admin, translations, true)
      for (const g of report.groups) {
        await record(
          `group ${g.group}`,
          { basis: g.basis, reason: g.reason, rows: g.rows },
          g.committed ? 'ok' : 'skipped'
        )
      }
      doc = { ...doc, step: 'groups-committed', groups }
      await writeState(producer!, [{ kind: 'failover', link: link.name, value: doc }])
    } else {
      report.groups = await planGroups(admin, translations, false)
    }

    // 5. completed
    doc = { ...doc, step: 'completed', completedAt: Date.now() }
    await writeState(producer!, [{ kind: 'failover', link: link.name, value: doc }])
    await record('completed', { rpoRecords: report.rpoRecords })
    await source.admin?.close()
    // 6. after the failover is complete: a failed grant is reported and retried by running it again.
    if (grants !== null) await grantWrites(grants, admin, record)
    return report
  } finally {
    await Promise.allSettled([admin.close(), producer?.close(), copies.close()])
  }
}

/** The source admin when the source answers within a few seconds; a dead source is expected here. */
async function probeSource(
  config: KafkaDrConfig,
  link: LinkConfig
): Promise<{ admin: KafkaAdmin | null; error: string | null }> {
  const admin = new KafkaAdmin({
    ...clusterOf(config, link.source, 'failover'),
    connectTimeoutMs: 3000,
    requestTimeoutMs: 5000
  })
  try {
    await admin.describeCluster()
    return { admin, error: null }
  } catch (error) {
    await admin.close().catch(() => {})
    return { admin: null, error: describeCause(error) }
  }
}

async function preflight(
  link: LinkConfig,
  state: LoadedState,
  target: KafkaAdmin,
  source: KafkaAdmin | null
): Promise<PartitionReport[]> {
  const naming = new TopicNaming(link.naming, link.source)
  const byTopic = new Map<string, { partition: number; next: bigint }[]>()
  for (const [key, p] of state.partitions) {
    if (p.progress === null) continue
    const [topic, partition] = key.split('\u0000') as [string, string]
    let list = byTopic.get(topic)
    if (list === undefined) byTopic.set(topic, (list = []))
    list.push({ partition: Number(partition), next: p.progress.next })
  }
  const reports: PartitionReport[] = []
  for (const [topic, partitions] of byTopic) {
    const targetTopic = naming.targetTopic(topic)
    const [described] = await target.describeTopics([targetTopic])
    const count = described?.partitions.length ?? 0
    const ends =
      source === null
        ? null
        : await source
            .listOffsets(
              topic,
              partitions.map(p => p.partition),
              'latest'
            )
            .catch(() => null)
    for (const { partition, next } of partitions.sort((a, b) => a.partition - b.partition)) {
      const end = ends?.get(partition) ?? null
      reports.push({
        topic,
        partition,
        targetTopic,
        replicatedNext: next,
        sourceEnd: end,
        notReplicated: end === null ? null : end > next ? end - next : 0n,
        targetPartitionExists: partition < count
      })
    }
  }
  return reports.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1))
}

async function chooseGroups(
  link: LinkConfig,
  state: LoadedState,
  source: KafkaAdmin | null,
  requested?: string[]
): Promise<string[]> {
  if (requested !== undefined && requested.length > 0) return requested
  const filter = new TopicFilter(link.groups.include, link.groups.exclude, isInternalGroup)
  const groups = new Set(state.checkpoints.map(c => c.group))
  if (source !== null) for (const g of await source.listGroups().catch(() => [])) groups.add(g.groupId)
  return [...groups].filter(g => filter.matches(g)).sort()
}

/** Commits (or, with commit=false, only plans) the translated offsets of each group on the target. */
async function planGroups(
  target: KafkaAdmin,
  translations: Map<string, { rows: TranslationRow[]; basis: 'live' | 'checkpoint' }>,
  commit: boolean
): Promise<GroupReport[]> {
  const reports: GroupReport[] = []
  for (const [group, { rows, basis }] of translations) {
    const report: GroupReport = { group, basis, committed: false, reason: null, rows }
    reports.push(report)
    const { members } = await target.describeGroup(group)
    if (members > 0) {
      report.reason = `group has ${members} members on the target: offsets not changed`
      continue
    }
    const current = await target.groupOffsets(group)
    const offsets = new Map<string, Map<number, bigint>>()
    for (const row of rows) {
      if (row.targetOffset === null) continue
      const existing = current.get(row.targetTopic)?.get(row.partition)
      if (existing !== undefined && existing >= row.targetOffset) continue
      let perTopic = offsets.get(row.targetTopic)
      if (perTopic === undefined) offsets.set(row.targetTopic, (perTopic = new Map()))
      perTopic.set(row.partition, row.targetOffset)
    }
    if (offsets.size === 0) {
      report.reason = 'nothing to move forward'
      continue
    }
    if (commit) {
      await target.commitGroupOffsets(group, offsets)
      report.committed = true
    } else {
      report.reason = 'dry run: would commit'
    }
  }
  return reports
}

/**
 * Waits until no replicator writes on the link (see FenceWatch): reads the state topic from where the
 * first read of this failover ended, for heartbeats of the link, until the verdict is final. Returns
 * what was seen, for the audit log.
 */
async function waitForFence(
  target: ReturnType<typeof clusterOf>,
  link: string,
  before: LoadedState,
  fenceOffset: bigint,
  timeoutMs: number
): Promise<Record<string, unknown>> {
  // Every worker of the link (docs/scale-out.md); the heartbeats of the first read lie before the
  // fence, their exact offsets do not matter.
  const watch = seedGroupWatch(
    fenceOffset,
    before.documents.get('heartbeat'),
    before.workers.values(),
    performance.now()
  )
  const started = performance.now()
  // Heartbeats are never written in a transaction: read_uncommitted is not held back by open ones.
  const fetcher = new PartitionFetcher(
    { ...target, clientId: `kafka-dr-failover-${link}` },
    { maxWaitMs: 0, isolation: 'read_uncommitted' }
  )
  let offset = before.end
  let backoff = 0
  try {
    for (;;) {
      const readStartedAt = performance.now()
      let error: string | null = null
      try {
        offset = await readHeartbeats(fetcher, link, offset, (at, value) =>
          watch.observe(value.worker, value.members, seenHeartbeat(at, value), performance.now())
        )
      } catch (cause) {
        error = describeCause(cause)
      }
      const verdict = error === null ? watch.verdict(readStartedAt) : null
      if (verdict?.done === true) return verdict.replicator
      // Long enough for a heartbeat-less replicator to be judged stale, at least the configured wait.
      const limit = Math.max(timeoutMs, watch.staleAfterMs + 5000)
      if (performance.now() - started > limit) {
        const latest = verdict?.done === false ? verdict.latest : null
        throw new KdrError(
          'KDR_ERR_FAILOVER',
          latest === null
            ? `could not read the state topic to see whether a replicator still runs on link ${link}: ${error ?? 'unknown'}`
            : `a replicator is still running on link ${link} (host ${latest.host}, pid ${latest.pid}, last heartbeat ${latest.state} at state offset ${latest.offset}) and did not acknowledge the fence at offset ${fenceOffset} within ${limit} ms; stop it and run failover again`,
          { cluster: target.alias, topic: STATE_TOPIC, partition: 0, offset }
        )
      }
      backoff = error === null ? 250 : Math.min(2000, Math.max(250, backoff * 2))
      await sleep(backoff)
    }
  } finally {
    await fetcher.close()
  }
}

/** Reads the state topic from `from` to its end; calls `onHeartbeat` per heartbeat of `link`; returns where it ended. */
async function readHeartbeats(
  fetcher: PartitionFetcher,
  link: string,
  from: bigint,
  onHeartbeat: (offset: bigint, value: HeartbeatDocument) => void
): Promise<bigint> {
  let offset = from
  for (;;) {
    const [result] = await fetcher.fetch([{ topic: STATE_TOPIC, partition: 0, offset }])
    if (result === undefined) return offset
    if (result.error !== undefined) {
      // Compaction may have removed what was not read yet: the newest heartbeat is never removed.
      if (result.error.error.code === 'KDR_ERR_OFFSET_OUT_OF_RANGE' && result.logStartOffset > offset) {
        offset = result.logStartOffset
        continue
      }
      throw result.error.error
    }
    for (const record of result.records) {
      const entry = decodeStateEntry(record.key, record.value)
      if (entry?.kind === 'heartbeat' && entry.link === link && entry.value !== null)
        onHeartbeat(record.offset, entry.value)
    }
    if (result.nextOffset === offset || result.nextOffset >= result.highWatermark) return result.nextOffset
    offset = result.nextOffset
  }
}
