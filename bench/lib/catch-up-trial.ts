import { setTimeout as sleep } from 'node:timers/promises'
import { KafkaAdmin } from '../../src/kafka/index.ts'
import { wipe } from '../../tools/harness/harness.ts'
import { ReplicatorSet } from './replicator-set.ts'
import { type ConfigName, isExactlyOnce } from './replicators.ts'
import { crossing, valueAt } from './stats.ts'
import {
  type BenchClusters,
  CpuWindow,
  GIB,
  type TrialOptions,
  type TrialResult,
  emptyResult,
  stripTimestamps,
  sum,
  targetEndOffsets
} from './trial.ts'
import { targetComplete, verifyTarget } from './verify.ts'
import { type CatchUpWorkload, isScaleOut } from './workloads.ts'

/**
 * A catch-up trial: the replicator copies a backlog loaded once into the source; throughput is
 * taken from the target's committed end offsets (targetEndOffsets) between 10 % and 90 % of the
 * backlog. Under exactly-once those offsets also count one control record per partition and
 * transaction (a few per second against thousands of records), and the copy is complete only when
 * the last record of every partition is committed, which kcat confirms before the replicator stops.
 * A scale-out trial (W7) starts its workers together and sums their CPU; the window is the same.
 */

/** Samples of the target's copied records and of the replicators' summed CPU, every 100 ms. */
interface Copy {
  copied: { t: number; value: number }[]
  cpu: { t: number; value: number }[]
}

export async function catchUpTrial(
  clusters: BenchClusters,
  workload: CatchUpWorkload,
  topic: string,
  timestampBase: number,
  run: { config: ConfigName; workers: number; round: number; dir: string },
  options: TrialOptions
): Promise<TrialResult> {
  const { config, round } = run
  const result = emptyResult(workload, config, round)
  const partitions = [...Array(workload.partitions).keys()]
  const perPartition = partitions.map(() => workload.recordsPerPartition)
  await wipe(clusters.targetIndex)
  const target = new KafkaAdmin({ alias: 'bench-target', bootstrap: [clusters.targetBootstrap] })
  const read = { bootstrap: clusters.targetBootstrap, topic }
  let replicators: ReplicatorSet | null = null
  try {
    const started = performance.now()
    const startedWall = Date.now()
    replicators = ReplicatorSet.start(clusters, workload, topic, config, run.dir, options, run.workers)
    result.command = replicators.command
    const samples = await copyAll(replicators, target, clusters, workload, topic, config, result)
    replicators.readMemory()
    result.peakRssMiB = replicators.maxPeakRssMiB()
    result.cpuSecondsTotal = replicators.cpuSeconds()
    if (isScaleOut(workload)) {
      result.scaleOut = {
        workers: replicators.figures(),
        groupSettledSeconds: replicators.groupSettledSeconds(startedWall),
        departure: null
      }
    }
    throughput(result, workload, samples, started)
    await replicators.stop()
    replicators = null
    const check = await verifyTarget(
      read,
      {
        partitions: workload.partitions,
        perPartition,
        recordBytes: workload.recordBytes,
        payload: workload.payload,
        timestampBase,
        exactlyOnce: isExactlyOnce(config)
      },
      false
    )
    result.check = stripTimestamps(check)
    result.valid = check.valid
    if (!check.valid) result.error = `invalid: ${check.firstProblem}`
  } catch (error) {
    result.error = error instanceof Error ? error.message : String(error)
  } finally {
    await replicators?.stop()
    await target.close()
  }
  return result
}

/**
 * Polls the target's end offsets and the replicators' CPU every 100 ms until the whole backlog is
 * on the target (exactly-once: committed, as kcat confirms); machine and broker CPU are taken from
 * the first to the last record on the target. Throws when a process exits or the copy stalls.
 */
async function copyAll(
  replicators: ReplicatorSet,
  target: KafkaAdmin,
  clusters: BenchClusters,
  workload: CatchUpWorkload,
  topic: string,
  config: ConfigName,
  result: TrialResult
): Promise<Copy> {
  const partitions = [...Array(workload.partitions).keys()]
  const perPartition = partitions.map(() => workload.recordsPerPartition)
  const total = workload.recordsPerPartition * workload.partitions
  const read = { bootstrap: clusters.targetBootstrap, topic }
  const samples: Copy = { copied: [], cpu: [] }
  const window = new CpuWindow(clusters)
  const started = performance.now()
  let windowStarted = false
  let lastProgress = started
  let last = 0
  for (;;) {
    const offsets = await targetEndOffsets(target, topic, partitions)
    const now = performance.now()
    const value = offsets === null ? 0 : sum(offsets)
    samples.copied.push({ t: now, value })
    samples.cpu.push({ t: now, value: replicators.cpuSeconds() })
    if (value > last) {
      last = value
      lastProgress = now
    }
    if (!windowStarted && value > 0) {
      window.start()
      windowStarted = true
    }
    if (value >= total && (!isExactlyOnce(config) || (await targetComplete(read, perPartition)))) {
      window.stop(result)
      return samples
    }
    const exit = replicators.unexpectedExit()
    if (exit !== null) throw new Error(`${exit} before copying everything`)
    if (now - lastProgress > (value === 0 ? 180_000 : 60_000)) {
      throw new Error(`${config} stalled: ${value} of ${total} records after ${((now - started) / 1000).toFixed(0)} s`)
    }
    await sleep(100)
  }
}

/** Throughput and CPU between 10 % and 90 % of the backlog on the target; start-up and total time. */
function throughput(result: TrialResult, workload: CatchUpWorkload, { copied, cpu }: Copy, started: number): void {
  const total = workload.recordsPerPartition * workload.partitions
  const t10 = crossing(copied, total * 0.1)!
  const t90 = crossing(copied, total * 0.9)!
  const first = crossing(copied, 1)!
  const windowSeconds = (t90 - t10) / 1000
  const windowRecords = total * 0.8
  result.records = total
  result.bytes = total * workload.recordBytes
  result.recordsPerSecond = windowRecords / windowSeconds
  result.mbPerSecond = (result.recordsPerSecond * workload.recordBytes) / 1e6
  const windowCpu = (valueAt(cpu, t90) ?? NaN) - (valueAt(cpu, t10) ?? NaN)
  result.cpuSecondsPerGiB = windowCpu / ((windowRecords * workload.recordBytes) / GIB)
  result.startupSeconds = (first - started) / 1000
  result.totalSeconds = (copied.at(-1)!.t - started) / 1000
}
