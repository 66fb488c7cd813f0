import { cpus } from 'node:os'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { setTimeout as sleep } from 'node:timers/promises'
import { KafkaAdmin } from '../../src/kafka/index.ts'
import { ownedPid, wipe } from '../../tools/harness/harness.ts'
import { PacedProducer, sourceOf } from './load.ts'
import { cpuSeconds, hostBusySeconds, memory } from './proc.ts'
import { type ConfigName, type RunningReplicator, startReplicator } from './replicators.ts'
import { crossing, percentile, valueAt } from './stats.ts'
import { type TargetCheck, readTimestamps, verifyTarget } from './verify.ts'
import { type CatchUpWorkload, type SteadyWorkload, type Workload } from './workloads.ts'

/**
 * One trial: an empty target cluster, one replicator process, one workload, measured from outside
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
}

/** The trial's replicator, reading the source directly or through the delay proxy (W6). */
function startTrialReplicator(
  clusters: BenchClusters,
  workload: Workload,
  topic: string,
  config: ConfigName,
  dir: string,
  options: TrialOptions
): RunningReplicator {
  return startReplicator({
    config,
    sourceBootstrap: workload.sourceDelayMs > 0 ? clusters.delayedSourceBootstrap : clusters.sourceBootstrap,
    targetBootstrap: clusters.targetBootstrap,
    topic,
    partitions: workload.partitions,
    compression: workload.writeCompression,
    dir,
    profile: options.profile,
    linkExtra: options.linkExtra
  })
}

/** CPU of the machine and of both brokers between start() and stop(), as percentages. */
class CpuWindow {
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

const GIB = 1024 ** 3

function emptyResult(workload: Workload, config: ConfigName, round: number): TrialResult {
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

async function endOffsets(admin: KafkaAdmin, topic: string, partitions: number[]): Promise<number[] | null> {
  try {
    const offsets = await admin.listOffsets(topic, partitions, 'latest')
    return partitions.map(p => Number(offsets.get(p) ?? 0n))
  } catch {
    return null // the topic does not exist yet
  }
}

const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0)

function stripTimestamps(check: TargetCheck): Omit<TargetCheck, 'timestamps'> {
  const rest = { ...check }
  delete rest.timestamps
  return rest
}

export async function catchUpTrial(
  clusters: BenchClusters,
  workload: CatchUpWorkload,
  topic: string,
  timestampBase: number,
  config: ConfigName,
  round: number,
  dir: string,
  options: TrialOptions
): Promise<TrialResult> {
  const result = emptyResult(workload, config, round)
  const partitions = [...Array(workload.partitions).keys()]
  const total = workload.recordsPerPartition * workload.partitions
  await wipe(clusters.targetIndex)
  const target = new KafkaAdmin({ alias: 'bench-target', bootstrap: [clusters.targetBootstrap] })
  let replicator: RunningReplicator | null = null
  try {
    const started = performance.now()
    replicator = startTrialReplicator(clusters, workload, topic, config, dir, options)
    result.command = replicator.command
    const pid = replicator.pid
    let exitCode: number | null | undefined
    void replicator.exited.then(code => (exitCode = code))
    const copied: { t: number; value: number }[] = []
    const cpu: { t: number; value: number }[] = []
    // Machine and broker CPU are taken from the first to the last record on the target.
    const window = new CpuWindow(clusters)
    let windowStarted = false
    let lastProgress = started
    let last = 0
    for (;;) {
      const offsets = await endOffsets(target, topic, partitions)
      const now = performance.now()
      const value = offsets === null ? 0 : sum(offsets)
      const cpuNow = cpuSeconds(pid)
      copied.push({ t: now, value })
      if (cpuNow !== null) cpu.push({ t: now, value: cpuNow })
      if (value > last) {
        last = value
        lastProgress = now
      }
      if (!windowStarted && value > 0) {
        window.start()
        windowStarted = true
      }
      if (value >= total) {
        window.stop(result)
        break
      }
      if (exitCode !== undefined) throw new Error(`${config} exited with code ${exitCode} before copying everything`)
      const stalledFor = now - lastProgress
      if (stalledFor > (value === 0 ? 180_000 : 60_000)) {
        throw new Error(
          `${config} stalled: ${value} of ${total} records after ${((now - started) / 1000).toFixed(0)} s`
        )
      }
      await sleep(100)
    }
    const mem = memory(pid)
    result.peakRssMiB = mem?.peakRssMiB ?? NaN
    result.cpuSecondsTotal = cpuSeconds(pid) ?? NaN
    const t10 = crossing(copied, total * 0.1)!
    const t90 = crossing(copied, total * 0.9)!
    const first = crossing(copied, 1)!
    const end = copied.at(-1)!.t
    const windowSeconds = (t90 - t10) / 1000
    const windowRecords = total * 0.8
    result.records = total
    result.bytes = total * workload.recordBytes
    result.recordsPerSecond = windowRecords / windowSeconds
    result.mbPerSecond = (result.recordsPerSecond * workload.recordBytes) / 1e6
    const windowCpu = (valueAt(cpu, t90) ?? NaN) - (valueAt(cpu, t10) ?? NaN)
    result.cpuSecondsPerGiB = windowCpu / ((windowRecords * workload.recordBytes) / GIB)
    result.startupSeconds = (first - started) / 1000
    result.totalSeconds = (end - started) / 1000
    await replicator.stop()
    replicator = null
    const check = await verifyTarget(
      { bootstrap: clusters.targetBootstrap, topic },
      {
        partitions: workload.partitions,
        perPartition: partitions.map(() => workload.recordsPerPartition),
        recordBytes: workload.recordBytes,
        payload: workload.payload,
        timestampBase
      },
      false
    )
    result.check = stripTimestamps(check)
    result.valid = check.valid
    if (!check.valid) result.error = `invalid: ${check.firstProblem}`
  } catch (error) {
    result.error = error instanceof Error ? error.message : String(error)
  } finally {
    await replicator?.stop()
    await target.close()
  }
  return result
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

interface TailResult {
  partition: number
  offsets: Float64Array
  timestamps: Float64Array
  received: Float64Array
}

/** The tailing consumer of tail-worker.ts: started after the gate, stopped once it saw everything. */
class TailingReader {
  readonly #worker: Worker
  seen = 0
  readonly ready: Promise<void>

  constructor(bootstrap: string, topic: string, partitions: number) {
    this.#worker = new Worker(new URL('./tail-worker.ts', import.meta.url), {
      workerData: { bootstrap, topic, partitions }
    })
    this.ready = new Promise(resolve => {
      this.#worker.on('message', (message: { ready?: boolean; seen?: number }) => {
        if (message.ready === true) resolve()
        if (message.seen !== undefined) this.seen = message.seen
      })
    })
  }

  async waitFor(total: number, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs
    while (this.seen < total) {
      if (performance.now() > deadline) throw new Error(`the tailing consumer saw ${this.seen} of ${total} records`)
      await sleep(50)
    }
  }

  async stop(): Promise<TailResult[]> {
    const done = new Promise<TailResult[]>(resolve => {
      this.#worker.on('message', (message: { result?: TailResult[] }) => {
        if (message.result !== undefined) resolve(message.result)
      })
    })
    this.#worker.postMessage({ stop: true })
    const result = await done
    await this.#worker.terminate()
    return result
  }

  async terminate(): Promise<void> {
    await this.#worker.terminate()
  }
}

