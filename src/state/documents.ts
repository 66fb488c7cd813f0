import { Fields, type JsonObject, STATE_FORMAT_VERSION, StateFormatError, versioned } from './json.ts'

/**
 * The documents kept per link in the state topic (key `[kind, link]`, latest value wins): each has a
 * type, one encoder that writes the stored JSON (the format on disk: field order included, `v` last)
 * and one decoder that checks it. Decoders accept what this and older versions wrote (fields added
 * later get the value older writers meant) and fail with a StateFormatError otherwise.
 *
 * To add a document kind (e.g. `pause`): its type in LinkDocuments and its codec in CODECS; the
 * records (records.ts) and the store (store.ts) then carry it like the others.
 */

export interface LinkDocuments {
  /** The replicator's liveness, stopped partitions and origin ids (written by the engine). */
  heartbeat: HeartbeatDocument
  /** Set by failover: a replicator of the link must stop writing and not start. */
  fence: FenceDocument
  /** The failover record: steps done, failover points (written by failover, read by failback). */
  failover: FailoverDocument
}

export type LinkDocumentKind = keyof LinkDocuments

// ---- heartbeat

/** The states a replicator writes in its heartbeat. */
export type HeartbeatState = 'running' | 'stopping' | 'stopped' | 'fenced'

/** Interval assumed for a heartbeat that does not state its own. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 5000

export interface HeartbeatDocument {
  /** Wall-clock time of the writer (shown to people; failover orders heartbeats by offset, not by this). */
  at: number
  host: string
  pid: number
  /**
   * A HeartbeatState when written by this version. Kept as read: a state a newer version adds must
   * not make failover skip the heartbeat (any state but `stopped` and `fenced` counts as writing).
   */
  state: string
  intervalMs: number
  /** False when a stopping replicator's final commit failed (true when older versions did not say). */
  committed: boolean
  /** Partitions that are not running. */
  stopped: StoppedPartition[]
  /** Schema replication summary; null for links without schemas. */
  schemas: HeartbeatSchemas | null
  /** alias -> Kafka cluster id of the origins the link's routes name; null without routes. */
  clusterIds: Record<string, string> | null
  /** The worker that wrote it (scale-out: docs/scale-out.md); older versions: `host:pid`. */
  worker: string
  /** The worker group's generation the writer was in; -1 before it joined (and in older versions). */
  generation: number
  /** Worker ids of that generation's members, the leader first: failover waits for each of them. */
  members: string[]
  /** The writer's slot in its worker group (core/group-plan.ts); -1 before it joined (and in older versions). */
  slot: number
  /** Partitions the writer copied then; null in older versions. */
  owned: number | null
  /**
   * Which partitions, per source topic (partition numbers, ascending): only in the record under the
   * worker's slot, where status learns who copies what; null in the link's heartbeat and older versions.
   */
  owns: Record<string, number[]> | null
  /** Bytes/s the writer copied since its previous heartbeat; null in older versions and in its first. */
  bytesPerSecond: number | null
}

export interface StoppedPartition {
  topic: string
  partition: number
  state: string
  reason: string | null
}

/** What a heartbeat says of schema replication: totals and the subjects that need attention. */
export interface HeartbeatSchemas {
  mode: string
  lastSyncAt: number | null
  lastError: string | null
  totals: Record<string, number>
  ids: number
  subjects: HeartbeatSubject[]
}

export interface HeartbeatSubject {
  subject: string
  versions: number
  inSync: number
  pending: number
  failed: string | null
  softDeleted: number[]
  compatibility: string | null
}

function encodeHeartbeat(doc: HeartbeatDocument): JsonObject {
  return {
    at: doc.at,
    host: doc.host,
    pid: doc.pid,
    state: doc.state,
    intervalMs: doc.intervalMs,
    committed: doc.committed,
    stopped: doc.stopped.map(p => ({ topic: p.topic, partition: p.partition, state: p.state, reason: p.reason })),
    ...(doc.schemas === null
      ? {}
      : {
          schemas: {
            mode: doc.schemas.mode,
            lastSyncAt: doc.schemas.lastSyncAt,
            lastError: doc.schemas.lastError,
            totals: doc.schemas.totals,
            ids: doc.schemas.ids,
            subjects: doc.schemas.subjects
          }
        }),
    ...(doc.clusterIds === null ? {} : { clusterIds: doc.clusterIds }),
    worker: doc.worker,
    generation: doc.generation,
    members: doc.members,
    ...(doc.slot < 0 ? {} : { slot: doc.slot }),
    ...(doc.owned === null ? {} : { owned: doc.owned }),
    ...(doc.owns === null ? {} : { owns: doc.owns }),
    ...(doc.bytesPerSecond === null ? {} : { bytesPerSecond: doc.bytesPerSecond })
  }
}

