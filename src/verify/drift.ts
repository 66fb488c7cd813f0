import { inspectTargetTails } from '../engine/foreign-target.ts'
import { type AclChanges, aclChanges } from '../core/acl-transform.ts'
import { authorizerDisabled, planFromSource } from '../sync/acl-sync.ts'
import { type KafkaDrConfig, type LinkConfig } from '../config/index.ts'
import {
  type DriftFinding,
  type RegistryFacts,
  aclDrift,
  driftExitCode,
  schemaDrift,
  sharedTargetDrift,
  topicDrift
} from '../core/drift.ts'
import { TopicNaming } from '../core/naming.ts'
import { liveTopicCollisions, selects } from '../core/topic-collisions.ts'
import { TopicFilter } from '../core/topic-filter.ts'
import { describeCause } from '../errors.ts'
import { clusterOf, findLink, openTransactionNote, readTargetState } from '../failover/translate.ts'
import { KafkaAdmin } from '../kafka/index.ts'
import { compareRegistries } from '../schemas/compare.ts'
import { RegistryClient } from '../schemas/registry-client.ts'

/**
 * `kafka-dr drift`: describes, per link, the replicated topics on both clusters, what kafka-dr stored
 * on the target and the schema registries, and hands the facts to core/drift.ts for judgement. Reads
 * only (no replicator needed, nothing is changed). The topics are those the link's topic pass would
 * replicate now: its filter over the source's topics, minus names that came from the target.
 */

export interface LinkDrift {
  link: string
  source: string
  target: string
  /** Replicated topics checked. */
  topics: number
  findings: DriftFinding[]
  /** Things that limited the check (an open transaction on the state topic, a link that could not be listed). */
  notes: string[]
}

export interface DriftReport {
  links: LinkDrift[]
  /** 0: no drift, or only drift the links fix themselves; 1: drift a link cannot fix. */
  exitCode: 0 | 1
}

export async function driftReport(config: KafkaDrConfig, linkName?: string): Promise<DriftReport> {
  const checked = linkName === undefined ? config.links : [findLink(config, linkName)]
  const context = new DriftContext(config)
  try {
    const links: LinkDrift[] = []
    for (const link of checked) links.push(await linkDrift(context, link))
    return { links, exitCode: driftExitCode(links.flatMap(l => l.findings)) }
  } finally {
    await context.close()
  }
}

async function linkDrift(context: DriftContext, link: LinkConfig): Promise<LinkDrift> {
  const notes: string[] = []
  const source = context.admin(link.source)
  const target = context.admin(link.target)
  const naming = new TopicNaming(link.naming, link.source)
  const selected = await context.selected(link)
  const sourceTopics = selected.length === 0 ? [] : await source.describeTopics(selected)
  const targetNames = selected.map(t => naming.targetTopic(t))
  const existing = new Map(
    (targetNames.length === 0 ? [] : await target.describeTopics(targetNames)).map(d => [d.name, d.partitions.length])
  )
  const findings: DriftFinding[] = []
  for (const description of sourceTopics.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const topic = description.name
    const targetTopic = naming.targetTopic(topic)
    const targetPartitions = existing.get(targetTopic) ?? null
    const sourceConfigs = await source.describeTopicConfig(topic)
    const targetConfigs = targetPartitions === null ? null : await target.describeTopicConfig(targetTopic)
    const written = targetPartitions === null ? true : await context.written(link, topic, targetTopic, notes)
    const targetRecords =
      written || targetPartitions === null
        ? null
        : await foreignRecords(context, link, topic, targetTopic, targetPartitions)
    findings.push(
      ...topicDrift({
        topic,
        targetTopic,
        targetCluster: link.target,
        sourcePartitions: description.partitions.length,
        targetPartitions,
        sourceConfigs,
        targetConfigs,
        targetRecords,
        onForeignTarget: link.onForeignTarget,
        written
      })
    )
  }
  for (const collision of await context.collisions(link, notes)) {
    findings.push(sharedTargetDrift(collision.targetCluster, collision.targetTopic, collision.writers, link.name))
  }
  if (link.schemas !== null) findings.push(...schemaDrift(await registryFacts(context.config, link), link.target))
  if (link.acls !== undefined) findings.push(...aclDrift(link.target, await aclFacts(context, link, notes)))
  return { link: link.name, source: link.source, target: link.target, topics: sourceTopics.length, findings, notes }
}

/**
 * What the link's ACL sync would change now (sync/acl-sync.ts): the source's ACLs mapped for the
 * target, against the target's ACLs and the ones kafka-dr recorded as created.
 */
async function aclFacts(
  context: DriftContext,
  link: LinkConfig,
  notes: string[]
): Promise<AclChanges | { error: string }> {
  try {
    const plan = await planFromSource(link, context.admin(link.source))
    const onTarget = await context.admin(link.target).describeAcls()
    const state = await readTargetState(context.config, link, 'drift')
    const created = [...state.acls.values()].filter(r => r.role === 'created').map(r => r.binding)
    if (plan.heldBack.length > 0)
      notes.push(
        `${plan.heldBack.length} write ACLs held back from ${link.target} until failover --grant-writes (docs/security.md)`
      )
    return aclChanges(plan.copy, onTarget, created)
  } catch (error) {
    if (authorizerDisabled(error)) return { error: 'a cluster of the link has no authorizer (SECURITY_DISABLED)' }
    return { error: describeCause(error) }
  }
}

