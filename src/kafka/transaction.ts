import { type Connection } from '@platformatic/kafka'
import { setTimeout as sleep } from 'node:timers/promises'
import { Backoff, type BackoffPolicy } from '../core/backoff.ts'
import { KdrError, describeCause } from '../errors.ts'
import { errorNameInChain } from './call.ts'
import { COORDINATOR_TYPE_TRANSACTION, findCoordinator } from './coordinator.ts'
import { addPartitionsApis, endTxnApis, initProducerIdApis } from './producer-apis.ts'
import { RawClient } from './raw-client.ts'
import { type ClusterConnection } from './types.ts'

/**
 * One transactional id on the target cluster: the coordinator requests of KIP-98 that kafka-dr
 * sends itself (FindCoordinator, InitProducerId, AddPartitionsToTxn, EndTxn). Produce requests go
 * through BatchProducer, which asks this session to add each partition before its first batch of a
 * transaction and stamps batches with the session's producer id and epoch.
 *
 * Protocol level: the transaction version 1 path (AddPartitionsToTxn <= v3, EndTxn <= v4, Produce
 * <= v11), which every broker since 2.5 serves, Kafka 4.x included: the epoch stays the same from
 * one transaction to the next and sequences run on across transactions. Transaction version 2
 * (Produce v12, EndTxn v5) would save the AddPartitionsToTxn round trip; not used yet.
 *
 * Errors are sorted the way the Java producer sorts them (KIP-1050): `fenced` (another owner
 * initialised the same id: never write again), `fatal` (authorization, unsupported: an operator must
 * act), `abortable` (anything else inside a transaction: abort, re-initialise, resume from the
 * committed state). Once failed, the session refuses every request until init() runs again.
 */

export type TransactionFailureKind = 'fenced' | 'abortable' | 'fatal'

export class TransactionError extends KdrError {
  readonly kind: TransactionFailureKind
  constructor(kind: TransactionFailureKind, message: string, cluster: string, options: { cause?: unknown } = {}) {
    super(kind === 'fenced' ? 'KDR_ERR_FENCED' : 'KDR_ERR_KAFKA_PRODUCE', message, { cluster }, options)
    this.name = 'TransactionError'
    this.kind = kind
  }
}

/** Broker answers after which this producer id and epoch may never write again. */
const FENCED = new Set(['PRODUCER_FENCED', 'INVALID_PRODUCER_EPOCH', 'TRANSACTIONAL_ID_NOT_FOUND'])
const FATAL = new Set([
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'TOPIC_AUTHORIZATION_FAILED',
  'UNSUPPORTED_VERSION',
  'UNSUPPORTED_FOR_MESSAGE_FORMAT',
  'INVALID_TRANSACTION_TIMEOUT'
])
/** The coordinator moved or is loading: look it up again and retry. */
const COORDINATOR_MOVED = new Set(['NOT_COORDINATOR', 'COORDINATOR_NOT_AVAILABLE'])
/** Retry the same request after a short pause (the previous transaction's markers are being written). */
const RETRY_SOON = new Set(['CONCURRENT_TRANSACTIONS', 'COORDINATOR_LOAD_IN_PROGRESS'])

/** Sorts a broker error met inside a transaction. */
export function transactionFailureKind(name: string | undefined): TransactionFailureKind {
  if (name !== undefined && FENCED.has(name)) return 'fenced'
  if (name !== undefined && FATAL.has(name)) return 'fatal'
  return 'abortable'
}

/** Coordinator requests: quick retries, bounded (the whole transaction has a timeout anyway). */
const COORDINATOR_BOUND_MS = 30_000
const COORDINATOR_BACKOFF: BackoffPolicy = { initialMs: 20, maxMs: 1000, maxElapsedMs: COORDINATOR_BOUND_MS }

export interface ProducerIdentity {
  id: bigint
  epoch: number
}

export class TransactionSession {
  readonly cluster: string
  readonly transactionalId: string
  readonly timeoutMs: number
  readonly #client: RawClient
  #coordinator: Connection | null = null
  #producer: ProducerIdentity | null = null
  /** Partitions added to the open transaction ("topic\0partition"). */
  readonly #added = new Set<string>()
  /** Partitions written (asked for by add()) in the open transaction, and in the one before it. */
  #used = new Set<string>()
  #usedBefore = new Set<string>()
  /** Partitions waiting to be added in the next AddPartitionsToTxn (one request per event-loop turn). */
  #toAdd: { key: string; topic: string; partition: number }[] = []
  #adding: Promise<void> | null = null
  #failure: TransactionError | null = null
  #closed = false
  /** Called once when the session fails (the link aborts or stops: engine/delivery.ts). */
  onFailure: (error: TransactionError) => void = () => {}

