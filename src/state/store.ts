import { type StoredCopies, segmentsFromRuns } from '../core/copy-index.ts'
import { type OffsetRun } from '../core/offset-runs.ts'
import { PauseSet } from '../core/pauses.ts'
import { KdrError } from '../errors.ts'
import {
  type ClusterConnection,
  type KafkaAdmin,
  PartitionFetcher,
  READ_RANGE_BACKOFF,
  readPartitionRange,
  type RecordProducer,
  type RecordToProduce
} from '../kafka/index.ts'
import { type HeartbeatDocument, StoredDocuments } from './documents.ts'
import {
  type AclRecordValue,
  type CheckpointValue,
  STATE_TOPIC,
  type ProgressValue,
  type StateEntry,
  encodeStateEntry,
  isDocumentEntry,
  readStateRecord
} from './records.ts'

/**
 * kafka-dr's replication state for one link, kept on the TARGET cluster so the source can stay
 * read-only: per partition the next source offset to copy and where its copies are on the target
 * (the segment index, core/copy-index.ts).
 * Readable without the engine (offset translation and failover read it while replication is down).
 */

export interface PartitionState {
  progress: ProgressValue | null
  /** Segments and target end (converted from old-format runs when only those are stored). */
  copies: StoredCopies
  /** Keys of old-format run records still stored: deleted by the next commit of the partition. */
  legacyRuns: bigint[]
  /** Source ranges knowingly skipped by policy (onDataLoss: skip), oldest first. */
  gaps: { from: bigint; to: bigint; reason: string }[]
}

export type LinkState = Map<string, PartitionState>

/** Stored state of a link, plus how many state records could not be read (reported, then ignored). */
export interface StoredCheckpoint {
  group: string
  topic: string
  partition: number
  value: CheckpointValue
}

export interface LoadedState {
  partitions: LinkState
  /** Latest checkpoint per group, topic and partition. */
  checkpoints: StoredCheckpoint[]
  /** Latest heartbeat, fence and failover documents of the link. */
  documents: StoredDocuments
  /** Latest heartbeat per writer slot of the link's worker group (scale-out), by slot. */
  workers: Map<number, HeartbeatDocument>
  /** The operators' pauses in force (core/pauses.ts). */
  pauses: PauseSet
  /** ACL bindings ACL sync created on the target or held back from it, by id (sync/acl-sync.ts). */
  acls: Map<string, AclRecordValue>
  /** Offset after the last state record read: where to continue reading for news (fences). */
  end: bigint
  /** State records of the link that could not be read (corrupt, or written by a newer kafka-dr): skipped. */
  unreadable: number
  /** Why, for the first MAX_PROBLEMS of them (offset and reason). */
  problems: string[]
  /**
   * Set when an open transaction (an exactly-once replicator mid-commit, or one that died there and
   * whose transaction has not timed out yet) held the state partition's last stable offset back and
   * the reader chose not to wait for it: the state is the committed state below `at`.
   */
  openTransaction: { at: bigint; highWatermark: bigint } | null
}

export interface LoadStateOptions {
  /**
   * How long to wait for an open transaction on the state partition to end before answering with
   * the committed state below it (`openTransaction` says so). Without it the wait is bounded by
   * READ_RANGE_BACKOFF and an incomplete read is an error: the engine and failover need every
   * committed record.
   */
  openTransactionWaitMs?: number
}

/** How many unreadable records loadLinkState describes (it counts them all). */
const MAX_PROBLEMS = 10

