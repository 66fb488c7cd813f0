import { type LinkConfig } from '../config/index.ts'
import { shardTransactionalIds } from '../core/transactional-ids.ts'
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
import { TransactionBoundary, type WriteBoundary, openBoundary } from './transaction-boundary.ts'

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

/** What a commit stores, gathered when no write of it is under way; `committed` runs once it is durable. */
export interface CommitWork {
  entries: StateEntry[]
  committed: () => void
}

export interface Delivery {
  readonly mode: LinkConfig['delivery']
  /** Copiers write inside it, with the producer it names (transaction-boundary.ts). */
  readonly boundary: WriteBoundary
  /** Prepares writing: exactly-once initialises the transactional id (aborting a leftover transaction). */
  start(): Promise<void>
  /**
   * Stores a commit. `gather` gets the generation committed (transaction-boundary.ts; Infinity
   * under at-least-once: everything acknowledged). Throws when it failed (at-least-once: retried
   * by the next commit).
   */
  commit(gather: (generation: number) => CommitWork | null): Promise<void>
  /** The link stops: writes that have not started yet never start (those under way finish). */
  stopWrites(): void
  /** The link stops without committing what is open (a drain timeout, a failure): nothing of it becomes visible. */
  abandon(): Promise<void>
  close(): Promise<void>
}

export class IdempotentDelivery implements Delivery {
  readonly mode = 'at-least-once' as const
  readonly batches: BatchProducer
  readonly boundary: WriteBoundary
  readonly #state: RecordProducer

  constructor(target: ClusterConnection, state: RecordProducer) {
    this.batches = new BatchProducer(target)
    this.boundary = openBoundary(this.batches)
    this.#state = state
  }

  async start(): Promise<void> {}

  stopWrites(): void {}

