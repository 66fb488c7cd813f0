import { KdrError, describeCause } from '../errors.ts'
import { type Logger } from '../observability/logger.ts'
import { type LinkState } from '../state/index.ts'
import { type ReplicatedTopic } from '../sync/topic-sync.ts'
import { type LinkPartitions } from './link-partitions.ts'
import { type Generation, type PartitionOwner } from './worker-membership.ts'

/** What the link (link-replicator.ts) lends its group ownership. */
export interface OwnershipHost {
  readonly link: string
  /** The link's target cluster alias, named in errors. */
  readonly target: string
  readonly groupId: string
  worker(): string
  /** The worker still holds its group membership (worker-membership.ts holds()). */
  holds(): boolean
  stopping(): boolean
  /** The first generation's set-up: delivery on the given slot, stored state, checkpoints, first heartbeat. */
  firstAcquire(generation: Generation): Promise<void>
  /** exactly-once: the writer slot the delivery was initialised on; null under at-least-once. */
  transactionalSlot(): number | null
  readonly partitions: LinkPartitions
  topics(): Iterable<ReplicatedTopic>
  /** Reads the link's stored progress again (what a previous owner committed). */
  readState(): Promise<LinkState>
  /** Commits the progress of every partition that moved. */
  commit(): Promise<void>
  /** The link stops with this error (before its first generation: start() fails with it). */
  fail(error: KdrError): void
}

/**
 * A link's side of its worker group (PartitionOwner, worker-membership.ts): what it does when the
 * group gives it partitions, takes them away, refuses it or fails. Also the two moments others wait
 * for: the first generation applied (start() returns), and a stop's final commit (a partition
 * released during a stop moves only after it).
 */
export class LinkOwnership implements PartitionOwner {
  readonly #host: OwnershipHost
  readonly #log: Logger
  readonly #firstGeneration = Promise.withResolvers<undefined>()
  readonly #finalCommitted = Promise.withResolvers<undefined>()
  #joined = false

  constructor(host: OwnershipHost, log: Logger) {
    this.#host = host
    this.#log = log
    this.#firstGeneration.promise.catch(() => {}) // start() reports it; a stop may settle it unobserved
  }

  /** Settled by the first generation applied, or by a failure or stop before it. */
  get firstGeneration(): Promise<undefined> {
    return this.#firstGeneration.promise
  }

  /** A start waiting for its first generation ends with `error`. */
  abortStart(error: KdrError): void {
    this.#firstGeneration.reject(error)
  }

  /** The stop's final commit is done: partitions released during the stop may move now. */
  finalCommitted(): void {
    this.#finalCommitted.resolve(undefined)
  }

  /**
   * Starts copying the partitions the group gave this worker, each from its stored progress (read
   * again now: their previous owner committed it when it released them, or its slot was fenced).
   */
  async acquire(partitions: readonly string[], generation: Generation): Promise<void> {
    const host = this.#host
    let reload = true
    const slot = host.transactionalSlot()
    if (!this.#joined) {
      await host.firstAcquire(generation)
      this.#joined = true
      reload = false
    } else if (slot !== null && generation.slot !== slot) {
      // Another worker holds this worker's former slot now (it was out of the group): it fenced this
      // worker's transactions. Start again from committed state with the new slot.
      throw new KdrError(
        'KDR_ERR_RUNTIME',
        `link ${host.link}: worker ${host.worker()} was given writer slot ${generation.slot} instead of ${slot}; restarting from committed state`,
        { cluster: host.target }
      )
    }
    if (host.stopping()) return
    await host.partitions.acquire(partitions, host.topics(), reload ? () => host.readState() : null)
    if (partitions.length > 0)
      this.#log.info(
        { generation: generation.generation, partitions: partitions.length, owned: host.partitions.owned.size },
        'worker group: partitions acquired'
      )
    this.#firstGeneration.resolve(undefined)
  }

  /**
   * Stops copying partitions the group moved to another worker: their writes under way finish (within
   * drainTimeoutMs) and their progress is committed before this worker joins again, so the new owner
   * starts where this one stopped. A drain that times out or a commit that fails stops the link (it
   * restarts from committed state; exactly-once aborts what it had open).
   */
  async release(partitions: readonly string[]): Promise<void> {
    const host = this.#host
    if (host.stopping()) {
      // The stop drains and commits every partition; the group hears of it afterwards.
      for (const key of partitions) host.partitions.owned.delete(key)
      await this.#finalCommitted.promise
      return
    }
    if (!host.holds())
      throw new KdrError(
        'KDR_ERR_RUNTIME',
        `link ${host.link}: worker ${host.worker()} lost its membership of the worker group ${host.groupId} before it could commit the partitions it gives up; restarting from committed state`,
        { cluster: host.target }
      )
    await host.partitions.release(partitions, () => host.commit())
    this.#log.info(
      { partitions: partitions.length, owned: host.partitions.owned.size },
      'worker group: partitions released'
    )
  }

  /** The group's leader refused this worker (its configuration of the link differs): it stops, not restarted. */
  refuse(reason: string): void {
    const host = this.#host
    // A configuration that differs is for an operator to mend; a group already full (maxWorkers) may
    // have room later: that refusal is retried with the restart backoff.
    const full = reason.includes('workers.maxWorkers')
    const error = new KdrError(
      full ? 'KDR_ERR_RUNTIME' : 'KDR_ERR_CONFIG',
      `link ${host.link}: worker ${host.worker()} was refused by the worker group ${host.groupId}: ${reason}`,
      { cluster: host.target }
    )
    this.#log.error({ group: host.groupId }, error.message)
    host.fail(error)
  }

  /** The membership failed (coordinator unreachable past the join's bound, a release that failed). */
  failed(cause: unknown): void {
    const host = this.#host
    host.fail(
      KdrError.is(cause)
        ? cause
        : new KdrError(
            'KDR_ERR_RUNTIME',
            `link ${host.link}: worker group ${host.groupId}: ${describeCause(cause)}`,
            { cluster: host.target },
            { cause }
          )
    )
  }
}
