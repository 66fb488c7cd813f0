import { setTimeout as sleep } from 'node:timers/promises'
import { KafkaAdmin } from '../../src/kafka/index.ts'
import { wipe } from '../../tools/harness/harness.ts'
import { cpuSeconds, memory } from './proc.ts'
import { type ConfigName, type RunningReplicator, isExactlyOnce } from './replicators.ts'
import { crossing, valueAt } from './stats.ts'
import {
  type BenchClusters,
  CpuWindow,
  GIB,
  type TrialOptions,
  type TrialResult,
  emptyResult,
  startTrialReplicator,
  stripTimestamps,
  sum,
  targetEndOffsets
} from './trial.ts'
import { targetComplete, verifyTarget } from './verify.ts'
import { type CatchUpWorkload } from './workloads.ts'

/**
 * A catch-up trial: the replicator copies a backlog loaded once into the source; throughput is
 * taken from the target's committed end offsets (targetEndOffsets) between 10 % and 90 % of the
 * backlog. Under exactly-once those offsets also count one control record per partition and
 * transaction (a few per second against thousands of records), and the copy is complete only when
 * the last record of every partition is committed, which kcat confirms before the replicator stops.
 */

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
  const read = { bootstrap: clusters.targetBootstrap, topic }
  const perPartition = partitions.map(() => workload.recordsPerPartition)
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
      const offsets = await targetEndOffsets(target, topic, partitions)
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
      if (value >= total && (!isExactlyOnce(config) || (await targetComplete(read, perPartition)))) {
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
    await replicator?.stop()
    await target.close()
  }
  return result
}
