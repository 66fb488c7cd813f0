import { type PayloadKind } from './records.ts'

/**
 * The workloads of issue 5, and W7 and W8 for scale-out (docs/scale-out.md). Catch-up workloads
 * copy a backlog loaded once into the source; steady workloads produce at a fixed rate while the
 * replicator runs and measure replication latency. `--quick` scales sizes and durations down; the
 * reported run uses the full sizes.
 */

interface WorkloadBase {
  id: string
  title: string
  partitions: number
  recordBytes: number
  payload: PayloadKind
  /** Compression of the source batches (the loader's producer). */
  sourceCompression: 'none' | 'lz4' | 'zstd'
  /** Compression the tuned MM2 and kafka-dr write with. */
  writeCompression: 'none' | 'lz4' | 'zstd'
  /** One-way delay between the replicator and the source cluster (delay proxy), ms. */
  sourceDelayMs: number
  /**
   * kafka-dr processes sharing the link (one worker group, docs/scale-out.md): each round runs one
   * trial per count. [1] is the plain single process of W1-W6, started as before; a workload with
   * any other count is a scale-out workload (see isScaleOut), whose every trial, one worker
   * included, runs named workers.
   */
  workers: readonly number[]
}

export interface CatchUpWorkload extends WorkloadBase {
  kind: 'catch-up'
  recordsPerPartition: number
  /** Reuse another workload's source topic (same records) instead of loading one. */
  sourceOf?: string
}

export interface SteadyWorkload extends WorkloadBase {
  kind: 'steady'
  /** Records per second in total: a fraction of the calibrated ceiling, or a fixed rate. */
  rate: { ofCeiling: number } | { perSecond: number }
  durationMs: number
  /** Records produced in the first warmupMs are left out of the latency figures. */
  warmupMs: number
  /**
   * Scale-out: `afterMs` into the produce phase, one worker (the group's leader) gets SIGTERM and the
   * remaining workers take its partitions while production goes on to durationMs. The latency
   * figures then cover warmupMs to afterMs (every worker running); the rebalance is measured apart.
   */
  departure?: { afterMs: number }
}

export type Workload = CatchUpWorkload | SteadyWorkload

/**
 * A workload of several kafka-dr workers (W7, W8). MirrorMaker 2 has no counterpart run by the
 * bench (its dedicated mode scales by tasks inside one JVM), so only kafka-dr configurations run it.
 */
export function isScaleOut(workload: Workload): boolean {
  return workload.workers.some(n => n !== 1)
}

/** The workload whose source topic a catch-up workload copies: its own, or the one named by sourceOf. */
export function backlogOf(workload: CatchUpWorkload, all: readonly Workload[]): CatchUpWorkload {
  if (workload.sourceOf === undefined) return workload
  const owner = all.find(w => w.id === workload.sourceOf)
  if (owner?.kind !== 'catch-up' || owner.sourceOf !== undefined)
    throw new Error(`${workload.id}: sourceOf ${workload.sourceOf} is not a catch-up workload with its own backlog`)
  return owner
}

const KIB = 1024
const GIB = 1024 ** 3

export function workloads(quick: boolean): Workload[] {
  const scale = quick ? 1 / 32 : 1
  const base = {
    payload: 'random',
    sourceCompression: 'none',
    writeCompression: 'none',
    sourceDelayMs: 0,
    workers: [1]
  } as const
  return [
    {
      ...base,
      id: 'W1',
      title: 'catch-up, 8 partitions x 1 KiB records, 1 GiB backlog',
      kind: 'catch-up',
      partitions: 8,
      recordBytes: KIB,
      recordsPerPartition: Math.round((GIB * scale) / KIB / 8)
    },
    {
      ...base,
      id: 'W2',
      title: 'catch-up, 8 partitions x 100-byte records, 5 million records',
      kind: 'catch-up',
      partitions: 8,
      recordBytes: 100,
      recordsPerPartition: Math.round((5_000_000 * scale) / 8)
    },
    {
      ...base,
      id: 'W3',
      title: 'steady 30 % of the ceiling, 8 partitions x 1 KiB, latency',
      kind: 'steady',
      partitions: 8,
      recordBytes: KIB,
      rate: { ofCeiling: 0.3 },
      durationMs: quick ? 8_000 : 40_000,
      warmupMs: quick ? 2_000 : 10_000
    },
    {
      ...base,
      id: 'W4',
      title: 'catch-up, lz4-compressed source (text-like values), 8 partitions x 1 KiB, 1 GiB',
      kind: 'catch-up',
      partitions: 8,
      recordBytes: KIB,
      payload: 'text',
      sourceCompression: 'lz4',
      writeCompression: 'lz4',
      recordsPerPartition: Math.round((GIB * scale) / KIB / 8)
    },
    {
      ...base,
      id: 'W5',
      title: 'steady low rate over 200 partitions (10 records/s each), 1 KiB',
      kind: 'steady',
      partitions: 200,
      recordBytes: KIB,
      rate: { perSecond: 2000 },
      durationMs: quick ? 8_000 : 40_000,
      warmupMs: quick ? 2_000 : 10_000
    },
    {
      ...base,
      id: 'W6',
      title: 'W1 across a 50 ms round trip to the source (delay proxy, 25 ms each way)',
      kind: 'catch-up',
      partitions: 8,
      recordBytes: KIB,
      recordsPerPartition: Math.round((GIB * scale) / KIB / 8),
      sourceDelayMs: 25,
      sourceOf: 'W1'
    },
    ...scaleOutWorkloads(quick, base)
  ]
}

/** W7 and W8 (scale-out, docs/scale-out.md): kafka-dr workers sharing one link. */
function scaleOutWorkloads(
  quick: boolean,
  base: Omit<WorkloadBase, 'id' | 'title' | 'partitions' | 'recordBytes'>
): Workload[] {
  const scale = quick ? 1 / 32 : 1
  // W8: 5 records/s on each partition; --quick keeps the rate per partition on a tenth of them.
  const w8Partitions = quick ? 200 : 2000
  return [
    {
      ...base,
      id: 'W7',
      title: 'W1 by 1 and by 2 kafka-dr workers on this machine (same backlog), aggregate throughput',
      kind: 'catch-up',
      partitions: 8,
      recordBytes: KIB,
      recordsPerPartition: Math.round((GIB * scale) / KIB / 8),
      sourceOf: 'W1',
      workers: [1, 2]
    },
    {
      ...base,
      id: 'W8',
      title: `steady ${w8Partitions.toLocaleString('en-US')} partitions at 5 records/s each, 1 KiB, 2 kafka-dr workers; one leaves`,
      kind: 'steady',
      partitions: w8Partitions,
      recordBytes: KIB,
      rate: { perSecond: w8Partitions * 5 },
      workers: [2],
      // The departed worker is a static member: its partitions move once workers.sessionTimeoutMs
      // (10 s by default) has passed, so even --quick keeps 20 s after the signal.
      warmupMs: quick ? 3_000 : 10_000,
      departure: { afterMs: quick ? 10_000 : 50_000 },
      durationMs: quick ? 30_000 : 90_000
    }
  ]
}
