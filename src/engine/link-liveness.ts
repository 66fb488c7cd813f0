import { type LinkConfig } from '../config/index.ts'
import { type Pause } from '../core/pauses.ts'
import { WriteLease } from '../core/write-lease.ts'
import { type PartitionStatus, type SchemaSyncState } from '../engine-events/index.ts'
import { type ClusterConnection, type RecordProducer } from '../kafka/index.ts'
import { type FenceDocument, type HeartbeatState, partitionKey, writeState } from '../state/index.ts'
import { CopiedRate, FenceReader, heartbeatEntries } from './fence-heartbeat.ts'
import { type Generation } from './worker-membership.ts'

/** What a heartbeat tells about the worker at the moment it is written. */
export interface LivenessContent {
  /** The state records' producer; null before the link connected (no heartbeat then). */
  producer(): RecordProducer | null
  partitions(): PartitionStatus[]
  schemas(): SchemaSyncState | null
  clusterIds(): ReadonlyMap<string, string> | null
  worker(): string
  generation(): Generation
  /** Whether the worker still holds its group membership: only then does it write under its slot. */
  holds(): boolean
}

/**
 * A link's liveness on the target's state topic (core/write-lease.ts, fence-heartbeat.ts): the
 * heartbeats it writes, the fence failover may set, and the write lease in between. The lease runs
 * from the moment a `running` heartbeat was issued once a read of the state topic to its end found no
 * fence; while it has run out (the state topic cannot be written or read) copiers start no produce,
 * so failover's stale verdict never meets a replicator still writing (bar one produce in flight).
 */
export class LinkLiveness {
  readonly #config: LinkConfig
  readonly #content: LivenessContent
  readonly #reader: FenceReader
  readonly #lease: WriteLease
  readonly #copiedRate = new CopiedRate()

  constructor(
    config: LinkConfig,
    target: ClusterConnection,
    content: LivenessContent,
    onFence: (fence: FenceDocument) => void,
    onPause: (topic: string, pause: Pause | null) => void,
    onUnreadable: (problem: string) => void
  ) {
    this.#config = config
    this.#content = content
    this.#reader = new FenceReader(target, config.name, onFence, onPause, onUnreadable)
    this.#lease = new WriteLease(config.checkpointIntervalMs)
  }

  /** The fence set by failover, or null. */
  get fence(): FenceDocument | null {
    return this.#reader.fence
  }

  /** Not fenced, and the lease holds: copiers may start a produce. */
  mayWrite(): boolean {
    return this.#reader.fence === null && this.#lease.valid()
  }

  /** The state loaded at start: its fence, if any, and where reading the tail starts. */
  loaded(fence: FenceDocument | undefined, end: bigint): void {
    if (fence !== undefined) this.#reader.found(fence)
    this.#reader.readFrom(end)
  }

  /**
   * Reads state records written since the last look: pauses and resumes go to `onPause` (so a pause
   * takes effect within a commit interval, the commit loop reads first); a fence for this link (set by failover) calls
   * `onFence` once: the link stops (no fetch or write after in-flight batches finish, a final commit,
   * and a `fenced` heartbeat that failover waits for).
   */
  fenced(): Promise<boolean> {
    return this.#reader.fenced()
  }

  /** Writes a `running` heartbeat, then reads the state topic to its end: no fence, the lease runs again. */
  async renewLease(): Promise<void> {
    const issued = this.#lease.issue()
    await this.heartbeat('running')
    if (!(await this.fenced()) && this.#reader.lastReadComplete) this.#lease.renew(issued)
  }

  async heartbeat(state: HeartbeatState, committed = true): Promise<void> {
    const producer = this.#content.producer()
    if (producer === null) return
    const content = this.#content
    const partitions = content.partitions()
    const copied = new Map(partitions.map(p => [partitionKey(p.topic, p.partition), p.replicatedBytes]))
    const generation = content.generation()
    await writeState(
      producer,
      heartbeatEntries({
        link: this.#config.name,
        intervalMs: this.#config.checkpointIntervalMs,
        state,
        committed,
        partitions,
        schemas: content.schemas(),
        clusterIds: content.clusterIds(),
        worker: content.worker(),
        generation: generation.generation,
        members: generation.members,
        // Without the membership another worker may hold the slot already: its record is not ours to write.
        slot: content.holds() ? generation.slot : -1,
        bytesPerSecond: this.#copiedRate.sample(copied)
      })
    )
  }

  async close(): Promise<void> {
    await this.#reader.close()
  }
}
