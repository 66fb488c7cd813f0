import { type KafkaDrConfig, type LinkConfig } from '../config/index.ts'
import { TopicNaming } from '../core/naming.ts'
import { type CopyMap, segmentCopyMap } from '../core/copy-search.ts'
import { TopicFilter } from '../core/topic-filter.ts'
import { translateOffset } from '../core/translate.ts'
import { KdrError, describeCause } from '../errors.ts'
import {
  type ClusterConnection,
  KafkaAdmin,
  type PartitionFetcher,
  TargetCopyReader,
  copyIsolation
} from '../kafka/index.ts'
import { type LoadedState, type PartitionState, loadLinkState, partitionKey } from '../state/index.ts'
import { storedOrigins } from '../engine/origin-ids.ts'
import { type OriginFilter } from '../core/origin-filter.ts'
import { RoutePlan } from '../core/routes.ts'

/**
 * Offset translation as a library call that needs no running replicator: it reads what the engine
 * stored on the target (progress, segment index, checkpoints) and the copies' provenance headers on the
 * target, and, when the source answers, the
 * group's current committed offsets there. With the source unreachable (the normal case in a
 * disaster) it falls back to the group's last checkpoint.
 */

export interface TranslationRow {
  topic: string
  partition: number
  targetTopic: string
  sourceOffset: bigint
  targetOffset: bigint | null
  exact: boolean
  notReplicated: bigint
  /** 'live': from the group's committed offset now; 'checkpoint': from the last stored checkpoint. */
  basis: 'live' | 'checkpoint'
  checkpointAt: number | null
  note: string | null
}

export interface GroupTranslation {
  link: string
  group: string
  sourceReachable: boolean
  sourceError: string | null
  rows: TranslationRow[]
  /** Fetches of target records the translations made (bounded by log2 of the ranges searched). */
  targetReads: number
  /** Set when the state was read only up to an open transaction (openTransactionNote). */
  stateNote: string | null
}

export function findLink(config: KafkaDrConfig, name: string): LinkConfig {
  const link = config.links.find(l => l.name === name)
  if (link === undefined) {
    throw new KdrError(
      'KDR_ERR_CONFIG',
      `no link named "${name}" in ${config.origin} (links: ${config.links.map(l => l.name).join(', ')})`
    )
  }
  return link
}

export function clusterOf(config: KafkaDrConfig, alias: string, role: string): ClusterConnection {
  const connection = config.clusters.get(alias)
  if (connection === undefined) throw new KdrError('KDR_ERR_CONFIG', `unknown cluster ${alias}`)
  return { ...connection, clientId: connection.clientId ?? `kafka-dr-${role}` }
}

/**
 * How long `translate` and `status` wait for an open transaction on the state partition before they
 * answer from the committed state below it (they say so): an exactly-once replicator holds one there
 * only between its state write and its commit, but one that died there holds it until its restart
 * or the transaction timeout.
 */
export const READER_OPEN_TRANSACTION_WAIT_MS = 3_000

/** What a reader says when it answered from the committed state below an open transaction. */
export function openTransactionNote(state: LoadedState): string | null {
  const open = state.openTransaction
  if (open === null) return null
  return `the state topic holds an open transaction from offset ${open.at} (high watermark ${open.highWatermark}); answered from the committed state before it, which may be up to one transaction timeout old`
}

/** What the engine stored on the link's target, read with a short-lived admin client. */
export async function readTargetState(config: KafkaDrConfig, link: LinkConfig, role: string): Promise<LoadedState> {
  const target = clusterOf(config, link.target, role)
  const admin = new KafkaAdmin(target)
  try {
    return await loadLinkState(target, admin, link.name, { openTransactionWaitMs: READER_OPEN_TRANSACTION_WAIT_MS })
  } finally {
    await admin.close()
  }
}

/** Translates every committed offset of `group` for the topics the link replicates. */
export async function translateGroup(
  config: KafkaDrConfig,
  linkName: string,
  group: string
): Promise<GroupTranslation> {
  const link = findLink(config, linkName)
  const state = await readTargetState(config, link, 'translate')
  let sourceError: string | null = null
  const committed = await committedOffsets(config, link, group).catch((error: unknown) => {
    sourceError = describeCause(error)
    return null
  })
  const copies = targetCopies(config, link, 'translate')
  try {
    return { ...(await translateFromState(link, state, group, committed, copies)), sourceError }
  } finally {
    await copies.close()
  }
}

/** A source position a client keeps itself (a sink connector, a stream processor's own store). */
export interface SourcePosition {
  topic: string
  partition: number
  /** The next offset the client would read on the source. */
  offset: bigint
}

/**
 * Translates source positions that no consumer group holds: for clients that store their offsets
 * themselves. Each answer says where to resume on the target, whether it is exact, and how many of
 * the source records before it are not replicated yet. Every topic must be one the link replicates.
 */
