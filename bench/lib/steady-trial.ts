import { setTimeout as sleep } from 'node:timers/promises'
import { KafkaAdmin } from '../../src/kafka/index.ts'
import { wipe } from '../../tools/harness/harness.ts'
import { type Departure, completeDeparture, departure } from './departure.ts'
import { PacedProducer, sourceOf } from './load.ts'
import { ReplicatorSet } from './replicator-set.ts'
import { type ConfigName, isExactlyOnce } from './replicators.ts'
import { TailingReader, firstTimestampMismatch, lastArrival, latencies } from './tailing-reader.ts'
import {
  type BenchClusters,
  CpuWindow,
  GIB,
  type TrialOptions,
  type TrialResult,
  emptyResult,
  endOffsets,
  stripTimestamps,
  sum,
  targetEndOffsets,
  waitForLeaders
} from './trial.ts'
import { readTimestamps, verifyTarget } from './verify.ts'
import { type SteadyWorkload, isScaleOut } from './workloads.ts'

/**
 * A steady trial: records produced at a fixed rate while the replicator runs; replication latency
 * from a tailing consumer on the target (read_committed), lag and drain from the target's committed
 * end offsets. Under exactly-once those offsets also count one control record per partition and
 * transaction (W5: 200 partitions, a commit every 200 ms, against 2,000 records/s), so lag and
 * drain come from the records the tailing consumer has seen instead.
 *
 * Scale-out (W8): several kafka-dr workers share the link, their CPU summed; with a departure, one
 * of them gets SIGTERM mid-run (departure.ts), and latency and CPU per GiB cover the time before
 * the signal, while every worker ran.
 */

/** The latency window of a trial with a departure ends this long before the signal. */
const DEPARTURE_MARGIN_MS = 1000

interface SteadyRun {
  config: ConfigName
  workers: number
  round: number
  dir: string
}

/** Everything one trial holds open, so that the caller can close what was opened. */
interface Session {
  clusters: BenchClusters
  workload: SteadyWorkload
  topic: string
  partitions: number[]
  config: ConfigName
  source: KafkaAdmin
  target: KafkaAdmin
  producer: PacedProducer
  replicators: ReplicatorSet | null
  tail: TailingReader | null
}

/** What the produce phase leaves for the figures after it. */
interface Phase {
  produced: { records: number; lateMs: number }
  phaseSeconds: number
  perPartition: number[]
  /** Wall clock, ms: records appended from here count for latency; production ended. */
  measureFrom: number
  producedEndWall: number
  /** Replicators' summed CPU seconds and records produced over the measured part of the phase. */
  cpuSeconds: number
  records: number
  departure: Departure | null
}

export async function steadyTrial(
  clusters: BenchClusters,
  workload: SteadyWorkload,
  ratePerSecond: number,
  topic: string,
  run: SteadyRun,
  options: TrialOptions
): Promise<TrialResult> {
  const result = emptyResult(workload, run.config, run.round)
  await wipe(clusters.targetIndex)
  const s: Session = {
    clusters,
    workload,
    topic,
    partitions: [...Array(workload.partitions).keys()],
    config: run.config,
    source: new KafkaAdmin({ alias: 'bench-source', bootstrap: [clusters.sourceBootstrap] }),
    target: new KafkaAdmin({ alias: 'bench-target', bootstrap: [clusters.targetBootstrap] }),
    producer: new PacedProducer(sourceOf(clusters.sourceBootstrap, topic, workload)),
    replicators: null,
    tail: null
  }
  try {
    await createTopics(s)
    const started = performance.now()
    const startedWall = Date.now()
    const replicators = ReplicatorSet.start(clusters, workload, topic, run.config, run.dir, options, run.workers)
    s.replicators = replicators
    result.command = replicators.command
    await gate(s, started)
    result.startupSeconds = (performance.now() - started) / 1000
    await startTail(s)
    const phase = await producePhase(s, ratePerSecond, result)
    replicators.readMemory()
    result.peakRssMiB = replicators.maxPeakRssMiB()
    result.cpuSecondsTotal = replicators.cpuSeconds()
    result.records = phase.produced.records
    result.bytes = phase.produced.records * workload.recordBytes
    result.recordsPerSecond = phase.produced.records / phase.phaseSeconds
    result.mbPerSecond = (result.recordsPerSecond * workload.recordBytes) / 1e6
    result.cpuSecondsPerGiB = phase.cpuSeconds / ((phase.records * workload.recordBytes) / GIB)
    result.totalSeconds = (performance.now() - started) / 1000
    const total = sum(phase.perPartition)
    await s.tail!.waitFor(total, 30_000)
    const arrivals = await s.tail!.stop()
    s.tail = null
    if (isExactlyOnce(run.config)) result.drainMs = Math.max(0, lastArrival(arrivals) - phase.producedEndWall)
    if (isScaleOut(workload)) {
      result.scaleOut = {
        workers: replicators.figures(),
        groupSettledSeconds: replicators.groupSettledSeconds(startedWall, phase.departure?.signalledAt),
        departure: phase.departure === null ? null : completeDeparture(phase.departure, arrivals, phase.producedEndWall)
      }
    }
    if (phase.produced.lateMs > workload.durationMs / 10) {
      throw new Error(
        `the load generator fell behind its rate for ${phase.produced.lateMs} ms: the trial is not at the rate asked`
      )
    }
    await replicators.stop()
    await check(s, result, phase, arrivals)
  } catch (error) {
    result.error = error instanceof Error ? error.message : String(error)
  } finally {
    await s.tail?.terminate()
    await s.replicators?.stop()
    await s.producer.close()
    await s.source.deleteTopics([topic]).catch(() => {})
    await Promise.all([s.source.close(), s.target.close()])
  }
  return result
}

