import { createHash } from 'node:crypto'

/**
 * ACL sync, the pure part: which of the source cluster's ACL bindings a link copies to its target, in
 * what form, and which it holds back until failover (sync/acl-sync.ts does the I/O,
 * failover/grant-writes.ts grants what was held back). Safe by default, after MirrorMaker 2:
 *
 * - Scope. TOPIC bindings of topics the link replicates: LITERAL when the name is a replicated source
 *   topic; PREFIXED when at least one replicated source topic starts with the prefix AND the naming
 *   policy maps the prefix to one prefix on the target (identity, prefix, and templates whose single
 *   {topic} ends the name). The wildcard `*` is never copied: on the target it would cover topics the
 *   link does not write. With `groups: true`, GROUP bindings of the link's consumer groups too:
 *   LITERAL when the group filter selects the name, PREFIXED when a group known on the source and
 *   selected by the filter starts with the prefix. Group names are not renamed (offset translation
 *   commits under the same group id). Every other resource type (CLUSTER, TRANSACTIONAL_ID, ...) is
 *   left alone.
 * - Names. A LITERAL topic name goes through the naming policy; a PREFIXED one maps its prefix.
 * - ALLOW bindings that let a principal change data or metadata are held back: WRITE, CREATE, DELETE,
 *   ALTER, ALTER_CONFIGS, IDEMPOTENT_WRITE (the standby stays read-only for source principals until
 *   failover). ALLOW ALL is copied as ALLOW READ (READ implies DESCRIBE in Kafka's authorizers) and
 *   the ALL itself is held back. Every other ALLOW (READ, DESCRIBE, DESCRIBE_CONFIGS) is copied.
 * - DENY bindings are copied as they are, whatever their operation: a deny only ever takes rights away.
 */

export const ACL_RESOURCE_TYPES = ['TOPIC', 'GROUP', 'CLUSTER', 'TRANSACTIONAL_ID', 'DELEGATION_TOKEN', 'USER'] as const
export const ACL_PATTERN_TYPES = ['LITERAL', 'PREFIXED'] as const
export const ACL_OPERATIONS = [
  'ALL',
  'READ',
  'WRITE',
  'CREATE',
  'DELETE',
  'ALTER',
  'DESCRIBE',
  'CLUSTER_ACTION',
  'DESCRIBE_CONFIGS',
  'ALTER_CONFIGS',
  'IDEMPOTENT_WRITE',
  'CREATE_TOKENS',
  'DESCRIBE_TOKENS',
  'TWO_PHASE_COMMIT'
] as const
export const ACL_PERMISSIONS = ['ALLOW', 'DENY'] as const

export type AclResourceType = (typeof ACL_RESOURCE_TYPES)[number]
export type AclPatternType = (typeof ACL_PATTERN_TYPES)[number]
export type AclOperation = (typeof ACL_OPERATIONS)[number]
export type AclPermission = (typeof ACL_PERMISSIONS)[number]

/** One ACL binding: a resource pattern and an access entry (Kafka's AclBinding). */
export interface AclBinding {
  resourceType: AclResourceType
  patternType: AclPatternType
  name: string
  principal: string
  host: string
  operation: AclOperation
  permission: AclPermission
}

/** ALLOW operations held back from the target until failover (ALL is held back too, and copied as READ). */
export const HELD_BACK_OPERATIONS: ReadonlySet<AclOperation> = new Set<AclOperation>([
  'WRITE',
  'CREATE',
  'DELETE',
  'ALTER',
  'ALTER_CONFIGS',
  'IDEMPOTENT_WRITE',
  'ALL'
])

/** What the link replicates, as the transform needs it. */
export interface AclScope {
  /** Source topics the link replicates now (selected by its filter, existing on the source). */
  topics: readonly string[]
  /** The target name of a source topic (core/naming.ts). */
  targetTopic: (topic: string) => string
  /** Groups, when the link syncs group ACLs: its group filter and the groups known on the source. */
  groups: { matches: (group: string) => boolean; known: readonly string[] } | null
}

export interface AclPlan {
  /** Bindings the target should have (deduplicated, target names). */
  copy: AclBinding[]
  /** ALLOW bindings with a write operation, in target names: granted only by `failover --grant-writes`. */
  heldBack: AclBinding[]
}

