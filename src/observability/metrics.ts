import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { type EngineEvents, type LinkStatus, type PartitionStatus, allAclSyncTotals } from '../engine-events/index.ts'

/**
 * kafka-dr's Prometheus metrics (prom-client). Two kinds of source keep the data path free of
 * metric work per record:
 * - events the engine reports as they happen (one per batch or per error): the produce latency
 *   histogram, errors by kind, retries by operation;
 * - everything else is read from the replicator's status when Prometheus scrapes: per partition
 *   records and bytes copied, lag in records, bytes and seconds, state; per link state, checkpoint
 *   age and exactness, schema sync counts.
 * Names follow Prometheus conventions: `kafka_dr_` prefix, base units in the name, `_total` on counters.
 */

type PartitionLabels = 'link' | 'topic' | 'partition'

export class Metrics implements EngineEvents {
  readonly registry = new Registry()
  /** Scheduled DR drills (cli/drill-schedule.ts): the last drill of each group, set when it ends. */
  readonly #drills = drillGauges(this.registry)
  /** Continuous verification (verify/continuous.ts): windows checked and what they found. */
  readonly #verify = verifyMetrics(this.registry)
  /** ACL sync (sync/acl-sync.ts): its process-wide totals, exported at each scrape. */
  readonly #acls = aclSyncMetrics(this.registry)
  readonly #latency: Histogram<'link'>
  readonly #errors: Counter<'link' | 'kind'>
  readonly #retries: Counter<'link' | 'operation'>
  /** Counter values already exported, so that a scrape adds only what is new. */
  readonly #exported = new Map<string, number>()
  /** Sets every status-derived metric from the replicator's status now. */
  readonly #refresh: () => void

