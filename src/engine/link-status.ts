import { type GroupCheckpointStatus } from '../engine-events/index.ts'
import { type CheckpointValue } from '../state/index.ts'

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