export function decodeHeartbeat(value: unknown): HeartbeatDocument {
  const f = versioned(value, 'heartbeat document')
  return {
    at: f.number('at'),
    host: f.string('host'),
    pid: f.integer('pid'),
    state: f.string('state'),
    intervalMs: f.nullable('intervalMs', n => f.number(n)) ?? DEFAULT_HEARTBEAT_INTERVAL_MS,
    committed: f.nullable('committed', n => f.boolean(n)) ?? true,
    stopped: (f.nullable('stopped', n => f.array(n)) ?? []).map((p, i) => {
      const s = new Fields(p, `heartbeat document: stopped[${i}]`)
      return {
        topic: s.string('topic'),
        partition: s.integer('partition'),
        state: s.string('state'),
        reason: s.nullable('reason', n => s.string(n))
      }
    }),
    schemas: f.has('schemas') ? decodeSchemas(f.object('schemas')) : null,
    clusterIds: f.has('clusterIds') ? stringMap(f.object('clusterIds')) : null,
    worker: f.has('worker') ? f.string('worker') : `${f.string('host')}:${f.integer('pid')}`,
    generation: f.has('generation') ? f.integer('generation') : -1,
    members: f.has('members') ? stringList(f, 'members') : [],
    slot: f.has('slot') ? f.integer('slot') : -1,
    owned: f.nullable('owned', n => f.integer(n)),
    owns: f.has('owns') ? partitionLists(f.object('owns')) : null,
    bytesPerSecond: f.nullable('bytesPerSecond', n => f.number(n))
  }
}

function partitionLists(f: Fields): Record<string, number[]> {
  const lists: Record<string, number[]> = {}
  for (const topic of f.names())
    lists[topic] = f.array(topic).map((p, i) => {
      if (typeof p !== 'number' || !Number.isSafeInteger(p) || p < 0)
        throw new StateFormatError(`heartbeat document: owns.${topic}[${i}] must be a partition number`)
      return p
    })
  return lists
}

function stringList(f: Fields, name: string): string[] {
  return f.array(name).map((x, i) => {
    if (typeof x !== 'string') throw new StateFormatError(`heartbeat document: ${name}[${i}] must be a string`)
    return x
  })
}

function decodeSchemas(s: Fields): HeartbeatSchemas {
  const totals = s.object('totals')
  return {
    mode: s.string('mode'),
    lastSyncAt: s.nullable('lastSyncAt', n => s.number(n)),
    lastError: s.nullable('lastError', n => s.string(n)),
    totals: Object.fromEntries(totals.names().map(k => [k, totals.number(k)])),
    ids: s.number('ids'),
    subjects: s.array('subjects').map((x, i) => {
      const sub = new Fields(x, `heartbeat document: schemas.subjects[${i}]`)
      return {
        subject: sub.string('subject'),
        versions: sub.number('versions'),
        inSync: sub.number('inSync'),
        pending: sub.number('pending'),
        failed: sub.nullable('failed', n => sub.string(n)),
        softDeleted: sub.array('softDeleted').map((v, j) => {
          if (typeof v !== 'number') {
            throw new StateFormatError(`heartbeat document: schemas.subjects[${i}].softDeleted[${j}] must be a number`)
          }
          return v
        }),
        compatibility: sub.nullable('compatibility', n => sub.string(n))
      }
    })
  }
}

function stringMap(f: Fields): Record<string, string> {
  const out: Record<string, string> = {}
  for (const k of f.names()) out[k] = f.string(k)
  return out
}

// ---- fence

export interface FenceDocument {
  /** The failover that set it. */
  failoverId: string
  at: number
}

function encodeFence(doc: FenceDocument): JsonObject {
  return { failoverId: doc.failoverId, at: doc.at }
}

export function decodeFence(value: unknown): FenceDocument {
  const f = versioned(value, 'fence document')
  return { failoverId: f.string('failoverId'), at: f.number('at') }
}

// ---- failover

