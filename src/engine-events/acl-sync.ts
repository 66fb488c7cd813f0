/**
 * ACL sync's counters (sync/acl-sync.ts), per link, read by the metrics at scrape time. ACL sync runs
 * beside the data path on the group's leader and reports here instead of through a link's status:
 * the totals are process-wide, keyed by link name, and only ever grow (a gauge holds the last success).
 * The one value in engine-events; it imports nothing, like the types around it.
 */

export interface AclSyncTotals {
  /** ACL bindings ACL sync created on the target. */
  created: number
  /** ACL bindings ACL sync deleted from the target (its own, no longer on the source). */
  deleted: number
  /** Passes or single ACL changes that failed. */
  errors: number
  /** When a pass last completed without an error (epoch ms); null before the first. */
  lastSuccessAt: number | null
}

const totals = new Map<string, AclSyncTotals>()

/** The link's totals, created at zero on first use; callers add to them. */
export function aclSyncTotals(link: string): AclSyncTotals {
  let t = totals.get(link)
  if (t === undefined) totals.set(link, (t = { created: 0, deleted: 0, errors: 0, lastSuccessAt: null }))
  return t
}

/** Every link's totals, for a scrape. */
export function allAclSyncTotals(): ReadonlyMap<string, Readonly<AclSyncTotals>> {
  return totals
}
