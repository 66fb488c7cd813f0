import { type ClusterMetadata, type Connection, ProtocolError, createAPI } from '@platformatic/kafka'
import { setTimeout as sleep } from 'node:timers/promises'
import { KdrError, describeCause } from '../errors.ts'
import { protocolErrorName } from './call.ts'
import { initProducerIdApis } from './producer-apis.ts'
import { MAX_SEQUENCE, addToSequence } from './producer-sequence.ts'
import { RawClient } from './raw-client.ts'
import {
  type Pending,
  type ProduceAnswers,
  createProduceRequest,
  parseProduceResponse,
  partitionKey
} from './produce-request.ts'
import { ATTR_TRANSACTIONAL, batchRecordCount, stampBatch } from './record-batch.ts'
import { type TransactionSession } from './transaction.ts'
import { type ClusterConnection } from './types.ts'

/**
 * An idempotent producer of ready-made record batches (see RecordBatchWriter): the data path hands
 * over one batch per partition and gets back its base offset. Batches sent in the same event-loop
 * turn to the same broker travel in one Produce request.
 *
 * Invariants the caller keeps and this class relies on: at most one batch per partition is in
 * flight, and a batch that failed is sent again (it keeps its sequence number, so a retry of a
 * batch the broker did write is recognised as a duplicate and answered with the first offset).
 * Sequence numbers only advance when the broker acknowledged a batch, and wrap at 2^31-1 the way
 * the broker counts them (producer-sequence.ts).
 *
 * With a TransactionSession the producer is transactional (delivery: exactly-once): batches carry the
 * transactional bit and the session's producer id and epoch, each partition is added to the open
 * transaction before its first batch, and an answer that ends the transaction (fenced, epoch or
 * sequence errors) fails the session instead of starting over with a new producer id: the owner
 * aborts and resumes from committed state (engine/delivery.ts).
 */

/** Produce v9..v11 share one request layout (flexible versions); v9 needs Kafka 2.4 or later. */
const PRODUCE_MIN_VERSION = 9
const MAX_REQUEST_BYTES = 16 * 1024 * 1024

/** Broker errors after which the producer id is no longer usable: a new one is requested. */
const PRODUCER_STATE_ERRORS = new Set([45, 46, 47, 49, 59, 90])
/** Transactional: errors that end the transaction (the above, INVALID_TXN_STATE, TRANSACTION_ABORTABLE). */
const TRANSACTION_ENDING_ERRORS = new Set([...PRODUCER_STATE_ERRORS, 48, 120])
/** InitProducerId answers that go away by themselves once the broker's coordinator is ready. */
const COORDINATOR_NOT_READY = new Set([
  'COORDINATOR_LOAD_IN_PROGRESS',
  'COORDINATOR_NOT_AVAILABLE',
  'NOT_COORDINATOR',
  'CONCURRENT_TRANSACTIONS'
])

/** Broker errors that mean the metadata (leader) used for the request is out of date. */
const STALE_METADATA_ERRORS = new Set([3, 5, 6, 74, 75])

/** Quiet retries of a batch whose partition leader was not ready (e.g. a topic just created). */
const LEADER_RETRIES = 8

type ProduceApi = ReturnType<typeof createAPI<[string | null, number, Map<string, Pending[]>], ProduceAnswers>>

interface TopicLeaders {
  leaders: number[]
  /** Metadata generation this entry came from; older than #staleSince means stale. */
  generation: number
}

/**
 * A send refused or abandoned because the producer was closed (the link is stopping): not a Kafka
 * failure and never retriable, since the same producer will refuse the batch again. A batch that was
 * in flight when the producer closed may or may not have been written.
 */
export class ProducerClosedError extends KdrError {
  constructor(message: string, location: { cluster: string; topic: string; partition: number }) {
    super('KDR_ERR_KAFKA_PRODUCE', message, location)
    this.name = 'ProducerClosedError'
  }
}

