/**
 * Transactional ids of a link with `delivery: exactly-once` (engine/delivery.ts). They are derived
 * from the link's name only, never from a cluster id or a host, so that:
 * - a restarted replicator uses the same ids, and its InitProducerId aborts whatever the previous
 *   incarnation left open (and fences it, if it still runs);
 * - `failover` can fence the link while the source cluster and the replicator are down.
 * A link writes with two ids that take turns (one transaction commits while the next fills:
 * engine/transaction-boundary.ts): `kafka-dr.<link>.0` and `kafka-dr.<link>.1`. Each worker of a
 * scaled-out link writes with the pair of its writer slot ("shard" here; core/group-plan.ts):
 * `kafka-dr.<link>.<2*slot>` and `.<2*slot+1>`; failover fences the pairs of every slot.
 */

export const TRANSACTIONAL_ID_PREFIX = 'kafka-dr.'

/** Transactional ids per shard: two transactions alternate. */
export const TRANSACTIONS_PER_SHARD = 2

export function transactionalId(link: string, shard: number, turn: number): string {
  return `${TRANSACTIONAL_ID_PREFIX}${link}.${shard * TRANSACTIONS_PER_SHARD + turn}`
}

/** The ids of one shard, in turn order. */
export function shardTransactionalIds(link: string, shard = 0): [string, string] {
  return [transactionalId(link, shard, 0), transactionalId(link, shard, 1)]
}

/** Every transactional id of a link that `failover` must fence (shards 0..shards-1). */
export function linkTransactionalIds(link: string, shards = 1): string[] {
  return Array.from({ length: shards }, (_, shard) => shardTransactionalIds(link, shard)).flat()
}