async function createTopics(s: Session): Promise<void> {
  const { name, partitions } = { name: s.topic, partitions: s.workload.partitions }
  // The source stamps each record with its append time; both replicators carry that timestamp
  // to the target, where a tailing consumer notes when each record arrives.
  await s.source.createTopics([{ name, partitions, configs: { 'message.timestamp.type': 'LogAppendTime' } }])
  await waitForLeaders(s.source, name, partitions)
  // The target topic exists before the replicator starts (both tools use an existing one), so the
  // broker's work of creating hundreds of partitions is not part of the latency.
  await s.target.createTopics([{ name, partitions }])
  await waitForLeaders(s.target, name, partitions)
}

/** One record per partition, copied, before the measured phase (start-up ends here). */
async function gate(s: Session, started: number): Promise<void> {
  await s.producer.sendOneEach()
  for (;;) {
    const offsets = await targetEndOffsets(s.target, s.topic, s.partitions)
    if (offsets?.every(o => o >= 1) === true) break
    const exit = s.replicators!.unexpectedExit()
    if (exit !== null) throw new Error(`${exit} before copying the gate records`)
    if (performance.now() - started > 180_000) throw new Error(`${s.config} did not copy the gate records in 180 s`)
    await sleep(100)
  }
}

/**
 * Scale-out: waits until the worker group settled (its start-up handover is not part of the
 * latency); then starts the tailing consumer and waits until it has seen the gate records.
 */
async function startTail(s: Session): Promise<void> {
  if (isScaleOut(s.workload)) await s.replicators!.settled(s.topic, s.workload.partitions)
  s.tail = new TailingReader(s.clusters.targetBootstrap, s.topic, s.workload.partitions)
  await s.tail.ready
  await s.tail.waitFor(s.workload.partitions, 30_000)
}

/**
 * Produces at the rate for the workload's duration while sampling lag (and, for W8, while one
 * worker leaves), then waits until the target holds everything (drain).
 */
async function producePhase(s: Session, ratePerSecond: number, result: TrialResult): Promise<Phase> {
  const replicators = s.replicators!
  const measureFrom = Date.now() + s.workload.warmupMs
  const cpuStart = replicators.cpuSeconds()
  const window = new CpuWindow(s.clusters)
  window.start()
  const lag = sampleLag(s)
  const phaseStart = performance.now()
  const producedBefore = sum(s.producer.next)
  // At the signal: the measured part ends there (every worker ran until then).
  const atSignal: { value: { cpu: number; records: number } | null } = { value: null }
  const left =
    s.workload.departure === undefined
      ? null
      : sleep(s.workload.departure.afterMs).then(() =>
          departure(replicators, s.topic, s.workload.partitions, () => {
            atSignal.value = { cpu: replicators.cpuSeconds(), records: sum(s.producer.next) - producedBefore }
          })
        )
  // A departure that fails must not go unobserved while production runs; it is awaited below.
  left?.catch(() => {})
  const produced = await s.producer.run(ratePerSecond, s.workload.durationMs)
  const phaseSeconds = (performance.now() - phaseStart) / 1000
  window.stop(result)
  const producedEnd = performance.now()
  const producedEndWall = Date.now()
  const gone = await left
  const perPartition = [...s.producer.next]
  await drain(s, sum(perPartition), producedEnd, new Set(gone === null ? [] : [gone.figures.worker]))
  // Exactly-once: set from the last arrival later (the consumer reports its count every 100 ms).
  result.drainMs = performance.now() - producedEnd
  result.maxLagRecords = await lag.stop()
  const measured = atSignal.value ?? { cpu: replicators.cpuSeconds(), records: produced.records }
  return {
    produced,
    phaseSeconds,
    perPartition,
    measureFrom,
    producedEndWall,
    cpuSeconds: measured.cpu - cpuStart,
    records: measured.records,
    departure: gone
  }
}