export async function translateOffsets(
  config: KafkaDrConfig,
  linkName: string,
  positions: readonly SourcePosition[]
): Promise<OffsetTranslation> {
  const link = findLink(config, linkName)
  const filter = new TopicFilter(link.topics.include, link.topics.exclude)
  const offsets = new Map<string, Map<number, bigint>>()
  for (const p of positions) {
    const where = { cluster: link.source, topic: p.topic, partition: p.partition, offset: p.offset }
    let problem: string | null = null
    if (!filter.matches(p.topic)) problem = `link ${link.name} does not replicate topic "${p.topic}"`
    else if (!Number.isSafeInteger(p.partition) || p.partition < 0) problem = `partition must be a whole number >= 0`
    else if (typeof p.offset !== 'bigint' || p.offset < 0n) problem = `offset must be a bigint >= 0`
    else if (offsets.get(p.topic)?.has(p.partition) === true) problem = `the partition is given twice`
    if (problem !== null) throw new KdrError('KDR_ERR_CONFIG', `translateOffsets: ${problem}`, where)
    let partitions = offsets.get(p.topic)
    if (partitions === undefined) offsets.set(p.topic, (partitions = new Map()))
    partitions.set(p.partition, p.offset)
  }
  const state = await readTargetState(config, link, 'translate')
  const copies = targetCopies(config, link, 'translate')
  try {
    const { rows, stateNote } = await translateFromState(link, state, '', offsets, copies)
    return { link: link.name, rows, stateNote }
  } finally {
    await copies.close()
  }
}

/** What translateOffsets answers: a row per position, and the caveat of an open transaction on the state. */
export interface OffsetTranslation {
  link: string
  rows: TranslationRow[]
  /** Set when the state was read only up to an open transaction (openTransactionNote). */
  stateNote: string | null
}

/**
 * Where a partition's copies are, searched on the link's target (one fetcher, opened on first use).
 * `state` gives the ids the link's last heartbeat recorded: in a topology of more than two clusters
 * they tell this link's copies from those other links wrote into the same target partition.
 */
export interface TargetCopies {
  of(topic: string, partition: number, stored: PartitionState | undefined, state?: LoadedState): CopyMap
  reads(): number
  close(): Promise<void>
}

export function targetCopies(config: KafkaDrConfig, link: LinkConfig, role: string): TargetCopies {
  const naming = new TopicNaming(link.naming, link.source)
  let fetcher: PartitionFetcher | null = null
  const readers: TargetCopyReader[] = []
  const routing = RoutePlan.of(config.clusters.keys(), config.links).linkRouting(link.source, link.target)
  let origins: OriginFilter | null | undefined
  return {
    of: (topic, partition, stored, state) => {
      origins ??=
        state === undefined
          ? undefined
          : storedOrigins(routing, link.target, state.documents.get('heartbeat')?.clusterIds)
      fetcher ??= TargetCopyReader.fetcher(
        clusterOf(config, link.target, role),
        `kafka-dr-${role}-copies`,
        copyIsolation(link.delivery)
      )
      const reader = new TargetCopyReader(fetcher, naming.targetTopic(topic), partition, {
        topic,
        partition,
        sourceClusterId: stored?.progress?.sourceClusterId ?? null,
        origins: origins ?? null
      })
      readers.push(reader)
      return segmentCopyMap(stored?.copies.segments ?? [], stored?.copies.targetEnd ?? null, reader)
    },
    reads: () => readers.reduce((n, r) => n + r.reads, 0),
    close: async () => {
      await fetcher?.close()
    }
  }
}

/**
 * Translation from stored state: `committed` are the group's live source offsets, or null when the
 * source cannot be asked, in which case the group's last checkpoints are used.
 */
export async function translateFromState(
  link: LinkConfig,
  state: LoadedState,
  group: string,
  committed: Map<string, Map<number, bigint>> | null,
  copies: TargetCopies
): Promise<GroupTranslation> {
  const readsBefore = copies.reads()
  const naming = new TopicNaming(link.naming, link.source)
  const filter = new TopicFilter(link.topics.include, link.topics.exclude)
  const result: GroupTranslation = {
    link: link.name,
    group,
    sourceReachable: committed !== null,
    sourceError: null,
    rows: [],
    targetReads: 0,
    stateNote: openTransactionNote(state)
  }
  if (committed !== null) {
    for (const [topic, partitions] of committed) {
      if (!filter.matches(topic)) continue
      for (const [partition, sourceOffset] of partitions) {
        const stored = state.partitions.get(partitionKey(topic, partition))
        const t = await translateOffset(
          sourceOffset,
          copies.of(topic, partition, stored, state),
          stored?.progress?.next ?? null
        )
        result.rows.push({
          topic,
          partition,
          targetTopic: naming.targetTopic(topic),
          ...t,
          basis: 'live',
          checkpointAt: null
        })
      }
    }
  } else {
    for (const c of state.checkpoints) {
      if (c.group !== group) continue
      result.rows.push({
        topic: c.topic,
        partition: c.partition,
        targetTopic: naming.targetTopic(c.topic),
        sourceOffset: c.value.sourceOffset,
        targetOffset: c.value.targetOffset,
        exact: c.value.exact,
        notReplicated: c.value.notReplicated,
        basis: 'checkpoint',
        checkpointAt: c.value.at,
        note: 'source unreachable: translated from the last checkpoint; commits made after it are not known'
      })
    }
  }
  result.rows.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1))
  result.targetReads = copies.reads() - readsBefore
  return result
}

/** The group's committed offsets on the source, with short timeouts: a dead source must not stall failover. */
export async function committedOffsets(
  config: KafkaDrConfig,
  link: LinkConfig,
  group: string
): Promise<Map<string, Map<number, bigint>>> {
  const admin = new KafkaAdmin({
    ...clusterOf(config, link.source, 'translate'),
    connectTimeoutMs: 3000,
    requestTimeoutMs: 5000
  })
  try {
    return await admin.groupOffsets(group)
  } finally {
    await admin.close()
  }
}
