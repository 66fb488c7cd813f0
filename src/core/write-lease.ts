/**
 * How failover and a running replicator agree, without comparing clocks, on when a replicator that
 * failover cannot hear from has stopped writing.
 *
 * Failover judges a replicator stale after STALE_HEARTBEAT_INTERVALS heartbeat intervals in which no
 * heartbeat was appended to the state topic (measured on failover's clock, from its first read of the
 * newest heartbeat: at or after that heartbeat's append). A replicator holds a WRITE LEASE that it
 * renews each interval by writing a heartbeat and then reading the state topic to its end without
 * finding a fence; the lease runs from the moment that heartbeat write was ISSUED (before its append),
 * for LEASE_INTERVALS intervals, one fewer. A replicator whose lease ran out starts no produce.
 *
 * Hence a stale verdict comes at least one interval after the replicator stopped starting produces:
 * only a produce already in flight at that moment can still land, and the broker completes or
 * refuses it within its request timeout (docs/disaster-recovery.md states this bound).
 */

export const STALE_HEARTBEAT_INTERVALS = 3

/** Intervals a renewed write lease lasts. */
export const LEASE_INTERVALS = STALE_HEARTBEAT_INTERVALS - 1

/** A replicator's write lease: renewed by a heartbeat proven written before any fence. */
export class WriteLease {
  readonly #durationMs: number
  readonly #now: () => number
  #from = -Infinity

  constructor(heartbeatIntervalMs: number, now: () => number = () => performance.now()) {
    this.#durationMs = LEASE_INTERVALS * heartbeatIntervalMs
    this.#now = now
  }

  /** Monotonic time to pass to renew(): taken just before the heartbeat write is issued. */
  issue(): number {
    return this.#now()
  }

  /** The heartbeat issued at `issuedAt` was written and a later read found no fence. */
  renew(issuedAt: number): void {
    if (issuedAt > this.#from) this.#from = issuedAt
  }

  /** Whether a produce may start now. */
  valid(): boolean {
    return this.#now() - this.#from < this.#durationMs
  }
}
