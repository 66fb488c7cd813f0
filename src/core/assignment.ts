/**
 * The worker group's assignment (scale-out): which worker copies which partitions of a link. Pure
 * logic, computed by the group's leader from what every member reported when it joined (the
 * partitions it owns and the bytes/s it measured per partition).
 *
 * Rules, in order:
 * 1. Sticky: a partition stays with the member that owns it, if that member is still in the group
 *    (a rolling restart with static membership moves nothing). A partition claimed by two members
 *    (a stale report) stays with the first in member order; the other gives it up.
 * 2. Partitions nobody owns (new, or of a member that left) go heaviest first to the least loaded
 *    member (Brooklin's load-based assigner; partitions without a measured rate count as the mean).
 * 3. Balance: while moving one partition from the most to the least loaded member narrows the gap
 *    between them by at least the lightest partition's weight, the partition that best evens them
 *    moves. With equal rates this ends with counts within one; with rates that differ tenfold, within
 *    about one partition's weight. Only what must move moves: a fourth member joining three equal
 *    ones takes a quarter of the partitions, nothing moves among the three.
 *
 * Deterministic: the same input gives the same assignment (members and partitions are sorted).
 */

export interface AssignmentMember {
  id: string
  /** Partitions it owns now (keys), from its join metadata. */
  owned: readonly string[]
}

export interface AssignmentInput {
  members: readonly AssignmentMember[]
  /** Every partition to assign (keys such as "topic:partition"). */
  partitions: readonly string[]
  /** Measured bytes/s per partition; missing or not positive: unknown. */
  rates: ReadonlyMap<string, number>
  /** false: rules 1 and 2 only (a follow-up round completes the previous plan; it does not plan anew). */
  balance?: boolean
}

export interface Assignment {
  /** Partitions per member id (every member has an entry, sorted). */
  byMember: Map<string, string[]>
  /** Partitions taken from a member of the group that owned them (orphans of departed members are not counted). */
  moved: number
  /** Load per member id, in the weights used (multiples of the median partition rate: see weights()). */
  load: Map<string, number>
}

export function assignPartitions(input: AssignmentInput): Assignment {
  const members = [...new Set(input.members.map(m => m.id))].sort()
  const byMember = new Map<string, Set<string>>(members.map(id => [id, new Set()]))
  const load = new Map<string, number>(members.map(id => [id, 0]))
  if (members.length === 0) return { byMember: new Map(), moved: 0, load }

  const partitions = [...new Set(input.partitions)].sort()
  const weight = weights(partitions, input.rates)
  const previousOwner = new Map<string, string>()
  for (const member of [...input.members].sort((a, b) => compare(a.id, b.id))) {
    for (const key of member.owned) if (!previousOwner.has(key)) previousOwner.set(key, member.id)
  }
  const give = (member: string, key: string): void => {
    byMember.get(member)!.add(key)
    load.set(member, load.get(member)! + weight.get(key)!)
  }
  const take = (member: string, key: string): void => {
    byMember.get(member)!.delete(key)
    load.set(member, load.get(member)! - weight.get(key)!)
  }

  // 1. Sticky.
  const unowned: string[] = []
  for (const key of partitions) {
    const owner = previousOwner.get(key)
    if (owner !== undefined && byMember.has(owner)) give(owner, key)
    else unowned.push(key)
  }
  // 2. Heaviest unowned partition to the least loaded member.
  unowned.sort((a, b) => weight.get(b)! - weight.get(a)! || compare(a, b))
  for (const key of unowned) give(leastLoaded(members, load, byMember), key)

  // 3. Balance, bounded: each move narrows the gap between the two members it touches.
  const lightest = Math.min(...[...weight.values()].filter(w => w > 0), Number.POSITIVE_INFINITY)
  let moved = 0
  for (let round = 0; input.balance !== false && round < partitions.length; round++) {
    const heavy = mostLoaded(members, load, byMember)
    const light = leastLoaded(members, load, byMember)
    const gap = load.get(heavy)! - load.get(light)!
    let best: { key: string; after: number } | null = null
    for (const key of byMember.get(heavy)!) {
      const after = Math.abs(gap - 2 * weight.get(key)!)
      if (best === null || after < best.after || (after === best.after && compare(key, best.key) < 0))
        best = { key, after }
    }
    if (best === null || gap - best.after < lightest * (1 - 1e-9)) break
    take(heavy, best.key)
    give(light, best.key)
  }
  for (const [member, keys] of byMember) {
    for (const key of keys) {
      const owner = previousOwner.get(key)
      if (owner !== undefined && owner !== member) moved++
    }
  }
  return {
    byMember: new Map([...byMember].map(([id, keys]) => [id, [...keys].sort()])),
    moved,
    load
  }
}

/**
 * Weights per partition, in multiples of the median measured rate, on a scale of powers of four: rates
 * within a factor of two of the median weigh 1, like partitions without a measurement. Measurement
 * noise (a burst, traffic that just started or stopped, a partition measured over a short time) then
 * moves nothing and equal partitions balance by count, while a partition ten times hotter weighs 16.
 */
function weights(partitions: readonly string[], rates: ReadonlyMap<string, number>): Map<string, number> {
  const known = partitions
    .map(p => rates.get(p))
    .filter((r): r is number => r !== undefined && r > 0)
    .sort((a, b) => a - b)
  const median = known.length === 0 ? 1 : known[Math.floor(known.length / 2)]!
  return new Map(
    partitions.map(p => {
      const rate = rates.get(p)
      return [p, rate !== undefined && rate > 0 ? 4 ** Math.round(Math.log(rate / median) / Math.log(4)) : 1]
    })
  )
}

function leastLoaded(members: readonly string[], load: Map<string, number>, owned: Map<string, Set<string>>): string {
  return members.reduce((best, id) => (order(load, owned, id, best) < 0 ? id : best))
}

function mostLoaded(members: readonly string[], load: Map<string, number>, owned: Map<string, Set<string>>): string {
  return members.reduce((best, id) => (order(load, owned, id, best) > 0 ? id : best))
}

/** By load, then by partition count, then by id: the order that breaks ties the same way every time. */
function order(load: Map<string, number>, owned: Map<string, Set<string>>, a: string, b: string): number {
  return load.get(a)! - load.get(b)! || owned.get(a)!.size - owned.get(b)!.size || compare(a, b)
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
