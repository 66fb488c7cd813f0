import { hostname } from 'node:os'
import { type LinkConfig, type WorkersConfig } from '../config/index.ts'
import { FreeSlotsDone } from '../core/free-slots.ts'
import { type PlannedMember, planGroup } from '../core/group-plan.ts'
import { RateMeter } from '../core/rate-meter.ts'
import {
  WORKER_PROTOCOL,
  WORKER_PROTOCOL_TYPE,
  type WorkerAssignment,
  type WorkerMetadata,
  configDigests,
  decodeWorkerAssignment,
  decodeWorkerMetadata,
  encodeWorkerAssignment,
  encodeWorkerMetadata
} from '../core/worker-metadata.ts'
import { type WorkerStatus } from '../engine-events/index.ts'
import { describeCause } from '../errors.ts'
import { type ClusterConnection } from '../kafka/index.ts'
import { type GroupMember, WorkerGroup } from '../kafka/worker-group.ts'
import { type Logger } from '../observability/logger.ts'
import { deadOnThisHost } from './dead-predecessors.ts'
import { type Generation, type PartitionOwner, WorkerMembership } from './worker-membership.ts'

/**
 * A link's place in its worker group (scale-out, docs/scale-out.md): every process running the
 * config joins the group `<workers.group>.<link>` on the link's target cluster; the members share the
 * link's partitions. This module holds the group side: the member metadata this worker sends (its
 * configuration digests, what it owns, the bytes/s it measured, its writer slot), the leader's plan
 * (core/group-plan.ts) and, under exactly-once, the fence of the writer slots nobody holds, done
 * before any member receives the new generation's assignment. The partitions themselves are started
 * and stopped by the link (PartitionOwner, link-replicator.ts).
 */

/** Who this process is in the worker groups. */
export interface WorkerIdentity {
  /** The worker id (`--worker-id`; default host-pid): the group's static member id. */
  worker: string
  /** Where its HTTP API listens, null without one. */
  http: string | null
  /**
   * Whether the operator named this worker (--worker-id): it stays a static member when it stops, so a
   * restart within the session timeout gets its partitions back without moving them. A default id
   * never comes back (the pid differs): such a worker leaves the group when it stops.
   */
  named: boolean
}

let instances = 0

/** On stop, how long releasing and leaving may take before the group client is closed under them. */
const STOP_GRACE_MS = 2000

/** The default identity: host and pid (and a counter when one process runs several replicators, as tests do). */
export function defaultWorkerIdentity(http: string | null = null): WorkerIdentity {
  instances++
  const base = `${hostname()}-${process.pid}`
  return { worker: instances === 1 ? base : `${base}-${instances}`, http, named: false }
}

/** The worker group id of a link. */
export function workerGroupId(workers: WorkersConfig, link: string): string {
  return `${workers.group}.${link}`
}

export interface LinkWorkersDeps {
  /** Every partition of the link the leader may assign now ("topic:partition": its target topic exists). */
  partitions(): readonly string[]
  /**
   * Per partition this worker copies: the source's high watermark and the average size of a record
   * copied so far. The rates in its metadata are what the source receives (records/s times that size),
   * not what was copied: a partition catching up after a move copies in bursts, but needs its source
   * rate in the long run.
   */
  sourceLoad(): ReadonlyMap<string, { offset: number; recordBytes: number | null }>
  /** exactly-once: fences the transactional ids of these writer slots; null under at-least-once. */
  fenceSlots: ((slots: readonly number[]) => Promise<void>) | null
  /** Deletes the heartbeat records of these writer slots. */
  forgetSlots(slots: readonly number[]): Promise<void>
}

