import { setTimeout as sleep } from 'node:timers/promises'
import { type WorkerAssignment } from '../core/worker-metadata.ts'
import { KdrError, describeCause } from '../errors.ts'
import { type HeartbeatAnswer, type Joined } from '../kafka/worker-group.ts'
import { type Logger } from '../observability/logger.ts'
import { withinDeadline } from './shutdown.ts'

/**
 * One worker's side of a scaled-out link (issue 16): join the worker group, copy what the leader
 * assigned, heartbeat, and follow rebalances, so that a partition has one writer at a time.
 *
 * Order of a rebalance (incremental cooperative, KIP-415): partitions this worker no longer holds
 * are released first (copying stops, their progress is committed) and only then are new ones
 * acquired; a worker that released partitions joins again at once, so the leader can hand them to
 * their new owner in the next generation (core/group-plan.ts withholds them until then).
 *
 * Cut off from the coordinator: a worker whose heartbeats have failed for a session timeout (less one
 * heartbeat interval) releases everything before the coordinator can have given its partitions to
 * another worker, and joins again. Under exactly-once the new owner's InitProducerId fences it anyway;
 * under at-least-once this rule and the generation in state commits keep a single writer.
 */

export interface MembershipGroup {
  join(): Promise<Joined>
  heartbeat(): Promise<HeartbeatAnswer>
  leave(reason: string): Promise<void>
}

/** What a worker learns in each generation besides its partitions. */
export interface Generation {
  generation: number
  /** This worker's writer slot (core/group-plan.ts). */
  slot: number
  /** Worker ids of the generation's members, the leader first. */
  members: readonly string[]
  /** Whether this worker leads the group: it runs the link's sync loops. */
  leader: boolean
}

export interface PartitionOwner {
  /** Stops copying these partitions and commits their progress; resolves once none of them writes. */
  release(partitions: readonly string[]): Promise<void>
  /** Starts copying `partitions` (possibly none) from stored progress; all it owns run under `generation`. */
  acquire(partitions: readonly string[], generation: Generation): Promise<void>
  /** The leader refused this worker (its configuration differs): it must stop, saying why. */
  refuse(reason: string): void
}

export interface MembershipOptions {
  sessionTimeoutMs: number
  heartbeatIntervalMs: number
  /**
   * Right after a generation, heartbeats go every `heartbeatMs` (if shorter than the interval) for
   * `windowMs`: rebalances come in bursts (workers started together, the round that hands released
   * partitions over), and each member learns of one only from a heartbeat. Defaults: SETTLING.
   */
  settling?: { windowMs: number; heartbeatMs: number }
  /** Leave the group on stop (its partitions move at once); false for a restart within the session timeout. */
  leaveOnStop: boolean
  decode: (assignment: Buffer) => WorkerAssignment
}

/**
 * A worker that formed a generation alone while others start, or that waits for partitions another
 * releases, would otherwise learn of the next round only a heartbeat interval (3 s) later. A
 * heartbeat is one small request to the coordinator: four a second for ten seconds cost nothing.
 */
export const SETTLING = { windowMs: 10_000, heartbeatMs: 250 } as const

export class WorkerMembership {
  readonly #group: MembershipGroup
  readonly #owner: PartitionOwner
  readonly #options: MembershipOptions
  readonly #log: Logger
  #owned: string[] = []
  #generation = -1
  /** performance.now() of the last answer from the coordinator that kept this worker a member. */
  #lastGood = -Infinity
  /** Set by rejoin(): the heartbeat loop ends and the worker joins again (new partitions to share). */
  #rejoin: (() => void) | null = null
  #rejoinAsked = false
  /** performance.now() when the last generation was applied (fast heartbeats for SETTLING.windowMs). */
  #appliedAt = -Infinity

  constructor(group: MembershipGroup, owner: PartitionOwner, options: MembershipOptions, log: Logger) {
    this.#group = group
    this.#owner = owner
    this.#options = options
    this.#log = log
  }

  /** Partitions this worker copies now. */
  get owned(): readonly string[] {
    return this.#owned
  }

  get generation(): number {
    return this.#generation
  }

  /**
   * Whether this worker may still write: the coordinator answered within the session timeout less one
   * heartbeat interval, so it cannot have given this worker's partitions to another one yet. A worker
   * paused (SIGSTOP, a long GC) past that stops writing the moment it runs again, before it learns it
   * was evicted; under at-least-once this is what keeps a single writer.
   */
  holds(): boolean {
    return performance.now() - this.#lastGood < this.#options.sessionTimeoutMs - this.#options.heartbeatIntervalMs
  }

  /** Asks for a new generation (the leader found partitions to share): joins again after the current step. */
  rejoin(): void {
    this.#rejoinAsked = true
    this.#rejoin?.()
  }