export function planTargetAcls(source: readonly AclBinding[], scope: AclScope): AclPlan {
  const copy = new Map<string, AclBinding>()
  const heldBack = new Map<string, AclBinding>()
  for (const binding of source) {
    const name = targetName(binding, scope)
    if (name === null) continue
    const mapped = { ...binding, name }
    if (mapped.permission === 'DENY') {
      copy.set(aclKey(mapped), mapped)
      continue
    }
    if (HELD_BACK_OPERATIONS.has(mapped.operation)) heldBack.set(aclKey(mapped), mapped)
    if (mapped.operation === 'ALL') {
      const read = { ...mapped, operation: 'READ' as const }
      copy.set(aclKey(read), read)
    } else if (!HELD_BACK_OPERATIONS.has(mapped.operation)) {
      copy.set(aclKey(mapped), mapped)
    }
  }
  return { copy: sortAcls([...copy.values()]), heldBack: sortAcls([...heldBack.values()]) }
}

/** The binding's resource name on the target, or null when the link does not copy it. */
function targetName(binding: AclBinding, scope: AclScope): string | null {
  if (binding.name === '*') return null
  if (binding.resourceType === 'TOPIC') {
    if (binding.patternType === 'LITERAL') {
      return scope.topics.includes(binding.name) ? scope.targetTopic(binding.name) : null
    }
    if (!scope.topics.some(t => t.startsWith(binding.name))) return null
    return targetPrefix(binding.name, scope.targetTopic)
  }
  if (binding.resourceType === 'GROUP' && scope.groups !== null) {
    const groups = scope.groups
    if (binding.patternType === 'LITERAL') return groups.matches(binding.name) ? binding.name : null
    return groups.known.some(g => groups.matches(g) && g.startsWith(binding.name)) ? binding.name : null
  }
  return null
}

/**
 * The prefix on the target of every replica of a source topic starting with `prefix`, or null when
 * no single prefix says it: a template with text after {topic}, or {topic} twice. Probed by naming
 * `prefix` + a character no topic name has and checking it comes out once, at the end.
 */
export function targetPrefix(prefix: string, targetTopic: (topic: string) => string): string | null {
  const marker = '\u0000'
  const probe = targetTopic(`${prefix}${marker}`)
  if (!probe.endsWith(marker) || probe.indexOf(marker) !== probe.length - 1) return null
  return probe.slice(0, -1)
}

export interface AclChanges {
  /** Desired bindings missing on the target: kafka-dr creates (and records) them. */
  create: AclBinding[]
  /** Bindings kafka-dr created that no longer derive from the source and are still on the target. */
  delete: AclBinding[]
  /** Records of bindings kafka-dr created that no longer derive from the source: forgotten. */
  forget: AclBinding[]
}

/**
 * What a pass changes on the target. Only bindings kafka-dr recorded as its own are ever deleted: a
 * binding created by hand on the target (even one equal to a desired one, which is then left
 * unrecorded) is never touched.
 */
export function aclChanges(
  desired: readonly AclBinding[],
  onTarget: readonly AclBinding[],
  recorded: readonly AclBinding[]
): AclChanges {
  const want = new Set(desired.map(aclKey))
  const present = new Set(onTarget.map(aclKey))
  const forget = recorded.filter(b => !want.has(aclKey(b)))
  return {
    create: desired.filter(b => !present.has(aclKey(b))),
    delete: forget.filter(b => present.has(aclKey(b))),
    forget
  }
}

/** Every field, in a fixed order: equal bindings have equal keys. */
export function aclKey(b: AclBinding): string {
  return JSON.stringify([b.resourceType, b.patternType, b.name, b.principal, b.host, b.operation, b.permission])
}

/** A short stable id of a binding, for state record keys (128 bits of the key's SHA-256). */
export function aclId(b: AclBinding): string {
  return createHash('sha256').update(aclKey(b)).digest('hex').slice(0, 32)
}

/** For logs and reports: `ALLOW User:reader READ on TOPIC LITERAL orders (host *)`. */
export function describeAcl(b: AclBinding): string {
  return `${b.permission} ${b.principal} ${b.operation} on ${b.resourceType} ${b.patternType} ${b.name} (host ${b.host})`
}

export function sortAcls(bindings: AclBinding[]): AclBinding[] {
  return bindings.sort((a, b) => {
    const x = aclKey(a)
    const y = aclKey(b)
    return x < y ? -1 : x > y ? 1 : 0
  })
}
