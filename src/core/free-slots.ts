/**
 * Free writer slots a leader's step (fence, removal of heartbeat records) was done for, so the next
 * plan does not do it again. A slot handed out since leaves the set: once free again, it needs the
 * step anew.
 */
export class FreeSlotsDone {
  readonly #done = new Set<number>()

  /** The slots of `free` the step is still to be done for. */
  pending(free: readonly number[]): number[] {
    for (const slot of this.#done) if (!free.includes(slot)) this.#done.delete(slot)
    return free.filter(slot => !this.#done.has(slot))
  }

  done(slots: readonly number[]): void {
    for (const slot of slots) this.#done.add(slot)
  }

  clear(): void {
    this.#done.clear()
  }
}
