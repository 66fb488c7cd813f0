import { setTimeout as sleep } from 'node:timers/promises'
import { type CopyIndex } from '../core/copy-index.ts'
import { PROVENANCE_HEADER_KEY } from '../core/provenance.ts'
import { KdrError, describeCause } from '../errors.ts'
import {
  CODEC_IDS,
  type HeaderToAdd,
  type PartitionFetch,
  type RawRecord,
  RecordBatchWriter,
  asyncCompressorFor,
  compressorFor,
  encodeHeaderKey,
  recordParts
} from '../kafka/index.ts'
import { type Logger } from '../observability/logger.ts'
import { type CopierState, type PartitionStatus } from '../engine-events/index.ts'
import { type CommitPart } from '../state/index.ts'
import { CopierSchemaIds } from './copier-schema-ids.ts'
import { CopyQueue } from './copy-queue.ts'
import { type Batch, type CopierProducers, type CopierSettings, type CopierStart } from './copier-types.ts'
import { DeadLetters } from './dead-letters.ts'
import { classifyProduceError } from './errors.ts'
import { FetchRetries } from './fetch-retries.ts'
import { CopierCommits } from './copier-commits.ts'
import { type WriteBoundary, type WriteSlot, openBoundary } from './transaction-boundary.ts'
import { divergedLoss, outOfRangeLoss, withPolicy } from './data-loss.ts'

/**
 * The unit of replication: one source partition copied into the same partition number of the
 * target topic. It owns its queue, its in-flight produce and its offset mapping, and exposes what
 * must be committed; it knows nothing of other partitions, of how fetches are scheduled or of where
 * state is stored. That keeps it movable: a transactional (exactly-once) writer or a partition owned
 * through a group protocol wraps this same unit.
 *
 * Ordering invariant: at most one produce per partition is in flight, and `ackedNext` only moves
 * after the records below it are acknowledged by the target, so committed progress never runs ahead
 * of the data (at-least-once, never a gap).
 */

export type { CopierSchemas, CopierSettings, CopierStart, CopierProducers } from './copier-types.ts'

const PROVENANCE_KEY_ENTRY = encodeHeaderKey(PROVENANCE_HEADER_KEY)
const MIN_BATCH_BYTES = 16 * 1024
const MAX_BACKOFF_MS = 10_000
/** How often a copier looks again whether its link may write (the write lease, core/write-lease.ts). */
const LEASE_POLL_MS = 200

export class PartitionCopier {
  readonly topic: string
  readonly partition: number
  readonly targetTopic: string
  readonly #settings: CopierSettings
  readonly #producers: CopierProducers
  readonly #log: Logger
  /** This partition's batch buffer: reused, since one batch at a time is in flight. */
  readonly #writer = new RecordBatchWriter()
  readonly #codec: number
  readonly #compress: ReturnType<typeof compressorFor>
  /** Compression on the shared worker pool when the machine has a core to spare (else inline). */
  readonly #compressOffThread: ReturnType<typeof asyncCompressorFor>
  /** The provenance header being added, updated per record (no object per record). */
  readonly #header: HeaderToAdd = { keyEntry: PROVENANCE_KEY_ENTRY, valuePrefix: Buffer.alloc(0), valueInt64: 0 }
  readonly #copies: CopyIndex
  #topicId: string
  readonly #retiredTopicIds = new Set<string>()

