import { hostname } from 'node:os'
import { type Pause } from '../core/pauses.ts'
import { type ClusterConnection, PartitionFetcher } from '../kafka/index.ts'
import { type PartitionStatus, type SchemaSyncState } from '../engine-events/index.ts'
import {
  type FenceDocument,
  type HeartbeatSchemas,
  type HeartbeatState,
  STATE_TOPIC,
  type StateEntry,
  readStateRecord
} from '../state/index.ts'

/**
 * A link's two exchanges with failover through the state topic (link-replicator.ts): the heartbeat
 * it writes (liveness, and the acknowledgement of a fence), and the fence it reads (set by failover:
 * the link must not write to its target any more).
 */

export function fenceMessage(link: string, fence: FenceDocument): string {
  return `link ${link} is fenced by failover ${fence.failoverId} at ${new Date(fence.at).toISOString()}: it must not write to its target until failback clears the fence`
}

/** The schema state a heartbeat carries: totals, and the subjects that need attention (bounded). */
function heartbeatSchemas(state: SchemaSyncState): HeartbeatSchemas {
  const attention = state.subjects.filter(s => s.failed !== null || s.pending > 0 || s.softDeleted.length > 0)
  return {
    mode: state.mode,
    lastSyncAt: state.lastSyncAt,
    lastError: state.lastError,
    totals: state.totals,
    ids: state.ids,
    subjects: attention.slice(0, 100)
  }
}

export interface HeartbeatOf {
  link: string
  intervalMs: number
  state: HeartbeatState
  /** false when a stopping replicator's final commit failed: stored progress is behind the target. */
  committed: boolean
  partitions: readonly PartitionStatus[]
  schemas: SchemaSyncState | null
  /** Ids of the origins the link's routes name; null without routes. */
  clusterIds: ReadonlyMap<string, string> | null
  /** The worker writing it, its group generation and the generation's members (failover waits for each). */
  worker: string
  generation: number
  members: readonly string[]
  /** The worker's writer slot; -1 before it joined, or while it may have lost its membership. */
  slot: number
  /** Bytes/s it copied since its previous heartbeat (CopiedRate); null for the first. */
  bytesPerSecond: number | null
}

/**
 * The heartbeat state records: the link's heartbeat (liveness, the partitions that are not running),
 * and the same under the worker's slot once it has one (state/records.ts), which status reads per worker.
 */
export function heartbeatEntries(of: HeartbeatOf): StateEntry[] {
  // Paused partitions are left out: the pause records say so (status reads them), and a paused link
  // of thousands of partitions would make every heartbeat that large.
  const stopped = of.partitions
    .filter(p => p.state !== 'running' && p.state !== 'paused')
    .map(p => ({ topic: p.topic, partition: p.partition, state: p.state, reason: p.reason }))
  const value = {
    at: Date.now(),
    host: hostname(),
    pid: process.pid,
    state: of.state,
    intervalMs: of.intervalMs,
    committed: of.committed,
    stopped,
    schemas: of.schemas === null ? null : heartbeatSchemas(of.schemas),
    clusterIds: of.clusterIds === null ? null : Object.fromEntries(of.clusterIds),
    worker: of.worker,
    generation: of.generation,
    members: [...of.members],
    slot: of.slot,
    owned: of.partitions.length,
    owns: null,
    bytesPerSecond: of.bytesPerSecond
  }
  const link: StateEntry = { kind: 'heartbeat', link: of.link, value }
  if (of.slot < 0) return [link]
  const owns: Record<string, number[]> = {}
  for (const p of of.partitions) (owns[p.topic] ??= []).push(p.partition)
  for (const list of Object.values(owns)) list.sort((a, b) => a - b)
  return [link, { kind: 'worker', link: of.link, slot: of.slot, value: { ...value, owns } }]
}

/**
 * Bytes/s a worker copied between two samples, from its copiers' counters (which only grow while a
 * copier lives). A partition that came since the last sample counts from its count then, one that
 * left is no longer counted: a move never shows as a burst or a drop.
 */
export class CopiedRate {
  #last: { at: number; bytes: Map<string, number> } | null = null

