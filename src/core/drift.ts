import { type AclChanges, aclKey, describeAcl } from './acl-transform.ts'
import { type ConfigValue, configsForNewTarget } from './topic-configs.ts'

/**
 * The drift report's judgement (`kafka-dr drift`), pure: what was described on the source and the
 * target in, findings out, each with what the link's own policy does about it. The rules mirror
 * what the link does (sync/topic-sync.ts, core/topic-configs.ts, schemas/schema-sync.ts):
 *
 * - a missing target topic is created and a smaller one grown at the next topic pass;
 * - a target with more partitions than the source is never shrunk (Kafka cannot): cannot fix;
 * - allow-listed configs set on the source topic (and message.timestamp.type=CreateTime) are set on
 *   the target by the config sync; other configs set on the target topic alone are left alone;
 * - a target topic holding records that kafka-dr has no record of writing is foreign: the link
 *   cannot make it a replica (the records stay), the operator has to decide;
 * - two links writing one target topic: a config problem, cannot fix;
 * - schema versions missing on the target and differing compatibility levels are copied by the
 *   schema sync.
 *
 * `link-fixes` and `left-alone` findings leave the exit code 0; any `cannot-fix` makes it 1.
 */

export type DriftAction = 'link-fixes' | 'left-alone' | 'cannot-fix'

export type DriftKind =
  | 'target-missing'
  | 'partitions-fewer'
  | 'partitions-more'
  | 'config-differs'
  | 'config-target-only'
  | 'foreign-target'
  | 'shared-target'
  | 'schema-versions-missing'
  | 'schema-compatibility'
  | 'schema-unchecked'
  | 'acl-missing'
  | 'acl-stale'
  | 'acl-unchecked'

export interface DriftFinding {
  kind: DriftKind
  action: DriftAction
  /** Source topic (null for schema findings). */
  topic: string | null
  targetTopic: string | null
  subject: string | null
  /** Config key, for config findings. */
  key: string | null
  source: string | null
  target: string | null
  message: string
}

/** What was described of one replicated topic. Configs: describeTopicConfig of each side. */
export interface TopicFacts {
  topic: string
  targetTopic: string
  targetCluster: string
  sourcePartitions: number
  /** null: the target topic does not exist. */
  targetPartitions: number | null
  sourceConfigs: ReadonlyMap<string, ConfigValue>
  targetConfigs: ReadonlyMap<string, ConfigValue> | null
  /**
   * Records (offsets from log start to end) in the target topic's partitions whose newest records
   * carry no kdr-prov header (core/target-tail.ts), the check the engine makes before its first write;
   * null when not looked at (kafka-dr wrote the topic, or it does not exist).
   */
  targetRecords: bigint | null
  /** The link's policy for such partitions (engine/foreign-target.ts). */
  onForeignTarget: 'stop' | 'append'
  /**
   * Whether kafka-dr has a record of writing into the target topic: stored progress of this link (or
   * of another link of the config writing the same name), or the topic is itself replicated out of
   * the target cluster by a link of the config (active-active: its local records are expected).
   */
  written: boolean
}

const finding = (
  kind: DriftKind,
  action: DriftAction,
  message: string,
  fields: Partial<Omit<DriftFinding, 'kind' | 'action' | 'message'>> = {}
): DriftFinding => ({
  kind,
  action,
  topic: null,
  targetTopic: null,
  subject: null,
  key: null,
  source: null,
  target: null,
  message,
  ...fields
})

