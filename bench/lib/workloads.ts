import { type PayloadKind } from './records.ts'

/**
 * The workloads of issue 5. Catch-up workloads copy a backlog loaded once into the source; steady
 * workloads produce at a fixed rate while the replicator runs and measure replication latency.
 * `--quick` scales sizes and durations down; the reported run uses the full sizes.
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
}

export type Workload = CatchUpWorkload | SteadyWorkload

const KIB = 1024
const GIB = 1024 ** 3

export function workloads(quick: boolean): Workload[] {
  const scale = quick ? 1 / 32 : 1
  const base = { payload: 'random', sourceCompression: 'none', writeCompression: 'none', sourceDelayMs: 0 } as const
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
    }
  ]
}
