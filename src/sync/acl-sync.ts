import { type LinkConfig } from '../config/index.ts'
import {
  type AclBinding,
  type AclPlan,
  aclChanges,
  aclId,
  aclKey,
  describeAcl,
  planTargetAcls
} from '../core/acl-transform.ts'
import { TopicNaming } from '../core/naming.ts'
import { TopicFilter, isInternalGroup } from '../core/topic-filter.ts'
import { aclSyncTotals } from '../engine-events/index.ts'
import { describeCause } from '../errors.ts'
import { type ClusterConnection, type KafkaAdmin, type RecordProducer, errorNameInChain } from '../kafka/index.ts'
import { type Logger } from '../observability/logger.ts'
import { type AclRecordValue, type StateEntry, loadLinkState, writeState } from '../state/index.ts'

/**
 * ACL sync of one link (opt-in: `acls: { sync: true }`), on the worker group's leader only. Each pass:
 * the source's ACLs -> the target's desired ones (core/acl-transform.ts), then on the target: create
 * what is missing, delete what kafka-dr created that no longer derives from the source, and record
 * both (and the held-back write ACLs, for `failover --grant-writes`) in `__kdr_state` as `acl` records.
 *
 * Invariants: an ACL kafka-dr did not create (no `created` record) is never deleted; a `created`
 * record is written BEFORE its ACL is created and removed AFTER its ACL is deleted, so a crash in
 * between leaves a record whose ACL the next pass creates or deletes, never an ACL kafka-dr forgot
 * it made. A cluster without an authorizer (SECURITY_DISABLED) turns the sync off with one log line,
 * like MirrorMaker 2; any other failure is logged, counted and retried at the next interval.
 */

export interface AclSyncDeps {
  source: KafkaAdmin
  target: KafkaAdmin
  /** Writes the `acl` records (the link's state producer). */
  producer: RecordProducer
  /** The target, to read the link's state when this worker becomes the leader. */
  connection: ClusterConnection
  /** Whether this worker leads the link's worker group now. */
  leader: () => boolean
  log: Logger
}

/** The ACL sync loop of a link, or none when the link does not sync ACLs. `every` runs a pass every ms. */
export function startAclSync(
  link: LinkConfig,
  deps: AclSyncDeps,
  every: (ms: number, pass: () => Promise<void>) => Promise<void>
): Promise<void>[] {
  if (link.acls === undefined) return []
  const sync = new AclSync(link, deps)
  return [every(link.acls.intervalMs, () => sync.pass())]
}

/**
 * The source's ACLs mapped for the link's target: what to copy and what to hold back. Also used by
 * failover --grant-writes (failover/grant-writes.ts) while the source still answers.
 */
export async function planFromSource(link: LinkConfig, source: KafkaAdmin): Promise<AclPlan> {
  const naming = new TopicNaming(link.naming, link.source)
  const filter = new TopicFilter(link.topics.include, link.topics.exclude)
  const bindings = await source.describeAcls()
  // The topics TopicSync replicates: selected by the filter, not named as copies of the target's own.
  const topics = (await source.listTopics()).filter(t => filter.matches(t) && !naming.cameFrom(t, link.target))
  let groups: { matches: (group: string) => boolean; known: string[] } | null = null
  if (link.acls?.groups === true) {
    const groupFilter = new TopicFilter(link.groups.include, link.groups.exclude, isInternalGroup)
    const known = (await source.listGroups()).map(g => g.groupId)
    groups = { matches: g => groupFilter.matches(g), known }
  }
  return planTargetAcls(bindings, { topics, targetTopic: t => naming.targetTopic(t), groups })
}

/** True when the cluster answered that it has no authorizer. */
export function authorizerDisabled(error: unknown): boolean {
  return errorNameInChain(error) === 'SECURITY_DISABLED'
}

export class AclSync {
  readonly #link: LinkConfig
  readonly #deps: AclSyncDeps
  readonly #log: Logger
  /** The link's `acl` records by id; null until read (again) when this worker becomes the leader. */
  #records: Map<string, AclRecordValue> | null = null
  /** Set when a cluster has no authorizer: the sync stays off until the process restarts. */
  #off = false

  constructor(link: LinkConfig, deps: AclSyncDeps) {
    this.#link = link
    this.#deps = deps
    this.#log = deps.log.child({ task: 'acl-sync' })
  }

