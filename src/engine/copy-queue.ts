import { COPY, HOP_LIMIT, OriginFilter } from '../core/origin-filter.ts'
import { ProvenanceEncoder, decodeProvenance } from '../core/provenance.ts'
import { RECORD_WRITE_OVERHEAD, type RawRecord } from '../kafka/index.ts'
import { type Logger } from '../observability/logger.ts'
import { type CopierSchemaIds } from './copier-schema-ids.ts'
import { type Batch, type CopierSettings } from './copier-types.ts'

/** Header key, version, hops, lengths, partition and offset, plus a cluster id of up to 40 bytes. */
const PROVENANCE_OVERHEAD = 8 + 1 + 1 + 1 + 40 + 2 + 4 + 8 + 4

/** A fetched run of records queued for writing. */
interface Chunk {
  records: RawRecord[]
  index: number
  /** Source offset after this chunk (covers trailing control records and compaction gaps). */
  end: bigint
  bytes: number
  gap?: { from: bigint; to: bigint; reason: string }
}

/**
 * The queue of one partition copier (partition-copier.ts): fetched records waiting to be written,
 * in source order, with gaps (source offsets skipped under a policy) as entries of their own, and
 * how a batch is taken from it: up to the batch size, loop records (whose route does not end with
 * this link) dropped, each record's provenance header value prefix chosen.
 *
 * Hot path: take() runs per record; it allocates nothing per record but what the batch holds (the
 * provenance prefix is mostly one shared buffer).
 */
export class CopyQueue {
  #chunks: Chunk[] = []
  #bytes = 0
  readonly #settings: CopierSettings
  readonly #log: Logger
  readonly #encoder: ProvenanceEncoder
  readonly #origins: OriginFilter
  #hopLimitReported = false
  /** Bytes the provenance header adds to each record (counted toward the batch size). */
  readonly #provenanceBytes: number
  /** The schema-id path, or null when records are copied as they are. */
  readonly #schemaIds: CopierSchemaIds | null

  constructor(
    settings: CopierSettings,
    log: Logger,
    topic: string,
    partition: number,
    schemaIds: CopierSchemaIds | null
  ) {
    this.#settings = settings
    this.#log = log
    this.#origins = settings.origins ?? new OriginFilter({ targetId: settings.targetClusterId })
    this.#encoder = new ProvenanceEncoder(topic, partition)
    this.#provenanceBytes = PROVENANCE_OVERHEAD + Buffer.byteLength(topic)
    this.#schemaIds = schemaIds
  }

  /** Fetched bytes waiting to be written. */
  get bytes(): number {
    return this.#bytes
  }

  get empty(): boolean {
    return this.#chunks.length === 0
  }

  /** Queues fetched records; `end` is the source offset after them (covers control records and compaction gaps). */
  add(records: RawRecord[], end: bigint): void {
    let bytes = 0
    for (let i = 0; i < records.length; i++) bytes += this.#recordBytes(records[i]!)
    this.#chunks.push({ records, index: 0, end, bytes })
    this.#bytes += bytes
  }

  /** Queues a jump of the source position from `from` to `to`, recorded as a gap once what precedes it is written. */
  gap(from: bigint, to: bigint, reason: string): void {
    this.#chunks.push(gapChunk(from, to, reason))
  }

  /** Drops everything queued (re-fetched on restart). */
  clear(): void {
    this.#chunks = []
    this.#bytes = 0
  }

  /** Timestamp of the first queued record; -1 when there is none. */
  oldestTimestamp(): number {
    for (const chunk of this.#chunks) {
      const record = chunk.records[chunk.index]
      if (record !== undefined) return record.timestamp
    }
    return -1
  }

  /** Bytes a record takes in a batch, estimated the same way when queued and when batched. */
  #recordBytes(record: RawRecord): number {
    return record.end - record.keyAt + RECORD_WRITE_OVERHEAD + this.#provenanceBytes
  }

  /**
   * Takes records from the queue up to maxBatchBytes, dropping loop records (origin = target).
   * `coveredFrom`: where the batch before it ended (acknowledged progress).
   */
  take(coveredFrom: bigint, maxBatchBytes: number): Batch {
    const batch: Batch = {
      records: [],
      prefixes: [],
      bytes: 0,
      coveredEnd: coveredFrom,
      loopSkipped: 0,
      gaps: [],
      schemaIds: null,
      keyIds: null
    }
    const schemaIds = this.#schemaIds
    const { sourceClusterId } = this.#settings
    const ownPrefix = this.#encoder.prefix(sourceClusterId, 1)
    while (this.#chunks.length > 0) {
      const chunk = this.#chunks[0]!
      if (chunk.gap !== undefined) {
        if (batch.records.length > 0) break // a gap is committed on its own, after what precedes it
        batch.gaps.push(chunk.gap)
      }
      while (chunk.index < chunk.records.length) {
        const record = chunk.records[chunk.index]!
        const size = this.#recordBytes(record)
        if (batch.records.length > 0 && batch.bytes + size > maxBatchBytes) return batch
        chunk.index++
        batch.coveredEnd = BigInt(record.offset) + 1n
        let prefix = ownPrefix
        if (record.provAt >= 0) {
          // Copied before: keep its origin, count one more hop. Copied only when its route to the
          // target ends with this link: never back where it began, never twice (core/origin-filter.ts).
          const decision = this.#origins.decide(record.data, record.provValueAt, Math.max(0, record.provValueLength))
          if (decision !== COPY) {
            batch.loopSkipped++
            if (decision === HOP_LIMIT) this.#reportHopLimit(record)
            continue
          }
          const value = record.data.subarray(
            record.provValueAt,
            record.provValueAt + Math.max(0, record.provValueLength)
          )
          const provenance = decodeProvenance(value)
          // An unreadable header is replaced by ours, as if the record started here.
          if (provenance !== null)
            prefix = this.#encoder.prefix(provenance.originClusterId, Math.min(provenance.hops + 1, 255))
        }
        batch.records.push(record)
        batch.prefixes.push(prefix)
        batch.bytes += size
        if (schemaIds !== null) schemaIds.note(record, batch)
      }
      this.#chunks.shift()
      this.#bytes -= chunk.bytes
      batch.coveredEnd = chunk.end
      if (chunk.gap !== undefined) break
    }
    return batch
  }

  /** A record skipped at the hop limit was cycled by links outside this config: said once per partition. */
  #reportHopLimit(record: RawRecord): void {
    if (this.#hopLimitReported) return
    this.#hopLimitReported = true
    this.#log.warn(
      { offset: String(record.offset) },
      'hop limit reached: record not copied, its provenance header counts as many hops as this config has clusters, so links outside this config copied it around a cycle; such records are skipped and counted in loopSkippedRecords (see docs/replication.md, topologies)'
    )
  }
}

/** A queue entry that carries no records, only a jump of the source position to record as a gap. */
function gapChunk(from: bigint, to: bigint, reason: string): Chunk {
  return { records: [], index: 0, end: to, bytes: 0, gap: { from, to, reason } }
}
