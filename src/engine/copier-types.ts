import { type OriginFilter } from '../core/origin-filter.ts'
import { type CopyIndex } from '../core/copy-index.ts'
import { type BatchProducer, type CompressionName, type RawRecord, type RecordProducer } from '../kafka/index.ts'
import { type EngineEvents } from '../observability/metrics.ts'
import { type SchemaFailure } from '../schemas/schema-sync.ts'

/**
 * The types of a partition copier (partition-copier.ts): what it is given, what it reports and
 * commits, and the queue and batch shapes its helpers share. Types only: nothing here runs.
 */

/** `retrying`: running, but its fetches fail for a reason only an operator can fix (see `reason`). */
export type CopierState = 'running' | 'retrying' | 'errored' | 'source-deleted'

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

/** The two producers a copier writes with: batches of copied records, and single dead letters. */
export interface CopierProducers {
  batches: BatchProducer
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

export interface PartitionStatus {
  link: string
  topic: string
  partition: number
  targetTopic: string
  state: CopierState
  reason: string | null
  /** Next source offset whose predecessors are all on the target. */
  replicatedNext: bigint
  committedNext: bigint
  sourceLogStart: bigint
  sourceHighWatermark: bigint
  /** Records on the source not yet on the target (the RPO in records if you failed over now). */
  lagRecords: bigint
  /** Timestamp of the newest record acknowledged by the target, -1 before the first. */
  lastReplicatedTimestamp: number
  /** Timestamp of the oldest fetched record not yet acknowledged, -1 when none is fetched (or none missing). */
  oldestUnreplicatedTimestamp: number
  replicatedRecords: number
  replicatedBytes: number
  loopSkippedRecords: number
  deadLetteredRecords: number
  lostRecords: bigint
  /** The source broker's error the partition's fetches fail with (e.g. TOPIC_AUTHORIZATION_FAILED), else null. */
  fetchError: string | null
}

/** What a copier commits (the state module's shape). */
export type { CommitPart } from '../state/index.ts'

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