export class BatchProducer {
  readonly cluster: string
  readonly #client: RawClient
  readonly #requestTimeoutMs: number
  #producer: { id: bigint; epoch: number } | null = null
  /** Transactional mode (exactly-once); null for an idempotent producer. */
  readonly #transaction: TransactionSession | null
  /** Id and epoch the sequences in #sequences belong to (a new epoch starts every partition at 0). */
  #sequencesOf: { id: bigint; epoch: number } = { id: -1n, epoch: -1 }
  #initializing: Promise<{ id: bigint; epoch: number }> | null = null
  readonly #sequences = new Map<string, number>()
  /** Base sequence of a partition's first batch under a producer id: 0, except in tests (see options). */
  readonly #firstSequence: number
  /** Leaders per topic; refreshed one topic at a time (the library fails a metadata call on any unknown topic). */
  readonly #topics = new Map<string, TopicLeaders>()
  #brokers: ClusterMetadata['brokers'] = new Map()
  #generation = 0
  /** Entries from before this generation are stale (set when a request finds metadata out of date). */
  #staleBefore = 1
  readonly #refreshing = new Map<string, Promise<TopicLeaders | undefined>>()
  #produceApi: ProduceApi | null = null
  readonly #queues = new Map<number, Pending[]>()
  #flushScheduled = false
  #closed = false

