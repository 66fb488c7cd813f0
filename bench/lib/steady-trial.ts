import { Worker } from 'node:worker_threads'
import { setTimeout as sleep } from 'node:timers/promises'
import { KafkaAdmin } from '../../src/kafka/index.ts'
import { wipe } from '../../tools/harness/harness.ts'
import { PacedProducer, sourceOf } from './load.ts'
import { cpuSeconds, memory } from './proc.ts'
import { type ConfigName, type RunningReplicator, isExactlyOnce } from './replicators.ts'
import { percentile } from './stats.ts'
import {
  type BenchClusters,
  CpuWindow,
  GIB,
  type LatencyFigures,
  type TrialOptions,
  type TrialResult,
  emptyResult,
  endOffsets,
  startTrialReplicator,
  stripTimestamps,
  sum,
  targetEndOffsets,
  waitForLeaders
} from './trial.ts'
import { readTimestamps, verifyTarget } from './verify.ts'
import { type SteadyWorkload } from './workloads.ts'

/**
 * A steady trial: records produced at a fixed rate while the replicator runs; replication latency
 * from a tailing consumer on the target (read_committed), lag and drain from the target's committed
 * end offsets. Under exactly-once those offsets also count one control record per partition and
 * transaction (W5: 200 partitions, a commit every 200 ms, against 2,000 records/s), so lag and
 * drain come from the records the tailing consumer has seen instead.
 */

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
  const exactlyOnce = isExactlyOnce(config)
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
      const offsets = await targetEndOffsets(target, topic, partitions)
      if (offsets?.every(o => o >= 1) === true) break
      if (performance.now() - started > 180_000) throw new Error(`${config} did not copy the gate records in 180 s`)
      await sleep(100)
    }
    result.startupSeconds = (performance.now() - started) / 1000
    tail = new TailingReader(clusters.targetBootstrap, topic, workload.partitions)
    await tail.ready
    await tail.waitFor(workload.partitions, 30_000)
    const reader = tail
    const measureFrom = Date.now() + workload.warmupMs
    const cpuStart = cpuSeconds(pid) ?? NaN
    const window = new CpuWindow(clusters)
    window.start()
    let maxLag = 0
    let producing = true
    const lagSampler = (async () => {
      while (producing) {
        // Exactly-once: the records the tailing consumer has seen (from the start, the gate's too, as
        // the source's end offsets count them), up to 100 ms old.
        const [s, onTarget] = await Promise.all([
          endOffsets(source, topic, partitions),
          exactlyOnce
            ? reader.seen
            : targetEndOffsets(target, topic, partitions).then(t => (t === null ? null : sum(t)))
        ])
        if (s !== null && onTarget !== null) maxLag = Math.max(maxLag, sum(s) - onTarget)
        await sleep(1000)
      }
    })()
    const phaseStart = performance.now()
    const produced = await producer.run(ratePerSecond, workload.durationMs)
    const phaseSeconds = (performance.now() - phaseStart) / 1000
    window.stop(result)
    const producedEnd = performance.now()
    const producedEndWall = Date.now()
    producing = false
    const perPartition = [...producer.next]
    const total = sum(perPartition)
    for (;;) {
      if (exactlyOnce) {
        if (reader.seen >= total) break
      } else {
        const offsets = await targetEndOffsets(target, topic, partitions)
        if (offsets !== null && sum(offsets) >= total) break
      }
      if (performance.now() - producedEnd > 120_000) throw new Error(`${config} did not catch up within 120 s`)
      await sleep(50)
    }
    // Exactly-once: set from the last arrival below (the consumer reports its count every 100 ms).
    result.drainMs = performance.now() - producedEnd
    // Only now: the sampler ends after its current 1 s pause, which must not count as drain time.
    await lagSampler
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
    if (exactlyOnce) result.drainMs = Math.max(0, lastArrival(arrivals) - producedEndWall)
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
        timestampBase: null,
        exactlyOnce
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

function lastArrival(arrivals: TailResult[]): number {
  let last = -Infinity
  for (const partition of arrivals) for (const t of partition.received) last = Math.max(last, t)
  return last
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
