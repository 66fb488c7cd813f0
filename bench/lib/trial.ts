import { cpus } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { type KafkaAdmin } from '../../src/kafka/index.ts'
import { ownedPid } from '../../tools/harness/harness.ts'
import { cpuSeconds, hostBusySeconds } from './proc.ts'
import { type DepartureFigures } from './departure.ts'
import { type WorkerFigures } from './replicator-set.ts'
import { type ConfigName } from './replicators.ts'
import { type TargetCheck } from './verify.ts'
import { type Workload } from './workloads.ts'

/**
 * One trial: an empty target cluster, one replicator process (scale-out: several kafka-dr workers),
 * one workload, measured from outside
 * (target end offsets by listOffsets, /proc for CPU and memory, broker timestamps for latency) and
 * then checked record by record with kcat.
 */

export interface TrialOptions {
  /** kafka-dr trials: CPU profile and/or memory and event-loop samples in the trial folder. */
  profile: 'cpu' | 'memory' | null
  /** kafka-dr trials: extra link settings (YAML lines). */
  linkExtra: string[]
}

export interface BenchClusters {
  sourceIndex: number
  sourceBootstrap: string
  /** The source reached through the delay proxy (its DELAYED listener). */
  delayedSourceBootstrap: string
  targetIndex: number
  targetBootstrap: string
}

export interface LatencyFigures {
  p50: number
  p99: number
  p999: number
  max: number
  samples: number
  /** Per second of source append time: p50, p99 and max, to see whether slow records cluster. */
  perSecond: { second: number; p50: number; p99: number; max: number }[]
}

export interface TrialResult {
  workload: string
  config: ConfigName
  round: number
  valid: boolean
  error: string | null
  check: Omit<TargetCheck, 'timestamps'> | null
  records: number
  bytes: number
  /** Catch-up: between 10 % and 90 % of the records on the target. Steady: the produced rate. */
  mbPerSecond: number
  recordsPerSecond: number
  /** CPU seconds of the replicator process per GiB copied, over the measured window. */
  cpuSecondsPerGiB: number
  /** CPU seconds of the replicator process over its whole life (start-up included). */
  cpuSecondsTotal: number
  peakRssMiB: number
  /** From process start to the first record on the target. */
  startupSeconds: number
  /** From process start to the last record on the target. */
  totalSeconds: number
  latency: LatencyFigures | null
  /** Steady workloads: largest sampled lag (source end minus target end), records. */
  maxLagRecords: number | null
  /** Steady workloads: from the last produced record to the target holding everything, ms. */
  drainMs: number | null
  /** Over the measured window: busy share of all cores of the machine, and each broker's CPU share of one core. */
  hostBusyPercent: number
  sourceBrokerCpuPercent: number
  targetBrokerCpuPercent: number
  command: string
  /** Scale-out workloads (W7, W8) only: the trial's workers and what their group did. */
  scaleOut?: ScaleOutFigures
}

/**
 * A scale-out trial. Its CPU figures (cpuSecondsPerGiB, cpuSecondsTotal) are sums over the workers;
 * peakRssMiB is the largest worker's, and each worker's is here.
 */
export interface ScaleOutFigures {
  workers: WorkerFigures[]
  /**
   * From the start of the processes to the last `partitions acquired` or `partitions released` line
   * of any worker (before a departure): when the group stopped moving partitions, s.
   */
  groupSettledSeconds: number
  /** W8: one worker leaving mid-run. */
  departure: DepartureFigures | null
}

/** CPU of the machine and of both brokers between start() and stop(), as percentages. */
export class CpuWindow {
  readonly #pids: (number | null)[]
  #t0 = 0
  #host0 = 0
  #brokers0: number[] = []
  constructor(clusters: BenchClusters) {
    this.#pids = [ownedPid(clusters.sourceIndex), ownedPid(clusters.targetIndex)]
  }
  start(): void {
    this.#t0 = performance.now()
    this.#host0 = hostBusySeconds()
    this.#brokers0 = this.#pids.map(pid => (pid === null ? NaN : (cpuSeconds(pid) ?? NaN)))
  }
  stop(result: TrialResult): void {
    const seconds = (performance.now() - this.#t0) / 1000
    result.hostBusyPercent = ((hostBusySeconds() - this.#host0) / seconds / cpus().length) * 100
    const [source, target] = this.#pids.map((pid, i) =>
      pid === null ? NaN : (((cpuSeconds(pid) ?? NaN) - this.#brokers0[i]!) / seconds) * 100
    )
    result.sourceBrokerCpuPercent = source ?? NaN
    result.targetBrokerCpuPercent = target ?? NaN
  }
}

export const GIB = 1024 ** 3

export function emptyResult(workload: Workload, config: ConfigName, round: number): TrialResult {
  return {
    workload: workload.id,
    config,
    round,
    valid: false,
    error: null,
    check: null,
    records: 0,
    bytes: 0,
    mbPerSecond: NaN,
    recordsPerSecond: NaN,
    cpuSecondsPerGiB: NaN,
    cpuSecondsTotal: NaN,
    peakRssMiB: NaN,
    startupSeconds: NaN,
    totalSeconds: NaN,
    latency: null,
    maxLagRecords: null,
    drainMs: null,
    hostBusyPercent: NaN,
    sourceBrokerCpuPercent: NaN,
    targetBrokerCpuPercent: NaN,
    command: ''
  }
}

/** End offsets of a topic written without transactions (the source), or null while it does not exist. */
export async function endOffsets(
  admin: KafkaAdmin,
  topic: string,
  partitions: number[],
  isolation: 'read_uncommitted' | 'read_committed' = 'read_uncommitted'
): Promise<number[] | null> {
  try {
    const offsets = await admin.listOffsets(topic, partitions, 'latest', isolation)
    return partitions.map(p => Number(offsets.get(p) ?? 0n))
  } catch {
    return null // the topic does not exist yet
  }
}

/**
 * End offsets of the target as a read_committed consumer sees them: the last stable offset, below
 * which every transaction is decided. For a target written without transactions (MirrorMaker 2,
 * kafka-dr at-least-once) it is the high watermark, so every configuration is measured the same
 * way; under exactly-once it moves only when a transaction commits, so progress counts what readers
 * can see. It is an offset, not a record count: each transaction adds one control record to every
 * partition it wrote (so the end of a catch-up is confirmed by targetComplete in verify.ts).
 */
export function targetEndOffsets(target: KafkaAdmin, topic: string, partitions: number[]): Promise<number[] | null> {
  return endOffsets(target, topic, partitions, 'read_committed')
}

export const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0)

export function stripTimestamps(check: TargetCheck): Omit<TargetCheck, 'timestamps'> {
  const rest = { ...check }
  delete rest.timestamps
  return rest
}

/** Waits until every partition of a new topic has a leader that accepts writes. */
export async function waitForLeaders(admin: KafkaAdmin, topic: string, partitions: number): Promise<void> {
  const deadline = Date.now() + 60_000
  for (;;) {
    const [description] = await admin.describeTopics([topic])
    if (description?.partitions.length === partitions && description.partitions.every(p => p.leader >= 0)) return
    if (Date.now() > deadline) throw new Error(`topic ${topic} has no leader for every partition after 60 s`)
    await sleep(200)
  }
}

/** A trial's folder; scale-out trials (`workers` given) are told apart by their worker count. */
export function trialDir(
  runDir: string,
  workload: string,
  config: ConfigName,
  round: number,
  workers: number | null = null
): string {
  return join(runDir, workload, workers === null ? `${config}-${round}` : `${config}-${workers}w-${round}`)
}
