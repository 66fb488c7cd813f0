import { type CheckpointValue } from '../state/index.ts'
import { type SchemaSyncState } from '../schemas/schema-sync.ts'
import { type PartitionStatus } from './copier-types.ts'

/** What a link reports about itself (link-replicator.ts): run state, partitions, schemas, groups. */

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
}

export interface GroupCheckpointStatus {
  group: string
  partitions: number
  exact: boolean
  lastCheckpointAt: number | null
}

/** Per group, from the checkpoints (keyed group NUL topic NUL partition): sorted by group. */
export function groupStatus(checkpoints: Iterable<[string, CheckpointValue]>): GroupCheckpointStatus[] {
  const byGroup = new Map<string, GroupCheckpointStatus>()
  for (const [key, value] of checkpoints) {
    const group = key.split('\u0000')[0]!
    const entry = byGroup.get(group) ?? { group, partitions: 0, exact: true, lastCheckpointAt: null }
    entry.partitions++
    entry.exact &&= value.exact
    entry.lastCheckpointAt = Math.max(entry.lastCheckpointAt ?? 0, value.at)
    byGroup.set(group, entry)
  }
  return [...byGroup.values()].sort((a, b) => (a.group < b.group ? -1 : 1))
}