  constructor(connection: ClusterConnection, transactionalId: string, timeoutMs: number) {
    this.cluster = connection.alias
    this.transactionalId = transactionalId
    this.timeoutMs = timeoutMs
    this.#client = new RawClient({ ...connection, clientId: connection.clientId ?? `kafka-dr-txn` }, 'producer')
  }

  /** The producer id and epoch batches are stamped with; null before init(). */
  get producer(): ProducerIdentity | null {
    return this.#producer
  }

  get failure(): TransactionError | null {
    return this.#failure
  }

  /** Whether a transaction is open (a partition was added since the last end()). */
  get open(): boolean {
    return this.#added.size > 0 || this.#adding !== null
  }

  /**
   * InitProducerId for the transactional id: aborts whatever transaction the previous owner left
   * open (the coordinator answers CONCURRENT_TRANSACTIONS until its abort markers are written) and
   * fences that owner. Retried until the coordinator answers, bounded by the transaction timeout
   * plus COORDINATOR_BOUND_MS.
   */
  async init(): Promise<ProducerIdentity> {
    this.#failure = null
    this.#added.clear()
    this.#used.clear()
    this.#usedBefore.clear()
    this.#toAdd = []
    let response: { producerId: bigint; producerEpoch: number }
    try {
      const version = Math.min(initProducerIdApis.length - 1, await this.#client.negotiatedVersion('InitProducerId'))
      response = await this.#coordinatorCall(
        'InitProducerId',
        connection =>
          initProducerIdApis[version]!.api.async(connection, this.transactionalId, this.timeoutMs, -1n, -1) as Promise<{
            producerId: bigint
            producerEpoch: number
          }>,
        this.timeoutMs + COORDINATOR_BOUND_MS
      )
    } catch (error) {
      // Sorted like a failure inside a transaction (fatal: a missing ACL, an old broker), but not a
      // failure of the session: nothing was open yet, so the owner is not told (its start fails).
      const kind = transactionFailureKind(errorNameInChain(error))
      throw new TransactionError(
        kind === 'fenced' ? 'abortable' : kind,
        `InitProducerId for transactional id ${this.transactionalId} failed: ${describeCause(error)}`,
        this.cluster,
        { cause: error }
      )
    }
    this.#producer = { id: response.producerId, epoch: response.producerEpoch }
    return this.#producer
  }

