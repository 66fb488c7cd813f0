import { type LinkConfig } from '../config/index.ts'
import { transactionalId } from '../core/transactional-ids.ts'
import { describeCause } from '../errors.ts'
import {
  BatchProducer,
  type ClusterConnection,
  RecordBatchWriter,
  type RecordProducer,
  TransactionError,
  TransactionSession
} from '../kafka/index.ts'
import { type Logger } from '../observability/logger.ts'
import { STATE_TOPIC, type StateEntry, encodeStateEntry, writeState } from '../state/index.ts'
import { withinDeadline } from './shutdown.ts'
import { OPEN_BOUNDARY, TransactionBoundary, type WriteBoundary } from './transaction-boundary.ts'

/**
 * The delivery mode of a link, as one seam: how copied batches are written to the target and how a
 * commit stores the progress that covers them. The copiers and the commit cycle are the same for
 * both modes; only this object differs.
 *
 * - at-least-once: an idempotent batch producer; a commit writes the state entries after the
 *   batches they cover were acknowledged (a crash replays up to one commit interval).
 * - exactly-once: a transactional batch producer; the batches of a commit interval and the state
 *   entries that cover them are ONE transaction on the target, so a read_committed reader sees each
 *   source record exactly once and stored progress matches the committed data exactly. A restart's
 *   InitProducerId aborts what a crashed incarnation left open; a failover's InitProducerId fences
 *   this one (its next write is refused).
 */

/** What a commit stores, gathered when no write is under way; `committed` runs once it is durable. */
export interface CommitWork {
  entries: StateEntry[]
  committed: () => void
}

export interface Delivery {
  readonly mode: LinkConfig['delivery']
  readonly batches: BatchProducer
  /** Copiers write inside it (transaction-boundary.ts). */
  readonly boundary: WriteBoundary
  /** Prepares writing: exactly-once initialises the transactional id (aborting a leftover transaction). */
  start(): Promise<void>
  /** Stores a commit. Throws when it failed (at-least-once: retried by the next commit). */
  commit(gather: () => CommitWork | null): Promise<void>
  /** The link stops: writes that have not started yet never start (those under way finish). */
  stopWrites(): void
  /** The link stops without committing what is open (a drain timeout, a failure): nothing of it becomes visible. */
  abandon(): Promise<void>
  close(): Promise<void>
}

export class IdempotentDelivery implements Delivery {
  readonly mode = 'at-least-once' as const
  readonly batches: BatchProducer
  readonly boundary = OPEN_BOUNDARY
  readonly #state: RecordProducer

  constructor(target: ClusterConnection, state: RecordProducer) {
    this.batches = new BatchProducer(target)
    this.#state = state
  }

  async start(): Promise<void> {}

  stopWrites(): void {}

  async commit(gather: () => CommitWork | null): Promise<void> {
    const work = gather()
    if (work === null || work.entries.length === 0) return
    await writeState(this.#state, work.entries)
    work.committed()
  }

  async abandon(): Promise<void> {}

  close(): Promise<void> {
    return this.batches.close()
  }
}

/** A commit's state entries go in batches of at most this size (the state topic takes 16 MiB). */
const STATE_BATCH_BYTES = 4 * 1024 * 1024
/** How long a stop may spend aborting the open transaction (else the coordinator's timeout aborts it). */
const ABORT_MS = 2_000

export class TransactionalDelivery implements Delivery {
  readonly mode = 'exactly-once' as const
  readonly batches: BatchProducer
  readonly boundary: TransactionBoundary
  readonly session: TransactionSession
  readonly #log: Logger
  /** How long a commit waits for the writes under way before it gives the transaction up. */
  readonly #quiesceMs: number
  /** Set by abandon(): no commit may end the transaction any more. */
  #abandoned = false

