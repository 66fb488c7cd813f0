/**
 * Transactional ids of a link with `delivery: exactly-once` (engine/delivery.ts). They are derived
 * from the link's name only, never from a cluster id or a host, so that:
 * - a restarted replicator uses the same id, and its InitProducerId aborts whatever the previous
 *   incarnation left open (and fences it, if it still runs);
 * - `failover` can fence the link while the source cluster and the replicator are down.
 * One id per shard of the link's partitions; a link runs one shard today (scale-out divides links
 * into shards and fences them the same way).
 */

export const TRANSACTIONAL_ID_PREFIX = 'kafka-dr.'

export function transactionalId(link: string, shard = 0): string {
  return `${TRANSACTIONAL_ID_PREFIX}${link}.${shard}`
}

/** Every transactional id of a link that `failover` must fence (shards 0..shards-1). */
export function linkTransactionalIds(link: string, shards = 1): string[] {
  return Array.from({ length: shards }, (_, shard) => transactionalId(link, shard))
}
