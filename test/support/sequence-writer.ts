import { setTimeout as sleep } from 'node:timers/promises'
import { BatchProducer, type ClusterConnection, RecordBatchWriter } from '../../src/kafka/index.ts'

/**
 * Writes "<tag>:<partition>:<seq>" records (seq = source offset on a fresh topic) for fault tests:
 * a batch that fails is sent again unchanged (same idempotent sequence), so a broker restart or a
 * lost acknowledgement never duplicates or loses a source record, and the target can be audited by
 * sequence alone.
 */
export class SequenceWriter {
  readonly #producer: BatchProducer
  readonly #writers: RecordBatchWriter[]
  readonly topic: string
  readonly tag: string
  readonly next: number[]
  /** Values are padded with "." to this many bytes (0: no padding). */
  readonly valueBytes: number
  retries = 0

  constructor(connection: ClusterConnection, topic: string, partitions: number, tag: string, valueBytes = 0) {
    this.valueBytes = valueBytes
    this.#producer = new BatchProducer({ ...connection, clientId: `kafka-dr-test-writer-${tag}` })
    this.#writers = Array.from({ length: partitions }, () => new RecordBatchWriter(16 * 1024))
    this.topic = topic
    this.tag = tag
    this.next = new Array<number>(partitions).fill(0)
  }

  /** Writes `count` more records to every partition, `perBatch` at a time, retrying for up to `patienceMs`. */
  async write(count: number, perBatch = 500, patienceMs = 120_000): Promise<void> {
    for (let done = 0; done < count; done += perBatch) {
      const n = Math.min(perBatch, count - done)
      await Promise.all(this.next.map((_, p) => this.#sendOne(p, n, patienceMs)))
    }
  }

  /**
   * Writes records until every partition holds `perPartition` (counting from where it is), at about
   * `perSecond` records per second in total, in 100 ms ticks.
   */
  async writeAtRate(perPartition: number, perSecond: number, patienceMs = 120_000): Promise<void> {
    const perTick = Math.max(1, Math.round(perSecond / 10 / this.next.length))
    const target = this.next.map(n => n + perPartition)
    while (this.next.some((n, p) => n < target[p]!)) {
      const tick = Date.now()
      await Promise.all(
        this.next.map((n, p) =>
          n < target[p]! ? this.#sendOne(p, Math.min(perTick, target[p]! - n), patienceMs) : Promise.resolve()
        )
      )
      await sleep(Math.max(0, 100 - (Date.now() - tick)))
    }
  }

  /** Writes `count` more records to one partition. */
  async writePartition(partition: number, count: number, patienceMs = 120_000): Promise<void> {
    await this.#sendOne(partition, count, patienceMs)
  }

  get total(): number {
    return this.next.reduce((a, b) => a + b, 0)
  }

  async close(): Promise<void> {
    await this.#producer.close()
  }

  async #sendOne(partition: number, count: number, patienceMs: number): Promise<void> {
    const writer = this.#writers[partition]!
    const from = this.next[partition]!
    writer.begin(count * (32 + this.valueBytes))
    for (let seq = from; seq < from + count; seq++) {
      const text = `${this.tag}:${partition}:${seq}:`
      writer.appendRecord(Date.now(), Buffer.from(`k${seq % 97}`), Buffer.from(text.padEnd(this.valueBytes, '.')))
    }
    const batch = writer.finish(0, null)
    const deadline = Date.now() + patienceMs
    for (;;) {
      try {
        await this.#producer.send(this.topic, partition, batch)
        this.next[partition] = from + count
        return
      } catch (error) {
        if (Date.now() > deadline) throw error
        this.retries++
        await sleep(250)
      }
    }
  }
}