  constructor(
    target: ClusterConnection,
    link: LinkConfig,
    log: Logger,
    onFailure: (error: TransactionError) => void,
    /** Tests pass fakes; otherwise a session for the link's transactional id and a producer under it. */
    parts?: { session: TransactionSession; batches: BatchProducer }
  ) {
    this.session =
      parts?.session ?? new TransactionSession(target, transactionalId(link.name), link.transaction.timeoutMs)
    this.session.onFailure = error => {
      this.boundary.shut()
      onFailure(error)
    }
    this.batches = parts?.batches ?? new BatchProducer(target, { transaction: this.session })
    this.boundary = new TransactionBoundary(link.transaction)
    // A write given up after part of it may have landed: the transaction holds records no progress
    // covers, so it must never commit (abort, restart from committed state).
    this.boundary.onAmbiguous = () =>
      void this.session.fail(new Error('a write was given up after part of it may have landed'), 'the transaction')
    this.#log = log
    // Half the transaction timeout: the commit must still reach the coordinator before it aborts.
    this.#quiesceMs = Math.floor(link.transaction.timeoutMs / 2)
  }

  async start(): Promise<void> {
    const started = performance.now()
    const producer = await this.session.init()
    this.#log.info(
      {
        transactionalId: this.session.transactionalId,
        producerId: String(producer.id),
        epoch: producer.epoch,
        ms: Math.round(performance.now() - started)
      },
      'exactly-once: transactional id initialised (any transaction left open by an earlier run is aborted)'
    )
  }

  async commit(gather: () => CommitWork | null): Promise<void> {
    if (this.session.failure !== null) throw this.session.failure
    if (!(await this.boundary.quiesce(this.#quiesceMs))) {
      throw this.session.fail(
        new Error(`a write to the target did not finish within ${this.#quiesceMs} ms`),
        'the transaction could not be committed in time'
      )
    }
    try {
      // A stop gave the transaction up while this commit waited: it must not commit what it holds.
      if (this.#abandoned) throw this.session.fail(new Error('the link stopped'), 'the transaction was given up')
      const work = gather()
      if (work !== null && work.entries.length > 0) await this.#writeState(work.entries)
      await this.session.end(true)
      work?.committed()
    } catch (error) {
      throw error instanceof TransactionError ? error : this.session.fail(error, 'writing the state records failed')
    } finally {
      if (this.session.failure === null) this.boundary.reopen()
    }
  }

  /** The commit's state entries, in the transaction (several batches when large: still atomic). */
  async #writeState(entries: readonly StateEntry[]): Promise<void> {
    const timestamp = Date.now()
    let writer = new RecordBatchWriter(64 * 1024)
    let bytes = 0
    writer.begin(0)
    for (const entry of entries) {
      const { key, value } = encodeStateEntry(entry)
      writer.appendRecord(timestamp, key, value)
      bytes += key.length + (value?.length ?? 0)
      if (bytes >= STATE_BATCH_BYTES) {
        await this.batches.send(STATE_TOPIC, 0, writer.finish(0, null))
        writer = new RecordBatchWriter(64 * 1024)
        writer.begin(0)
        bytes = 0
      }
    }
    if (writer.count > 0) await this.batches.send(STATE_TOPIC, 0, writer.finish(0, null))
  }

  stopWrites(): void {
    this.boundary.shut()
  }

  async abandon(): Promise<void> {
    this.#abandoned = true
    this.boundary.shut()
    if (this.session.failure !== null || !this.session.open) return
    const ended = await withinDeadline(this.session.end(false), performance.now() + ABORT_MS).catch((error: unknown) =>
      describeCause(error)
    )
    const aborted = typeof ended === 'string' ? ended : ended.inTime ? true : `no answer in ${ABORT_MS} ms`
    if (aborted === true)
      this.#log.info('exactly-once: open transaction aborted; its records are copied again on restart')
    else
      this.#log.warn(
        { reason: aborted, transactionTimeoutMs: this.session.timeoutMs },
        'exactly-once: open transaction not aborted; the next start (or the transaction timeout) aborts it'
      )
  }

  async close(): Promise<void> {
    this.boundary.shut()
    await Promise.allSettled([this.batches.close(), this.session.close()])
  }
}