  /**
   * Adds a partition to the open transaction (once per transaction); partitions asked for in the same
   * event-loop turn share one request. Throws the session's failure once it failed.
   */
  async add(topic: string, partition: number): Promise<void> {
    this.#throwIfFailed()
    const key = `${topic}\u0000${partition}`
    this.#used.add(key)
    if (this.#added.has(key)) return
    if (!this.#toAdd.some(p => p.key === key)) this.#toAdd.push({ key, topic, partition })
    // Wait for a request under way, then send what accumulated (including this partition).
    while (!this.#added.has(key)) {
      if (this.#adding !== null) {
        await this.#adding
        continue
      }
      this.#adding = this.#addPending().finally(() => (this.#adding = null))
      await this.#adding
    }
  }

  async #addPending(): Promise<void> {
    await new Promise<void>(resolve => setImmediate(resolve))
    const batch = this.#toAdd
    this.#toAdd = []
    if (batch.length === 0) return
    this.#throwIfFailed()
    const producer = this.#requireProducer()
    const byTopic = new Map<string, number[]>()
    for (const { topic, partition } of batch) {
      let list = byTopic.get(topic)
      if (list === undefined) byTopic.set(topic, (list = []))
      list.push(partition)
    }
    const version = Math.min(addPartitionsApis.length - 1, await this.#client.negotiatedVersion('AddPartitionsToTxn'))
    const request = [
      {
        transactionalId: this.transactionalId,
        producerId: producer.id,
        producerEpoch: producer.epoch,
        verifyOnly: false,
        topics: [...byTopic].map(([name, partitions]) => ({ name, partitions }))
      }
    ]
    try {
      await this.#coordinatorCall(
        'AddPartitionsToTxn',
        connection => addPartitionsApis[version]!.api.async(connection, request),
        COORDINATOR_BOUND_MS
      )
    } catch (error) {
      this.#toAdd.unshift(...batch)
      throw this.fail(error, `adding ${batch.length} partitions to the transaction failed`)
    }
    for (const { key } of batch) this.#added.add(key)
  }

  /**
   * Ends the open transaction: commit or abort (an abort also after an abortable failure). Nothing to
   * do when no partition was added. A failed
   * commit leaves the transaction's fate unknown to the caller (the coordinator may have committed
   * it): the session fails, and the caller resumes from what the target holds (re-init, re-read).
   */
  async end(commit: boolean): Promise<void> {
    // After an abortable failure the transaction may still be aborted (what the Java producer's
    // abortTransaction does): its records never become visible and the LSO moves on at once.
    if (commit || this.#failure?.kind !== 'abortable') this.#throwIfFailed()
    else if (this.#closed) throw new TransactionError('abortable', 'the transaction session is closed', this.cluster)
    if (this.#adding !== null) await this.#adding.catch(() => {})
    if (this.#added.size === 0) return
    const producer = this.#requireProducer()
    const version = Math.min(endTxnApis.length - 1, await this.#client.negotiatedVersion('EndTxn'))
    try {
      await this.#coordinatorCall(
        'EndTxn',
        connection =>
          endTxnApis[version]!.api.async(connection, this.transactionalId, producer.id, producer.epoch, commit),
        COORDINATOR_BOUND_MS
      )
    } catch (error) {
      throw this.fail(error, `${commit ? 'committing' : 'aborting'} the transaction failed`)
    }
    this.#added.clear()
    this.#usedBefore = this.#used
    this.#used = new Set()
  }

  /**
   * Opens the next transaction ahead of its writes: adds the partitions the transaction just ended
   * wrote (they are likely written again), so their first batches do not wait for AddPartitionsToTxn.
   * Called in the background right after end() (engine/delivery.ts, whose two ids take turns: this
   * id's next transaction starts an interval later). The coordinator answers CONCURRENT_TRANSACTIONS
   * until the markers of the ended transaction are written, and is asked again. A partition added
   * but not written gets a commit marker (one offset) anyway: only partitions of the last
   * transaction are added, so a partition that falls idle gets at most one such marker.
   */
  prepareNext(): Promise<void> {
    for (const key of this.#usedBefore) {
      if (this.#added.has(key) || this.#toAdd.some(p => p.key === key)) continue
      const split = key.lastIndexOf('\u0000')
      this.#toAdd.push({ key, topic: key.slice(0, split), partition: Number(key.slice(split + 1)) })
    }
    if (this.#toAdd.length === 0 || this.#adding !== null) return this.#adding ?? Promise.resolve()
    this.#adding = this.#addPending().finally(() => (this.#adding = null))
    return this.#adding
  }

  /**
   * Marks the session failed (once; later failures keep the first) and tells the owner. Returns the
   * TransactionError to throw. Used by BatchProducer for errors in produce answers too.
   */
  fail(cause: unknown, what: string): TransactionError {
    if (this.#failure !== null) return this.#failure
    if (cause instanceof TransactionError) {
      this.#failure = cause
    } else {
      const name = errorNameInChain(cause)
      const kind = this.#closed ? 'abortable' : transactionFailureKind(name)
      const reason =
        kind === 'fenced'
          ? `transactional id ${this.transactionalId} was fenced (${name}): another process initialised it (a failover, or a second replicator of this link)`
          : `${what} for transactional id ${this.transactionalId}: ${describeCause(cause)}`
      this.#failure = new TransactionError(kind, reason, this.cluster, { cause })
    }
    this.onFailure(this.#failure)
    return this.#failure
  }

  async close(): Promise<void> {
    this.#closed = true
    await this.#client.close()
  }

  #throwIfFailed(): void {
    if (this.#failure !== null) throw this.#failure
    if (this.#closed) throw new TransactionError('abortable', 'the transaction session is closed', this.cluster)
  }

  #requireProducer(): ProducerIdentity {
    if (this.#producer === null) throw new Error('TransactionSession used before init()')
    return this.#producer
  }

  /**
   * Sends a request to the transaction coordinator, finding it first; retries coordinator moves and
   * CONCURRENT_TRANSACTIONS with backoff until `boundMs`. Other errors are thrown as they are.
   */
  async #coordinatorCall<T>(what: string, call: (connection: Connection) => Promise<T>, boundMs: number): Promise<T> {
    const backoff = new Backoff({ ...COORDINATOR_BACKOFF, maxElapsedMs: boundMs })
    for (;;) {
      let lastError: unknown
      try {
        const connection = await this.#findCoordinator()
        return await call(connection)
      } catch (error) {
        lastError = error
        const name = errorNameInChain(error)
        const retriable =
          name === undefined ? !(error instanceof KdrError) : COORDINATOR_MOVED.has(name) || RETRY_SOON.has(name)
        if (name === undefined || COORDINATOR_MOVED.has(name)) this.#coordinator = null
        if (!retriable || this.#closed) throw error
      }
      const delay = backoff.next()
      if (delay === null)
        throw new KdrError(
          'KDR_ERR_KAFKA_PRODUCE',
          `${what} for transactional id ${this.transactionalId}: no answer from the transaction coordinator after ${backoff.attempts} attempts in ${backoff.elapsedMs} ms: ${describeCause(lastError)}`,
          { cluster: this.cluster },
          { cause: lastError }
        )
      await sleep(delay)
    }
  }

  async #findCoordinator(): Promise<Connection> {
    this.#coordinator ??= await findCoordinator(this.#client, COORDINATOR_TYPE_TRANSACTION, this.transactionalId)
    return this.#coordinator
  }
}
