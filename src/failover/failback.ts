import { createWriteStream, renameSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { type KafkaDrConfig, type LinkConfig } from '../config/index.ts'
import { segmentCopyMap, sourceAt } from '../core/copy-search.ts'
import { ProvenanceEncoder, PROVENANCE_HEADER_KEY } from '../core/provenance.ts'
import { translateOffset } from '../core/translate.ts'
import { CatchUpProgress, describeProgress } from '../core/progress.ts'
import { KdrError } from '../errors.ts'
import { LinkReplicator } from '../engine/link-replicator.ts'
import { defaultWorkerIdentity } from '../engine/link-workers.ts'
import { storedOrigins } from '../engine/origin-ids.ts'
import { type OriginFilter } from '../core/origin-filter.ts'
import { RoutePlan } from '../core/routes.ts'
import {
  KafkaAdmin,
  PartitionFetcher,
  RecordProducer,
  TargetCopyReader,
  copyIsolation,
  READ_RANGE_BACKOFF,
  readPartitionRange,
  type FetchedRecord
} from '../kafka/index.ts'
import { createLogger, type Logger } from '../observability/logger.ts'
import {
  type FailoverDocument,
  type LoadedState,
  type StateEntry,
  ensureStateTopic,
  loadLinkState,
  partitionKey,
  writeState
} from '../state/index.ts'
import { AuditLog, stepRecorder } from './audit.ts'
import { PRIVATE_FILE_MODE, ensurePrivateFile } from './private-file.ts'
import { clusterOf, findLink } from './translate.ts'

/**
 * Failback of a failed-over link (source -> target) once the original primary (the source) is back:
 *
 *   1. divergent tail: per partition, the source records after the failover point that never reached
 *      the target; policy `export` (JSON lines file), `discard` (report only) or `reappend` (copy them
 *      to the target now, marked with their origin so they never come back)
 *   2. reverse catch-up: only what was written on the target since the failover is copied back to the
 *      source (a temporary reverse link starting at the recorded target end offsets)
 *   3. groups: offsets on the target translated back to source offsets (through the forward mapping
 *      for positions before the failover point, through the reverse mapping after it) and committed
 *      on the source for groups with no members there
 *   4. the forward link is made ready: its progress moves to the source's end (the divergent tail and
 *      the records copied back are not replicated again; the tail is recorded as a gap), the fence is
 *      removed and the failover document marked as failed back
 *
 * The divergent tail stays in the source's log: Kafka cannot delete from the middle of a partition.
 * Failback supports identity naming (the same topic names on both sides) in this version.
 */

export type TailPolicy = 'export' | 'discard' | 'reappend'

export interface TailReport {
  topic: string
  partition: number
  /** Source offsets [from, to) after the failover point. */
  from: bigint
  to: bigint
  records: number
  firstTimestamp: number | null
  lastTimestamp: number | null
}

export interface FailbackGroupReport {
  group: string
  committed: boolean
  reason: string | null
  offsets: { topic: string; partition: number; targetOffset: bigint; sourceOffset: bigint | null }[]
}

export interface FailbackReport {
  link: string
  failoverId: string
  dryRun: boolean
  tailPolicy: TailPolicy
  tail: TailReport[]
  exportFile: string | null
  reversed: { topic: string; partition: number; from: bigint; copied: number }[]
  groups: FailbackGroupReport[]
  steps: string[]
}

export interface FailbackOptions {
  link: string
  dryRun?: boolean
  tail?: TailPolicy
  exportFile?: string
  auditFile?: string
  catchUpTimeoutMs?: number
  /** How long the divergent tail's read waits for an open source transaction to end (default STABLE_WAIT_MS). */
  stableWaitMs?: number
  progress?: (line: string) => void
  log?: Logger
}

export async function failback(config: KafkaDrConfig, options: FailbackOptions): Promise<FailbackReport> {
  const link = findLink(config, options.link)
  if (link.naming.kind !== 'identity') {
    throw new KdrError(
      'KDR_ERR_FAILOVER',
      `failback supports links with identity naming only; ${link.name} uses ${link.naming.kind}`
    )
  }
  const say = options.progress ?? (() => {})
  const dryRun = options.dryRun === true
  const policy = options.tail ?? 'export'
  const dc2 = clusterOf(config, link.target, 'failback')
  const dc1 = clusterOf(config, link.source, 'failback')
  const admin2 = new KafkaAdmin(dc2)
  const admin1 = new KafkaAdmin({ ...dc1, connectTimeoutMs: 5000, requestTimeoutMs: 10_000 })
  const producer2 = dryRun ? null : new RecordProducer(dc2)
  const producer1 = dryRun ? null : new RecordProducer(dc1)
  try {
    const forward = await loadLinkState(dc2, admin2, link.name)
    // Which copies on dc2 the forward link wrote, when other links also write there (3+ clusters).
    const forwardOrigins = storedOrigins(
      RoutePlan.of(config.clusters.keys(), config.links).linkRouting(link.source, link.target),
      link.target,
      forward.documents.get('heartbeat')?.clusterIds
    )
    const doc = forward.documents.get('failover') ?? null
    if (doc === null || doc.failedBackAt !== null) {
      throw new KdrError('KDR_ERR_FAILOVER', `link ${link.name} has no failover to fail back from`, {
        cluster: link.target
      })
    }
    if (doc.step !== 'completed') {
      throw new KdrError(
        'KDR_ERR_FAILOVER',
        `failover ${doc.id} of link ${link.name} is not complete (step ${doc.step}): run failover again first`
      )
    }
    try {
      await admin1.describeCluster()
    } catch (error) {
      throw new KdrError(
        'KDR_ERR_FAILOVER',
        `the original primary ${link.source} is not reachable: failback needs it`,
        { cluster: link.source },
        { cause: error }
      )
    }
    const report: FailbackReport = {
      link: link.name,
      failoverId: doc.id,
      dryRun,
      tailPolicy: policy,
      tail: [],
      exportFile: null,
      reversed: [],
      groups: [],
      steps: []
    }
    const audit =
      producer2 === null
        ? null
        : new AuditLog(options.auditFile ?? 'kafka-dr-audit.jsonl', producer2, admin2, line => say(`warning: ${line}`))
    const record = stepRecorder(audit, { operation: 'failback', link: link.name, id: doc.id }, report.steps, say)

    // 1. divergent tail
    const [dc1Info, dc2Info] = await Promise.all([admin1.describeCluster(), admin2.describeCluster()])
    const exportFile =
      policy === 'export' && !dryRun ? (options.exportFile ?? `kafka-dr-divergent-${doc.id}.jsonl`) : null
    report.exportFile = exportFile
    // Every partition's tail ends at its high watermark now, and is read only once the last stable offset
    // reached it on every partition: an open transaction fails the failback before anything is exported,
    // re-appended or recorded.
    const dc1Ends = new Map<string, bigint>()
    for (const point of doc.points) {
      const end = (await admin1.listOffsets(point.topic, [point.partition], 'latest')).get(point.partition) ?? 0n
      dc1Ends.set(partitionKey(point.topic, point.partition), end)
      if (end > point.sourceNext)
        await awaitStableEnd(dc1, point.topic, point.partition, point.sourceNext, end, {
          stableWaitMs: options.stableWaitMs
        })
    }
    // The export is written to `<file>.partial` and renamed to the export file only once every partition's
    // tail was read to its end: an export file is never a partial one. Record contents: owner-only (0600).
    const partialFile = exportFile === null ? null : `${exportFile}.partial`
    if (partialFile !== null) {
      const warning = ensurePrivateFile(partialFile)
      if (warning !== null) say(`warning: export file: ${warning}`)
    }
    const sink = partialFile === null ? null : createWriteStream(partialFile, { flags: 'w', mode: PRIVATE_FILE_MODE })
    const sinkFailed = sink === null ? null : new Promise<never>((_, reject) => sink.once('error', reject))
    void sinkFailed?.catch(() => {})
    for (const point of doc.points) {
      const end = dc1Ends.get(partitionKey(point.topic, point.partition))!
      const tail: TailReport = {
        topic: point.topic,
        partition: point.partition,
        from: point.sourceNext,
        to: end,
        records: 0,
        firstTimestamp: null,
        lastTimestamp: null
      }
      if (end > point.sourceNext) {
        const encoder = new ProvenanceEncoder(point.topic, point.partition)
        await readRange(dc1, point.topic, point.partition, point.sourceNext, end, async records => {
          tail.records += records.length
          for (const r of records) {
            const ts = Number(r.timestamp)
            if (tail.firstTimestamp === null) tail.firstTimestamp = ts
            tail.lastTimestamp = ts
          }
          if (dryRun) return
          if (sink !== null) for (const r of records) sink.write(`${exportLine(point.topic, point.partition, r)}\n`)
          if (policy === 'reappend') {
            await producer2!.send(
              point.targetTopic,
              records.map(r => ({
                partition: point.partition,
                timestamp: r.timestamp,
                key: r.key,
                value: r.value,
                headers: [
                  ...r.headers,
                  [PROVENANCE_HEADER_KEY, encoder.encode(dc1Info.clusterId, 1, r.offset)] as const
                ]
              }))
            )
          }
        })
      }
      report.tail.push(tail)
    }
    if (sink !== null) {
      await Promise.race([new Promise<void>(resolve => sink.end(resolve)), sinkFailed!])
      renameSync(partialFile!, exportFile!)
    }
    if (dryRun) return report
    await record('divergent tail', { policy, exportFile, tail: report.tail })

    // 2. reverse catch-up: only what the target received since the failover
    const reverse: LinkConfig = {
      ...link,
      name: `${link.name}:failback`,
      source: link.target,
      target: link.source,
      topics: { include: [...new Set(doc.points.map(p => p.targetTopic))], exclude: [] },
      groups: { include: [], exclude: [] },
      syncGroupOffsets: false,
      // Its target (the original source) is written by its own producers: no foreign-data check.
      targetIsSource: true,
      startFrom: 'earliest'
    }
    await ensureStateTopic(admin1, link.replicationFactor)
    const reverseStored = await loadLinkState(dc1, admin1, reverse.name)
    const seeds: StateEntry[] = []
    for (const point of doc.points) {
      const existing = reverseStored.partitions.get(partitionKey(point.targetTopic, point.partition))?.progress
      if (existing != null && existing.next >= point.targetEnd) continue // resumed failback: keep its progress
      const [described] = await admin2.describeTopics([point.targetTopic])
      seeds.push({
        kind: 'progress',
        link: reverse.name,
        topic: point.targetTopic,
        partition: point.partition,
        value: {
          next: point.targetEnd,
          topicId: described?.topicId ?? '',
          sourceClusterId: dc2Info.clusterId,
          updatedAt: Date.now()
        }
      })
    }
    await writeState(producer1!, seeds)
    const log = options.log ?? createLogger({ level: 'warn', secrets: config.secrets })
    const replicator = new LinkReplicator(reverse, config.clusters, log, config.registries, undefined, null, {
      workers: config.workers,
      identity: defaultWorkerIdentity()
    })
    await replicator.start()
    try {
      const deadline = Date.now() + (options.catchUpTimeoutMs ?? 120_000)
      const progress = new CatchUpProgress(5000)
      let saidAt = Date.now()
      for (;;) {
        const status = replicator.status()
        const parts = status.partitions.filter(p =>
          doc.points.some(q => q.targetTopic === p.topic && q.partition === p.partition)
        )
        const report = progress.sample(
          Date.now(),
          parts.reduce((n, p) => n + p.replicatedRecords, 0),
          parts.reduce((n, p) => n + Number(p.lagRecords), 0)
        )
        if (Date.now() - saidAt >= 2000) {
          say(`reverse catch-up: ${describeProgress(report)}`)
          saidAt = Date.now()
        }
        if (
          parts.length >= doc.points.length &&
          parts.every(p => p.sourceHighWatermark >= 0n && p.lagRecords === 0n && p.state === 'running')
        )
          break
        const broken = parts.find(p => p.state !== 'running')
        if (broken !== undefined)
          throw new KdrError('KDR_ERR_FAILOVER', `reverse replication stopped: ${broken.reason ?? broken.state}`)
        if (Date.now() > deadline)
          throw new KdrError(
            'KDR_ERR_FAILOVER',
            'reverse replication did not catch up in time; run failback again to continue'
          )
        await sleep(250)
      }
      await replicator.commit()
      for (const p of replicator.status().partitions) {
        const point = doc.points.find(q => q.targetTopic === p.topic && q.partition === p.partition)
        if (point !== undefined)
          report.reversed.push({
            topic: p.topic,
            partition: p.partition,
            from: point.targetEnd,
            copied: p.replicatedRecords
          })
      }
    } finally {
      await replicator.stop()
    }
    await record('reverse catch-up', { reversed: report.reversed })

    // 3. groups back to source offsets
    const reverseState = await loadLinkState(dc1, admin1, reverse.name)
    // Copies are found by their provenance headers: the forward link's on dc2, the reverse link's on dc1.
    const fetchers = {
      // The reverse link inherits the forward link's delivery: both sides are read the same way.
      dc1: TargetCopyReader.fetcher(dc1, 'kafka-dr-failback-copies', copyIsolation(link.delivery)),
      dc2: TargetCopyReader.fetcher(dc2, 'kafka-dr-failback-copies', copyIsolation(link.delivery))
    }
    try {
      for (const group of doc.groups) {
        report.groups.push(
          await moveGroupBack(group, doc, forward, reverseState, admin1, admin2, fetchers, forwardOrigins)
        )
        const g = report.groups.at(-1)!
        await record(`group ${group}`, { offsets: g.offsets, reason: g.reason }, g.committed ? 'ok' : 'skipped')
      }
    } finally {
      await Promise.allSettled([fetchers.dc1.close(), fetchers.dc2.close()])
    }

    // 4. forward link ready again
    const entries: StateEntry[] = []
    for (const point of doc.points) {
      const tailEnd = dc1Ends.get(partitionKey(point.topic, point.partition)) ?? point.sourceNext
      const [described] = await admin1.describeTopics([point.topic])
      const base = { link: link.name, topic: point.topic, partition: point.partition }
      if (tailEnd > point.sourceNext) {
        entries.push({
          kind: 'gap',
          ...base,
          from: point.sourceNext,
          value: { to: tailEnd, reason: `divergent tail at failback ${doc.id} (policy ${policy})`, at: Date.now() }
        })
      }
      // Forward replication resumes right after the divergent tail, not at dc1's end now: what dc1 received
      // since is read again, so records producers wrote to dc1 during the failback are replicated, and
      // the records copied back carry dc2 as their origin and are skipped as loops.
      entries.push({
        kind: 'progress',
        ...base,
        value: {
          next: tailEnd,
          topicId: described?.topicId ?? '',
          sourceClusterId: dc1Info.clusterId,
          updatedAt: Date.now(),
          // The forward copies end where they ended at the failover.
          targetEnd: point.targetEnd
        }
      })
    }
    entries.push({ kind: 'fence', link: link.name, value: null })
    entries.push({ kind: 'failover', link: link.name, value: { ...doc, failedBackAt: Date.now() } })
    await writeState(producer2!, entries)
    await record('forward link ready', { fence: 'removed' })
    return report
  } finally {
    await Promise.allSettled([admin1.close(), admin2.close(), producer1?.close(), producer2?.close()])
  }
}

/** What readRange needs of a fetcher (a fake in unit tests). */
export type RangeFetcher = Pick<PartitionFetcher, 'fetch' | 'close'>

/**
 * How long the divergent-tail read waits for the source's last stable offset to reach the end of the
 * tail (an open transaction holds it back) before failback fails. Kafka's default transaction.timeout.ms.
 */
export const STABLE_WAIT_MS = 60_000

/**
 * Waits until the partition's last stable offset reaches `to` (polling a fetch at `from`, with backoff),
 * at most `stableWaitMs`; then fails naming the partition and offsets.
 */
export async function awaitStableEnd(
  connection: ReturnType<typeof clusterOf>,
  topic: string,
  partition: number,
  from: bigint,
  to: bigint,
  settings: { fetcher?: RangeFetcher; stableWaitMs?: number | undefined } = {}
): Promise<void> {
  const fetcher = settings.fetcher ?? new PartitionFetcher(connection, { maxWaitMs: 0, partitionMaxBytes: 1024 })
  const stableWaitMs = settings.stableWaitMs ?? STABLE_WAIT_MS
  const started = performance.now()
  let backoff = 0
  let stable = -1n
  try {
    for (;;) {
      const [result] = await fetcher.fetch([{ topic, partition, offset: from }])
      if (result !== undefined && result.error === undefined) {
        stable = result.lastStableOffset
        if (stable >= to) return
      } else if (result?.error?.retriable === false) {
        throw result.error.error
      }
      if (performance.now() - started >= stableWaitMs) break
      backoff = Math.min(2000, backoff === 0 ? 100 : backoff * 2)
      await sleep(backoff)
    }
  } finally {
    await fetcher.close()
  }
  throw unstableTail(connection.alias, topic, partition, from, to, from, stable, stableWaitMs)
}

function unstableTail(
  cluster: string,
  topic: string,
  partition: number,
  from: bigint,
  to: bigint,
  at: bigint,
  stable: bigint,
  waitedMs: number
): KdrError {
  return new KdrError(
    'KDR_ERR_FAILOVER',
    `the divergent tail [${from}, ${to}) of ${topic}/${partition} on ${cluster} cannot be read to its end: the last stable offset stayed at ${stable} (below ${to}) for ${waitedMs} ms, held back by an open transaction on the source. Failback stopped before exporting, re-appending or recording it; let the transaction end (it aborts after its transaction.timeout.ms) and run failback again`,
    { cluster, topic, partition, offset: at }
  )
}

/**
 * Reads source records [from, to) of one partition (read_committed) through the shared range reader
 * (retries bounded with backoff), and reaches `to` or throws: `to` is the high watermark, and an open
 * transaction holds the last stable offset (where read_committed fetches stop) below it. The reader
 * waits for it with backoff up to `stableWaitMs` without progress, then failback fails naming the
 * partition and offsets, so a partial tail is never exported or recorded as the whole gap.
 */
export async function readRange(
  connection: ReturnType<typeof clusterOf>,
  topic: string,
  partition: number,
  from: bigint,
  to: bigint,
  onRecords: (records: FetchedRecord[]) => Promise<void>,
  settings: { fetcher?: RangeFetcher; stableWaitMs?: number } = {}
): Promise<void> {
  const fetcher = settings.fetcher ?? new PartitionFetcher(connection, { maxWaitMs: 100 })
  const stableWaitMs = settings.stableWaitMs ?? STABLE_WAIT_MS
  try {
    const reader = { cluster: connection.alias, fetch: fetcher.fetch.bind(fetcher) }
    const end = await readPartitionRange(reader, { topic, partition, from, to }, onRecords, {
      unstable: 'wait',
      backoff: { ...READ_RANGE_BACKOFF, maxMs: 2000, maxElapsedMs: stableWaitMs }
    })
    if (end.shortfall === null) return
    if (end.shortfall.reason === 'open-transaction') {
      throw unstableTail(
        connection.alias,
        topic,
        partition,
        from,
        to,
        end.next,
        end.shortfall.lastStableOffset,
        stableWaitMs
      )
    }
    throw new KdrError(
      'KDR_ERR_FAILOVER',
      `the divergent tail [${from}, ${to}) of ${topic}/${partition} on ${connection.alias} could be read only up to ${end.next}: the log ends at ${end.shortfall.highWatermark}; run failback again once it is readable`,
      { cluster: connection.alias, topic, partition, offset: end.next }
    )
  } finally {
    await fetcher.close()
  }
}

async function moveGroupBack(
  group: string,
  doc: FailoverDocument,
  forward: LoadedState,
  reverse: LoadedState,
  admin1: KafkaAdmin,
  admin2: KafkaAdmin,
  fetchers: { dc1: PartitionFetcher; dc2: PartitionFetcher },
  forwardOrigins: OriginFilter | null
): Promise<FailbackGroupReport> {
  const report: FailbackGroupReport = { group, committed: false, reason: null, offsets: [] }
  const onTarget = await admin2.groupOffsets(group)
  const offsets = new Map<string, Map<number, bigint>>()
  for (const point of doc.points) {
    const c2 = onTarget.get(point.targetTopic)?.get(point.partition)
    if (c2 === undefined) continue
    let c1: bigint | null
    if (c2 <= point.targetEnd) {
      // Position within what was replicated before the failover: the source offset of the copy there.
      const stored = forward.partitions.get(partitionKey(point.topic, point.partition))
      const reader = new TargetCopyReader(fetchers.dc2, point.targetTopic, point.partition, {
        topic: point.topic,
        partition: point.partition,
        sourceClusterId: stored?.progress?.sourceClusterId ?? null,
        origins: forwardOrigins
      })
      c1 =
        c2 === point.targetEnd ? point.sourceNext : ((await sourceAt(c2, point.targetEnd, reader)) ?? point.sourceNext)
    } else {
      const stored = reverse.partitions.get(partitionKey(point.targetTopic, point.partition))
      const reader = new TargetCopyReader(fetchers.dc1, point.topic, point.partition, {
        topic: point.targetTopic,
        partition: point.partition,
        sourceClusterId: stored?.progress?.sourceClusterId ?? null
      })
      const copies = segmentCopyMap(stored?.copies.segments ?? [], stored?.copies.targetEnd ?? null, reader)
      const t = await translateOffset(c2, copies, stored?.progress?.next ?? null)
      c1 = t.targetOffset
    }
    report.offsets.push({ topic: point.topic, partition: point.partition, targetOffset: c2, sourceOffset: c1 })
    if (c1 === null) continue
    let perTopic = offsets.get(point.topic)
    if (perTopic === undefined) offsets.set(point.topic, (perTopic = new Map()))
    perTopic.set(point.partition, c1)
  }
  const { members } = await admin1.describeGroup(group)
  if (members > 0) {
    report.reason = `group has ${members} members on ${admin1.cluster}: offsets not changed`
    return report
  }
  const current = await admin1.groupOffsets(group)
  for (const [topic, partitions] of offsets) {
    for (const [partition, offset] of partitions) {
      const existing = current.get(topic)?.get(partition)
      if (existing !== undefined && existing > offset) partitions.delete(partition) // never move back
    }
  }
  if ([...offsets.values()].every(p => p.size === 0)) {
    report.reason = 'nothing to move forward'
    return report
  }
  await admin1.commitGroupOffsets(group, offsets)
  report.committed = true
  return report
}

function exportLine(topic: string, partition: number, r: FetchedRecord): string {
  return JSON.stringify({
    topic,
    partition,
    offset: r.offset.toString(),
    timestamp: r.timestamp.toString(),
    key: r.key?.toString('base64') ?? null,
    value: r.value?.toString('base64') ?? null,
    headers: r.headers.map(([k, v]) => [k.toString(), v?.toString('base64') ?? null])
  })
}
