import { type KafkaDrConfig, type LinkConfig } from '../config/index.ts'
import { type Pause, type PauseSet, describePause } from '../core/pauses.ts'
import { TopicNaming } from '../core/naming.ts'
import { describeCause } from '../errors.ts'
import { KafkaAdmin, PartitionFetcher } from '../kafka/index.ts'
import { TopicFilter } from '../core/topic-filter.ts'
import { compareRegistries, type RegistryComparison } from '../schemas/compare.ts'
import { RegistryClient } from '../schemas/registry-client.ts'
import { type FenceDocument, type HeartbeatDocument, type HeartbeatSchemas, type LoadedState } from '../state/index.ts'
import { partitionOwners, unresponsive } from './partition-owners.ts'
import { clusterOf, findLink, openTransactionNote, readTargetState } from './translate.ts'

/**
 * What you would lose if you failed over now, read from what the engine stored on the target plus
 * the source when it answers: per partition the records, bytes and seconds not yet replicated and
 * the replication state; per consumer group the records it would read again if the source died now
 * and failover had to use the last checkpoints.
 */

export interface PartitionRpo {
  topic: string
  partition: number
  targetTopic: string
  replicatedNext: bigint
  sourceEnd: bigint | null
  /** Records not on the target; null when the source cannot be asked. */
  records: bigint | null
  /** Bytes of key, value and headers not on the target (estimated from a sample when large). */
  bytes: number | null
  bytesEstimated: boolean
  /** Age of the oldest record not on the target, in seconds (0 when nothing is missing). */
  seconds: number | null
  state: string
  reason: string | null
  /** The worker that committed the partition's progress last (scale-out), null for older records. */
  worker: string | null
}

/** A worker of the link as its last heartbeat under its writer slot says (scale-out: docs/scale-out.md). */
export interface WorkerRpo {
  slot: number
  worker: string
  host: string
  pid: number
  /** Its heartbeat's state, or `unresponsive` when that heartbeat is older than three intervals (+5 s). */
  state: string
  at: number
  generation: number
  /** Partitions it copied then; null when its version did not say. */
  partitions: number | null
  /** Bytes/s it copied between its last two heartbeats; null when unknown. */
  bytesPerSecond: number | null
}

export interface GroupRpo {
  group: string
  partitions: number
  /** Records the group would read again after a failover from the last checkpoints. */
  rereadIfSourceLost: bigint | null
  /** Records the group has read on the source that are not on the target. */
  notReplicated: bigint | null
  lastCheckpointAt: number | null
}

export interface LinkRpo {
  link: string
  source: string
  target: string
  replicator: string
  failover: string | null
  sourceReachable: boolean
  sourceError: string | null
  /** Set when the state was read only up to an open transaction (translate.ts openTransactionNote). */
  stateNote: string | null
  partitions: PartitionRpo[]
  /** The workers that wrote a heartbeat under a writer slot, by slot (one process alone: one). */
  workers: WorkerRpo[]
  /** The operators' pauses in force: `*` for the whole link, else a topic (kafka-dr pause). */
  pauses: (Pause & { scope: string })[]
  groups: GroupRpo[]
  /** Schema replication of the link: both registries compared now, plus what the replicator last reported. */
  schemas: {
    mode: string
    registries: RegistryComparison
    /** The replicator's last heartbeat on schemas (failed subjects, last pass), or null. */
    replicator: HeartbeatSchemas | null
  } | null
}

const SAMPLE_BYTES = 1024 * 1024

export async function status(config: KafkaDrConfig, linkName?: string): Promise<LinkRpo[]> {
  const links = linkName === undefined ? config.links : [findLink(config, linkName)]
  return Promise.all(links.map(link => linkStatus(config, link)))
}

