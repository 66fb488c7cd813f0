import { assignPartitions } from './assignment.ts'
import { type WorkerAssignment, type WorkerMetadata, configDifference } from './worker-metadata.ts'

/**
 * What the leader of a worker group answers in SyncGroup: members whose link configuration matches
 * the leader's share the partitions (core/assignment.ts); a member whose configuration differs gets
 * nothing and the keys that differ, so it can refuse to run with a clear error (two configs for one
 * link would copy with two different policies).
 *
 * One writer per partition (incremental cooperative rebalancing, KIP-415): a partition that moves
 * from one member to another is given to nobody in this generation. Its old owner's assignment no
 * longer holds it, so that owner stops copying it, commits, and joins again; in the next generation
 * nobody reports owning it and the new owner gets it. `followUp` says such a second round is due.
 */

export interface PlannedMember {
  memberId: string
  metadata: WorkerMetadata
}

export interface GroupPlan {
  assignments: Map<string, WorkerAssignment>
  /** Members refused, with the keys that differ from the leader's configuration. */
  refused: { worker: string; keys: string[] }[]
  moved: number
  /** Partitions withheld this generation: their owner must release them first. */
  withheld: string[]
  /** A member gives partitions up this generation: a second rebalance follows (the owner rejoins). */
  followUp: boolean
}

export function planGroup(
  members: readonly PlannedMember[],
  leader: WorkerMetadata,
  partitions: readonly string[],
  generation: number
): GroupPlan {
  const assignments = new Map<string, WorkerAssignment>()
  const refused: GroupPlan['refused'] = []
  const eligible: PlannedMember[] = []
  for (const member of members) {
    const keys = configDifference(leader.config, member.metadata.config)
    if (keys.length === 0) {
      eligible.push(member)
      continue
    }
    refused.push({ worker: member.metadata.worker, keys })
    assignments.set(member.memberId, {
      version: 1,
      generation,
      partitions: [],
      refused: `the link's configuration differs from the group leader's (worker ${leader.worker}) in ${keys.join(', ')}`
    })
  }
  const rates = new Map<string, number>()
  for (const member of eligible)
    for (const [key, rate] of Object.entries(member.metadata.rates)) rates.set(key, Math.max(rates.get(key) ?? 0, rate))
  const result = assignPartitions({
    members: eligible.map(m => ({ id: m.memberId, owned: m.metadata.owned })),
    partitions,
    rates
  })
  // Who reports owning what (every claimer, refused members included: they still copy until they stop).
  const claimers = new Map<string, Set<string>>()
  for (const member of members)
    for (const key of member.metadata.owned) {
      let set = claimers.get(key)
      if (set === undefined) claimers.set(key, (set = new Set()))
      set.add(member.memberId)
    }
  const withheld: string[] = []
  for (const member of eligible) {
    const partitions = (result.byMember.get(member.memberId) ?? []).filter(key => {
      const others = [...(claimers.get(key) ?? [])].filter(id => id !== member.memberId)
      if (others.length === 0) return true
      withheld.push(key)
      return false
    })
    assignments.set(member.memberId, { version: 1, generation, partitions, refused: null })
  }
  return { assignments, refused, moved: result.moved, withheld: withheld.sort(), followUp: withheld.length > 0 }
}