/** Waits until the target holds all `total` records (120 s at most after production ended). */
async function drain(s: Session, total: number, producedEnd: number, left: ReadonlySet<string>): Promise<void> {
  for (;;) {
    if (isExactlyOnce(s.config)) {
      if (s.tail!.seen >= total) return
    } else {
      const offsets = await targetEndOffsets(s.target, s.topic, s.partitions)
      if (offsets !== null && sum(offsets) >= total) return
    }
    const exit = s.replicators!.unexpectedExit(left)
    if (exit !== null) throw new Error(`${exit} before copying everything`)
    if (performance.now() - producedEnd > 120_000) throw new Error(`${s.config} did not catch up within 120 s`)
    await sleep(50)
  }
}

/** Largest lag (source end minus what the target holds) sampled every second until stop(). */
function sampleLag(s: Session): { stop(): Promise<number> } {
  let maxLag = 0
  let sampling = true
  const reader = s.tail!
  const sampler = (async () => {
    while (sampling) {
      // Exactly-once: the records the tailing consumer has seen (from the start, the gate's too, as
      // the source's end offsets count them), up to 100 ms old.
      const [onSource, onTarget] = await Promise.all([
        endOffsets(s.source, s.topic, s.partitions),
        isExactlyOnce(s.config)
          ? reader.seen
          : targetEndOffsets(s.target, s.topic, s.partitions).then(t => (t === null ? null : sum(t)))
      ])
      if (onSource !== null && onTarget !== null) maxLag = Math.max(maxLag, sum(onSource) - onTarget)
      await sleep(1000)
    }
  })()
  return {
    // Called after the drain: the sampler ends after its current 1 s pause, which must not count as drain time.
    stop: async () => {
      sampling = false
      await sampler
      return maxLag
    }
  }
}

/** kcat's check of the whole target, then the latency figures if the source timestamps came across. */
async function check(
  s: Session,
  result: TrialResult,
  phase: Phase,
  arrivals: Awaited<ReturnType<TailingReader['stop']>>
): Promise<void> {
  const exactlyOnce = isExactlyOnce(s.config)
  const perPartition = phase.perPartition
  const checked = await verifyTarget(
    { bootstrap: s.clusters.targetBootstrap, topic: s.topic },
    {
      partitions: s.workload.partitions,
      perPartition,
      recordBytes: s.workload.recordBytes,
      payload: s.workload.payload,
      timestampBase: null,
      exactlyOnce
    },
    true
  )
  result.check = stripTimestamps(checked)
  result.valid = checked.valid
  if (!checked.valid) {
    result.error = `invalid: ${checked.firstProblem}`
    return
  }
  // The latency method needs the source append time on the target records: check it is there.
  const sourceTimes = await readTimestamps({ bootstrap: s.clusters.sourceBootstrap, topic: s.topic }, perPartition)
  const mismatch = firstTimestampMismatch(sourceTimes, checked.timestamps!)
  if (mismatch !== null) {
    result.valid = false
    result.error = `invalid: ${mismatch}`
    return
  }
  // With a departure: records appended until 1 s before the signal, so that those the leaving worker
  // had not copied yet when signalled (they wait for the rebalance, measured apart) are not counted.
  const until = phase.departure === null ? Infinity : phase.departure.signalledAt - DEPARTURE_MARGIN_MS
  result.latency = latencies(arrivals, phase.measureFrom, until)
}