  constructor(status: () => LinkStatus[]) {
    const registers = [this.registry]
    const gauge = <L extends string>(name: string, help: string, labelNames: L[]): Gauge<L> =>
      new Gauge({ name, help, labelNames, registers })
    const counter = <L extends string>(name: string, help: string, labelNames: L[]): Counter<L> =>
      new Counter({ name, help, labelNames, registers })
    collectDefaultMetrics({ register: this.registry, prefix: 'kafka_dr_' })
    this.#latency = new Histogram({
      name: 'kafka_dr_produce_latency_seconds',
      help: 'Time from sending a batch of copied records to the target until it is acknowledged, per produce request.',
      labelNames: ['link'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers
    })
    this.#errors = counter(
      'kafka_dr_errors_total',
      'Errors by kind (the KDR_ERR_* code): partitions stopped, records refused or dead-lettered, schemas not available.',
      ['link', 'kind']
    )
    this.#retries = counter(
      'kafka_dr_retries_total',
      'Operations retried after a transient failure, by operation (fetch, produce, schema-registry).',
      ['link', 'operation']
    )
    const records = counter(
      'kafka_dr_replicated_records_total',
      'Records copied to the target and acknowledged, per source partition (since this process started).',
      ['link', 'topic', 'partition']
    )
    const bytes = counter(
      'kafka_dr_replicated_bytes_total',
      'Bytes of copied records (key, value, headers and record overhead), per source partition.',
      ['link', 'topic', 'partition']
    )
    const lagRecords = gauge(
      'kafka_dr_lag_records',
      'Records on the source partition not yet on the target (source high watermark minus replicated offset).',
      ['link', 'topic', 'partition']
    )
    const lagBytes = gauge(
      'kafka_dr_lag_bytes',
      'Estimated bytes not yet on the target: lag in records times the average size of records copied so far.',
      ['link', 'topic', 'partition']
    )
    const lagSeconds = gauge(
      'kafka_dr_lag_seconds',
      'Age of the oldest record not yet on the target (0 when caught up; absent while it is not known).',
      ['link', 'topic', 'partition']
    )
    const partitionState = gauge(
      'kafka_dr_partition_state',
      '1 for the state the partition is in: running, retrying (fetches refused, e.g. by an ACL; see the reason), paused (kafka-dr pause; its lag keeps being measured), errored or source-deleted.',
      ['link', 'topic', 'partition', 'state']
    )
    const fetchError = gauge(
      'kafka_dr_partition_fetch_error',
      "1 while the partition's fetches fail, or stopped it, with this source broker error (e.g. TOPIC_AUTHORIZATION_FAILED).",
      ['link', 'topic', 'partition', 'error']
    )
    const linkState = gauge(
      'kafka_dr_link_state',
      '1 for the state the link is in: starting, running, stopping, stopped, failed or fenced.',
      ['link', 'state']
    )
    const checkpointAge = gauge(
      'kafka_dr_checkpoint_age_seconds',
      'Age of the newest offset-translation checkpoint of a consumer group.',
      ['link', 'group']
    )
    const checkpointExact = gauge(
      'kafka_dr_checkpoint_exact',
      '1 when every partition of the group translates exactly (the target offset is the copy of the source offset), else 0.',
      ['link', 'group']
    )
    const schemaSubjects = gauge(
      'kafka_dr_schema_subjects',
      'Schema Registry subjects of the link by sync state: in_sync, pending, failed.',
      ['link', 'state']
    )
    const schemaVersions = gauge(
      'kafka_dr_schema_versions',
      'Schema versions of the link by sync state: in_sync, pending, soft_deleted (on the source, not copied).',
      ['link', 'state']
    )
    const up = gauge(
      'kafka_dr_up',
      '1 for every link this process runs (set on each scrape, with every status-derived metric).',
      ['link']
    )
    const workerPartitions = gauge(
      'kafka_dr_worker_partitions',
      "Partitions of the link this worker copies (its share of the link's worker group).",
      ['link']
    )
    const workerLeader = gauge(
      'kafka_dr_worker_leader',
      "1 when this worker leads the link's worker group (it runs the topic, config and schema sync).",
      ['link']
    )
    const workerMembers = gauge('kafka_dr_worker_members', "Workers in the link's worker group.", ['link'])
    const workerGeneration = gauge(
      'kafka_dr_worker_generation',
      "The worker group's generation this worker holds its partitions in (it grows at each rebalance).",
      ['link']
    )
    this.#refresh = () => {
      const now = Date.now()
      for (const g of [workerPartitions, workerLeader, workerMembers, workerGeneration]) g.reset()
      for (const g of [lagRecords, lagBytes, lagSeconds, partitionState, linkState, checkpointAge, checkpointExact]) {
        g.reset()
      }
      fetchError.reset()
      schemaSubjects.reset()
      schemaVersions.reset()
      up.reset()
      for (const l of status()) {
        up.set({ link: l.link }, 1)
        if (l.worker !== undefined) {
          workerPartitions.set({ link: l.link }, l.worker.owned)
          workerLeader.set({ link: l.link }, l.worker.leader ? 1 : 0)
          workerMembers.set({ link: l.link }, l.worker.members.length)
          workerGeneration.set({ link: l.link }, l.worker.generation)
        }
        linkState.set({ link: l.link, state: l.state }, 1)
        for (const p of l.partitions) {
          const labels = { link: l.link, topic: p.topic, partition: String(p.partition) }
          this.#advance(records, 'records', labels, p.replicatedRecords)
          this.#advance(bytes, 'bytes', labels, p.replicatedBytes)
          const lag = partitionLag(p, now)
          lagRecords.set(labels, lag.records)
          lagBytes.set(labels, lag.bytes ?? 0)
          if (lag.seconds !== null) lagSeconds.set(labels, lag.seconds)
          partitionState.set({ ...labels, state: p.state }, 1)
          if (p.fetchError !== null) fetchError.set({ ...labels, error: p.fetchError }, 1)
        }
        for (const g of l.groups) {
          if (g.lastCheckpointAt !== null) {
            checkpointAge.set({ link: l.link, group: g.group }, Math.max(0, (now - g.lastCheckpointAt) / 1000))
          }
          checkpointExact.set({ link: l.link, group: g.group }, g.exact ? 1 : 0)
        }
        if (l.schemas !== null) {
          const t = l.schemas.totals
          schemaSubjects.set({ link: l.link, state: 'in_sync' }, t.subjects - t.failed - countPending(l))
          schemaSubjects.set({ link: l.link, state: 'pending' }, countPending(l))
          schemaSubjects.set({ link: l.link, state: 'failed' }, t.failed)
          schemaVersions.set({ link: l.link, state: 'in_sync' }, t.inSync)
          schemaVersions.set({ link: l.link, state: 'pending' }, t.pending)
          schemaVersions.set({ link: l.link, state: 'soft_deleted' }, t.softDeleted)
        }
      }
    }
  }

  /** Every metric carries this process's worker id (scale-out: several workers export the same series). */
  setWorker(worker: string): void {
    this.registry.setDefaultLabels({ worker })
  }

  produced(link: string, seconds: number): void {
    this.#latency.observe({ link }, seconds)
  }

  error(link: string, kind: string): void {
    this.#errors.inc({ link, kind })
  }

  retry(link: string, operation: string): void {
    this.#retries.inc({ link, operation })
  }

  /** The outcome of a drill of one group (failover/drill.ts), as a scheduled drill in `replicate` ran it. */
  drillFinished(link: string, group: string, result: DrillOutcome): void {
    const labels = { link, group }
    this.#drills.result.set(labels, result.exact ? 1 : 0)
    if (result.rtoSeconds !== null) this.#drills.rto.set(labels, result.rtoSeconds)
    this.#drills.mismatches.set(labels, result.mismatches)
    this.#drills.time.set(labels, result.at / 1000)
  }

  /** Continuous verification of the link started: its last-success time starts at this time (epoch ms). */
  verifyStarted(link: string, at: number): void {
    this.#verify.lastSuccess.set({ link }, at / 1000)
  }

  /** One window of continuous verification: counted as checked, or as not checked (error). */
  verifyWindow(
    link: string,
    topic: string,
    found: { matched: number; missing: number; altered: number; error: boolean }
  ): void {
    const labels = { link, topic }
    if (found.error) {
      this.#verify.errors.inc(labels)
      return
    }
    this.#verify.windows.inc(labels)
    this.#verify.matched.inc(labels, found.matched)
    this.#verify.missing.inc(labels, found.missing)
    this.#verify.altered.inc(labels, found.altered)
  }

  /** A pass of continuous verification checked every window (epoch ms). */
  verifySucceeded(link: string, at: number): void {
    this.#verify.lastSuccess.set({ link }, at / 1000)
  }

  /** The Prometheus text exposition of every metric. */
  async text(): Promise<string> {
    this.#refresh()
    this.#acls()
    return this.registry.metrics()
  }

  get contentType(): string {
    return this.registry.contentType
  }

  /** Counters follow a total the engine keeps: add what grew since the last scrape. */
  #advance(
    counter: Counter<PartitionLabels>,
    name: string,
    labels: Record<PartitionLabels, string>,
    total: number
  ): void {
    const key = `${name}\u0000${labels.link}\u0000${labels.topic}\u0000${labels.partition}`
    const before = this.#exported.get(key) ?? 0
    if (total > before) counter.inc(labels, total - before)
    this.#exported.set(key, Math.max(before, total))
  }
}

