import { type HeartbeatDocument } from '../state/index.ts'

/**
 * Who copies each partition of a scaled-out link, from the heartbeats its workers keep under their
 * writer slots (`owns`: state/records.ts), for `kafka-dr status` with the engine up or down.
 */

/** A partition's copier as its worker said last: `running`, a copier state, or `unresponsive`. */
export interface PartitionOwner {
  worker: string
  state: string
  reason: string | null
}

/** A running heartbeat older than three of its intervals (and 5 s of clock skew). */
export function unresponsive(heartbeat: HeartbeatDocument, now = Date.now()): boolean {
  return heartbeat.state === 'running' && now - heartbeat.at > 3 * heartbeat.intervalMs + 5000
}

/**
 * Partition key (topic NUL partition) -> its owner. Only workers that were copying (their record is
 * not `stopped` or `fenced`) own partitions; a partition listed by two of them (moved, the previous
 * owner's record not rewritten yet) belongs to the one that wrote last. A partition no record lists
 * has no known owner (older versions, every worker stopped): the caller falls back on the link's
 * newest heartbeat.
 */
export function partitionOwners(workers: Iterable<HeartbeatDocument>, now = Date.now()): Map<string, PartitionOwner> {
  const owners = new Map<string, PartitionOwner>()
  const copying = [...workers]
    .filter(h => h.owns !== null && h.state !== 'stopped' && h.state !== 'fenced')
    .sort((a, b) => a.at - b.at)
  for (const heartbeat of copying) {
    const stopped = new Map(heartbeat.stopped.map(p => [`${p.topic}\u0000${p.partition}`, p]))
    const silent = unresponsive(heartbeat, now)
    for (const [topic, partitions] of Object.entries(heartbeat.owns!))
      for (const partition of partitions) {
        const key = `${topic}\u0000${partition}`
        const s = stopped.get(key)
        owners.set(key, {
          worker: heartbeat.worker,
          state: silent ? 'unresponsive' : (s?.state ?? 'running'),
          reason: silent ? null : (s?.reason ?? null)
        })
      }
  }
  return owners
}