export class LinkWorkers {
  readonly groupId: string
  readonly identity: WorkerIdentity
  readonly #workers: WorkersConfig
  readonly #deps: LinkWorkersDeps
  readonly #log: Logger
  readonly #group: WorkerGroup
  readonly #digests: Record<string, string>
  #membership: WorkerMembership | null = null
  #current: Generation = { generation: -1, slot: -1, members: [], leader: false }
  /** Bytes/s per partition: measured here for owned ones, reported by members to the leader for the rest. */
  readonly #rates = new Map<string, number>()
  /** This worker's own measurements of its partitions' source records/s, sampled every heartbeat interval. */
  readonly #meter = new RateMeter()
  /** Average bytes per record copied, per owned partition. */
  readonly #recordBytes = new Map<string, number>()
  /** Leader only: the generation of its last plan; the caches below hold only for the very next one. */
  #plannedGeneration = -1
  /** Leader only: the worker ids its last plan was for. */
  #plannedWorkers = ''
  /** Leader only: the last plan's handover (core/group-plan.ts), completed by the next plan. */
  #handover = new Map<string, string>()
  /** Leader only: free slots fenced since it became leader. */
  readonly #fencedFree = new FreeSlotsDone()
  /** Leader only: free slots whose heartbeat records it removed since it became leader. */
  readonly #forgottenFree = new FreeSlotsDone()
  readonly #stop = new AbortController()
  #running: Promise<void> | null = null

  constructor(
    link: LinkConfig,
    workers: WorkersConfig,
    target: ClusterConnection,
    identity: WorkerIdentity,
    deps: LinkWorkersDeps,
    log: Logger
  ) {
    this.#workers = workers
    this.identity = identity
    this.#deps = deps
    this.#log = log
    this.groupId = workerGroupId(workers, link.name)
    this.#digests = configDigests({ ...link, workers: { maxWorkers: workers.maxWorkers } })
    this.#group = new WorkerGroup(
      { ...target, clientId: `kafka-dr-${link.name}-worker` },
      {
        groupId: this.groupId,
        instanceId: identity.worker,
        protocolType: WORKER_PROTOCOL_TYPE,
        protocol: WORKER_PROTOCOL,
        sessionTimeoutMs: workers.sessionTimeoutMs,
        rebalanceTimeoutMs: workers.rebalanceTimeoutMs,
        metadata: () => encodeWorkerMetadata(this.#metadata()),
        assign: (members, generation) => this.#assign(members, generation)
      }
    )
  }

  /** The generation this worker holds its partitions in (generation -1 before the first). */
  get current(): Generation {
    return this.#current
  }

  /** Partitions this worker copies now. */
  get owned(): readonly string[] {
    return this.#membership?.owned ?? []
  }

  /** Whether this worker may write (membership.holds: the coordinator heard from it recently enough). */
  holds(): boolean {
    return this.#membership?.holds() ?? false
  }

  /** A new generation, so the leader can share partitions it found since the last one. */
  rejoin(): void {
    this.#membership?.rejoin()
  }