/** Findings for one replicated topic, in a fixed order: existence, partitions, ownership, configs. */
export function topicDrift(facts: TopicFacts): DriftFinding[] {
  const { topic, targetTopic, targetCluster } = facts
  const at = { topic, targetTopic }
  if (facts.targetPartitions === null) {
    return [
      finding(
        'target-missing',
        'link-fixes',
        `target topic ${targetTopic} does not exist on ${targetCluster}: the link creates it (${facts.sourcePartitions} partitions) at its next topic pass`,
        { ...at, source: String(facts.sourcePartitions) }
      )
    ]
  }
  const findings: DriftFinding[] = []
  const counts = { source: String(facts.sourcePartitions), target: String(facts.targetPartitions) }
  if (facts.targetPartitions < facts.sourcePartitions) {
    findings.push(
      finding(
        'partitions-fewer',
        'link-fixes',
        `${targetTopic} on ${targetCluster} has ${facts.targetPartitions} partitions, the source ${facts.sourcePartitions}: the link adds partitions at its next topic pass`,
        { ...at, ...counts }
      )
    )
  } else if (facts.targetPartitions > facts.sourcePartitions) {
    findings.push(
      finding(
        'partitions-more',
        'cannot-fix',
        `${targetTopic} on ${targetCluster} has ${facts.targetPartitions} partitions, the source ${facts.sourcePartitions}: ${extraPartitions(facts.sourcePartitions, facts.targetPartitions)} nothing and Kafka cannot remove partitions`,
        { ...at, ...counts }
      )
    )
  }
  if (!facts.written && facts.targetRecords !== null && facts.targetRecords > 0n) {
    const append = facts.onForeignTarget === 'append'
    findings.push(
      finding(
        'foreign-target',
        append ? 'left-alone' : 'cannot-fix',
        `${targetTopic} on ${targetCluster} holds records kafka-dr did not write (${facts.targetRecords} offsets, no kdr-prov header among the newest) and no link has stored progress for it: ${append ? 'onForeignTarget: append copies after them' : 'the link stops those partitions (onForeignTarget: stop, KDR_ERR_FOREIGN_TARGET); use an empty target topic or set onForeignTarget: append'}`,
        { ...at, target: String(facts.targetRecords) }
      )
    )
  }
  if (facts.targetConfigs !== null) findings.push(...configDrift(facts, facts.targetConfigs))
  return findings
}

/** "partition 3 receives" or "partitions 3..5 receive". */
function extraPartitions(from: number, to: number): string {
  return to - from === 1 ? `partition ${from} receives` : `partitions ${from}..${to - 1} receive`
}

function configDrift(facts: TopicFacts, target: ReadonlyMap<string, ConfigValue>): DriftFinding[] {
  const { topic, targetTopic, targetCluster } = facts
  const findings: DriftFinding[] = []
  const wanted = configsForNewTarget(facts.sourceConfigs)
  for (const [key, value] of Object.entries(wanted).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const current = target.get(key)?.value ?? null
    if (current === value) continue
    findings.push(
      finding(
        'config-differs',
        'link-fixes',
        `${targetTopic} on ${targetCluster}: ${key}=${current ?? '(unset)'}, the link's value ${value}: set by the config sync within sync.configsIntervalMs`,
        { topic, targetTopic, key, source: value, target: current }
      )
    )
  }
  const targetOnly = [...target]
    .filter(([key, entry]) => entry.topicLevel && entry.value !== null && !(key in wanted))
    .sort(([a], [b]) => (a < b ? -1 : 1))
  for (const [key, entry] of targetOnly) {
    const onSource = facts.sourceConfigs.get(key)?.value ?? null
    findings.push(
      finding(
        'config-target-only',
        'left-alone',
        `${targetTopic} on ${targetCluster}: ${key}=${entry.value} is set on the target topic only (source: ${onSource ?? 'unset'}${facts.sourceConfigs.get(key)?.topicLevel === true ? '' : ', default'}): the config sync never touches it`,
        { topic, targetTopic, key, source: onSource, target: entry.value }
      )
    )
  }
  return findings
}

/** A target topic two links write (core/topic-collisions.ts liveTopicCollisions). */
export function sharedTargetDrift(
  targetCluster: string,
  targetTopic: string,
  writers: readonly { link: string; topic: string }[],
  link: string
): DriftFinding {
  const mine = writers.find(w => w.link === link)
  const others = writers
    .filter(w => w !== mine)
    .map(w => `${w.link} (from ${w.topic})`)
    .join(', ')
  return finding(
    'shared-target',
    'cannot-fix',
    `${targetTopic} on ${targetCluster} is also written by link ${others}: two links must not write one target topic; exclude the topic from one of them or change its naming`,
    { topic: mine?.topic ?? null, targetTopic }
  )
}