export async function steadyTrial(
  clusters: BenchClusters,
  workload: SteadyWorkload,
  ratePerSecond: number,
  topic: string,
  config: ConfigName,
  round: number,
  dir: string,
  options: TrialOptions
): Promise<TrialResult> {
  const result = emptyResult(workload, config, round)
  const partitions = [...Array(workload.partitions).keys()]
  await wipe(clusters.targetIndex)
  const source = new KafkaAdmin({ alias: 'bench-source', bootstrap: [clusters.sourceBootstrap] })
  const target = new KafkaAdmin({ alias: 'bench-target', bootstrap: [clusters.targetBootstrap] })
  let replicator: RunningReplicator | null = null
  let tail: TailingReader | null = null
  const producer = new PacedProducer(sourceOf(clusters.sourceBootstrap, topic, workload))
  try {
    // The source stamps each record with its append time; both replicators carry that timestamp
    // to the target, where a tailing consumer notes when each record arrives.
    await source.createTopics([
      { name: topic, partitions: workload.partitions, configs: { 'message.timestamp.type': 'LogAppendTime' } }
    ])
    await waitForLeaders(source, topic, workload.partitions)
    // The target topic exists before the replicator starts (both tools use an existing one), so the
    // broker's work of creating hundreds of partitions is not part of the latency.
    await target.createTopics([{ name: topic, partitions: workload.partitions }])
    await waitForLeaders(target, topic, workload.partitions)
    const started = performance.now()
    replicator = startTrialReplicator(clusters, workload, topic, config, dir, options)
    result.command = replicator.command
    const pid = replicator.pid
    // Gate: one record per partition, copied, before the measured phase.
    await producer.sendOneEach()
    for (;;) {
      const offsets = await endOffsets(target, topic, partitions)
      if (offsets?.every(o => o >= 1) === true) break
      if (performance.now() - started > 180_000) throw new Error(`${config} did not copy the gate records in 180 s`)
      await sleep(100)
    }
    result.startupSeconds = (performance.now() - started) / 1000
    tail = new TailingReader(clusters.targetBootstrap, topic, workload.partitions)
    await tail.ready
    await tail.waitFor(workload.partitions, 30_000)
    const measureFrom = Date.now() + workload.warmupMs
    const cpuStart = cpuSeconds(pid) ?? NaN
    const window = new CpuWindow(clusters)
    window.start()
    let maxLag = 0
    let producing = true
    const lagSampler = (async () => {
      while (producing) {
        const [s, t] = await Promise.all([endOffsets(source, topic, partitions), endOffsets(target, topic, partitions)])
        if (s !== null && t !== null) maxLag = Math.max(maxLag, sum(s) - sum(t))
        await sleep(1000)
      }
    })()
    const phaseStart = performance.now()
    const produced = await producer.run(ratePerSecond, workload.durationMs)
    const phaseSeconds = (performance.now() - phaseStart) / 1000
    window.stop(result)
    const producedEnd = performance.now()
    producing = false
    await lagSampler
    const perPartition = [...producer.next]
    const total = sum(perPartition)
    for (;;) {
      const offsets = await endOffsets(target, topic, partitions)
      if (offsets !== null && sum(offsets) >= total) break
      if (performance.now() - producedEnd > 120_000) throw new Error(`${config} did not catch up within 120 s`)
      await sleep(50)
    }
    result.drainMs = performance.now() - producedEnd
    const cpuEnd = cpuSeconds(pid) ?? NaN
    result.peakRssMiB = memory(pid)?.peakRssMiB ?? NaN
    result.cpuSecondsTotal = cpuEnd
    result.maxLagRecords = maxLag
    result.records = produced.records
    result.bytes = produced.records * workload.recordBytes
    result.recordsPerSecond = produced.records / phaseSeconds
    result.mbPerSecond = (result.recordsPerSecond * workload.recordBytes) / 1e6
    result.cpuSecondsPerGiB = (cpuEnd - cpuStart) / (result.bytes / GIB)
    result.totalSeconds = (performance.now() - started) / 1000
    await tail.waitFor(total, 30_000)
    const arrivals = await tail.stop()
    tail = null
    if (produced.lateMs > workload.durationMs / 10) {
      throw new Error(
        `the load generator fell behind its rate for ${produced.lateMs} ms: the trial is not at the rate asked`
      )
    }
    await replicator.stop()
    replicator = null
    const check = await verifyTarget(
      { bootstrap: clusters.targetBootstrap, topic },
      {
        partitions: workload.partitions,
        perPartition,
        recordBytes: workload.recordBytes,
        payload: workload.payload,
        timestampBase: null
      },
      true
    )
    result.check = stripTimestamps(check)
    result.valid = check.valid
    if (!check.valid) {
      result.error = `invalid: ${check.firstProblem}`
    } else {
      // The latency method needs the source append time on the target records: check it is there.
      const sourceTimes = await readTimestamps({ bootstrap: clusters.sourceBootstrap, topic }, perPartition)
      const mismatch = firstTimestampMismatch(sourceTimes, check.timestamps!)
      if (mismatch === null) {
        result.latency = latencies(arrivals, measureFrom)
      } else {
        result.valid = false
        result.error = `invalid: ${mismatch}`
      }
    }
  } catch (error) {
    result.error = error instanceof Error ? error.message : String(error)
  } finally {
    await tail?.terminate()
    await replicator?.stop()
    await producer.close()
    await source.deleteTopics([topic]).catch(() => {})
    await Promise.all([source.close(), target.close()])
  }
  return result
}