  /**
   * Joins the group and follows it until stop(). A failure (the coordinator unreachable past the
   * join's bound, a partition that could not be released) releases everything (WorkerMembership) and
   * is reported to `onFailure`: the link stops and the Replicator starts it again with its backoff.
   * Ends for good when the leader refuses this worker (owner.refuse is called).
   */
  start(owner: PartitionOwner, onFailure: (error: unknown) => void): void {
    const tracking: PartitionOwner = {
      release: partitions => owner.release(partitions),
      acquire: async (partitions, generation) => {
        if (!generation.leader) this.#forgetLeaderState()
        this.#current = generation
        await owner.acquire(partitions, generation)
      },
      refuse: reason => owner.refuse(reason)
    }
    this.#membership = new WorkerMembership(
      this.#group,
      tracking,
      {
        sessionTimeoutMs: this.#workers.sessionTimeoutMs,
        heartbeatIntervalMs: this.#workers.heartbeatIntervalMs,
        leaveOnStop: !this.identity.named,
        decode: decodeWorkerAssignment
      },
      this.#log
    )
    this.#running = this.#run(this.#membership, onFailure)
  }

  async #run(membership: WorkerMembership, onFailure: (error: unknown) => void): Promise<void> {
    const balance = setInterval(() => {
      if (this.#current.leader) membership.rejoin()
    }, this.#workers.balanceIntervalMs).unref()
    const sampling = setInterval(() => {
      const load = this.#deps.sourceLoad()
      this.#meter.sample(performance.now(), new Map([...load].map(([key, l]) => [key, l.offset])))
      for (const [key, l] of load) if (l.recordBytes !== null) this.#recordBytes.set(key, l.recordBytes)
      for (const key of [...this.#recordBytes.keys()]) if (!load.has(key)) this.#recordBytes.delete(key)
    }, this.#workers.heartbeatIntervalMs).unref()
    try {
      await this.#evictDeadPredecessors()
      await membership.run(this.#stop.signal)
    } catch (error) {
      if (!this.#stop.signal.aborted) onFailure(error)
    } finally {
      clearInterval(balance)
      clearInterval(sampling)
    }
  }

  /** This worker in its link's status (engine-events), owning `owned` partitions. */
  status(owned: number): WorkerStatus {
    const current = this.#current
    return {
      id: this.identity.worker,
      group: this.groupId,
      generation: current.generation,
      leader: current.leader,
      slot: current.slot,
      members: [...current.members],
      owned
    }
  }

  /** Leaves or keeps the membership (see WorkerIdentity.named) after releasing every partition. */
  async stop(): Promise<void> {
    this.#stop.abort()
    // Releasing and leaving take a moment; a join in progress waits for the coordinator (up to the
    // rebalance timeout) and cannot be aborted: closing the client ends it.
    const running = this.#running?.catch(() => {}) ?? Promise.resolve()
    await Promise.race([running, new Promise(resolve => setTimeout(resolve, STOP_GRACE_MS).unref())])
    await this.#group.close().catch(() => {})
    await running
  }

  /**
   * A process restarted after a crash gets a new default id (host-pid): the coordinator would wait a
   * session timeout for its dead predecessor before any rebalance completes. Members with a default id
   * of this host whose process no longer runs are removed at once. (Workers on other hosts cannot be
   * judged from here; they leave when their session times out.)
   */
  async #evictDeadPredecessors(): Promise<void> {
    try {
      const dead = deadOnThisHost(await this.#group.staticMembers(), this.identity.worker)
      if (dead.length === 0) return
      await this.#group.evict(dead, `its process no longer runs (found by worker ${this.identity.worker})`)
      this.#log.info(
        { group: this.groupId, evicted: dead },
        'worker group: removed members of this host whose process ended'
      )
    } catch (error) {
      this.#log.warn(
        { group: this.groupId, err: describeCause(error) },
        'worker group: could not look for members of this host that ended; joining anyway'
      )
    }
  }

  #metadata(): WorkerMetadata {
    const owned = [...this.owned]
    return {
      version: 1,
      worker: this.identity.worker,
      http: this.identity.http,
      config: this.#digests,
      owned,
      rates: this.#bytesPerSecond(),
      slot: this.#current.slot
    }
  }

  /** Source bytes/s per owned partition: records/s measured times the partition's average record size. */
  #bytesPerSecond(): Record<string, number> {
    const sizes = [...this.#recordBytes.values()]
    const typical = sizes.length === 0 ? 1 : sizes.reduce((a, b) => a + b, 0) / sizes.length
    const rates: Record<string, number> = {}
    for (const [key, perSecond] of Object.entries(this.#meter.rates()))
      rates[key] = Math.round(perSecond * (this.#recordBytes.get(key) ?? typical))
    return rates
  }

  /**
   * Removes the heartbeat records (state/records.ts `worker`) of slots nobody holds: status and
   * failover would otherwise show or wait for a worker that is gone. Their holders cannot write them
   * any more (a worker writes its slot's record only while it holds its membership). Best effort: a
   * failure is logged and tried again at the next plan.
   */
  async #forgetFreeSlots(freeSlots: readonly number[]): Promise<void> {
    const forget = this.#forgottenFree.pending(freeSlots)
    if (forget.length === 0) return
    try {
      await this.#deps.forgetSlots(forget)
      this.#forgottenFree.done(forget)
    } catch (error) {
      this.#log.warn(
        { group: this.groupId, slots: forget, err: describeCause(error) },
        'worker group: could not remove the heartbeat records of free slots; trying again at the next assignment'
      )
    }
  }

  /** What a leader keeps between consecutive plans: stale once another worker may have planned. */
  #forgetLeaderState(): void {
    this.#fencedFree.clear()
    this.#forgottenFree.clear()
    this.#handover.clear()
  }

  /** Leader: the plan, then (exactly-once) the fence of free slots, then the assignments. */
  async #assign(members: readonly GroupMember[], generation: number): Promise<Map<string, Buffer>> {
    const out = new Map<string, Buffer>()
    const planned: PlannedMember[] = []
    for (const member of members) {
      try {
        planned.push({ memberId: member.memberId, metadata: decodeWorkerMetadata(member.metadata, member.memberId) })
      } catch (error) {
        const refused: WorkerAssignment = {
          version: 1,
          generation,
          partitions: [],
          slot: -1,
          members: [],
          refused: describeCause(error)
        }
        out.set(member.memberId, encodeWorkerAssignment(refused))
      }
    }
    const partitions = this.#deps.partitions()
    for (const member of planned)
      for (const [key, rate] of Object.entries(member.metadata.rates)) this.#rates.set(key, rate)
    // Bounded by the link's partitions: rates of partitions that no longer exist are dropped.
    const current = new Set(partitions)
    for (const key of [...this.#rates.keys()]) if (!current.has(key)) this.#rates.delete(key)
    // Another leader may have planned in between: what this one fenced or handed over is stale then.
    if (generation !== this.#plannedGeneration + 1) this.#forgetLeaderState()
    // A handover completes only among the members it was planned for: one that joined or left since
    // makes this a plan of its own (balanced anew, the handover still a hint through what is claimed).
    const workers = planned
      .map(m => m.metadata.worker)
      .sort()
      .join('\u0000')
    if (workers !== this.#plannedWorkers) this.#handover.clear()
    this.#plannedWorkers = workers
    this.#plannedGeneration = generation
    const plan = planGroup(
      planned,
      this.#metadata(),
      partitions,
      generation,
      this.#workers.maxWorkers,
      this.#rates,
      this.#handover
    )
    this.#handover = plan.handover
    const unfenced = this.#fencedFree.pending(plan.freeSlots)
    const toFence = [...unfenced, ...plan.takenOver]
    if (this.#deps.fenceSlots !== null && toFence.length > 0) {
      // Before anyone gets the assignment: a worker that left without releasing (killed, paused, cut off)
      // held a slot that is free now or given to another member; once fenced it can commit nothing more,
      // so the partitions it copied start from committed progress on their new owner.
      await this.#deps.fenceSlots(toFence)
      this.#fencedFree.done(unfenced)
    }
    await this.#forgetFreeSlots(plan.freeSlots)
    if (plan.followUp) {
      // The owners of withheld partitions rejoin once released; one that stops in between would leave
      // them unassigned until the next balance round: ask for a round after the rebalance timeout.
      setTimeout(() => {
        if (this.#current.leader && this.#current.generation === generation) this.rejoin()
      }, this.#workers.rebalanceTimeoutMs).unref()
    }
    for (const refused of plan.refused)
      this.#log.error(
        { group: this.groupId, worker: refused.worker, keys: refused.keys },
        'worker group: a worker is refused (its configuration of the link differs, or the link has workers.maxWorkers workers)'
      )
    this.#log.info(
      {
        group: this.groupId,
        generation,
        members: planned.length,
        partitions: partitions.length,
        moved: plan.moved,
        withheld: plan.withheld.length,
        // What each member reported: partitions owned, and the bytes/s it measured for them in all.
        reported: Object.fromEntries(
          planned.map(m => [
            m.metadata.worker,
            {
              owned: m.metadata.owned.length,
              bytesPerSecond: Math.round(Object.values(m.metadata.rates).reduce((a, b) => a + b, 0)),
              measured: Object.keys(m.metadata.rates).length
            }
          ])
        )
      },
      'worker group: partitions assigned'
    )
    for (const [memberId, assignment] of plan.assignments) out.set(memberId, encodeWorkerAssignment(assignment))
    return out
  }
}
