import { type BatchSender, type WriteBoundary } from './transaction-boundary.ts'
import { type OriginFilter } from '../core/origin-filter.ts'
import { type CopyIndex } from '../core/copy-index.ts'
import { type EngineEvents } from '../engine-events/index.ts'
import { type CompressionName, type RawRecord, type RecordProducer } from '../kafka/index.ts'
import { type SchemaFailure } from '../schemas/schema-sync.ts'

/**
 * The types of a partition copier (partition-copier.ts): what it is given and the queue and batch
 * shapes its helpers share. Types only: nothing here runs. What it reports (PartitionStatus) is in
 * engine-events/, what it commits (CommitPart) in state/.
 */

export interface CopierSettings {
  link: string
  sourceCluster: string
  targetCluster: string
  sourceClusterId: string
  targetClusterId: string
  maxBatchBytes: number
  maxBufferedBytes: number
  onRecordError: 'stop' | 'dead-letter'
  onDataLoss: 'stop' | 'skip'
  deadLetterTopic: string
  compression: CompressionName
  /** Schema replication of the link, or null when records are copied as they are. */
  schemas: CopierSchemas | null
  /** Produce latencies, errors and retries, for the metrics. */
  events: EngineEvents
  /** Which copied records this link copies (routes); default: all but those whose origin is the target. */
  origins?: OriginFilter
}

/**
 * What a copier needs of schema replication (schemas/schema-sync.ts): which record parts may hold a
 * wire-format schema id, the ids known on the target, and on-demand registration of the others.
 */
export interface CopierSchemas {
  keys: boolean
  values: boolean
  /** translate-ids: ids in records are rewritten to the target's. */
  rewrite: boolean
  onError: 'stop' | 'pass-through'
  targetId(sourceId: number): number | undefined
  ensureIds(ids: Iterable<number>): Promise<Map<number, number | SchemaFailure>>
  /** Whether an id read from a key of `topic` is a key schema (schemas/key-ids.ts); undefined until decided. */
  keyIsWire(topic: string, id: number): boolean | undefined
  decideKeys(topic: string, ids: Iterable<number>): Promise<void>
}

/**
 * What a copier writes with: copied batches through its link's write boundary (every write of a
 * batch runs in a slot of it: under exactly-once the slot names the transaction and its producer,
 * transaction-boundary.ts), or straight to one producer (tests; the same as openBoundary(batches));
 * single dead letters through their own producer.
 */
export type CopierProducers = ({ boundary: WriteBoundary } | { batches: BatchSender }) & {
  deadLetters: RecordProducer
  /**
   * Whether the link may start a produce now: it wrote a heartbeat and read no fence recently
   * (the write lease, link-replicator.ts). A copier waits while it is false; nothing is dropped.
   */
  mayWrite: () => boolean
}

export interface CopierStart {
  /** Next source offset to copy. */
  offset: bigint
  /** Where this partition's copies are on the target (segments, recent runs). */
  copies: CopyIndex
  topicId: string
}

/** Records taken from the queue to be written as one produce (internal to the copier and its helpers). */
export interface Batch {
  records: RawRecord[]
  /** The provenance value prefix of each record (origin and hops; mostly one shared buffer). */
  prefixes: Buffer[]
  bytes: number
  /** ackedNext once this batch is acknowledged. */
  coveredEnd: bigint
  loopSkipped: number
  gaps: { from: bigint; to: bigint; reason: string }[]
  /** Schema ids the records use that are not known on the target yet (null: none). */
  schemaIds: Set<number> | null
  /** Ids read from keys not yet known to be key schemas or not (null: none); decided before sending. */
  keyIds: Set<number> | null
}
