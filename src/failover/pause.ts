import { randomUUID } from 'node:crypto'
import { type KafkaDrConfig, type LinkConfig, isLegalTopicName } from '../config/index.ts'
import { type Pause, WHOLE_LINK, describePause } from '../core/pauses.ts'
import { TopicFilter } from '../core/topic-filter.ts'
import { KdrError } from '../errors.ts'
import { KafkaAdmin, RecordProducer } from '../kafka/index.ts'
import { type StateEntry, ensureStateTopic, loadLinkState, writeState } from '../state/index.ts'
import { AuditLog } from './audit.ts'
import { clusterOf, findLink } from './translate.ts'

/**
 * Pause and resume of a link, or of some of its topics (core/pauses.ts): declared in the link's state
 * on its target (`pause` records of `__kdr_state`), which every worker of the link reads within a
 * commit interval, and a worker started later reads at start. Works whether replication runs or not.
 */

export interface PauseRequest {
  link: string
  /** Source topics; null: the whole link. */
  topics: readonly string[] | null
  reason: string | null
  /** Who asks: user@host (CLI) or http:<address> (HTTP API). */
  by: string
  /** Where the CLI appends its audit lines (null: the `__kdr_audit` topic only). */
  auditFile: string | null
}

export interface PauseResult {
  link: string
  /** What the command changed: scopes (`*` or topics) paused or resumed now. */
  changed: string[]
  /** Scopes that already were as asked (paused again keeps the first pause; resumed: not paused). */
  unchanged: string[]
  /** The pauses in force afterwards. */
  pauses: (Pause & { scope: string })[]
}

export async function pause(config: KafkaDrConfig, request: PauseRequest): Promise<PauseResult> {
  const link = findLink(config, request.link)
  const scopes = request.topics === null ? [WHOLE_LINK] : checkedTopics(link, request.topics)
  return changePauses(config, link, request, 'pause', current => {
    const at = Date.now()
    const pause: Pause = { by: request.by, at, reason: request.reason }
    // Pausing what is paused already keeps the first pause (who and when stay true).
    const changed = scopes.filter(scope => !current.has(scope))
    return { entries: changed.map(topic => ({ kind: 'pause', link: link.name, topic, value: pause })), changed }
  })
}

export async function resume(config: KafkaDrConfig, request: PauseRequest): Promise<PauseResult> {
  const link = findLink(config, request.link)
  const topics = request.topics === null ? null : checkedTopics(link, request.topics)
  return changePauses(config, link, request, 'resume', current => {
    const whole = current.get(WHOLE_LINK)
    if (topics !== null && whole !== undefined) {
      throw new KdrError(
        'KDR_ERR_CONFIG',
        `link ${link.name} is paused as a whole (${describePause(whole, WHOLE_LINK)}): its topics cannot be resumed one by one; resume the link (kafka-dr resume --link ${link.name}, without --topics), then pause the topics that must stay paused`
      )
    }
    // Resuming the link resumes every pause of it.
    const changed = topics === null ? [...current.keys()] : topics.filter(topic => current.has(topic))
    return { entries: changed.map(topic => ({ kind: 'pause', link: link.name, topic, value: null })), changed }
  })
}

async function changePauses(
  config: KafkaDrConfig,
  link: LinkConfig,
  request: PauseRequest,
  operation: 'pause' | 'resume',
  decide: (current: ReadonlyMap<string, Pause>) => { entries: StateEntry[]; changed: string[] }
): Promise<PauseResult> {
  const target = clusterOf(config, link.target, operation)
  const admin = new KafkaAdmin(target)
  const producer = new RecordProducer(target, { idempotent: true })
  try {
    // A link paused before it ever ran starts paused: the state topic may not exist yet.
    await ensureStateTopic(admin, link.replicationFactor)
    const loaded = await loadLinkState(target, admin, link.name)
    const current = new Map(loaded.pauses.entries())
    const { entries, changed } = decide(current)
    await writeState(producer, entries)
    for (const entry of entries) {
      if (entry.kind !== 'pause') continue
      if (entry.value === null) current.delete(entry.topic)
      else current.set(entry.topic, entry.value)
    }
    if (changed.length > 0) {
      const audit = new AuditLog(request.auditFile, producer, admin)
      await audit.record({
        operation,
        link: link.name,
        id: randomUUID(),
        step: operation === 'pause' ? 'paused' : 'resumed',
        result: 'ok',
        details: { scopes: changed, by: request.by, reason: request.reason }
      })
    }
    const asked = request.topics === null ? [WHOLE_LINK] : [...new Set(request.topics)]
    return {
      link: link.name,
      changed,
      unchanged:
        operation === 'resume' && request.topics === null
          ? changed.length === 0
            ? [WHOLE_LINK]
            : []
          : asked.filter(s => !changed.includes(s)),
      pauses: [...current].map(([scope, p]) => ({ scope, ...p }))
    }
  } finally {
    await Promise.allSettled([producer.close(), admin.close()])
  }
}

/** The topics asked for, each one the link replicates (by its topic filter); exact errors otherwise. */
function checkedTopics(link: LinkConfig, topics: readonly string[]): string[] {
  if (topics.length === 0) throw new KdrError('KDR_ERR_CONFIG', 'topics: expected one or more topic names')
  const filter = new TopicFilter(link.topics.include, link.topics.exclude)
  for (const topic of topics) {
    if (!isLegalTopicName(topic)) {
      throw new KdrError('KDR_ERR_CONFIG', `topics: "${topic}" is not a Kafka topic name`)
    }
    if (!filter.matches(topic)) {
      throw new KdrError(
        'KDR_ERR_CONFIG',
        `topics: link ${link.name} does not replicate topic "${topic}" (its topics.include/topics.exclude do not select it)`
      )
    }
  }
  return [...new Set(topics)]
}