/**
 * What a partition misses on the target: records; bytes, estimated as records times the average size
 * copied so far (null before anything was copied); seconds, the age of the oldest missing record (0
 * when caught up, null while that record is not fetched yet). Metrics and dashboard both show these.
 */
export function partitionLag(
  p: PartitionStatus,
  now: number
): { records: number; bytes: number | null; seconds: number | null } {
  const records = Number(p.lagRecords)
  return {
    records,
    bytes: p.replicatedRecords === 0 ? null : Math.round((records * p.replicatedBytes) / p.replicatedRecords),
    seconds:
      records === 0
        ? 0
        : p.oldestUnreplicatedTimestamp >= 0
          ? Math.max(0, (now - p.oldestUnreplicatedTimestamp) / 1000)
          : null
  }
}

function countPending(link: LinkStatus): number {
  return link.schemas?.subjects.filter(s => s.failed === null && s.pending > 0).length ?? 0
}

/** What the metrics keep of a drill of one group. */
export interface DrillOutcome {
  /** The group would resume exactly (nothing mismatched, skipped or re-read, no error). */
  exact: boolean
  /** Translate plus time to the first record read on the target; null when the drill failed before. */
  rtoSeconds: number | null
  /** Records mismatched, skipped or re-read, over the group's partitions. */
  mismatches: number
  /** When the drill ended (epoch ms). */
  at: number
}