/**
 * Records in the target topic's partitions whose newest records carry no kdr-prov header: the check
 * the engine makes before it writes into a partition it has no progress for (engine/foreign-target.ts).
 */
async function foreignRecords(
  context: DriftContext,
  link: LinkConfig,
  topic: string,
  targetTopic: string,
  partitions: number
): Promise<bigint> {
  const tails = await inspectTargetTails(
    clusterOf(context.config, link.target, 'drift'),
    context.admin(link.target),
    targetTopic,
    Array.from({ length: partitions }, (_, p) => p),
    { sourceClusterId: null, topic }
  )
  let total = 0n
  for (const tail of tails.values()) if (tail.verdict.kind === 'foreign') total += tail.held
  return total
}

async function registryFacts(config: KafkaDrConfig, link: LinkConfig): Promise<RegistryFacts> {
  const sourceRegistry = config.registries.get(link.source)
  const targetRegistry = config.registries.get(link.target)
  const empty = { globalSource: null, globalTarget: null, subjects: [] }
  if (link.schemas === null || sourceRegistry === undefined || targetRegistry === undefined) {
    return { ...empty, error: `a registry is missing for ${link.source} or ${link.target}` }
  }
  const sourceClient = new RegistryClient(sourceRegistry)
  const targetClient = new RegistryClient(targetRegistry)
  const filter = new TopicFilter(link.schemas.subjects.include, link.schemas.subjects.exclude, () => false)
  const compared = await compareRegistries(sourceClient, targetClient, filter, link.schemas.mode)
  if (!compared.compared) return { ...empty, error: compared.error ?? 'unknown error' }
  try {
    const subjects = []
    for (const s of compared.subjects) {
      subjects.push({
        subject: s.subject,
        versions: s.versions,
        pending: s.pending,
        sourceCompatibility: s.compatibility,
        targetCompatibility: await targetClient.compatibility(s.subject)
      })
    }
    const [globalSource, globalTarget] = await Promise.all([
      sourceClient.compatibility(null),
      targetClient.compatibility(null)
    ])
    return { error: null, globalSource, globalTarget, subjects }
  } catch (error) {
    return { ...empty, error: describeCause(error) }
  }
}

/** Admin clients per cluster, each link's selected topics and stored progress: each read once. */
class DriftContext {
  readonly config: KafkaDrConfig
  readonly #admins = new Map<string, KafkaAdmin>()
  readonly #selected = new Map<string, Promise<string[]>>()
  readonly #progress = new Map<string, Promise<{ topics: Set<string>; note: string | null }>>()

  constructor(config: KafkaDrConfig) {
    this.config = config
  }

  admin(alias: string): KafkaAdmin {
    let admin = this.#admins.get(alias)
    if (admin === undefined) {
      admin = new KafkaAdmin(clusterOf(this.config, alias, 'drift'))
      this.#admins.set(alias, admin)
    }
    return admin
  }

  /** The source topics the link's topic pass replicates now (sync/topic-sync.ts). */
  selected(link: LinkConfig): Promise<string[]> {
    let selected = this.#selected.get(link.name)
    if (selected === undefined) {
      selected = this.admin(link.source)
        .listTopics()
        .then(topics => topics.filter(t => selects(link, t)).sort())
      this.#selected.set(link.name, selected)
    }
    return selected
  }

  /** Source topics the link has stored progress for, on its target. */
  async #stored(link: LinkConfig, notes: string[]): Promise<Set<string>> {
    let stored = this.#progress.get(link.name)
    if (stored === undefined) {
      stored = readTargetState(this.config, link, 'drift').then(state => {
        const topics = new Set<string>()
        for (const [key, partition] of state.partitions) {
          if (partition.progress !== null) topics.add(key.slice(0, key.indexOf('\u0000')))
        }
        return { topics, note: openTransactionNote(state) }
      })
      this.#progress.set(link.name, stored)
    }
    const { topics, note } = await stored
    if (note !== null && !notes.includes(note)) notes.push(note)
    return topics
  }

  /**
   * Whether kafka-dr has a record of writing into `targetTopic` (core/drift.ts TopicFacts.written):
   * stored progress of this link for `topic`, or of another link of the config into the same name on
   * the same cluster, or the topic is replicated out of that cluster by a link of the config.
   */
  async written(link: LinkConfig, topic: string, targetTopic: string, notes: string[]): Promise<boolean> {
    if ((await this.#stored(link, notes)).has(topic)) return true
    for (const other of this.config.links) {
      if (other === link) continue
      if (other.source === link.target && selects(other, targetTopic)) return true
      if (other.target !== link.target) continue
      const otherTopic = new TopicNaming(other.naming, other.source).sourceTopic(targetTopic)
      if (otherTopic !== null && (await this.#stored(other, notes)).has(otherTopic)) return true
    }
    return false
  }

  /** Target topics `link` writes that another link of the config writes too (core/topic-collisions.ts). */
  async collisions(link: LinkConfig, notes: string[]): Promise<ReturnType<typeof liveTopicCollisions>> {
    const writers = []
    for (const other of this.config.links.filter(l => l.target === link.target)) {
      try {
        writers.push({ ...other, selected: await this.selected(other) })
      } catch (error) {
        notes.push(
          `link ${other.name}: topics of ${other.source} not listed (${describeCause(error)}); collisions with it not checked`
        )
      }
    }
    return liveTopicCollisions(writers).filter(c => c.writers.some(w => w.link === link.name))
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#admins.values()].map(a => a.close()))
  }
}
