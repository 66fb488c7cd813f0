import { setTimeout as sleep } from 'node:timers/promises'
import { BatchProducer, CODEC_IDS, RecordBatchWriter, compressorFor } from '../../src/kafka/index.ts'
import { type PayloadKind, payloadPool, recordKey, recordTimestamp, recordValue } from './records.ts'
import { type Workload } from './workloads.ts'

/**
 * Writes benchmark records into a source topic: a backlog (catch-up workloads) or a paced stream
 * (steady workloads). Record seq of partition p lands at offset seq of a fresh topic, so the target
 * can be checked against records.ts alone. Batches are built directly (one writer per partition,
 * one batch per partition in flight), so the load generator takes little of the CPU the brokers and
 * the replicators share.
 */

export interface LoadTarget {
  bootstrap: string
  topic: string
  partitions: number
  recordBytes: number
  payload: PayloadKind
  compression: 'none' | 'lz4' | 'zstd'
}

/** The source topic of a workload as the loaders write it (record size, payload, compression). */
export function sourceOf(
  bootstrap: string,
  topic: string,
  workload: Pick<Workload, 'partitions' | 'recordBytes' | 'payload' | 'sourceCompression'>
): LoadTarget {
  return {
    bootstrap,
    topic,
    partitions: workload.partitions,
    recordBytes: workload.recordBytes,
    payload: workload.payload,
    compression: workload.sourceCompression
  }
}

/** Up to ~512 KB per partition and send: one batch each, under the broker's 1 MiB message limit. */
const MAX_BATCH_BYTES = 512_000

class BatchLoader {
  readonly target: LoadTarget
  readonly #producer: BatchProducer
  readonly #writers: RecordBatchWriter[]
  readonly #pool: Buffer
  readonly #codec: number
  readonly #compress: ReturnType<typeof compressorFor>

  constructor(target: LoadTarget) {
    this.target = target
    this.#producer = new BatchProducer({
      alias: 'bench-loader',
      bootstrap: [target.bootstrap],
      clientId: 'kafka-dr-bench-loader'
    })
    this.#writers = Array.from({ length: target.partitions }, () => new RecordBatchWriter(64 * 1024))
    this.#pool = payloadPool(target.payload)
    this.#codec = CODEC_IDS[target.compression]
    this.#compress = compressorFor(target.compression)
  }

  get recordsPerBatch(): number {
    return Math.max(1, Math.floor(MAX_BATCH_BYTES / (this.target.recordBytes + 40)))
  }

  /** Sends seq [from, to) of each listed partition, one batch per partition, all at once. */
  async send(
    ranges: { partition: number; from: number; to: number }[],
    timestamp: (seq: number) => number
  ): Promise<void> {
    await Promise.all(
      ranges.map(({ partition, from, to }) => {
        const writer = this.#writers[partition]!
        writer.begin((to - from) * (this.target.recordBytes + 40))
        for (let seq = from; seq < to; seq++) {
          writer.appendRecord(
            timestamp(seq),
            recordKey(partition, seq),
            recordValue(this.#pool, partition, seq, this.target.recordBytes)
          )
        }
        return this.#producer.send(this.target.topic, partition, writer.finish(this.#codec, this.#compress))
      })
    )
  }

  async close(): Promise<void> {
    await this.#producer.close()
  }
}

/** Writes `perPartition` records into each partition; timestamps are recordTimestamp(base, seq). */
export async function loadBacklog(target: LoadTarget, perPartition: number, timestampBase: number): Promise<void> {
  const loader = new BatchLoader(target)
  const step = loader.recordsPerBatch
  try {
    for (let seq = 0; seq < perPartition; seq += step) {
      const to = Math.min(perPartition, seq + step)
      const ranges = Array.from({ length: target.partitions }, (_, partition) => ({ partition, from: seq, to }))
      await loader.send(ranges, s => recordTimestamp(timestampBase, s))
    }
  } finally {
    await loader.close()
  }
}

/**
 * Produces at `ratePerSecond` records in total, round robin over the partitions, for `durationMs`.
 * The send loop ticks every 5 ms and sends what is due (at most one batch per partition), so the
 * average rate holds even when one send takes longer than a tick. Timestamps are the wall clock;
 * on a LogAppendTime topic the broker replaces them.
 */
export class PacedProducer {
  readonly #loader: BatchLoader
  /** Next seq per partition. */
  readonly next: number[]

  constructor(target: LoadTarget) {
    this.#loader = new BatchLoader(target)
    this.next = new Array<number>(target.partitions).fill(0)
  }

  /**
   * One record per partition; used as a gate to see that a replicator copies. Partition by
   * partition, retried while a new topic's leaders settle (an idempotent retry cannot duplicate).
   */
  async sendOneEach(): Promise<void> {
    const deadline = Date.now() + 60_000
    for (let p = 0; p < this.next.length; p++) {
      for (;;) {
        try {
          await this.#loader.send([{ partition: p, from: this.next[p]!, to: this.next[p]! + 1 }], () => Date.now())
          this.next[p]!++
          break
        } catch (error) {
          if (Date.now() > deadline) throw error
          await sleep(250)
        }
      }
    }
  }

  async run(ratePerSecond: number, durationMs: number): Promise<{ records: number; lateMs: number }> {
    const partitions = this.next.length
    const cap = this.#loader.recordsPerBatch * partitions
    const started = performance.now()
    let sent = 0
    let partition = 0
    let lateMs = 0
    for (;;) {
      const elapsed = performance.now() - started
      if (elapsed >= durationMs) break
      const due = Math.min(cap, Math.floor((ratePerSecond * elapsed) / 1000) - sent)
      if (due > 0) {
        // Round robin: the next `due` records go to partition, partition + 1, ...
        const counts = new Array<number>(partitions).fill(0)
        for (let i = 0; i < due; i++) {
          counts[partition]!++
          partition = (partition + 1) % partitions
        }
        const ranges: { partition: number; from: number; to: number }[] = []
        counts.forEach((count, p) => {
          if (count > 0) ranges.push({ partition: p, from: this.next[p]!, to: this.next[p]! + count })
        })
        await this.#loader.send(ranges, () => Date.now())
        for (const r of ranges) this.next[r.partition] = r.to
        sent += due
      }
      const behind = Math.floor((ratePerSecond * (performance.now() - started)) / 1000) - sent
      if (behind > ratePerSecond / 10) lateMs += 5 // more than 100 ms of records behind schedule
      await sleep(5)
    }
    return { records: sent, lateMs }
  }

  async close(): Promise<void> {
    await this.#loader.close()
  }
}
