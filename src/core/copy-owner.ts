import { COPY, HOP_LIMIT, type OriginFilter } from './origin-filter.ts'
import { PROVENANCE_HEADER_KEY, decodeProvenance } from './provenance.ts'

/**
 * Which records on a target partition one link wrote, told by their provenance header alone. Several
 * writers may put copies of the same source topic and partition into one target partition (other
 * links of an active-active mesh with identity naming, or other tools); offset translation searches
 * and verify must see only this link's copies, or they would compare against foreign source offsets.
 *
 * A record is this link's copy of source offset N when its last `kdr-prov` header names the link's
 * source topic and partition at N, and:
 * - with routes (three or more clusters): its origin is one this link copies (its source, or an
 *   origin routed over it; see core/origin-filter.ts). Every origin reaches a target over exactly one
 *   link, so the origin tells the writers apart;
 * - a first copy (hop 1) names the link's source cluster as its origin (a hop-1 record of another
 *   origin was copied straight from that other cluster, by another link).
 */
export interface CopyOwner {
  topic: string
  partition: number
  /** The link's source cluster id; null when not known (the hop-1 rule is then not applied). */
  sourceClusterId: string | null
  /** The link's origin rules; null for a link without routes (two clusters). */
  origins?: OriginFilter | null
}

/** The source offset this header value says the link copied, or null when it is not the link's copy. */
export function copiedOffset(value: Buffer | null, owner: CopyOwner): bigint | null {
  if (value === null) return null
  if (owner.origins != null) {
    const decision = owner.origins.decide(value, 0, value.length)
    if (decision !== COPY && decision !== HOP_LIMIT) return null
  }
  const p = decodeProvenance(value)
  if (p === null || p.topic !== owner.topic || p.partition !== owner.partition) return null
  if (p.hops === 1 && owner.sourceClusterId !== null && p.originClusterId !== owner.sourceClusterId) return null
  return p.offset
}

/** copiedOffset of a record's last provenance header (null when it has none). */
export function copiedOffsetOf(
  headers: readonly (readonly [Buffer, Buffer | null])[],
  owner: CopyOwner
): bigint | null {
  for (let i = headers.length - 1; i >= 0; i--) {
    const [name, value] = headers[i]!
    if (name.equals(PROVENANCE_HEADER_KEY)) return copiedOffset(value, owner)
  }
  return null
}