  #state: CopierState = 'running'
  #reason: KdrError | null = null
  /** An operator's pause (core/pauses.ts), described; null while it may copy. */
  #paused: string | null = null
  /** Fetched records waiting to be written, and how batches are taken from them (copy-queue.ts). */
  readonly #queue: CopyQueue
  #fetchOffset: bigint
  #ackedNext: bigint
  #producing: Promise<void> | null = null
  #draining = false
  /** Aborted when the link's drain timeout passed: retries and their waits stop at once. */
  readonly #abandoned = new AbortController()
  #backoffMs = 0
  #batchLimit: number
  #logStart = -1n
  #highWatermark = -1n
  #lastTimestamp = -1
  #replicatedRecords = 0
  #replicatedBytes = 0
  #loopSkipped = 0
  #deadLettered = 0
  #lost = 0n
  /** The schema-id path (copier-schema-ids.ts), or null when records are copied as they are. */
  readonly #schemaIds: CopierSchemaIds | null
  /** Timestamp of the first record of the batch being delivered, -1 between batches. */
  #inFlightTimestamp = -1
  /** Timestamp of the oldest record not replicated when the partition stopped, -1 if unknown. */
  #stoppedAtTimestamp = -1
  /** Wakes the fetch loop when buffer space frees up. */
  onSpace: () => void = () => {}
  /** This partition's fetch retries (fetch-retries.ts): its errors never delay other partitions' fetches. */
  readonly #fetchRetries: FetchRetries
  /** Dead letters of this partition (dead-letters.ts), under onRecordError=dead-letter. */
  readonly #deadLetters: DeadLetters
  /** An undecodable batch is being settled (records before it written, then its policy): no fetch meanwhile. */
  #settlingBatch = false
  /** The dead letter or stop of an undecodable batch, while it is being settled (drain waits for it). */
  #settling: Promise<void> | null = null
  /** The write under way was given up with its fate unknown (see #sendAll). */
  #gaveUp = false
  /** Where writes go: one producer, or two transactions taking turns (transaction-boundary.ts). */
  readonly #boundary: WriteBoundary
  /** The slot of the write under way (its producer and transaction). */
  #slot: WriteSlot | null = null
  /** What this copier owes the link's commits (copier-commits.ts). */
  readonly #commits: CopierCommits