function firstTimestampMismatch(source: Float64Array[], target: Float64Array[]): string | null {
  for (let p = 0; p < source.length; p++) {
    const s = source[p]!
    const t = target[p]!
    for (let i = 0; i < s.length; i++) {
      if (s[i] !== t[i]) return `target record ${i} of partition ${p} has timestamp ${t[i]}, the source ${s[i]}`
    }
  }
  return null
}

/**
 * Arrival on the target (tailing consumer, wall clock) minus the source append time carried in the
 * record, for each record the source appended at or after `measureFrom`; 1 ms resolution.
 */
function latencies(arrivals: TailResult[], measureFrom: number): LatencyFigures {
  const values: number[] = []
  const bySecond = new Map<number, number[]>()
  for (const partition of arrivals) {
    for (let i = 0; i < partition.timestamps.length; i++) {
      const appended = partition.timestamps[i]!
      if (appended < measureFrom) continue
      const latency = partition.received[i]! - appended
      values.push(latency)
      const second = Math.floor((appended - measureFrom) / 1000)
      let list = bySecond.get(second)
      if (list === undefined) bySecond.set(second, (list = []))
      list.push(latency)
    }
  }
  const sorted = Float64Array.from(values).sort()
  const perSecond = [...bySecond]
    .sort((a, b) => a[0] - b[0])
    .map(([second, list]) => {
      const s = Float64Array.from(list).sort()
      return { second, p50: percentile(s, 0.5), p99: percentile(s, 0.99), max: s.at(-1) ?? NaN }
    })
  return {
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    p999: percentile(sorted, 0.999),
    max: sorted.at(-1) ?? NaN,
    samples: sorted.length,
    perSecond
  }
}

export function trialDir(runDir: string, workload: string, config: ConfigName, round: number): string {
  return join(runDir, workload, `${config}-${round}`)
}
