import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { type EngineEvents, type LinkStatus, type PartitionStatus } from '../engine-events/index.ts'

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
      '1 for the state the partition is in: running, retrying (fetches refused, e.g. by an ACL; see the reason), errored or source-deleted.',
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

  /** The Prometheus text exposition of every metric. */
  async text(): Promise<string> {
    this.#refresh()
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