  constructor(
    connection: ClusterConnection,
    options: {
      requestTimeoutMs?: number
      /**
       * TEST ONLY: the base sequence of each partition's first batch under a new producer id
       * (default 0), so a test can cross the 2^31-1 wrap within a few hundred records. The broker
       * accepts any first sequence from a producer id it has no state for. Never set in production.
       */
      testOnlyFirstSequence?: number
      /** Makes the producer transactional under this session (its init() must have run). */
      transaction?: TransactionSession
    } = {}
  ) {
    this.#transaction = options.transaction ?? null
    this.cluster = connection.alias
    this.#client = new RawClient(connection, 'producer')
    this.#requestTimeoutMs = options.requestTimeoutMs ?? connection.requestTimeoutMs ?? 30_000
    this.#firstSequence = options.testOnlyFirstSequence ?? 0
    if (!Number.isInteger(this.#firstSequence) || this.#firstSequence < 0 || this.#firstSequence > MAX_SEQUENCE)
      throw new RangeError(`testOnlyFirstSequence must be an integer in 0..${MAX_SEQUENCE}`)
  }

  /**
   * Sends one finished batch to `partition` of `topic`; resolves with the offset the broker gave its
   * first record. Errors carry the broker's error (ProtocolError with its name) as cause.
   */
  async send(topic: string, partition: number, batch: Buffer): Promise<bigint> {
    if (this.#closed) throw new ProducerClosedError('producer is closed', { cluster: this.cluster, topic, partition })
    const transaction = this.#transaction
    if (transaction !== null) await transaction.add(topic, partition)
    const producer = transaction === null ? await this.#producerId(topic, partition) : transaction.producer!
    const leader = await this.#leader(topic, partition)
    if (this.#closed) throw new ProducerClosedError('producer is closed', { cluster: this.cluster, topic, partition })
    if (producer.id !== this.#sequencesOf.id || producer.epoch !== this.#sequencesOf.epoch) {
      this.#sequences.clear()
      this.#sequencesOf = { id: producer.id, epoch: producer.epoch }
    }
    const sequence = this.#sequences.get(partitionKey(topic, partition)) ?? this.#firstSequence
    if (transaction !== null) batch.writeInt16BE(batch.readInt16BE(21) | ATTR_TRANSACTIONAL, 21)
    stampBatch(batch, producer.id, producer.epoch, sequence)
    return new Promise<bigint>((resolve, reject) => {
      this.#enqueue(leader, {
        topic,
        partition,
        batch,
        records: batchRecordCount(batch),
        sequence,
        producerId: producer.id,
        attempts: 0,
        resolve,
        reject
      })
    })
  }

  #enqueue(leader: number, pending: Pending): void {
    let queue = this.#queues.get(leader)
    if (queue === undefined) this.#queues.set(leader, (queue = []))
    queue.push(pending)
    if (!this.#flushScheduled) {
      this.#flushScheduled = true
      setImmediate(() => this.#flush())
    }
  }

  /** Sends a batch again, unchanged (same sequence), to the partition's leader as metadata now says. */
  #retryLater(pending: Pending): void {
    pending.attempts++
    setTimeout(() => {
      if (this.#closed) {
        pending.reject(this.#closedError(pending, 'producer closed before sending'))
        return
      }
      this.#leader(pending.topic, pending.partition).then(
        leader => this.#enqueue(leader, pending),
        (error: unknown) => pending.reject(error instanceof Error ? error : new Error(String(error)))
      )
    }, 50 * pending.attempts).unref()
  }

  async close(): Promise<void> {
    this.#closed = true
    for (const queue of this.#queues.values()) {
      for (const pending of queue.splice(0))
        pending.reject(this.#closedError(pending, 'producer closed before sending'))
    }
    await this.#client.close()
  }

  #flush(): void {
    this.#flushScheduled = false
    for (const [node, queue] of this.#queues) {
      while (queue.length > 0) {
        const request: Pending[] = []
        let bytes = 0
        while (queue.length > 0 && (request.length === 0 || bytes + queue[0]!.batch.length <= MAX_REQUEST_BYTES)) {
          const next = queue.shift()!
          bytes += next.batch.length
          request.push(next)
        }
        void this.#sendRequest(node, request)
      }
    }
  }

  async #sendRequest(node: number, request: Pending[]): Promise<void> {
    let answers: ProduceAnswers
    try {
      const broker = this.#brokers.get(node)
      if (broker === undefined) throw new Error(`broker ${node} is not in the cluster metadata`)
      const [connection, api] = await Promise.all([this.#client.connectionTo(broker), this.#api()])
      const byTopic = new Map<string, Pending[]>()
      for (const pending of request) {
        let list = byTopic.get(pending.topic)
        if (list === undefined) byTopic.set(pending.topic, (list = []))
        list.push(pending)
      }
      answers = await api.async(connection, this.#transaction?.transactionalId ?? null, this.#requestTimeoutMs, byTopic)
    } catch (error) {
      // The request as a whole failed (connection, timeout): every batch in it may be sent again,
      // unless the failure is the producer closing its connections.
      if (this.#closed) {
        for (const pending of request)
          pending.reject(this.#closedError(pending, 'producer closed while the batch was in flight'))
        return
      }
      this.#markStale()
      for (const pending of request)
        pending.reject(this.#error(pending, `produce request to broker ${node} failed: ${describeCause(error)}`, error))
      return
    }
    for (const pending of request) {
      const answer = answers.get(partitionKey(pending.topic, pending.partition))
      if (answer === undefined) {
        pending.reject(this.#error(pending, `broker ${node} did not answer for this partition`))
        continue
      }
      if (answer.errorCode === 0) {
        const key = partitionKey(pending.topic, pending.partition)
        if (pending.producerId === this.#currentProducerId())
          this.#sequences.set(key, addToSequence(pending.sequence, pending.records))
        pending.resolve(answer.baseOffset)
        continue
      }
      if (STALE_METADATA_ERRORS.has(answer.errorCode)) {
        this.#markStale()
        if (pending.attempts < LEADER_RETRIES && pending.producerId === this.#currentProducerId()) {
          this.#retryLater(pending)
          continue
        }
      }
      if (this.#transaction !== null && TRANSACTION_ENDING_ERRORS.has(answer.errorCode)) {
        const cause = new ProtocolError(answer.errorCode, answer.errorMessage)
        pending.reject(
          this.#transaction.fail(cause, `target refused a batch for ${pending.topic}-${pending.partition}`)
        )
        continue
      }
      if (PRODUCER_STATE_ERRORS.has(answer.errorCode) && pending.producerId === this.#producer?.id) {
        // The broker no longer accepts this producer id's sequence; start over with a new id. A batch
        // it had written already is then written again: at-least-once, never a gap.
        this.#producer = null
        this.#sequences.clear()
      }
      const cause = new ProtocolError(answer.errorCode, answer.errorMessage)
      pending.reject(
        this.#error(
          pending,
          `target refused the batch: ${describeCause(cause)}${answer.errorMessage === null ? '' : ` (${answer.errorMessage})`}`,
          cause
        )
      )
    }
  }

  #error(pending: Pending, message: string, cause?: unknown): KdrError {
    return new KdrError(
      'KDR_ERR_KAFKA_PRODUCE',
      message,
      { cluster: this.cluster, topic: pending.topic, partition: pending.partition },
      { cause }
    )
  }

  #closedError(pending: Pending, message: string): ProducerClosedError {
    return new ProducerClosedError(message, {
      cluster: this.cluster,
      topic: pending.topic,
      partition: pending.partition
    })
  }

  #currentProducerId(): bigint | undefined {
    return this.#transaction === null ? this.#producer?.id : this.#transaction.producer?.id
  }

  #markStale(): void {
    this.#staleBefore = this.#generation + 1
  }

  async #api(): Promise<ProduceApi> {
    if (this.#produceApi !== null) return this.#produceApi
    const version = Math.min(11, await this.#client.negotiatedVersion('Produce'))
    if (version < PRODUCE_MIN_VERSION) {
      throw new KdrError(
        'KDR_ERR_KAFKA_PRODUCE',
        `the cluster supports Produce up to v${version}; kafka-dr needs v${PRODUCE_MIN_VERSION} (Kafka 2.4 or later)`,
        { cluster: this.cluster }
      )
    }
    this.#produceApi = createAPI<[string | null, number, Map<string, Pending[]>], ProduceAnswers>(
      0,
      version,
      createProduceRequest,
      parseProduceResponse
    )
    return this.#produceApi
  }

  #producerId(topic: string, partition: number): Promise<{ id: bigint; epoch: number }> {
    if (this.#producer !== null) return Promise.resolve(this.#producer)
    this.#initializing ??= (async () => {
      try {
        const version = Math.min(initProducerIdApis.length - 1, await this.#client.negotiatedVersion('InitProducerId'))
        // A broker that just started answers COORDINATOR_LOAD_IN_PROGRESS (or NOT_COORDINATOR) for a
        // while: asked again here, quietly, instead of failing every partition's send.
        for (let attempt = 0; ; attempt++) {
          try {
            const connection: Connection = await this.#client.bootstrapConnection()
            const response = await initProducerIdApis[version]!.api.async(connection, null, 60_000, -1n, -1)
            this.#producer = { id: response.producerId, epoch: response.producerEpoch }
            this.#sequences.clear()
            return this.#producer
          } catch (error) {
            const name = protocolErrorName(error)
            if (attempt >= 40 || name === undefined || !COORDINATOR_NOT_READY.has(name)) throw error
            await sleep(Math.min(1000, 100 * (attempt + 1)))
          }
        }
      } catch (error) {
        throw new KdrError(
          'KDR_ERR_KAFKA_PRODUCE',
          `could not obtain an idempotent producer id: ${describeCause(error)}`,
          { cluster: this.cluster, topic, partition },
          { cause: error }
        )
      } finally {
        this.#initializing = null
      }
    })()
    return this.#initializing
  }

  /**
   * The leader of a partition from metadata refreshed since it was last found stale. A partition
   * number beyond the topic's partitions is an error here, never mapped elsewhere.
   */
  async #leader(topic: string, partition: number): Promise<number> {
    let entry = this.#topics.get(topic)
    if (entry === undefined || entry.generation < this.#staleBefore || partition >= entry.leaders.length) {
      entry = await this.#refresh(topic)
    }
    const count = entry?.leaders.length ?? 0
    if (entry === undefined || partition >= count) {
      throw new KdrError('KDR_ERR_KAFKA_PRODUCE', `partition ${partition} does not exist (the topic has ${count})`, {
        cluster: this.cluster,
        topic,
        partition
      })
    }
    const leader = entry.leaders[partition] ?? -1
    if (leader < 0) {
      this.#markStale()
      throw new KdrError('KDR_ERR_KAFKA_PRODUCE', 'the partition has no leader right now', {
        cluster: this.cluster,
        topic,
        partition
      })
    }
    return leader
  }

  #refresh(topic: string): Promise<TopicLeaders | undefined> {
    let refreshing = this.#refreshing.get(topic)
    if (refreshing === undefined) {
      refreshing = (async () => {
        try {
          const metadata = await this.#client.metadataOf([topic], true)
          this.#brokers = metadata.brokers
          const generation = ++this.#generation
          const found = metadata.topics.get(topic)
          if (found === undefined) {
            this.#topics.delete(topic)
            return undefined
          }
          const entry = { leaders: found.partitions.map(p => p.leader), generation }
          this.#topics.set(topic, entry)
          return entry
        } catch (error) {
          throw new KdrError(
            'KDR_ERR_KAFKA_PRODUCE',
            `metadata refresh failed: ${describeCause(error)}`,
            { cluster: this.cluster, topic },
            { cause: error }
          )
        } finally {
          this.#refreshing.delete(topic)
        }
      })()
      this.#refreshing.set(topic, refreshing)
    }
    return refreshing
  }
}