async function linkStatus(config: KafkaDrConfig, link: LinkConfig): Promise<LinkRpo> {
  const state = await readTargetState(config, link, 'status')
  const heartbeat = state.documents.get('heartbeat')
  const fence = state.documents.get('fence')
  const failover = state.documents.get('failover') ?? null
  const replicator = describeReplicator(heartbeat, fence)
  const partitionState = partitionStates(
    heartbeat,
    // A fence stops every worker: what they said before it no longer tells who copies what.
    fence !== undefined ? new Map() : state.workers,
    fence !== undefined ? 'fenced' : replicator.startsWith('running') ? 'running' : 'stopped',
    state.pauses
  )
  const result: LinkRpo = {
    link: link.name,
    source: link.source,
    target: link.target,
    replicator,
    failover:
      failover === null
        ? null
        : failover.failedBackAt !== null
          ? `failed back at ${new Date(failover.failedBackAt).toISOString()}`
          : `failover ${failover.id}: ${failover.step}`,
    sourceReachable: false,
    sourceError: null,
    stateNote: openTransactionNote(state),
    partitions: [],
    workers: workerRows(state.workers),
    pauses: [...state.pauses.entries()].map(([scope, pause]) => ({ scope, ...pause })),
    groups: [],
    schemas: null
  }
  const sourceRegistry = config.registries.get(link.source)
  const targetRegistry = config.registries.get(link.target)
  if (link.schemas !== null && sourceRegistry !== undefined && targetRegistry !== undefined) {
    result.schemas = {
      mode: link.schemas.mode,
      registries: await compareRegistries(
        new RegistryClient(sourceRegistry),
        new RegistryClient(targetRegistry),
        new TopicFilter(link.schemas.subjects.include, link.schemas.subjects.exclude, () => false),
        link.schemas.mode
      ),
      replicator: heartbeat?.schemas ?? null
    }
  }

  const sourceConnection = {
    ...clusterOf(config, link.source, 'status'),
    connectTimeoutMs: 3000,
    requestTimeoutMs: 5000
  }
  const source = new KafkaAdmin(sourceConnection)
  const fetcher = new PartitionFetcher(sourceConnection, { maxWaitMs: 0, partitionMaxBytes: SAMPLE_BYTES })
  const naming = new TopicNaming(link.naming, link.source)
  try {
    try {
      await source.describeCluster()
      result.sourceReachable = true
    } catch (error) {
      result.sourceError = describeCause(error)
    }
    for (const [key, p] of state.partitions) {
      if (p.progress === null) continue
      const [topic, partitionText] = key.split('\u0000') as [string, string]
      const partition = Number(partitionText)
      const s = partitionState(key, topic, p.progress.worker)
      const row: PartitionRpo = {
        topic,
        partition,
        targetTopic: naming.targetTopic(topic),
        replicatedNext: p.progress.next,
        sourceEnd: null,
        records: null,
        bytes: null,
        bytesEstimated: false,
        seconds: null,
        state: s.state,
        reason: s.reason,
        worker: s.worker
      }
      if (result.sourceReachable) {
        const end = (await source.listOffsets(topic, [partition], 'latest').catch(() => null))?.get(partition) ?? null
        row.sourceEnd = end
        if (end !== null) {
          row.records = end > p.progress.next ? end - p.progress.next : 0n
          if (row.records === 0n) {
            row.bytes = 0
            row.seconds = 0
          } else {
            await sample(fetcher, row, topic, partition, p.progress.next)
          }
        }
      }
      result.partitions.push(row)
    }
    result.partitions.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1))
    result.groups = await groupRpo(state, result.sourceReachable ? source : null)
  } finally {
    await Promise.allSettled([source.close(), fetcher.close()])
  }
  return result
}

/** Bytes and age of what is not replicated, from the first megabyte after the replicated offset. */
async function sample(
  fetcher: PartitionFetcher,
  row: PartitionRpo,
  topic: string,
  partition: number,
  from: bigint
): Promise<void> {
  const [r] = await fetcher.fetch([{ topic, partition, offset: from }]).catch(() => [])
  if (r === undefined || r.error !== undefined || r.records.length === 0) return
  let bytes = 0
  for (const rec of r.records) {
    bytes += (rec.key?.length ?? 0) + (rec.value?.length ?? 0)
    for (const [k, v] of rec.headers) bytes += k.length + (v?.length ?? 0)
  }
  const lag = Number(row.records ?? 0n)
  if (r.records.length >= lag) {
    row.bytes = bytes
  } else {
    row.bytes = Math.round((bytes / r.records.length) * lag)
    row.bytesEstimated = true
  }
  row.seconds = Math.max(0, (Date.now() - Number(r.records[0]!.timestamp)) / 1000)
}