/** What was read of one selected subject from both registries (schemas/compare.ts, plus the target's level). */
export interface SubjectFacts {
  subject: string
  versions: number
  /** Source versions whose schema the target does not hold (under keep-ids: under the same id). */
  pending: number
  sourceCompatibility: string | null
  targetCompatibility: string | null
}

export interface RegistryFacts {
  /** null when the registries were compared; otherwise why not. */
  error: string | null
  globalSource: string | null
  globalTarget: string | null
  subjects: SubjectFacts[]
}

export function schemaDrift(facts: RegistryFacts, targetCluster: string): DriftFinding[] {
  if (facts.error !== null) {
    return [
      finding(
        'schema-unchecked',
        'cannot-fix',
        `schema registries not compared: ${facts.error}; drift of schemas unknown`
      )
    ]
  }
  const findings: DriftFinding[] = []
  if (facts.globalSource !== null && facts.globalSource !== facts.globalTarget) {
    findings.push(
      finding(
        'schema-compatibility',
        'link-fixes',
        `global compatibility of ${targetCluster}'s registry is ${facts.globalTarget ?? 'unset'}, the source's ${facts.globalSource}: copied by the schema sync`,
        { source: facts.globalSource, target: facts.globalTarget }
      )
    )
  }
  for (const s of facts.subjects) {
    if (s.pending > 0) {
      findings.push(
        finding(
          'schema-versions-missing',
          'link-fixes',
          `subject ${s.subject}: ${s.pending} of ${s.versions} source versions are not on ${targetCluster}'s registry: registered by the schema sync (or when a record needs them)`,
          { subject: s.subject, source: String(s.versions), target: String(s.versions - s.pending) }
        )
      )
    }
    if (s.sourceCompatibility !== null && s.sourceCompatibility !== s.targetCompatibility) {
      findings.push(
        finding(
          'schema-compatibility',
          'link-fixes',
          `subject ${s.subject}: compatibility ${s.targetCompatibility ?? 'unset'} on ${targetCluster}, ${s.sourceCompatibility} on the source: copied by the schema sync`,
          { subject: s.subject, source: s.sourceCompatibility, target: s.targetCompatibility }
        )
      )
    }
  }
  return findings
}

/**
 * ACLs of a link with `acls.sync` (core/acl-transform.ts): what its next pass creates (derived from the
 * source, missing on the target) and deletes (created by kafka-dr, no longer derived). Hand-made
 * target ACLs are never the sync's business and are not reported; held-back writes are not drift.
 */
export function aclDrift(targetCluster: string, changes: AclChanges | { error: string }): DriftFinding[] {
  if ('error' in changes) {
    return [finding('acl-unchecked', 'cannot-fix', `ACLs not compared: ${changes.error}; drift of ACLs unknown`)]
  }
  return [
    ...changes.create.map(b =>
      finding(
        'acl-missing',
        'link-fixes',
        `ACL ${describeAcl(b)} derives from the source and is missing on ${targetCluster}: created by the ACL sync within acls.intervalMs`,
        { key: aclKey(b), target: null }
      )
    ),
    ...changes.delete.map(b =>
      finding(
        'acl-stale',
        'link-fixes',
        `ACL ${describeAcl(b)} on ${targetCluster} was created by kafka-dr and no longer derives from the source: deleted by the ACL sync within acls.intervalMs`,
        { key: aclKey(b), source: null }
      )
    )
  ]
}

/** Exit 1 when any finding is drift the link cannot fix itself. */
export function driftExitCode(findings: Iterable<DriftFinding>): 0 | 1 {
  for (const f of findings) if (f.action === 'cannot-fix') return 1
  return 0
}