export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`
}

const STATE_TOPIC_CONFIGS = {
  'cleanup.policy': 'compact',
  // Commits are small and frequent; allow a large one (many partitions) to fit a single atomic batch.
  'max.message.bytes': String(16 * 1024 * 1024),
  'segment.ms': String(60 * 60 * 1000),
  'message.timestamp.type': 'CreateTime'
}

/**
 * Creates the state topic, or checks an existing one: it must be compacted, or the progress,
 * segments and documents it holds would be deleted by retention (replication would restart from
 * scratch, failover would lose its points). `topic` is for tests.
 */
export async function ensureStateTopic(
  admin: KafkaAdmin,
  replicationFactor: number | null,
  topic: string = STATE_TOPIC
): Promise<void> {
  const [existing] = await admin.describeTopics([topic])
  if (existing !== undefined) {
    await checkCompacted(admin, topic)
    return
  }
  // Another process may create it at the same time: no error (KafkaAdmin.createTopics), but then it
  // is checked as any existing one.
  const created = await admin.createTopics([
    {
      name: topic,
      partitions: 1,
      ...(replicationFactor === null ? {} : { replicationFactor }),
      configs: STATE_TOPIC_CONFIGS
    }
  ])
  if (created.length === 0) await checkCompacted(admin, topic)
}

async function checkCompacted(admin: KafkaAdmin, topic: string): Promise<void> {
  const policy = (await admin.describeTopicConfig(topic)).get('cleanup.policy')?.value ?? 'delete'
  if (policy.split(',').some(p => p.trim() === 'compact')) return
  throw new KdrError(
    'KDR_ERR_STATE',
    `state topic ${topic} on cluster ${admin.cluster} has cleanup.policy=${policy}: it must be compacted, or retention deletes replication progress and failover records. Fix: kafka-configs.sh --bootstrap-server <broker> --alter --entity-type topics --entity-name ${topic} --add-config cleanup.policy=compact (or delete the topic if it holds no state you need)`,
    { cluster: admin.cluster, topic }
  )
}

/** Reads the whole state topic and returns what it holds for `link` (latest value per key wins). */
export async function loadLinkState(
  target: ClusterConnection,
  admin: KafkaAdmin,
  link: string,
  options: LoadStateOptions = {}
): Promise<LoadedState> {
  const state: LinkState = new Map()
  const checkpoints = new Map<string, StoredCheckpoint>()
  const documents = new StoredDocuments()
  const workers = new Map<number, HeartbeatDocument>()
  const pauses = new PauseSet()
  const acls = new Map<string, AclRecordValue>()
  let unreadable = 0
  const problems: string[] = []
  const [end] = (await admin.listOffsets(STATE_TOPIC, [0], 'latest')).values()
  const [start] = (await admin.listOffsets(STATE_TOPIC, [0], 'earliest')).values()
  if (end === undefined || start === undefined || end <= start) {
    return {
      partitions: state,
      checkpoints: [],
      documents,
      workers,
      pauses,
      acls,
      unreadable,
      problems,
      end: end ?? 0n,
      openTransaction: null
    }
  }
  const fetcher = new PartitionFetcher({ ...target, clientId: `kafka-dr-state-${link}` }, { maxWaitMs: 100 })
  const runs = new Map<string, Map<bigint, OffsetRun>>()
  const hasSegments = new Set<string>()
  let openTransaction: LoadedState['openTransaction'] = null
  try {
    const read = await readPartitionRange(
      { cluster: target.alias, fetch: requests => fetcher.fetch(requests) },
      { topic: STATE_TOPIC, partition: 0, from: start, to: end },
      records => {
        for (const record of records) {
          const read = readStateRecord(record.key, record.value)
          if (!read.ok) {
            // Unreadable: corrupt, or written by a newer kafka-dr. Ignoring it can only make progress
            // older (records copied again), never newer (records skipped).
            const ours = read.link === null ? (record.key?.includes(JSON.stringify(link)) ?? false) : read.link === link
            if (ours && unreadable++ < MAX_PROBLEMS) problems.push(`offset ${record.offset}: ${read.problem}`)
            continue
          }
          const entry = read.entry
          if (entry.link !== link) continue
          if (isDocumentEntry(entry)) {
            if (entry.value === null) documents.delete(entry.kind)
            else documents.set(entry.kind, entry.value)
            continue
          }
          if (entry.kind === 'worker') {
            if (entry.value === null) workers.delete(entry.slot)
            else workers.set(entry.slot, entry.value)
            continue
          }
          if (entry.kind === 'pause') {
            pauses.apply(entry.topic, entry.value)
            continue
          }
          if (entry.kind === 'acl') {
            if (entry.value === null) acls.delete(entry.id)
            else acls.set(entry.id, entry.value)
            continue
          }
          if (entry.kind === 'checkpoint') {
            const k = `${entry.group}\u0000${entry.topic}\u0000${entry.partition}`
            if (entry.value === null) checkpoints.delete(k)
            else
              checkpoints.set(k, {
                group: entry.group,
                topic: entry.topic,
                partition: entry.partition,
                value: entry.value
              })
            continue
          }
          if (entry.kind === 'segments') {
            const key = partitionKey(entry.topic, entry.partition)
            const partition = state.get(key) ?? emptyPartition()
            if (entry.value === null) {
              hasSegments.delete(key)
              partition.copies = { segments: [], targetEnd: null }
            } else {
              hasSegments.add(key)
              partition.copies = { segments: entry.value, targetEnd: partition.copies.targetEnd }
            }
            state.set(key, partition)
            continue
          }
          apply(state, runs, entry)
        }
      },
      {
        unstable: 'wait',
        ...(options.openTransactionWaitMs === undefined
          ? {}
          : { backoff: { ...READ_RANGE_BACKOFF, maxElapsedMs: options.openTransactionWaitMs } })
      }
    )
    if (
      !read.complete &&
      read.shortfall?.reason === 'open-transaction' &&
      options.openTransactionWaitMs !== undefined
    ) {
      openTransaction = { at: read.next, highWatermark: read.shortfall.highWatermark }
    } else if (!read.complete) {
      throw new KdrError(
        'KDR_ERR_STATE',
        `the state topic could be read only up to offset ${read.next} of ${end} (${read.shortfall?.reason ?? 'incomplete'}): replication progress would be older than stored; try again`,
        { cluster: target.alias, topic: STATE_TOPIC, partition: 0, offset: read.next }
      )
    }
  } finally {
    await fetcher.close()
  }
  for (const [key, byStart] of runs) {
    if (byStart.size === 0) continue
    const partition = state.get(key) ?? emptyPartition()
    partition.legacyRuns = [...byStart.keys()]
    // Old format only: the segments come from the runs (stored in the new format by the next commit).
    if (!hasSegments.has(key)) partition.copies = segmentsFromRuns([...byStart.values()])
    state.set(key, partition)
  }
  for (const [key, partition] of state) {
    // targetEnd rides on progress; absent in records of older versions (then from the runs).
    const targetEnd = partition.progress?.targetEnd
    if (hasSegments.has(key) && targetEnd !== undefined) {
      partition.copies.targetEnd = targetEnd
      const lastCopied = partition.progress?.lastCopied
      if (lastCopied !== undefined && lastCopied !== null) partition.copies.lastCopied = lastCopied
    }
  }
  return {
    partitions: state,
    checkpoints: [...checkpoints.values()],
    documents,
    workers,
    pauses,
    acls,
    unreadable,
    problems,
    end: openTransaction?.at ?? end,
    openTransaction
  }
}

function emptyPartition(): PartitionState {
  return { progress: null, copies: { segments: [], targetEnd: null }, legacyRuns: [], gaps: [] }
}

function apply(
  state: LinkState,
  runs: Map<string, Map<bigint, OffsetRun>>,
  entry: Extract<StateEntry, { kind: 'progress' | 'run' | 'gap' }>
): void {
  const key = partitionKey(entry.topic, entry.partition)
  switch (entry.kind) {
    case 'progress': {
      const partition = state.get(key) ?? emptyPartition()
      partition.progress = entry.value
      state.set(key, partition)
      return
    }
    case 'run': {
      let byStart = runs.get(key)
      if (byStart === undefined) runs.set(key, (byStart = new Map()))
      if (entry.value === null) byStart.delete(entry.sourceStart)
      else byStart.set(entry.sourceStart, { sourceStart: entry.sourceStart, ...entry.value })
      return
    }
    case 'gap': {
      const partition = state.get(key) ?? emptyPartition()
      partition.gaps = partition.gaps.filter(g => g.from !== entry.from)
      if (entry.value !== null)
        partition.gaps.push({ from: entry.from, to: entry.value.to, reason: entry.value.reason })
      partition.gaps.sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : 0))
      state.set(key, partition)
      return
    }
  }
}

/**
 * Writes state entries as ONE produce call to the single-partition state topic: they land atomically.
 * Returns the offset of the first entry (the state topic's order is the order of events between
 * processes: failover compares offsets, never two hosts' clocks), or null when there was nothing to write.
 */
export async function writeState(producer: RecordProducer, entries: readonly StateEntry[]): Promise<bigint | null> {
  if (entries.length === 0) return null
  const timestamp = BigInt(Date.now())
  const records: RecordToProduce[] = entries.map(entry => {
    const { key, value } = encodeStateEntry(entry)
    return { partition: 0, timestamp, key, value, headers: [] }
  })
  const [written] = await producer.send(STATE_TOPIC, records)
  return written?.baseOffset ?? null
}