async function groupRpo(state: LoadedState, source: KafkaAdmin | null): Promise<GroupRpo[]> {
  const byGroup = new Map<string, LoadedState['checkpoints']>()
  for (const c of state.checkpoints) {
    let list = byGroup.get(c.group)
    if (list === undefined) byGroup.set(c.group, (list = []))
    list.push(c)
  }
  const result: GroupRpo[] = []
  for (const [group, checkpoints] of byGroup) {
    const live = source === null ? null : await source.groupOffsets(group).catch(() => null)
    let reread: bigint | null = live === null ? null : 0n
    let notReplicated = 0n
    let lastAt = 0
    for (const c of checkpoints) {
      lastAt = Math.max(lastAt, c.value.at)
      notReplicated += c.value.notReplicated
      const now = live?.get(c.topic)?.get(c.partition)
      if (reread !== null && now !== undefined && now > c.value.sourceOffset) reread += now - c.value.sourceOffset
    }
    result.push({
      group,
      partitions: checkpoints.length,
      rereadIfSourceLost: reread,
      notReplicated,
      lastCheckpointAt: lastAt === 0 ? null : lastAt
    })
  }
  return result.sort((a, b) => (a.group < b.group ? -1 : 1))
}

/**
 * A partition's state and worker: from the worker that copies it (partition-owners.ts), else, for
 * older versions or when no worker copies it, the link's newest heartbeat and the progress record.
 * A stored pause shows as `paused` where the partition would run (or is stopped): running replicators
 * obey it within a commit interval, a replicator started later obeys it from the start.
 */
function partitionStates(
  latest: HeartbeatDocument | undefined,
  workers: ReadonlyMap<number, HeartbeatDocument>,
  fallbackState: string,
  pauses: PauseSet
): (
  key: string,
  topic: string,
  committedBy: string | undefined
) => { state: string; reason: string | null; worker: string | null } {
  const owners = partitionOwners(workers.values())
  const stopped = new Map((latest?.stopped ?? []).map(p => [`${p.topic}\u0000${p.partition}`, p]))
  return (key, topic, committedBy) => {
    const s = stopped.get(key)
    const found = owners.get(key) ?? {
      state: s?.state ?? fallbackState,
      reason: s?.reason ?? null,
      worker: committedBy ?? null
    }
    const covering = pauses.covering(topic)
    if (covering === null || (found.state !== 'running' && found.state !== 'stopped')) return found
    return { ...found, state: 'paused', reason: describePause(covering.pause, covering.scope) }
  }
}

function workerRows(workers: ReadonlyMap<number, HeartbeatDocument>): WorkerRpo[] {
  return [...workers]
    .sort(([a], [b]) => a - b)
    .map(([slot, h]) => ({
      slot,
      worker: h.worker,
      host: h.host,
      pid: h.pid,
      state: unresponsive(h) ? 'unresponsive' : h.state,
      at: h.at,
      generation: h.generation,
      partitions: h.owned,
      bytesPerSecond: h.bytesPerSecond
    }))
}

function describeReplicator(heartbeat: HeartbeatDocument | undefined, fence: FenceDocument | undefined): string {
  if (fence !== undefined) return `fenced by failover ${fence.failoverId}`
  if (heartbeat === undefined) return 'never seen'
  const at = heartbeat.at
  const group = heartbeat.members.length > 1 ? `, worker ${heartbeat.worker} of ${heartbeat.members.join(', ')}` : ''
  const where = `${heartbeat.host} pid ${heartbeat.pid}${group}`
  if (heartbeat.state !== 'running') return `${heartbeat.state} (${where}, ${new Date(at).toISOString()})`
  if (unresponsive(heartbeat)) return `unresponsive since ${new Date(at).toISOString()} (${where})`
  return `running (${where})`
}