  /** `bytes`: per partition, bytes copied so far; the rate since the previous sample, null for the first. */
  sample(bytes: ReadonlyMap<string, number>, now = performance.now()): number | null {
    const last = this.#last
    this.#last = { at: now, bytes: new Map(bytes) }
    if (last === null || now <= last.at) return null
    let copied = 0
    for (const [key, total] of bytes) copied += Math.max(0, total - (last.bytes.get(key) ?? total))
    return Math.round((copied * 1000) / (now - last.at))
  }
}

/**
 * Reads the state topic's tail for a fence of one link, from where the state loaded at start ended,
 * and for the operators' pauses and resumes of it (core/pauses.ts), passed to `onPause` in order.
 * Once a fence is seen it stays: `onFence` is called once, by the read that found it.
 */
export class FenceReader {
  readonly #connection: ClusterConnection
  readonly #link: string
  readonly #onFence: (fence: FenceDocument) => void
  readonly #onPause: (topic: string, pause: Pause | null) => void
  readonly #onUnreadable: (problem: string) => void
  #reader: PartitionFetcher | null = null
  #offset = 0n
  #fence: FenceDocument | null = null
  #read: Promise<boolean> | null = null
  /** Whether the last read reached the end of the state topic (no error on the way). */
  #complete = false

  constructor(
    connection: ClusterConnection,
    link: string,
    onFence: (fence: FenceDocument) => void,
    onPause: (topic: string, pause: Pause | null) => void = () => {},
    onUnreadable: (problem: string) => void = () => {}
  ) {
    this.#connection = connection
    this.#link = link
    this.#onFence = onFence
    this.#onPause = onPause
    this.#onUnreadable = onUnreadable
  }

  /** The fence set by failover, or null. */
  get fence(): FenceDocument | null {
    return this.#fence
  }

  /** A fence found in the state loaded at start. */
  found(fence: FenceDocument): void {
    this.#fence = fence
  }

  /** Where the state loaded at start ended: reading the tail starts there. */
  readFrom(offset: bigint): void {
    this.#offset = offset
  }

  /** Whether the last read reached the end of the state topic without an error (see fenced()). */
  get lastReadComplete(): boolean {
    return this.#complete
  }

  /** Reads state records written since the last look; whether the link is fenced. */
  fenced(): Promise<boolean> {
    // The commit and heartbeat loops both ask: one read of the state tail at a time.
    this.#read ??= this.#readFence().finally(() => {
      this.#read = null
    })
    return this.#read
  }

  async #readFence(): Promise<boolean> {
    if (this.#fence !== null) return true
    this.#complete = false
    if (this.#reader === null) {
      this.#reader = new PartitionFetcher(
        { ...this.#connection, clientId: `kafka-dr-${this.#link}-fence` },
        // Fence documents are never written in a transaction: read_uncommitted sees them at once,
        // even while an exactly-once replicator's transaction holds the last stable offset back.
        { maxWaitMs: 0, isolation: 'read_uncommitted' }
      )
    }
    for (let round = 0; round < 100; round++) {
      const [result] = await this.#reader.fetch([{ topic: STATE_TOPIC, partition: 0, offset: this.#offset }])
      if (result === undefined) break
      if (result.error !== undefined) {
        // Compaction may have removed what we had not read yet: continue at the log start.
        if (result.error.error.code === 'KDR_ERR_OFFSET_OUT_OF_RANGE' && result.logStartOffset > this.#offset) {
          this.#offset = result.logStartOffset
          continue
        }
        break
      }
      for (const record of result.records) {
        const read = readStateRecord(record.key, record.value)
        if (!read.ok) {
          // Unreadable (corrupt, or written by a newer kafka-dr): it may be a pause this version
          // cannot obey; said, never skipped in silence.
          if (read.link === this.#link) this.#onUnreadable(`offset ${record.offset}: ${read.problem}`)
          continue
        }
        const entry = read.entry
        if (entry.link !== this.#link) continue
        if (entry.kind === 'fence' && entry.value !== null) this.#fence = entry.value
        else if (entry.kind === 'pause') this.#onPause(entry.topic, entry.value)
      }
      const moved = result.nextOffset !== this.#offset
      this.#offset = result.nextOffset
      if (!moved) {
        this.#complete = true
        break
      }
    }
    if (this.#fence === null) return false
    this.#onFence(this.#fence)
    return true
  }

  close(): Promise<void> | undefined {
    return this.#reader?.close()
  }
}
