import {
  type Connection,
  describeGroupsV5,
  heartbeatV4,
  joinGroupV9,
  leaveGroupV5,
  syncGroupV5
} from '@platformatic/kafka'
import { setTimeout as sleep } from 'node:timers/promises'
import { Backoff } from '../core/backoff.ts'
import { KdrError, describeCause } from '../errors.ts'
import { errorNameInChain } from './call.ts'
import { COORDINATOR_TYPE_GROUP, findCoordinator } from './coordinator.ts'
import { RawClient } from './raw-client.ts'
import { type ClusterConnection } from './types.ts'

/**
 * Membership of one worker in a kafka-dr worker group (scale-out): Kafka's classic group protocol
 * (FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup) with kafka-dr's own protocol type,
 * on the link's target cluster. The coordinator elects a leader among the members; the leader gets
 * every member's metadata and answers SyncGroup with each member's assignment (its own logic:
 * core/assignment.ts); the others receive theirs. Static membership (KIP-345, `group.instance.id` =
 * the worker id): a worker restarted within the session timeout gets its partitions back without a
 * rebalance.
 *
 * Versions: JoinGroup v9, SyncGroup v5, Heartbeat v4, LeaveGroup v5 (Kafka 2.4 and later for static
 * membership; every broker kafka-dr supports). The KIP-848 consumer protocol is not used: it has
 * no field for custom member metadata, so it cannot carry bytes/s per partition.
 */

export interface GroupMember {
  memberId: string
  instanceId: string | null
  metadata: Buffer
}

export interface WorkerGroupOptions {
  groupId: string
  /** The worker id: `group.instance.id` (static membership). */
  instanceId: string
  protocolType: string
  protocol: string
  sessionTimeoutMs: number
  rebalanceTimeoutMs: number
  /** This member's metadata, read at every join (it carries what the member owns now). */
  metadata: () => Buffer
  /**
   * Leader only: each member's assignment, by member id (members left out get an empty one). Runs
   * between JoinGroup and SyncGroup: nobody gets the new generation's assignment before it resolves.
   */
  assign: (members: readonly GroupMember[], generation: number) => Map<string, Buffer> | Promise<Map<string, Buffer>>
}

export interface Joined {
  generation: number
  memberId: string
  leaderId: string
  isLeader: boolean
  /** This member's assignment, as the leader encoded it (empty: nothing, or too late: rejoin). */
  assignment: Buffer
}

/** What a heartbeat says: go on, rejoin (a rebalance started), or rejoin as a new member. */
export type HeartbeatAnswer = 'ok' | 'rebalance' | 'rejoin'

/** Answers after which the member must join again with a new member id. */
const REJOIN_AS_NEW = new Set(['UNKNOWN_MEMBER_ID'])
/**
 * Another process joined with this worker's id (KIP-345): the newer one owns the id. This one must
 * stop; joining again would fence the other in turn, and the two would take turns forever.
 */
const FENCED_INSTANCE = 'FENCED_INSTANCE_ID'
/** Answers after which the member joins again with its member id (a rebalance is under way). */
const REJOIN = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION'])
const COORDINATOR_MOVED = new Set(['NOT_COORDINATOR', 'COORDINATOR_NOT_AVAILABLE', 'COORDINATOR_LOAD_IN_PROGRESS'])

export class WorkerGroup {
  readonly cluster: string
  readonly options: WorkerGroupOptions
  readonly #client: RawClient
  #coordinator: Connection | null = null
  /**
   * Heartbeats on their own connections with a short request timeout (a third of the session): a
   * connection dropped silently must not hide the coordinator's silence for the JoinGroup's long one.
   */
  readonly #beats: RawClient
  #beatsCoordinator: Connection | null = null
  #memberId = ''
  #generation = -1
  #protocol: string | null = null
  #closed = false