  /** Runs until `signal` aborts or the leader refuses this worker; then releases what it owns. */
  async run(signal: AbortSignal): Promise<'stopped' | 'refused'> {
    let refused = false
    try {
      while (!signal.aborted) {
        this.#rejoinAsked = false
        const joined = await this.#group.join()
        this.#lastGood = performance.now()
        const assignment = this.#options.decode(joined.assignment)
        // Empty: this member joined too late for the leader's SyncGroup (generation -1): join again.
        if (assignment.generation < 0 && assignment.refused === null) continue
        if (assignment.refused !== null) {
          this.#owner.refuse(assignment.refused)
          refused = true
          return 'refused'
        }
        // Releasing (drain, commit) and acquiring (read the state) may take longer than a session
        // timeout: heartbeats go on meanwhile, so the coordinator does not expel this worker mid-handover.
        const beating = this.#beatInBackground()
        const released = await this.#apply(assignment.partitions, {
          generation: joined.generation,
          slot: assignment.slot,
          members: assignment.members,
          leader: joined.isLeader
        }).finally(() => beating.stop())
        if (beating.lost) {
          await this.#lose()
          continue
        }
        this.#appliedAt = performance.now()
        this.#log.info(
          {
            generation: joined.generation,
            leader: joined.isLeader,
            partitions: this.#owned.length,
            released
          },
          'worker group: assignment applied'
        )
        // Released partitions wait for their new owner: the next round hands them over. A rebalance
        // the coordinator announced while this generation was applied is joined at once too.
        if (released > 0 || this.#rejoinAsked || beating.rebalance) continue
        await this.#heartbeatUntilRebalance(signal)
      }
      return 'stopped'
    } finally {
      await this.#releaseAll()
      // A refused worker leaves too: the group must not wait for it in the next rebalance.
      if (this.#options.leaveOnStop || refused)
        await this.#group.leave(refused ? 'kafka-dr worker refused' : 'kafka-dr worker stopped').catch(() => {})
    }
  }

  /** Release before acquire; returns how many partitions were released. */
  async #apply(assigned: readonly string[], generation: Generation): Promise<number> {
    const next = new Set(assigned)
    const lost = this.#owned.filter(p => !next.has(p))
    if (lost.length > 0) {
      await this.#owner.release(lost)
      this.#owned = this.#owned.filter(p => next.has(p))
    }
    const had = new Set(this.#owned)
    const gained = assigned.filter(p => !had.has(p))
    await this.#owner.acquire(gained, generation)
    this.#owned = [...this.#owned, ...gained]
    this.#generation = generation.generation
    return lost.length
  }

  /**
   * Heartbeats every interval until stopped (while a generation is applied). A 'rejoin' answer means
   * the coordinator no longer knows this member: its partitions may be another's already (`lost`).
   */
  #beatInBackground(): { stop: () => void; lost: boolean; rebalance: boolean } {
    const state = { stop: () => {}, lost: false, rebalance: false }
    const timer = setInterval(() => {
      void this.#group
        .heartbeat()
        .then(answer => {
          if (answer === 'rejoin') state.lost = true
          else this.#lastGood = performance.now() // 'ok', or a rebalance: still a member
          if (answer === 'rebalance') state.rebalance = true
        })
        .catch(() => {})
    }, this.#options.heartbeatIntervalMs)
    state.stop = () => clearInterval(timer)
    return state
  }

  /**
   * This worker is no longer a member (expelled, or its heartbeats failed too long): it must not write
   * any more, and what it owned may have another owner already. Releasing fails when the owner cannot
   * commit safely (the link then restarts from committed state).
   */
  async #lose(): Promise<void> {
    this.#lastGood = -Infinity
    await this.#releaseAll()
  }

  async #heartbeatUntilRebalance(signal: AbortSignal): Promise<void> {
    const { heartbeatIntervalMs, sessionTimeoutMs } = this.#options
    // Past this without a good heartbeat the coordinator may soon evict this worker: everything is
    // released while holds() is still true (one interval before it lapses), so the release may commit.
    const giveUpAfter = sessionTimeoutMs - 2 * heartbeatIntervalMs
    const settling = this.#options.settling ?? SETTLING
    while (!signal.aborted && !this.#rejoinAsked) {
      const wait = new AbortController()
      const stop = (): void => wait.abort()
      signal.addEventListener('abort', stop, { once: true })
      this.#rejoin = stop
      const settlingNow = performance.now() - this.#appliedAt < settling.windowMs
      const pause = settlingNow ? Math.min(heartbeatIntervalMs, settling.heartbeatMs) : heartbeatIntervalMs
      // Never past the give-up point: a worker whose heartbeats hang (a cut-off coordinator) must
      // release while holds() is still true, so the release may commit.
      const untilGiveUp = this.#lastGood + giveUpAfter - performance.now()
      await sleep(Math.max(0, Math.min(pause, untilGiveUp)), undefined, { signal: wait.signal }).catch(() => {})
      signal.removeEventListener('abort', stop)
      this.#rejoin = null
      if (signal.aborted || this.#rejoinAsked) return
      try {
        // A request to a coordinator that hangs (a network partition) must not hold the worker past
        // the moment it has to give its partitions up.
        const answered = await withinDeadline(this.#group.heartbeat(), this.#lastGood + giveUpAfter)
        if (!answered.inTime) throw new Error('no heartbeat answer before this worker must give its partitions up')
        const answer = answered.value
        if (answer === 'rejoin') {
          // The coordinator expelled this worker (UNKNOWN_MEMBER_ID): its partitions may be another's.
          this.#log.warn(
            { partitions: this.#owned.length },
            'worker group: expelled from the group; releasing every partition'
          )
          await this.#lose()
          return
        }
        this.#lastGood = performance.now()
        if (answer !== 'ok') return
      } catch (error) {
        // Another process took this worker's id: not a passing failure.
        if (KdrError.is(error) && error.code === 'KDR_ERR_CONFIG') throw error
        const silentMs = performance.now() - this.#lastGood
        this.#log.warn({ err: describeCause(error), silentMs: Math.round(silentMs) }, 'worker group: heartbeat failed')
        if (silentMs >= giveUpAfter) {
          this.#log.warn(
            { partitions: this.#owned.length, silentMs: Math.round(silentMs) },
            'worker group: no heartbeat answered for a session timeout; releasing every partition (another worker may own them now) and joining again'
          )
          await this.#releaseAll()
          return
        }
      }
    }
  }

  async #releaseAll(): Promise<void> {
    if (this.#owned.length === 0) return
    const all = this.#owned
    await this.#owner.release(all)
    this.#owned = []
  }
}