  async commit(gather: (generation: number) => CommitWork | null): Promise<void> {
    const work = gather(Number.POSITIVE_INFINITY)
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

/** One of the two transactions that take turns (transaction-boundary.ts): its id's session and producer. */
export interface TransactionTurn {
  session: TransactionSession
  batches: BatchProducer
}

export class TransactionalDelivery implements Delivery {
  readonly mode = 'exactly-once' as const
  readonly boundary: TransactionBoundary
  readonly turns: readonly [TransactionTurn, TransactionTurn]
  readonly #log: Logger
  /**
   * How long after a transaction's first write its commit may still wait for its writes under way
   * before it gives the transaction up (it must reach the coordinator before the timeout aborts it).
   */
  readonly #quiesceMs: number
  /** Set by abandon(): no commit may end a transaction any more. */
  #abandoned = false
  /** The commit under way: commits run one at a time, in generation order (transaction-boundary.ts). */
  #committing: Promise<void> = Promise.resolve()
  /** The transaction whose commit is under way, if any. */
  #committingTurn: TransactionTurn | null = null
  #failure: TransactionError | null = null

  constructor(
    target: ClusterConnection,
    link: LinkConfig,
    log: Logger,
    onFailure: (error: TransactionError) => void,
    /** Tests pass fakes; otherwise a session per transactional id of the slot and a producer under each. */
    turns?: readonly [TransactionTurn, TransactionTurn],
    /** The worker's writer slot (scale-out: engine/link-workers.ts); its pair of transactional ids. */
    slot = 0
  ) {
    this.turns =
      turns ??
      (shardTransactionalIds(link.name, slot).map(id => {
        const session = new TransactionSession(target, id, link.transaction.timeoutMs)
        return { session, batches: new BatchProducer(target, { transaction: session }) }
      }) as [TransactionTurn, TransactionTurn])
    // The first failure of either transaction ends both: no write starts, the link stops or restarts
    // (its next start's InitProducerId aborts what is still open).
    for (const { session } of this.turns) {
      session.onFailure = error => {
        this.boundary.shut()
        if (this.#failure !== null) return
        this.#failure = error
        onFailure(error)
      }
    }
    this.boundary = new TransactionBoundary(link.transaction, [this.turns[0].batches, this.turns[1].batches])
    // A write given up after part of it may have landed: the transaction holds records no progress
    // covers, so it must never commit (abort, restart from committed state).
    this.boundary.onAmbiguous = generation =>
      void this.#turn(generation).session.fail(
        new Error('a write was given up after part of it may have landed'),
        'the transaction'
      )
    this.#log = log
    // Half the transaction timeout: the commit must still reach the coordinator before it aborts.
    this.#quiesceMs = Math.floor(link.transaction.timeoutMs / 2)
  }

  /** Both transactional ids, in turn order (generation g is written with id g % 2). */
  get transactionalIds(): string[] {
    return this.turns.map(t => t.session.transactionalId)
  }

  async start(): Promise<void> {
    const started = performance.now()
    const producers = await Promise.all(this.turns.map(t => t.session.init()))
    this.#log.info(
      {
        transactionalIds: this.transactionalIds,
        producers: producers.map(p => `${String(p.id)}/${p.epoch}`),
        ms: Math.round(performance.now() - started)
      },
      'exactly-once: transactional ids initialised (any transaction left open by an earlier run is aborted)'
    )
  }

  commit(gather: (generation: number) => CommitWork | null): Promise<void> {
    const commit = this.#committing.then(() => this.#commit(gather))
    this.#committing = commit.catch(() => {})
    return commit
  }

  /**
   * Commits the open generation: new writes move to the next one (the other transaction) at once;
   * this one is committed when its writes under way ended, with the state that covers them.
   */
  async #commit(gather: (generation: number) => CommitWork | null): Promise<void> {
    if (this.#failure !== null) throw this.#failure
    const turn = this.#turn(this.boundary.generation)
    const { session, batches } = turn
    this.#committingTurn = turn
    try {
      const generation = await this.boundary.seal(this.#quiesceMs)
      if (generation === null) {
        throw session.fail(
          new Error(`a write to the target did not finish within ${this.#quiesceMs} ms of the transaction's first`),
          'the transaction could not be committed in time'
        )
      }
      // A stop gave the transaction up while this commit waited: it must not commit what it holds.
      if (this.#abandoned) throw session.fail(new Error('the link stopped'), 'the transaction was given up')
      if (this.#failure !== null) throw this.#failure
      const work = gather(generation)
      if (work !== null && work.entries.length > 0) await this.#writeState(batches, work.entries)
      await session.end(true)
      work?.committed()
      // This id's next transaction (generation + 2) opens now, ahead of its writes: their first
      // batches then need no AddPartitionsToTxn round trip. A failure fails the session (and the link).
      session.prepareNext().catch(() => {})
    } catch (error) {
      throw error instanceof TransactionError ? error : session.fail(error, 'writing the state records failed')
    } finally {
      this.#committingTurn = null
    }
  }

  #turn(generation: number): TransactionTurn {
    return this.turns[generation % 2]!
  }

  /** The commit's state entries, in the transaction (several batches when large: still atomic). */
  async #writeState(batches: BatchProducer, entries: readonly StateEntry[]): Promise<void> {
    const timestamp = Date.now()
    let writer = new RecordBatchWriter(64 * 1024)
    let bytes = 0
    writer.begin(0)
    for (const entry of entries) {
      const { key, value } = encodeStateEntry(entry)
      writer.appendRecord(timestamp, key, value)
      bytes += key.length + (value?.length ?? 0)
      if (bytes >= STATE_BATCH_BYTES) {
        await batches.send(STATE_TOPIC, 0, writer.finish(0, null))
        writer = new RecordBatchWriter(64 * 1024)
        writer.begin(0)
        bytes = 0
      }
    }
    if (writer.count > 0) await batches.send(STATE_TOPIC, 0, writer.finish(0, null))
  }

  stopWrites(): void {
    this.boundary.shut()
  }

  async abandon(): Promise<void> {
    this.#abandoned = true
    this.boundary.shut()
    const deadline = performance.now() + ABORT_MS
    // The transaction a commit is ending waits for that commit (its EndTxn may be on the wire: it
    // fails on #abandoned if it has not started); the other is aborted at once.
    const committing = this.#committingTurn
    await Promise.all(
      this.turns.map(async turn => {
        if (turn === committing) await withinDeadline(this.#committing, deadline)
        await this.#abort(turn.session, deadline)
      })
    )
  }

  /** Aborts the open transaction of `session`, unless it was fenced or refused for good. */
  async #abort(session: TransactionSession, deadline: number): Promise<void> {
    if (!session.open || (session.failure !== null && session.failure.kind !== 'abortable')) return
    const ended = await withinDeadline(session.end(false), deadline).catch((error: unknown) => describeCause(error))
    const aborted = typeof ended === 'string' ? ended : ended.inTime ? true : `no answer in ${ABORT_MS} ms`
    if (aborted === true)
      this.#log.info(
        { transactionalId: session.transactionalId },
        'exactly-once: open transaction aborted; its records are copied again on restart'
      )
    else
      this.#log.warn(
        { transactionalId: session.transactionalId, reason: aborted, transactionTimeoutMs: session.timeoutMs },
        'exactly-once: open transaction not aborted; the next start (or the transaction timeout) aborts it'
      )
  }

  async close(): Promise<void> {
    this.boundary.shut()
    await Promise.allSettled(this.turns.flatMap(t => [t.batches.close(), t.session.close()]))
  }
}