function drillGauges(registry: Registry): Record<'result' | 'rto' | 'mismatches' | 'time', Gauge<'link' | 'group'>> {
  const gauge = (name: string, help: string): Gauge<'link' | 'group'> =>
    new Gauge({ name, help, labelNames: ['link', 'group'], registers: [registry] })
  return {
    result: gauge(
      'kafka_dr_drill_last_result',
      '1 when the last scheduled DR drill found that the group would resume exactly on the target, else 0.'
    ),
    rto: gauge(
      'kafka_dr_drill_rto_seconds',
      'Measured RTO of the last drill of the group: offset translation plus time to the first record read on the target.'
    ),
    mismatches: gauge(
      'kafka_dr_drill_mismatches',
      'Records of the last drill of the group that would not resume exactly: mismatched, skipped or re-read.'
    ),
    time: gauge('kafka_dr_drill_last_timestamp_seconds', 'When the last drill of the group ended (Unix time).')
  }
}

/**
 * Continuous verification. Counters per link and topic (not per partition: a window per partition
 * and pass would multiply the series by the partitions for little gain; the log and the dashboard
 * name the partition). A record missing or altered is counted again by every pass whose window holds it.
 */
function verifyMetrics(registry: Registry) {
  const counter = (name: string, help: string): Counter<'link' | 'topic'> =>
    new Counter({ name, help, labelNames: ['link', 'topic'], registers: [registry] })
  return {
    windows: counter(
      'kafka_dr_verify_windows_total',
      'Windows of recently replicated records compared with their copies on the target by continuous verification (one per partition and pass).'
    ),
    matched: counter(
      'kafka_dr_verify_records_matched_total',
      'Source records of verified windows whose copy on the target is identical (key, value, headers, timestamp).'
    ),
    missing: counter(
      'kafka_dr_verify_records_missing_total',
      'Source records of verified windows that the link claims to have replicated but that have no copy on the target.'
    ),
    altered: counter(
      'kafka_dr_verify_records_altered_total',
      'Source records of verified windows with a copy on the target that differs from the source record.'
    ),
    errors: counter(
      'kafka_dr_verify_window_errors_total',
      'Windows continuous verification could not check (a cluster did not answer, or the read bound was reached).'
    ),
    lastSuccess: new Gauge({
      name: 'kafka_dr_verify_last_success_timestamp_seconds',
      help: 'When a pass of continuous verification last checked every window of the link (Unix time); the start of verification before the first such pass.',
      labelNames: ['link'],
      registers: [registry]
    })
  }
}

/** ACL sync's counters and last-success gauge per link; returns what a scrape calls to bring them up to date. */
function aclSyncMetrics(registry: Registry): () => void {
  const counter = (name: string, help: string): Counter<'link'> =>
    new Counter({ name, help, labelNames: ['link'], registers: [registry] })
  const counters = {
    created: counter('kafka_dr_acl_sync_created_total', 'ACL bindings ACL sync created on the target.'),
    deleted: counter(
      'kafka_dr_acl_sync_deleted_total',
      'ACL bindings ACL sync deleted from the target (ones it created that no longer derive from the source).'
    ),
    errors: counter('kafka_dr_acl_sync_errors_total', 'ACL sync passes, or single ACL changes, that failed.')
  }
  const lastSuccess = new Gauge({
    name: 'kafka_dr_acl_sync_last_success_timestamp_seconds',
    help: 'When an ACL sync pass of the link last completed without an error (Unix time).',
    labelNames: ['link'],
    registers: [registry]
  })
  const exported = new Map<string, number>()
  return () => {
    for (const [link, totals] of allAclSyncTotals()) {
      for (const kind of ['created', 'deleted', 'errors'] as const) {
        const key = `${kind}\u0000${link}`
        const before = exported.get(key) ?? 0
        if (totals[kind] > before) counters[kind].inc({ link }, totals[kind] - before)
        exported.set(key, Math.max(before, totals[kind]))
      }
      if (totals.lastSuccessAt !== null) lastSuccess.set({ link }, totals.lastSuccessAt / 1000)
    }
  }
}
