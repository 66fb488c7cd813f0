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
 *
 * Writer slots: each member holds one slot out of maxWorkers, kept across generations (a member
 * keeps the slot it reports). Under exactly-once a slot is a pair of transactional ids; the slots
 * no member holds are `freeSlots`, which the leader fences before anyone gets its assignment, so a
 * worker that left the group without releasing (killed, paused, cut off) can no longer commit.
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
  /** Slots below maxWorkers that no member holds after this plan (to be fenced: core/transactional-ids.ts). */
  freeSlots: number[]
  /** Withheld partitions and the worker each is meant for: pass to the next plan, which then completes this one. */
  handover: Map<string, string>
  /**
   * Slots given to a member that did not hold them (a newcomer, or one of two members reporting the
   * same slot): their previous holder may have left without releasing, so they are fenced too.
   */
  takenOver: number[]
}

export function planGroup(
  members: readonly PlannedMember[],
  leader: WorkerMetadata,
  partitions: readonly string[],
  generation: number,
  maxWorkers: number,
  /** Rates the leader learnt earlier (of partitions whose owner left); members' reports take precedence. */
  known: ReadonlyMap<string, number> = new Map(),
  /**
   * The previous plan's handover (withheld partition -> worker meant to get it). A partition nobody
   * claims any more counts as that worker's if it is still here, so the follow-up round hands over
   * exactly what the first round decided, instead of planning the freed partitions afresh.
   */
  handover: ReadonlyMap<string, string> = new Map()
): GroupPlan {
  const assignments = new Map<string, WorkerAssignment>()
  const refused: GroupPlan['refused'] = []
  const matching: PlannedMember[] = []
  const refuse = (member: PlannedMember, keys: string[], why: string): void => {
    refused.push({ worker: member.metadata.worker, keys })
    assignments.set(member.memberId, { version: 1, generation, partitions: [], slot: -1, members: [], refused: why })
  }
  for (const member of members) {
    const keys = configDifference(leader.config, member.metadata.config)
    if (keys.length === 0) matching.push(member)
    else
      refuse(
        member,
        keys,
        `the link's configuration differs from the group leader's (worker ${leader.worker}) in ${keys.join(', ')}`
      )
  }
  const slots = assignSlots(matching, maxWorkers)
  const eligible = matching.filter(m => slots.has(m.memberId))
  for (const member of matching)
    if (!slots.has(member.memberId))
      refuse(
        member,
        [],
        `the link already has workers.maxWorkers (${maxWorkers}) workers: raise workers.maxWorkers in every worker's config to add more`
      )
  const workerIds = [leader.worker, ...eligible.map(m => m.metadata.worker).filter(w => w !== leader.worker)]
  const reported = new Map<string, number>()
  for (const member of eligible)
    for (const [key, rate] of Object.entries(member.metadata.rates))
      reported.set(key, Math.max(reported.get(key) ?? 0, rate))
  const rates = new Map<string, number>([...known, ...reported])
  const claimed = new Set(members.flatMap(m => m.metadata.owned))
  const meantFor = (worker: string): string[] =>
    [...handover].filter(([key, to]) => to === worker && !claimed.has(key)).map(([key]) => key)
  const result = assignPartitions({
    members: eligible.map(m => ({ id: m.memberId, owned: [...m.metadata.owned, ...meantFor(m.metadata.worker)] })),
    partitions,
    rates,
    // The round that completes a handover only hands over: rates measured in between (a partition
    // just moved, a burst) must not start another round of moves. Balancing resumes the round after.
    balance: handover.size === 0
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
  const next = new Map<string, string>()
  for (const member of eligible) {
    const partitions = (result.byMember.get(member.memberId) ?? []).filter(key => {
      const others = [...(claimers.get(key) ?? [])].filter(id => id !== member.memberId)
      if (others.length === 0) return true
      withheld.push(key)
      next.set(key, member.metadata.worker)
      return false
    })
    assignments.set(member.memberId, {
      version: 1,
      generation,
      partitions,
      slot: slots.get(member.memberId)!,
      members: workerIds,
      refused: null
    })
  }
  const held = new Set(slots.values())
  const takenOver = eligible.filter(m => m.metadata.slot !== slots.get(m.memberId)).map(m => slots.get(m.memberId)!)
  return {
    takenOver: takenOver.sort((a, b) => a - b),
    assignments,
    refused,
    moved: result.moved,
    withheld: withheld.sort(),
    followUp: withheld.length > 0,
    handover: next,
    freeSlots: Array.from({ length: maxWorkers }, (_, slot) => slot).filter(slot => !held.has(slot))
  }
}

/**
 * Slot per member id: a member keeps the slot it reports unless another member reports it too (the
 * lower worker id keeps it); the others get the lowest free slots. Members beyond maxWorkers get none.
 */
function assignSlots(members: readonly PlannedMember[], maxWorkers: number): Map<string, number> {
  const slots = new Map<string, number>()
  const taken = new Set<number>()
  const byWorker = [...members].sort((a, b) => (a.metadata.worker < b.metadata.worker ? -1 : 1))
  for (const member of byWorker) {
    const slot = member.metadata.slot
    if (slot >= 0 && slot < maxWorkers && !taken.has(slot)) {
      slots.set(member.memberId, slot)
      taken.add(slot)
    }
  }
  let next = 0
  for (const member of byWorker) {
    if (slots.has(member.memberId)) continue
    while (taken.has(next)) next++
    if (next >= maxWorkers) break
    slots.set(member.memberId, next)
    taken.add(next)
  }
  return slots
}
