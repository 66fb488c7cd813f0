/**
 * What the engine reports about itself: per partition (a copier's status), per link (run state,
 * partitions, groups) and of the schema replication a link runs (schemas/schema-sync.ts). Read by
 * the HTTP API, the metrics and the CLI; types only.
 */

/**
 * `retrying`: running, but its fetches fail for a reason only an operator can fix (see `reason`).
 * `paused`: an operator paused it (`kafka-dr pause`; `reason` says who, when and why); lag keeps being measured.
 */
export type CopierState = 'running' | 'retrying' | 'paused' | 'errored' | 'source-deleted'

export interface PartitionStatus {
  link: string
  topic: string
  partition: number
  targetTopic: string
  state: CopierState
  reason: string | null
  /** Next source offset whose predecessors are all on the target. */
  replicatedNext: bigint
  committedNext: bigint
  sourceLogStart: bigint
  sourceHighWatermark: bigint
  /** Records on the source not yet on the target (the RPO in records if you failed over now). */
  lagRecords: bigint
  /** Timestamp of the newest record acknowledged by the target, -1 before the first. */
  lastReplicatedTimestamp: number
  /** Timestamp of the oldest fetched record not yet acknowledged, -1 when none is fetched (or none missing). */
  oldestUnreplicatedTimestamp: number
  replicatedRecords: number
  replicatedBytes: number
  loopSkippedRecords: number
  deadLetteredRecords: number
  lostRecords: bigint
  /** The source broker's error the partition's fetches fail with (e.g. TOPIC_AUTHORIZATION_FAILED), else null. */
  fetchError: string | null
  /** The worker copying it (scale-out); absent where the copier reports it before the link adds it. */
  worker?: string
}

/** What a link reports about itself (engine/link-replicator.ts): run state, partitions, schemas, groups. */
export type LinkRunState = 'starting' | 'running' | 'stopping' | 'stopped' | 'failed' | 'fenced'

export interface LinkStatus {
  link: string
  source: string
  target: string
  state: LinkRunState
  error: string | null
  sourceClusterId: string | null
  targetClusterId: string | null
  lastCommitAt: number | null
  partitions: PartitionStatus[]
  /** Schema Registry replication, when the link has it. */
  schemas: SchemaSyncState | null
  /** Consumer groups whose offsets are translated: newest checkpoint and whether all of it is exact. */
  groups: GroupCheckpointStatus[]
  /** This process in the link's worker group (docs/scale-out.md); absent for a link that never started. */
  worker?: WorkerStatus
}

/** A worker's place in its link's worker group. */
export interface WorkerStatus {
  id: string
  group: string
  /** -1 before it joined. */
  generation: number
  /** The leader runs the topic, config and schema sync. */
  leader: boolean
  /** Its writer slot (exactly-once: the pair of transactional ids it writes with). */
  slot: number
  /** Worker ids of the generation's members, the leader first. */
  members: string[]
  /** Partitions assigned to it. */
  owned: number
}

export interface GroupCheckpointStatus {
  group: string
  partitions: number
  exact: boolean
  lastCheckpointAt: number | null
}

/** Schema replication of a link (schemas/schema-sync.ts). */
export type SchemaIdMode = 'keep-ids' | 'translate-ids'

export interface SubjectSyncState {
  subject: string
  /** Live (not deleted) versions on the source. */
  versions: number
  inSync: number
  pending: number
  failed: string | null
  /** Source versions that are soft-deleted: reported, not copied. */
  softDeleted: number[]
  /** Subject-level compatibility copied to the target, when the source sets one. */
  compatibility: string | null
}

export interface SchemaSyncState {
  mode: SchemaIdMode
  sourceRegistry: string
  targetRegistry: string
  lastSyncAt: number | null
  lastError: string | null
  globalCompatibility: string | null
  subjects: SubjectSyncState[]
  totals: { subjects: number; versions: number; inSync: number; pending: number; failed: number; softDeleted: number }
  /** Source ids known to exist on the target (and their target ids under translate-ids). */
  ids: number
  /** (topic, id) pairs of keys that look like the wire format but are no key schema: copied as they are. */
  keysNotWireFormat: number
}