  /** One pass; never throws (failures are logged and counted, the next interval retries). */
  async pass(): Promise<void> {
    if (this.#off) return
    if (!this.#deps.leader()) {
      // Another worker may lead meanwhile and change the records: read them again when leading.
      this.#records = null
      return
    }
    const totals = aclSyncTotals(this.#link.name)
    try {
      await this.#syncOnce()
      if (!this.#off) totals.lastSuccessAt = Date.now()
    } catch (error) {
      if (this.#off) return
      totals.errors++
      this.#log.error(
        { err: describeCause(error), source: this.#link.source, target: this.#link.target },
        'ACL sync pass failed; retrying next interval'
      )
    }
  }

  async #syncOnce(): Promise<void> {
    const { source, target } = this.#deps
    const plan = await this.#checked(source, () => planFromSource(this.#link, source))
    if (plan === null) return
    const onTarget = await this.#checked(target, () => target.describeAcls())
    if (onTarget === null) return
    const records = await this.#loadRecords()
    const created = [...records.values()].filter(r => r.role === 'created').map(r => r.binding)
    const changes = aclChanges(plan.copy, onTarget, created)

    // Records first (see the invariants above), with the held-back set brought up to date.
    const recordedKeys = new Set(created.map(aclKey))
    const before: StateEntry[] = [
      ...changes.create
        .filter(b => !recordedKeys.has(aclKey(b)))
        .map(b => this.#entry(b, { role: 'created', binding: b })),
      ...this.#heldChanges(plan.heldBack, records)
    ]
    await this.#write(before)
    for (const binding of changes.create) await this.#change('created', binding, () => target.createAcls([binding]))
    const gone: StateEntry[] = []
    for (const binding of changes.delete) {
      if (await this.#change('deleted', binding, () => target.deleteAcls([binding])))
        gone.push(this.#entry(binding, null))
    }
    const deleted = new Set(changes.delete.map(aclKey))
    for (const binding of changes.forget) if (!deleted.has(aclKey(binding))) gone.push(this.#entry(binding, null))
    await this.#write(gone)
  }

  /** Runs a describe on `admin`; null (and the sync off) when that cluster has no authorizer. */
  async #checked<T>(admin: KafkaAdmin, describe: () => Promise<T>): Promise<T | null> {
    try {
      return await describe()
    } catch (error) {
      if (!authorizerDisabled(error)) throw error
      this.#off = true
      this.#log.warn(
        { cluster: admin.cluster },
        `ACL sync is off: cluster ${admin.cluster} has no authorizer (SECURITY_DISABLED); restart kafka-dr after enabling one`
      )
      return null
    }
  }

  /** Creates or deletes one binding, logged and counted; false (logged, counted) when it failed. */
  async #change(what: 'created' | 'deleted', binding: AclBinding, apply: () => Promise<unknown>): Promise<boolean> {
    const cluster = this.#deps.target.cluster
    const fields = { cluster, ...logFields(binding) }
    const totals = aclSyncTotals(this.#link.name)
    try {
      await apply()
    } catch (error) {
      totals.errors++
      this.#log.error(
        { ...fields, err: describeCause(error) },
        `ACL could not be ${what} on ${cluster}: ${describeAcl(binding)}`
      )
      return false
    }
    totals[what]++
    this.#log.info(fields, `ACL ${what} on ${cluster}: ${describeAcl(binding)}`)
    return true
  }

  /** `held` records to add and to remove so that they list exactly `heldBack`. */
  #heldChanges(heldBack: readonly AclBinding[], records: ReadonlyMap<string, AclRecordValue>): StateEntry[] {
    const want = new Set(heldBack.map(aclKey))
    const held = [...records.values()].filter(r => r.role === 'held').map(r => r.binding)
    const have = new Set(held.map(aclKey))
    const added = heldBack.filter(b => !have.has(aclKey(b)))
    for (const b of added) {
      this.#log.info(
        { cluster: this.#deps.target.cluster, ...logFields(b) },
        `ACL held back until failover --grant-writes: ${describeAcl(b)}`
      )
    }
    return [
      ...added.map(b => this.#entry(b, { role: 'held', binding: b })),
      ...held.filter(b => !want.has(aclKey(b))).map(b => this.#entry(b, null))
    ]
  }

  #entry(binding: AclBinding, value: AclRecordValue | null): StateEntry {
    return { kind: 'acl', link: this.#link.name, id: aclId(binding), value }
  }

  async #write(entries: StateEntry[]): Promise<void> {
    if (entries.length === 0) return
    await writeState(this.#deps.producer, entries)
    const records = this.#records!
    for (const e of entries) {
      if (e.kind !== 'acl') continue
      if (e.value === null) records.delete(e.id)
      else records.set(e.id, e.value)
    }
  }

  async #loadRecords(): Promise<Map<string, AclRecordValue>> {
    this.#records ??= (await loadLinkState(this.#deps.connection, this.#deps.target, this.#link.name)).acls
    return this.#records
  }
}

function logFields(b: AclBinding): Record<string, string> {
  return {
    resource: `${b.resourceType}:${b.patternType}:${b.name}`,
    principal: b.principal,
    host: b.host,
    operation: b.operation,
    permission: b.permission
  }
}
