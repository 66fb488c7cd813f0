import { type LinkConfig } from '../config/index.ts'
import { type AclBinding, aclKey, describeAcl, sortAcls } from '../core/acl-transform.ts'
import { KdrError, describeCause } from '../errors.ts'
import { type KafkaAdmin } from '../kafka/index.ts'
import { type LoadedState } from '../state/index.ts'
import { authorizerDisabled, planFromSource } from '../sync/acl-sync.ts'
import { type StepRecorder } from './audit.ts'

/**
 * `failover --grant-writes`: after the fence, the write ACLs that ACL sync held back from the target
 * (core/acl-transform.ts: ALLOW WRITE, CREATE, DELETE, ALTER, ALTER_CONFIGS, IDEMPOTENT_WRITE and
 * ALL of the link's topics and groups, in target names) are created there, so the source's producers
 * can write to the new primary.
 *
 * Which ones: computed from the source's ACLs when the source answers (the newest word), else the
 * `held` records ACL sync kept in `__kdr_state` (as of its last pass; a dead source is the normal
 * case). A dry run lists them, each marked as already present on the target or not.
 */

export interface WriteGrant {
  binding: AclBinding
  /** Already on the target before this failover (nothing to create). */
  present: boolean
  /** Created by this failover. */
  granted: boolean
  error: string | null
}

export interface WriteGrantsReport {
  /** Where the list came from: the source's ACLs, or ACL sync's records in the target's state. */
  basis: 'source' | 'state'
  /** Why the source's ACLs were not used (unreachable, no authorizer, not authorized); null when they were. */
  sourceError: string | null
  grants: WriteGrant[]
}

/** The held-back write ACLs of the link and whether the target has each already; changes nothing. */
export async function planWriteGrants(
  link: LinkConfig,
  state: LoadedState,
  source: KafkaAdmin | null,
  target: KafkaAdmin
): Promise<WriteGrantsReport> {
  let bindings: AclBinding[] | null = null
  let sourceError: string | null = source === null ? 'source unreachable' : null
  if (source !== null) {
    try {
      bindings = (await planFromSource(link, source)).heldBack
    } catch (error) {
      sourceError = describeCause(error)
    }
  }
  const basis = bindings === null ? 'state' : 'source'
  bindings ??= sortAcls([...state.acls.values()].filter(r => r.role === 'held').map(r => r.binding))
  let onTarget: AclBinding[]
  try {
    onTarget = bindings.length === 0 ? [] : await target.describeAcls()
  } catch (error) {
    if (!authorizerDisabled(error)) throw error
    throw new KdrError(
      'KDR_ERR_FAILOVER',
      `--grant-writes: cluster ${target.cluster} has no authorizer (SECURITY_DISABLED): every principal may write already; run failover without --grant-writes`,
      { cluster: target.cluster }
    )
  }
  const present = new Set(onTarget.map(aclKey))
  return {
    basis,
    sourceError,
    grants: bindings.map(binding => ({ binding, present: present.has(aclKey(binding)), granted: false, error: null }))
  }
}

/** Creates each planned ACL not on the target yet, one at a time; each outcome recorded in the audit log. */
export async function grantWrites(
  report: WriteGrantsReport,
  target: KafkaAdmin,
  record: StepRecorder
): Promise<WriteGrantsReport> {
  for (const grant of report.grants) {
    if (grant.present) continue
    try {
      await target.createAcls([grant.binding])
      grant.granted = true
    } catch (error) {
      grant.error = describeCause(error)
    }
  }
  const failed = report.grants.filter(g => g.error !== null)
  await record(
    'grant-writes',
    {
      basis: report.basis,
      sourceError: report.sourceError,
      granted: report.grants.filter(g => g.granted).map(g => describeAcl(g.binding)),
      present: report.grants.filter(g => g.present).map(g => describeAcl(g.binding)),
      failed: failed.map(g => `${describeAcl(g.binding)}: ${g.error ?? ''}`)
    },
    failed.length > 0 ? 'failed' : 'ok'
  )
  if (failed.length > 0) {
    throw new KdrError(
      'KDR_ERR_FAILOVER',
      `--grant-writes: ${failed.length} ACL(s) could not be created on cluster ${target.cluster}: ${failed
        .map(g => `${describeAcl(g.binding)} (${g.error ?? ''})`)
        .join('; ')}; the failover itself is complete, run it again with --grant-writes to retry`,
      { cluster: target.cluster }
    )
  }
  return report
}
