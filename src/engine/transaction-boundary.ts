/**
 * Where one transaction ends and the next begins, for a link with `delivery: exactly-once`
 * (engine/delivery.ts). Every copier's write of a batch runs between enter() and leave(); a commit
 * closes the boundary, waits until no write is under way, commits, and opens it again. So a
 * committed transaction holds exactly the batches whose writes completed before the commit, and the
 * progress of each copier read at that moment covers exactly those batches: nothing in the
 * transaction is left uncovered (a duplicate after a crash), nothing covered is left out (a gap).
 *
 * The boundary also bounds a transaction's size: past maxRecords or maxBytes written, new writes
 * wait and `onFull` asks for a commit now instead of at the next interval.
 *
 * At-least-once links use OPEN_BOUNDARY: writes never wait.
 */

export interface WriteBoundary {
  /** Waits until a write may start; false when the boundary was shut (the link is stopping). */
  enter(): Promise<boolean>
  /**
   * Ends a write that entered; `records`/`bytes` it added to the transaction. `ambiguous`: the write
   * was given up after part of it may have landed, beyond what its copier's progress covers.
   */
  leave(records: number, bytes: number, ambiguous?: boolean): void
}

export const OPEN_BOUNDARY: WriteBoundary = {
  enter: () => Promise.resolve(true),
  leave: () => {}
}

export class TransactionBoundary implements WriteBoundary {
  readonly #maxRecords: number
  readonly #maxBytes: number
  #active = 0
  #records = 0
  #bytes = 0
  #closed = false
  #shut = false
  /** Writes waiting for the boundary to open. */
  #waiting: (() => void)[] = []
  /** The commit waiting for the writes under way to end. */
  #idle: (() => void) | null = null
  /** Asks the commit loop for a commit now (the transaction reached its size bound). */
  onFull: () => void = () => {}
  /** A write ended ambiguously (see WriteBoundary.leave): the transaction must not commit. */
  onAmbiguous: () => void = () => {}

  constructor(limits: { maxRecords: number; maxBytes: number }) {
    this.#maxRecords = limits.maxRecords
    this.#maxBytes = limits.maxBytes
  }

  get active(): number {
    return this.#active
  }

  /** Records and bytes written in the open transaction. */
  get size(): { records: number; bytes: number } {
    return { records: this.#records, bytes: this.#bytes }
  }

  async enter(): Promise<boolean> {
    while (!this.#shut && (this.#closed || this.#full())) {
      await new Promise<void>(resolve => this.#waiting.push(resolve))
    }
    if (this.#shut) return false
    this.#active++
    return true
  }

  leave(records: number, bytes: number, ambiguous = false): void {
    if (ambiguous) this.onAmbiguous()
    this.#active--
    this.#records += records
    this.#bytes += bytes
    if (this.#active === 0 && this.#idle !== null) {
      const idle = this.#idle
      this.#idle = null
      idle()
    }
    if (this.#full()) this.onFull()
  }

  /**
   * Closes the boundary and waits until no write is under way, at most `timeoutMs`. True when it
   * is quiet (the caller commits, then calls reopen()); false when a write is still under way after
   * the timeout (the boundary stays closed: the caller gives the transaction up).
   */
  async quiesce(timeoutMs: number): Promise<boolean> {
    this.#closed = true
    if (this.#active === 0) return true
    let timer: NodeJS.Timeout | undefined
    const quiet = await Promise.race([
      new Promise<true>(resolve => (this.#idle = () => resolve(true))),
      new Promise<false>(resolve => (timer = setTimeout(() => resolve(false), timeoutMs)))
    ])
    clearTimeout(timer)
    this.#idle = null
    return quiet
  }

  /** A transaction ended (committed or aborted): counts restart, waiting writes go on. */
  reopen(): void {
    this.#closed = false
    this.#records = 0
    this.#bytes = 0
    this.#release()
  }

  /** The link stops or gave the transaction up: waiting and later writes are refused. */
  shut(): void {
    this.#shut = true
    this.#release()
  }

  #full(): boolean {
    return this.#records >= this.#maxRecords || this.#bytes >= this.#maxBytes
  }

  #release(): void {
    const waiting = this.#waiting
    this.#waiting = []
    for (const resume of waiting) resume()
  }
}
