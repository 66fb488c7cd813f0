import { type BatchProducer } from '../kafka/index.ts'

/**
 * Where one transaction ends and the next begins, for a link with `delivery: exactly-once`
 * (engine/delivery.ts). Every copier's write of a batch runs in a slot taken with enter() and given
 * back with leave(); the slot names the transaction (its generation) and the producer to write with.
 *
 * Two transactions alternate, each on its own transactional id and producer (generation g uses
 * producer g % 2). A commit of generation g first moves new writes to g + 1, on the other producer,
 * then waits only for the writes of g still under way, and commits g while g + 1 fills. So copying
 * never waits for a commit: not for the state write, not for EndTxn, not for the coordinator writing
 * the markers of g (the next AddPartitionsToTxn on g's producer comes an interval later, at g + 2).
 *
 * Invariants the rest of the engine keeps:
 * - commits run one at a time and in generation order (delivery.ts), so when g + 2 opens on a
 *   producer, that producer's transaction g has ended;
 * - a copier has at most one write under way, so its write into g + 1 starts after its write into g
 *   was acknowledged: per partition, batches reach the target in order across the two producers;
 * - a copier hands the progress of its writes into g to the commit of g when it first enters g + 1
 *   (partition-copier.ts, pendingCommit(generation)): the commit of g stores exactly the progress of
 *   the batches in g, nothing of g + 1 (a duplicate after a crash), all of g (no gap).
 *
 * The boundary also bounds a transaction's size: past maxRecords or maxBytes written, new writes wait
 * and `onFull` asks for a commit now instead of at the next interval.
 *
 * At-least-once links use openBoundary(): one producer, generation 0, writes never wait.
 */

export type BatchSender = Pick<BatchProducer, 'send'>

export interface WriteSlot {
  /** The transaction written in (always 0 under at-least-once). */
  readonly generation: number
  readonly batches: BatchSender
  /**
   * Ends the write: `records`/`bytes` it added. `ambiguous`: it was given up after part of it may
   * have landed, beyond what its copier's progress covers (that transaction must never commit).
   */
  leave(records: number, bytes: number, ambiguous?: boolean): void
}

export interface WriteBoundary {
  /** Waits until a write may start; null when the boundary was shut (the link is stopping). */
  enter(): Promise<WriteSlot | null>
}

/** At-least-once: every write goes to the one idempotent producer at once. */
export function openBoundary(batches: BatchSender): WriteBoundary {
  const slot: WriteSlot = { generation: 0, batches, leave: () => {} }
  return { enter: () => Promise.resolve(slot) }
}

/** The writes of one transaction. */
class TransactionSlot {
  generation = 0
  active = 0
  records = 0
  bytes = 0
  /** The commit waiting for the writes under way to end. */
  idle: (() => void) | null = null
  /** When its first write entered (performance.now()): its transaction's clock starts about then. */
  startedAt: number | null = null
  readonly batches: BatchSender
  constructor(batches: BatchSender) {
    this.batches = batches
  }
}

export class TransactionBoundary implements WriteBoundary {
  readonly #maxRecords: number
  readonly #maxBytes: number
  readonly #slots: readonly [TransactionSlot, TransactionSlot]
  /** The generation new writes go to. */
  #current = 0
  #shut = false
  /** Writes waiting for room in the open transaction. */
  #waiting: (() => void)[] = []
  /** Asks the commit loop for a commit now (the open transaction reached its size bound). */
  onFull: () => void = () => {}
  /** A write of `generation` ended ambiguously (see WriteSlot.leave): that transaction must not commit. */
  onAmbiguous: (generation: number) => void = () => {}

  constructor(limits: { maxRecords: number; maxBytes: number }, producers: readonly [BatchSender, BatchSender]) {
    this.#maxRecords = limits.maxRecords
    this.#maxBytes = limits.maxBytes
    this.#slots = [new TransactionSlot(producers[0]), new TransactionSlot(producers[1])]
  }

  /** The generation new writes go to. */
  get generation(): number {
    return this.#current
  }

  /** Writes under way in `generation` (0 once it ended). */
  active(generation: number): number {
    const slot = this.#slots[generation % 2]!
    return slot.generation === generation ? slot.active : 0
  }

  /** Records and bytes written in the open transaction. */
  get size(): { records: number; bytes: number } {
    const slot = this.#slots[this.#current % 2]!
    return { records: slot.records, bytes: slot.bytes }
  }

  async enter(): Promise<WriteSlot | null> {
    while (!this.#shut && this.#full()) await new Promise<void>(resolve => this.#waiting.push(resolve))
    if (this.#shut) return null
    const generation = this.#current
    const slot = this.#slots[generation % 2]!
    slot.active++
    slot.startedAt ??= performance.now()
    let left = false
    return {
      generation,
      batches: slot.batches,
      leave: (records, bytes, ambiguous = false) => {
        if (left) return
        left = true
        if (ambiguous) this.onAmbiguous(generation)
        slot.active--
        slot.records += records
        slot.bytes += bytes
        if (slot.active === 0 && slot.idle !== null) {
          const idle = slot.idle
          slot.idle = null
          idle()
        }
        if (generation === this.#current && this.#full()) this.onFull()
      }
    }
  }

  /**
   * Moves new writes to the next generation (the other producer, its counts from zero) and waits
   * until no write of the generation it leaves is under way, at most until `budgetMs` after that
   * generation's first write (its transaction's clock runs from about then: the coordinator aborts
   * it after the transaction timeout). Returns that generation when it is quiet (the caller commits
   * it), null when a write is still under way after the budget (the caller gives the transaction
   * up). Writes waiting for room go on at once.
   */
  async seal(budgetMs: number): Promise<number | null> {
    const sealed = this.#current
    const slot = this.#slots[sealed % 2]!
    const next = this.#slots[(sealed + 1) % 2]!
    next.generation = sealed + 1
    next.records = 0
    next.bytes = 0
    next.startedAt = null
    this.#current = sealed + 1
    this.#release()
    if (slot.active === 0) return sealed
    const timeoutMs = Math.max(0, (slot.startedAt ?? performance.now()) + budgetMs - performance.now())
    let timer: NodeJS.Timeout | undefined
    const quiet = await Promise.race([
      new Promise<true>(resolve => (slot.idle = () => resolve(true))),
      new Promise<false>(resolve => (timer = setTimeout(() => resolve(false), timeoutMs)))
    ])
    clearTimeout(timer)
    slot.idle = null
    return quiet ? sealed : null
  }

  /** The link stops or gave its transactions up: waiting and later writes are refused. */
  shut(): void {
    this.#shut = true
    this.#release()
  }

  #full(): boolean {
    const slot = this.#slots[this.#current % 2]!
    return slot.records >= this.#maxRecords || slot.bytes >= this.#maxBytes
  }

  #release(): void {
    const waiting = this.#waiting
    this.#waiting = []
    for (const resume of waiting) resume()
  }
}