/** The steps of a failover (failover/failover.ts), in order. */
export const FAILOVER_STEPS = ['fenced', 'points-recorded', 'groups-committed', 'completed'] as const
export type FailoverStep = (typeof FAILOVER_STEPS)[number]

export interface FailoverPoint {
  topic: string
  partition: number
  targetTopic: string
  /** Next source offset to replicate at failover: everything below is on the target. */
  sourceNext: bigint
  /** Target end offset at failover: records the target receives later were written there. */
  targetEnd: bigint
}

export interface FailoverDocument {
  id: string
  startedAt: number
  step: FailoverStep
  completedAt: number | null
  points: FailoverPoint[]
  groups: string[]
  failedBackAt: number | null
}

function encodeFailover(doc: FailoverDocument): JsonObject {
  return {
    id: doc.id,
    startedAt: doc.startedAt,
    step: doc.step,
    completedAt: doc.completedAt,
    points: doc.points.map(p => ({
      topic: p.topic,
      partition: p.partition,
      targetTopic: p.targetTopic,
      sourceNext: p.sourceNext.toString(),
      targetEnd: p.targetEnd.toString()
    })),
    groups: doc.groups,
    failedBackAt: doc.failedBackAt
  }
}

export function decodeFailover(value: unknown): FailoverDocument {
  const f = versioned(value, 'failover document')
  const step = f.string('step')
  if (!(FAILOVER_STEPS as readonly string[]).includes(step)) {
    throw new StateFormatError(
      `failover document: unknown step ${JSON.stringify(step)} (known: ${FAILOVER_STEPS.join(', ')})`
    )
  }
  return {
    id: f.string('id'),
    startedAt: f.number('startedAt'),
    step: step as FailoverStep,
    completedAt: f.nullable('completedAt', n => f.number(n)),
    points: (f.nullable('points', n => f.array(n)) ?? []).map((p, i) => {
      const what = `failover document: points[${i}]`
      const point = new Fields(p, what)
      return {
        topic: point.string('topic'),
        partition: point.integer('partition'),
        targetTopic: point.string('targetTopic'),
        sourceNext: point.offset('sourceNext'),
        targetEnd: point.offset('targetEnd')
      }
    }),
    groups: (f.nullable('groups', n => f.array(n)) ?? []).map((g, i) => {
      if (typeof g !== 'string') throw new StateFormatError(`failover document: groups[${i}] must be a string`)
      return g
    }),
    failedBackAt: f.nullable('failedBackAt', n => f.number(n))
  }
}

// ---- all kinds

interface DocumentCodec<T> {
  encode(doc: T): JsonObject
  decode(value: unknown): T
}

const CODECS: { [K in LinkDocumentKind]: DocumentCodec<LinkDocuments[K]> } = {
  heartbeat: { encode: encodeHeartbeat, decode: decodeHeartbeat },
  fence: { encode: encodeFence, decode: decodeFence },
  failover: { encode: encodeFailover, decode: decodeFailover }
}

export const LINK_DOCUMENT_KINDS = Object.keys(CODECS) as readonly LinkDocumentKind[]

export function isLinkDocumentKind(kind: unknown): kind is LinkDocumentKind {
  return typeof kind === 'string' && (LINK_DOCUMENT_KINDS as readonly string[]).includes(kind)
}

/** The stored JSON of a document: its fields, then the format version. */
export function encodeDocument<K extends LinkDocumentKind>(kind: K, doc: LinkDocuments[K]): JsonObject {
  return { ...CODECS[kind].encode(doc), v: STATE_FORMAT_VERSION }
}

/** A document read from its stored JSON; a StateFormatError when it is not one this version reads. */
export function decodeDocument<K extends LinkDocumentKind>(kind: K, value: unknown): LinkDocuments[K] {
  return CODECS[kind].decode(value)
}

/** The latest document of each kind stored for one link. */
export class StoredDocuments {
  readonly #documents = new Map<LinkDocumentKind, LinkDocuments[LinkDocumentKind]>()

  get<K extends LinkDocumentKind>(kind: K): LinkDocuments[K] | undefined {
    return this.#documents.get(kind) as LinkDocuments[K] | undefined
  }

  set<K extends LinkDocumentKind>(kind: K, doc: LinkDocuments[K]): void {
    this.#documents.set(kind, doc)
  }

  delete(kind: LinkDocumentKind): void {
    this.#documents.delete(kind)
  }
}