  constructor(connection: ClusterConnection, options: WorkerGroupOptions) {
    this.cluster = connection.alias
    this.options = options
    // A JoinGroup is answered only when the rebalance completes: the request may take that long.
    this.#client = new RawClient(
      {
        ...connection,
        clientId: connection.clientId ?? `kafka-dr-worker-${options.instanceId}`,
        requestTimeoutMs: Math.max(connection.requestTimeoutMs ?? 30_000, options.rebalanceTimeoutMs + 5_000)
      },
      'worker'
    )
    this.#beats = new RawClient(
      {
        ...connection,
        clientId: connection.clientId ?? `kafka-dr-worker-${options.instanceId}`,
        requestTimeoutMs: Math.max(1000, Math.floor(options.sessionTimeoutMs / 3))
      },
      'worker heartbeat'
    )
  }

  get generation(): number {
    return this.#generation
  }

  get memberId(): string {
    return this.#memberId
  }

  /**
   * Joins (or rejoins) the group and returns this member's assignment for the new generation.
   * Retries coordinator moves and rebalances that restart, with backoff, up to `boundMs`.
   */
  async join(boundMs = this.options.rebalanceTimeoutMs * 2): Promise<Joined> {
    const backoff = new Backoff({ initialMs: 100, maxMs: 2_000, maxElapsedMs: boundMs })
    for (;;) {
      this.#throwIfClosed()
      try {
        const joined = await this.#joinOnce()
        if (joined !== null) return joined
        continue // member id assigned, or the leader's SyncGroup came too late: join again at once
      } catch (error) {
        const name = errorNameInChain(error)
        if (name === FENCED_INSTANCE) throw this.#fencedInstance(error)
        if (name !== undefined && REJOIN_AS_NEW.has(name)) this.#memberId = ''
        const retriable =
          name === undefined || COORDINATOR_MOVED.has(name) || REJOIN.has(name) || REJOIN_AS_NEW.has(name)
        if (name === undefined || COORDINATOR_MOVED.has(name)) this.#coordinator = null
        if (!retriable || this.#closed) throw this.#error('joining', error)
        const delay = backoff.next()
        if (delay === null)
          throw this.#error(`joining (${backoff.attempts} attempts in ${backoff.elapsedMs} ms)`, error)
        await sleep(delay)
      }
    }
  }

  /** One JoinGroup + SyncGroup; null when the member must join again at once. */
  async #joinOnce(): Promise<Joined | null> {
    const coordinator = await this.#findCoordinator()
    const { groupId, instanceId, protocolType, protocol } = this.options
    let joined: Awaited<ReturnType<typeof joinGroupV9.api.async>>
    try {
      joined = await joinGroupV9.api.async(
        coordinator,
        groupId,
        this.options.sessionTimeoutMs,
        this.options.rebalanceTimeoutMs,
        this.#memberId,
        instanceId,
        protocolType,
        [{ name: protocol, metadata: this.options.metadata() }],
        null
      )
    } catch (error) {
      // KIP-394: a new member first gets its member id with MEMBER_ID_REQUIRED, then joins with it.
      const response = (error as { response?: { memberId?: string } }).response
      if (errorNameInChain(error) === 'MEMBER_ID_REQUIRED' && response?.memberId !== undefined) {
        this.#memberId = response.memberId
        return null
      }
      throw error
    }
    this.#memberId = joined.memberId
    this.#generation = joined.generationId
    this.#protocol = joined.protocolName ?? protocol
    const isLeader = joined.leader === joined.memberId
    // Until SyncGroup answers, the session timeout runs: the leader's assignment may take a while (it
    // fences free writer slots, which waits for their open transactions to abort), and a member waits
    // in SyncGroup for it. The coordinator takes heartbeats in this state (CompletingRebalance) and
    // restarts the member's session timer, as the Java consumer's heartbeat thread relies on.
    const beating = setInterval(
      () => void this.heartbeat().catch(() => {}),
      Math.max(100, Math.floor(this.options.sessionTimeoutMs / 3))
    )
    try {
      return await this.#sync(coordinator, joined, isLeader)
    } finally {
      clearInterval(beating)
    }
  }

  /** The leader's assignment (computed here) or the others' wait: SyncGroup of the joined generation. */
  async #sync(
    coordinator: Connection,
    joined: Awaited<ReturnType<typeof joinGroupV9.api.async>>,
    isLeader: boolean
  ): Promise<Joined> {
    const { groupId, instanceId, protocolType } = this.options
    const assignments = isLeader
      ? [
          ...(await this.options.assign(
            joined.members.map(m => ({
              memberId: m.memberId,
              instanceId: m.groupInstanceId ?? null,
              metadata: m.metadata
            })),
            joined.generationId
          ))
        ].map(([memberId, assignment]) => ({
          memberId,
          assignment
        }))
      : []
    const synced = await syncGroupV5.api.async(
      coordinator,
      groupId,
      joined.generationId,
      joined.memberId,
      instanceId,
      protocolType,
      this.#protocol,
      assignments
    )
    return {
      generation: joined.generationId,
      memberId: joined.memberId,
      leaderId: joined.leader,
      isLeader,
      assignment: synced.assignment
    }
  }

  /** One heartbeat of the current generation (send one every session timeout / 3 or more often). */
  async heartbeat(): Promise<HeartbeatAnswer> {
    this.#throwIfClosed()
    try {
      this.#beatsCoordinator ??= await findCoordinator(this.#beats, COORDINATOR_TYPE_GROUP, this.options.groupId)
      const coordinator = this.#beatsCoordinator
      await heartbeatV4.api.async(
        coordinator,
        this.options.groupId,
        this.#generation,
        this.#memberId,
        this.options.instanceId
      )
      return 'ok'
    } catch (error) {
      const name = errorNameInChain(error)
      if (name === FENCED_INSTANCE) throw this.#fencedInstance(error)
      if (name !== undefined && REJOIN.has(name)) return 'rebalance'
      if (name !== undefined && REJOIN_AS_NEW.has(name)) {
        this.#memberId = ''
        return 'rejoin'
      }
      if (name === undefined || COORDINATOR_MOVED.has(name)) {
        this.#coordinator = null
        this.#beatsCoordinator = null
        throw this.#error('heartbeat (retried at the next one)', error)
      }
      throw this.#error('heartbeat', error)
    }
  }

  /**
   * Leaves the group at once (its partitions go to the others in the rebalance this starts). A static
   * member that only restarts should not leave: it comes back within the session timeout and keeps
   * its partitions.
   */
  async leave(reason: string): Promise<void> {
    if (this.#memberId === '' || this.#closed) return
    const coordinator = await this.#findCoordinator()
    await leaveGroupV5.api.async(coordinator, this.options.groupId, [
      { memberId: this.#memberId, groupInstanceId: this.options.instanceId, reason }
    ])
    this.#memberId = ''
    this.#generation = -1
  }

  /** Static members of the group (instance id, member id, the address they connect from), as the coordinator lists them. */
  async staticMembers(): Promise<{ instanceId: string; memberId: string; clientHost: string }[]> {
    this.#throwIfClosed()
    const coordinator = await this.#findCoordinator()
    const described = await describeGroupsV5.api.async(coordinator, [this.options.groupId], false)
    return (described.groups[0]?.members ?? []).flatMap(m =>
      m.groupInstanceId == null
        ? []
        : [{ instanceId: m.groupInstanceId, memberId: m.memberId, clientHost: m.clientHost.replace(/^\//, '') }]
    )
  }

  /**
   * Removes static members by instance id (KIP-345; as Kafka's Admin removeMembersFromConsumerGroup
   * does): a worker that restarted evicts its dead predecessors instead of waiting a session timeout.
   */
  async evict(instanceIds: readonly string[], reason: string): Promise<void> {
    if (instanceIds.length === 0) return
    this.#throwIfClosed()
    const coordinator = await this.#findCoordinator()
    await leaveGroupV5.api.async(
      coordinator,
      this.options.groupId,
      instanceIds.map(groupInstanceId => ({ memberId: '', groupInstanceId, reason }))
    )
  }

  async close(): Promise<void> {
    this.#closed = true
    await Promise.allSettled([this.#client.close(), this.#beats.close()])
  }

  async #findCoordinator(): Promise<Connection> {
    this.#coordinator ??= await findCoordinator(this.#client, COORDINATOR_TYPE_GROUP, this.options.groupId)
    return this.#coordinator
  }

  #throwIfClosed(): void {
    if (this.#closed)
      throw new KdrError('KDR_ERR_KAFKA_CONNECT', `worker group ${this.options.groupId}: closed`, {
        cluster: this.cluster
      })
  }

  #fencedInstance(cause: unknown): KdrError {
    return new KdrError(
      'KDR_ERR_CONFIG',
      `worker group ${this.options.groupId}: another process joined with this worker's id ${this.options.instanceId}; give each process its own --worker-id (this one stops)`,
      { cluster: this.cluster },
      { cause }
    )
  }

  #error(what: string, cause: unknown): KdrError {
    return new KdrError(
      'KDR_ERR_KAFKA_CONNECT',
      `worker group ${this.options.groupId} (worker ${this.options.instanceId}): ${what} failed: ${describeCause(cause)}`,
      { cluster: this.cluster },
      { cause }
    )
  }
}