  constructor(
    settings: CopierSettings,
    producers: CopierProducers,
    log: Logger,
    topic: string,
    partition: number,
    targetTopic: string,
    start: CopierStart
  ) {
    this.#settings = settings
    this.#producers = producers
    this.#boundary = 'boundary' in producers ? producers.boundary : openBoundary(producers.batches)
    this.#codec = CODEC_IDS[settings.compression]
    this.#compress = compressorFor(settings.compression)
    this.#compressOffThread = asyncCompressorFor(settings.compression)
    this.topic = topic
    this.partition = partition
    this.targetTopic = targetTopic
    this.#log = log.child({ topic, partition })
    this.#copies = start.copies
    this.#topicId = start.topicId
    this.#fetchOffset = start.offset
    this.#ackedNext = start.offset
    this.#commits = new CopierCommits(start.offset, start.copies.targetEnd, () => ({
      topic: this.topic,
      partition: this.partition,
      topicId: this.#topicId,
      ackedNext: this.#ackedNext,
      copies: this.#copies,
      logStart: this.#logStart
    }))
    this.#batchLimit = settings.maxBatchBytes
    this.#fetchRetries = new FetchRetries(settings, this.#log, () => this.onSpace())
    this.#deadLetters = new DeadLetters(producers.deadLetters, settings, this.#log, topic, partition)
    this.#schemaIds =
      settings.schemas === null
        ? null
        : new CopierSchemaIds(
            settings.schemas,
            settings,
            this.#log,
            topic,
            partition,
            this.#abandoned.signal,
            () => this.#state !== 'running' || this.#draining
          )
    this.#queue = new CopyQueue(settings, this.#log, topic, partition, this.#schemaIds)
  }

  get state(): CopierState {
    return this.#state
  }

  /** Fetched bytes waiting to be written. */
  get queuedBytes(): number {
    return this.#queue.bytes
  }

  /** Multiplies maxBufferedBytes, in step with the fetch sizes of a long round trip (core/fetch-sizing.ts). */
  bufferScale = 1

  get wantsFetch(): boolean {
    return (
      this.#state === 'running' &&
      this.#paused === null &&
      !this.#draining &&
      !this.#settlingBatch &&
      this.#queue.bytes < this.#settings.maxBufferedBytes * this.bufferScale &&
      this.#fetchRetries.ready()
    )
  }

  /** Next source offset whose predecessors are all on the target (acknowledged). */
  get replicatedNext(): bigint {
    return this.#ackedNext
  }

  get fetchOffset(): bigint {
    return this.#fetchOffset
  }

  get copies(): CopyIndex {
    return this.#copies
  }

  /** Id of the source topic this copier reads (changes only when a re-created topic is followed). */
  get topicId(): string {
    return this.#topicId
  }

  /** Takes one fetch result for this partition. */
  onFetch(result: PartitionFetch): void {
    if (this.#state !== 'running' || result.fetchOffset !== this.#fetchOffset) return // stale or stopped
    // A fetch sent before the pause (a long poll may answer with records written after it): dropped,
    // fetched again on resume from the same offset, so nothing written after a pause is copied.
    if (this.#paused !== null) return
    if (result.topicId !== '' && result.topicId !== this.#topicId && result.error?.retriable !== true) {
      // A response built from metadata older than this copier's (an id it already left) is stale.
      if (this.#retiredTopicIds.has(result.topicId)) return
      // Same name, another topic: its offsets mean nothing for this copy. Checked before anything
      // from the response is used, so records of a re-created topic never mix with the old copy.
      this.sourceRecreated(this.#topicId, result.topicId)
      return
    }
    if (result.highWatermark >= 0n) this.#highWatermark = result.highWatermark
    if (result.logStartOffset >= 0n) this.#logStart = result.logStartOffset
    if (result.error !== undefined) {
      if (result.error.error.code === 'KDR_ERR_OFFSET_OUT_OF_RANGE') this.#onOutOfRange(result)
      else this.#onFetchError(result)
      return
    }
    if (this.#fetchRetries.failing) this.#fetchRetries.recovered()
    const records = result.raw
    if (result.nextOffset === result.fetchOffset && records.length === 0) return
    this.#queue.add(records, result.nextOffset)
    this.#fetchOffset = result.nextOffset
    this.#pump()
  }

  /**
   * An operator paused the partition (`description` says who, when and why): no more fetches, and the
   * answer of one still in flight is dropped; what was queued already (at most maxBufferedBytes) is
   * still written and committed, so the pause ends at a batch boundary. Resuming fetches from where it
   * stopped.
   */
  pause(description: string): void {
    if (this.#paused === null) this.#log.debug({ pause: description }, 'partition paused')
    this.#paused = description
  }

  resume(): void {
    if (this.#paused === null) return
    this.#paused = null
    this.#log.debug('partition resumed')
    this.onSpace()
  }

  get paused(): boolean {
    return this.#paused !== null
  }

  /** The source's offsets, listed while paused (no fetch brings them): the lag keeps growing in status. */
  observeSourceOffsets(logStart: bigint, highWatermark: bigint): void {
    if (logStart >= 0n) this.#logStart = logStart
    if (highWatermark >= 0n) this.#highWatermark = highWatermark
  }

  /** Stops the partition with an error that names where and why; nothing after it is copied. */
  fail(error: KdrError): void {
    if (this.#state === 'errored') return
    // The record it stops at stays the oldest one not replicated: its age keeps counting.
    this.#stoppedAtTimestamp = this.#oldestPendingTimestamp()
    this.#state = 'errored'
    this.#reason = error
    this.#settings.events.error(this.#settings.link, error.code)
    this.#clearQueue()
    this.#log.error({ code: error.code, err: error.message }, 'partition stopped')
  }

  /** The source topic disappeared: keep what was copied, copy nothing more, report it. */
  sourceDeleted(): void {
    if (this.#state !== 'running') return
    this.#state = 'source-deleted'
    this.#reason = new KdrError('KDR_ERR_UNKNOWN_TOPIC', 'source topic was deleted; the target topic is kept', {
      cluster: this.#settings.sourceCluster,
      topic: this.topic,
      partition: this.partition,
      offset: this.#ackedNext
    })
    this.#clearQueue()
    this.#log.warn('source topic deleted: replication of this partition stopped, target data kept')
  }

  /**
   * The source topic was deleted and re-created under the same name (new topic id). Offsets of the
   * new topic have nothing to do with the old ones; by default the partition stops.
   */
  sourceRecreated(oldId: string, newId: string): void {
    if (this.#state === 'errored' || this.#topicId === newId) return
    const location = {
      cluster: this.#settings.sourceCluster,
      topic: this.topic,
      partition: this.partition,
      offset: this.#ackedNext
    }
    if (this.#settings.onDataLoss === 'stop') {
      this.fail(
        new KdrError(
          'KDR_ERR_SOURCE_TOPIC_RECREATED',
          `source topic was re-created (topic id ${oldId} -> ${newId}); its new records would mix with the old copy on the target. Policy onDataLoss=stop: partition stopped`,
          location
        )
      )
      return
    }
    this.#log.error(
      { code: 'KDR_ERR_SOURCE_TOPIC_RECREATED', oldTopicId: oldId, newTopicId: newId },
      'source topic re-created: policy onDataLoss=skip, copying the new topic from offset 0'
    )
    this.#state = 'running'
    this.#reason = null
    this.#clearQueue()
    this.#retiredTopicIds.add(this.#topicId)
    this.#topicId = newId
    this.#fetchOffset = 0n
    this.#queue.gap(this.#ackedNext, 0n, `topic re-created ${oldId} -> ${newId}`)
  }

  /** Finishes the in-flight produce and stops producing; queued records are dropped (re-fetched on restart). */
  async drain(): Promise<void> {
    this.#draining = true
    while (this.#producing !== null || this.#settling !== null) await (this.#producing ?? this.#settling)
  }

  /**
   * The drain timeout passed: the batch in flight is given up at its next failure, and a retry that
   * waits stops waiting. Progress stays where the target last acknowledged, so whatever was in
   * flight is copied again on restart (at-least-once, never a gap).
   */
  abandon(): void {
    this.#draining = true
    this.#abandoned.abort()
  }

  /** Whether a batch is being written (or retried) right now. */
  get producing(): boolean {
    return this.#producing !== null
  }

  /** What the commit of `generation` must store (copier-commits.ts); at-least-once: all acknowledged. */
  pendingCommit(generation = Number.POSITIVE_INFINITY): CommitPart | null {
    return this.#commits.pending(generation)
  }

  /** A commit stored progress up to `next`, with the copies ending at `targetEnd` on the target. */
  markCommitted(next: bigint, targetEnd: bigint | null): void {
    this.#commits.markCommitted(next, targetEnd)
  }

  /** Next source offset whose copies are committed (exactly-once: visible to read_committed readers). */
  get committedNext(): bigint {
    return this.#commits.committedNext
  }

  /** One past the target offset of the last committed copy (null when nothing was committed yet). */
  get committedTargetEnd(): bigint | null {
    return this.#commits.committedTargetEnd
  }

  status(): PartitionStatus {
    const hw = this.#highWatermark
    return {
      link: this.#settings.link,
      topic: this.topic,
      partition: this.partition,
      targetTopic: this.targetTopic,
      state: this.#statusState(),
      reason: this.#reason?.message ?? this.#paused ?? this.#fetchRetries.blocked?.message ?? null,
      replicatedNext: this.#ackedNext,
      committedNext: this.#commits.committedNext,
      sourceLogStart: this.#logStart,
      sourceHighWatermark: hw,
      lagRecords: hw > this.#ackedNext ? hw - this.#ackedNext : 0n,
      lastReplicatedTimestamp: this.#lastTimestamp,
      oldestUnreplicatedTimestamp: this.#oldestPendingTimestamp(),
      replicatedRecords: this.#replicatedRecords,
      replicatedBytes: this.#replicatedBytes,
      loopSkippedRecords: this.#loopSkipped,
      deadLetteredRecords: this.#deadLettered,
      lostRecords: this.#lost,
      fetchError: this.#fetchRetries.brokerError
    }
  }

  #statusState(): CopierState {
    if (this.#state !== 'running') return this.#state
    if (this.#paused !== null) return 'paused'
    return this.#fetchRetries.blocked !== null ? 'retrying' : 'running'
  }

  /** The first record of the batch in flight, else the first queued record; -1 when there is none. */
  #oldestPendingTimestamp(): number {
    if (this.#state === 'errored') return this.#stoppedAtTimestamp
    if (this.#inFlightTimestamp >= 0) return this.#inFlightTimestamp
    return this.#queue.oldestTimestamp()
  }

  /** Out of range: data loss under onDataLoss (data-loss.ts); under skip, the gap is queued and fetching goes on. */
  #onOutOfRange(result: PartitionFetch): void {
    const outcome = outOfRangeLoss(result, this.#settings, this.#log, this.topic, this.partition)
    if (outcome instanceof KdrError) return this.fail(outcome)
    this.#lost += outcome
    this.#queue.gap(result.fetchOffset, result.logStartOffset, 'deleted on the source before replication')
    this.#fetchOffset = result.logStartOffset
    this.#pump()
  }

  /**
   * A fetch error other than OFFSET_OUT_OF_RANGE (the fetcher names the broker's error and says
   * whether retrying may help). Retriable: this partition alone backs off (bounded, with jitter);
   * when only an operator can fix it (an ACL), slowly, shown as `retrying` with the reason and
   * logged once, so a fix resumes it without a restart. Otherwise the partition stops.
   */
  #onFetchError(result: PartitionFetch): void {
    const failure = result.error!
    if (failure.diverged !== undefined) return this.#onDiverged(result, failure.diverged.endOffset, failure.error)
    if (failure.batch !== undefined) return this.#onUndecodableBatch(result, failure.batch, failure.error)
    if (!this.#fetchRetries.failed(failure)) this.fail(failure.error)
  }

  /**
   * The source log diverged below the fetch position (unclean leader election): records fetched
   * from `endOffset` on are no longer on the source. Data loss, under the onDataLoss policy.
   */
  #onDiverged(result: PartitionFetch, endOffset: bigint, error: KdrError): void {
    const outcome = divergedLoss(result, endOffset, error, this.#settings, this.#log)
    if (outcome instanceof KdrError) return this.fail(outcome)
    this.#lost += outcome
  }

  /**
   * A record batch that cannot be decoded for good (it decompresses beyond the limit): the record
   * error policy applies to its offsets. stop: the partition stops before it. dead-letter: a dead
   * letter naming the offsets (headers only) is written, then the offsets are recorded as a gap.
   */
  #onUndecodableBatch(result: PartitionFetch, batch: { lastOffset: bigint; bytes: number }, error: KdrError): void {
    this.#settlingBatch = true
    this.#settling = this.#settleBatch(result.fetchOffset, batch.lastOffset + 1n, batch.bytes, error).finally(() => {
      this.#settlingBatch = false
      this.#settling = null
      this.onSpace()
    })
  }

  async #settleBatch(from: bigint, to: bigint, bytes: number, error: KdrError): Promise<void> {
    // The records before it are written first, as before a record the target refuses.
    while (this.#producing !== null) await this.#producing
    if (this.#state !== 'running' || this.#draining || this.#fetchOffset !== from) return
    const policy = `Policy onRecordError=${this.#settings.onRecordError}`
    if (this.#settings.onRecordError !== 'dead-letter') {
      this.fail(withPolicy(error, `${policy}: partition stopped`))
      return
    }
    try {
      await this.#deadLetters.batch(from, to, bytes, error)
    } catch (cause) {
      this.fail(
        withPolicy(
          error,
          `The dead letter could not be written (${describeCause(cause)}). ${policy}: partition stopped`
        )
      )
      return
    }
    if (this.#state !== 'running' || this.#fetchOffset !== from) return
    this.#deadLettered++
    this.#settings.events.error(this.#settings.link, error.code)
    this.#log.error(
      { code: error.code, deadLetterTopic: this.#settings.deadLetterTopic, from: String(from), to: String(to) },
      `${error.message}. ${policy}: offsets ${from}..${to - 1n} skipped (recorded as a gap) and named in a dead letter`
    )
    this.#queue.gap(from, to, 'record batch not decompressed (over fetch.maxDecompressedBytes)')
    this.#fetchOffset = to
    this.#pump()
  }

  #clearQueue(): void {
    this.#queue.clear()
    this.onSpace()
  }

  #pump(): void {
    if (this.#producing !== null || this.#draining || this.#state !== 'running' || this.#queue.empty) return
    this.#producing = this.#produceLoop()
      .catch((error: unknown) => {
        // A bug or an unexpected library error: stop this partition loudly rather than crash the process.
        this.fail(
          new KdrError(
            'KDR_ERR_RUNTIME',
            `unexpected error while copying: ${describeCause(error)}`,
            {
              cluster: this.#settings.targetCluster,
              topic: this.topic,
              partition: this.partition,
              offset: this.#ackedNext
            },
            { cause: error }
          )
        )
      })
      .finally(() => {
        this.#producing = null
      })
  }

  async #produceLoop(): Promise<void> {
    while (this.#state === 'running' && !this.#draining && !this.#queue.empty) {
      // Self-fencing: no new produce while the link has not proven recently that it may write.
      if (!this.#producers.mayWrite()) {
        await sleep(LEASE_POLL_MS)
        continue
      }
      const batch = this.#queue.take(this.#ackedNext, this.#batchLimit)
      this.#inFlightTimestamp = batch.records[0]?.timestamp ?? -1
      try {
        await this.#deliver(batch)
      } finally {
        this.#inFlightTimestamp = -1
      }
      this.onSpace()
    }
  }

  /**
   * Sends a batch until it is acknowledged or a permanent error decides its fate. The schema ids it
   * needs are registered first (outside the write boundary: waiting for a registry never holds a
   * transaction open); the writes themselves run inside the boundary (delivery.ts).
   */
  async #deliver(batch: Batch): Promise<void> {
    const schemaIds = this.#schemaIds
    let sendable = batch.records.length
    if (schemaIds !== null && (batch.schemaIds !== null || batch.keyIds !== null)) {
      const ready = await schemaIds.ensure(batch)
      if (ready === null) return
      sendable = ready
    }
    // One write at a time per copier (transaction-boundary.ts relies on it for order across producers).
    const slot = await this.#boundary.enter()
    if (slot === null) {
      this.#draining = true // the link stops: nothing more is written
      return
    }
    this.#commits.enter(slot.generation)
    this.#slot = slot
    const recordsBefore = this.#replicatedRecords
    const bytesBefore = this.#replicatedBytes
    this.#gaveUp = false
    try {
      await this.#write(batch, sendable)
    } finally {
      this.#slot = null
      slot.leave(this.#replicatedRecords - recordsBefore, this.#replicatedBytes - bytesBefore, this.#gaveUp)
    }
  }

  /** Writes the first `sendable` records of a batch (all of them: the batch is complete). */
  async #write(batch: Batch, sendable: number): Promise<void> {
    if (sendable < batch.records.length) {
      const stop = this.#schemaIds!.stop!
      if (sendable > 0) {
        const sent = await this.#sendAll(
          batch.records.slice(0, sendable),
          batch.prefixes.slice(0, sendable),
          batch.bytes
        )
        if (sent === null) return
      }
      // Everything before the record is on the target; a restart tries the record again.
      this.#ackedNext = BigInt(batch.records[sendable]!.offset)
      this.fail(stop)
      return
    }
    if (batch.records.length > 0 && (await this.#sendAll(batch.records, batch.prefixes, batch.bytes)) === null) return
    this.#complete(batch)
  }

  /** Encodes records (one partition, in order) into this partition's batch buffer. */
  async #encode(records: readonly RawRecord[], prefixes: readonly Buffer[], bytes: number): Promise<Buffer> {
    const writer = this.#writer
    const header = this.#header
    const rewrite = this.#schemaIds?.rewrite === true ? this.#schemaIds : null
    writer.begin(bytes)
    for (let i = 0; i < records.length; i++) {
      const record = records[i]!
      header.valuePrefix = prefixes[i]!
      header.valueInt64 = record.offset
      writer.append(record, header, rewrite === null ? null : rewrite.idPatch(record))
    }
    return this.#compressOffThread === null
      ? writer.finish(this.#codec, this.#compress)
      : writer.finishCompressed(this.#codec, this.#compressOffThread)
  }

  /**
   * Sends records (one partition, in order) until acknowledged. Retriable failures are retried with
   * backoff for as long as it takes (the same batch, so the broker recognises a retry of a batch it
   * already wrote), until the link stops: a closed producer or the drain timeout (abandon()) ends
   * the retries, with nothing acknowledged. When the target refuses the batch for good, it is split in halves, which
   * isolates the refused record while everything before it still lands in order; the refused record
   * then goes to the onRecordError policy. Returns how many records were written (dead letters
   * included), or null when the partition stopped or gave the batch up.
   */
  async #sendAll(records: RawRecord[], prefixes: Buffer[], bytes: number): Promise<number | null> {
    const encoded = await this.#encode(records, prefixes, bytes)
    for (;;) {
      try {
        const sentAt = performance.now()
        const baseOffset = await this.#slot!.batches.send(this.targetTopic, this.partition, encoded)
        this.#settings.events.produced(this.#settings.link, (performance.now() - sentAt) / 1000)
        this.#recordMapping(records, baseOffset)
        // Counted here, not when the batch completes: a batch split around a refused record still
        // wrote the records before it. (bytes is exact for a whole batch, an estimate for its halves.)
        this.#replicatedRecords += records.length
        this.#replicatedBytes += Math.round(bytes)
        this.#backoffMs = 0
        return records.length
      } catch (error) {
        const { kind, name } = classifyProduceError(error)
        if (kind === 'record' && records.length > 1) {
          if (name === 'MESSAGE_TOO_LARGE' || name === 'RECORD_LIST_TOO_LARGE') this.#shrinkBatches(bytes, name)
          const half = records.length >>> 1
          const first = await this.#sendAll(records.slice(0, half), prefixes.slice(0, half), bytes / 2)
          if (first === null) return null
          const second = await this.#sendAll(records.slice(half), prefixes.slice(half), bytes / 2)
          return second === null ? null : first + second
        }
        if (kind === 'record') {
          const record = records[0]!
          const offset = BigInt(record.offset)
          const parts = recordParts(record)
          const size = (parts.key?.length ?? 0) + (parts.value?.length ?? 0)
          const failure = this.#produceError(
            `target refused the record (${name}, ${size} bytes of key and value)`,
            offset,
            error
          )
          if (
            this.#settings.onRecordError === 'dead-letter' &&
            (await this.#deadLetters.record(record, offset, failure))
          ) {
            this.#deadLettered++
            return 1
          }
          // Progress stays just before the refused record: a restart tries it again.
          this.fail(failure)
          return null
        }
        if (kind === 'partition') {
          this.fail(this.#produceError(`target refused writes (${name})`, BigInt(records[0]!.offset), error))
          return null
        }
        // The link is stopping: nothing more goes through this producer; progress stays acknowledged-only.
        if (kind === 'closed') this.#draining = true
        if (this.#state !== 'running' || kind === 'closed' || this.#abandoned.signal.aborted) {
          // Given up with the batch's fate unknown (and maybe a first half written): progress stays
          // before it. Exactly-once must then not commit the transaction (transaction-boundary.ts).
          this.#gaveUp = true
          return null
        }
        this.#settings.events.retry(this.#settings.link, 'produce')
        this.#backoffMs = Math.min(MAX_BACKOFF_MS, this.#backoffMs === 0 ? 250 : this.#backoffMs * 2)
        this.#log.warn(
          { err: describeCause(error), retryInMs: this.#backoffMs, offset: String(records[0]!.offset) },
          'produce to target failed; retrying'
        )
        await sleep(this.#backoffMs, undefined, { signal: this.#abandoned.signal }).catch(() => {})
        if (this.#abandoned.signal.aborted) {
          this.#gaveUp = true // the attempt before may have landed: its fate is unknown
          return null
        }
      }
    }
  }

  /** The target refused a batch as too large: later batches stay under half that size. */
  #shrinkBatches(refusedBytes: number, name: string | undefined): void {
    const limit = Math.max(MIN_BATCH_BYTES, Math.floor(refusedBytes / 2))
    if (limit >= this.#batchLimit) return
    this.#batchLimit = limit
    this.#log.warn(
      { refusedBytes: Math.round(refusedBytes), batchLimitBytes: limit, error: name },
      'target refused a batch as too large; batches for this partition are now smaller (check the target topic max.message.bytes)'
    )
  }

  #produceError(what: string, offset: bigint, cause: unknown): KdrError {
    // Everything before `offset` in this partition is on the target (batches go in order).
    this.#ackedNext = offset
    return new KdrError(
      'KDR_ERR_KAFKA_PRODUCE',
      `${what}: ${describeCause(cause)}. Policy onRecordError=${this.#settings.onRecordError}`,
      {
        cluster: this.#settings.targetCluster,
        topic: `${this.topic} -> ${this.targetTopic}`,
        partition: this.partition,
        offset
      },
      { cause }
    )
  }

  /** Notes where the records went: a new segment when this write does not continue the last one. */
  #recordMapping(records: readonly RawRecord[], baseOffset: bigint): void {
    this.#copies.record(records, baseOffset)
  }

  #complete(batch: Batch): void {
    this.#ackedNext = batch.coveredEnd
    this.#loopSkipped += batch.loopSkipped
    const last = batch.records.at(-1)
    if (last !== undefined) this.#lastTimestamp = last.timestamp
    this.#commits.addGaps(batch.gaps)
  }
}
