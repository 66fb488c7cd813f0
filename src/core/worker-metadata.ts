import { createHash } from 'node:crypto'

/**
 * What the workers of a scaled-out link tell each other through Kafka's group coordinator (classic
 * JoinGroup/SyncGroup, protocol type `kdr`): each member's metadata when it joins, and the leader's
 * assignment to each member. One typed, versioned codec for each; JSON inside the protocol's bytes,
 * so an operator can read them with any Kafka tool that dumps group metadata.
 *
 * The link's configuration travels as one digest per key (never the values: they may hold names an
 * operator considers private, and secrets live in the cluster section anyway), so a member whose
 * configuration differs is refused with the keys that differ named.
 */

export const WORKER_PROTOCOL_TYPE = 'kdr'
/** The assignment protocol (sticky, weighted by bytes/s: core/assignment.ts). */
export const WORKER_PROTOCOL = 'kdr-sticky-v1'

export interface WorkerMetadata {
  version: 1
  /** The worker id (`--worker-id`, default host + pid). */
  worker: string
  /** Where its HTTP API listens (status of the group), null when it has none. */
  http: string | null
  /** Digest per key of the link's resolved configuration. */
  config: Record<string, string>
  /** Partitions it owns now ("topic:partition"). */
  owned: string[]
  /** Bytes/s it measured per owned partition. */
  rates: Record<string, number>
  /** The writer slot it holds (its transactional ids under exactly-once), -1 when it holds none yet. */
  slot: number
}

export interface WorkerAssignment {
  version: 1
  /** The group generation the assignment belongs to (state commits carry it: a stale writer stops). */
  generation: number
  /** Partitions this member copies ("topic:partition"). */
  partitions: string[]
  /**
   * The writer slot of this member: exactly-once writes with the slot's transactional ids
   * (core/transactional-ids.ts), so whoever takes a slot over fences its previous holder. -1: none.
   */
  slot: number
  /** Worker ids of every member of this generation, the leader first (heartbeats name them for failover). */
  members: string[]
  /** Why this member got nothing, when it got nothing on purpose (a configuration that differs). */
  refused: string | null
}

export class WorkerProtocolError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'WorkerProtocolError'
  }
}

export function encodeWorkerMetadata(metadata: WorkerMetadata): Buffer {
  return Buffer.from(JSON.stringify({ v: metadata.version, ...withoutVersion(metadata) }))
}

export function decodeWorkerMetadata(bytes: Buffer, member: string): WorkerMetadata {
  const raw = parse(bytes, `metadata of group member ${member}`)
  if (raw.v !== 1)
    throw new WorkerProtocolError(
      `metadata of group member ${member} has version ${String(raw.v)}; this kafka-dr reads version 1 (upgrade every worker of the link to the same release)`
    )
  const { worker, http, config, owned, rates, slot } = raw
  if (
    typeof worker !== 'string' ||
    typeof slot !== 'number' ||
    (http !== null && typeof http !== 'string') ||
    !isRecordOf(config, 'string') ||
    !isStringList(owned) ||
    !isRecordOf(rates, 'number')
  )
    throw new WorkerProtocolError(`metadata of group member ${member} is malformed`)
  return { version: 1, worker, http, config, owned, rates, slot }
}

export function encodeWorkerAssignment(assignment: WorkerAssignment): Buffer {
  return Buffer.from(JSON.stringify({ v: assignment.version, ...withoutVersion(assignment) }))
}

export function decodeWorkerAssignment(bytes: Buffer): WorkerAssignment {
  // An empty assignment: the coordinator gives a member that joined too late for the leader's
  // SyncGroup nothing; it rejoins.
  if (bytes.length === 0) return { version: 1, generation: -1, partitions: [], slot: -1, members: [], refused: null }
  const raw = parse(bytes, 'the assignment from the group leader')
  if (raw.v !== 1)
    throw new WorkerProtocolError(
      `the group leader sent an assignment of version ${String(raw.v)}; this kafka-dr reads version 1 (upgrade every worker of the link to the same release)`
    )
  const { generation, partitions, slot, members, refused } = raw
  if (
    typeof generation !== 'number' ||
    typeof slot !== 'number' ||
    !isStringList(partitions) ||
    !isStringList(members) ||
    (refused !== null && typeof refused !== 'string')
  )
    throw new WorkerProtocolError('the assignment from the group leader is malformed')
  return { version: 1, generation, partitions, slot, members, refused }
}

/** One digest per top-level key of a configuration object (bigints as decimal strings). */
export function configDigests(config: object): Record<string, string> {
  const digests: Record<string, string> = {}
  for (const key of Object.keys(config).sort()) {
    const value = (config as Record<string, unknown>)[key]
    digests[key] = createHash('sha256')
      .update(canonicalJson(value) ?? 'undefined')
      .digest('hex')
      .slice(0, 16)
  }
  return digests
}

/** The keys whose digests differ between two members (present in one only included), sorted. */
export function configDifference(a: Record<string, string>, b: Record<string, string>): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)])
  return [...keys].filter(key => a[key] !== b[key]).sort()
}

/** JSON with object keys sorted at every level, so equal configurations give equal text. */
function canonicalJson(value: unknown): string | undefined {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') return v.toString()
    if (v instanceof Map) return Object.fromEntries([...v].sort(([x], [y]) => (String(x) < String(y) ? -1 : 1)))
    if (v !== null && typeof v === 'object' && !Array.isArray(v))
      return Object.fromEntries(Object.entries(v).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
    return v
  })
}

function parse(bytes: Buffer, what: string): Record<string, unknown> {
  let raw: unknown
  try {
    raw = JSON.parse(bytes.toString('utf8'))
  } catch {
    throw new WorkerProtocolError(`${what} is not kafka-dr's (not JSON): another application uses the group?`)
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new WorkerProtocolError(`${what} is malformed`)
  return raw as Record<string, unknown>
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every(v => typeof v === 'string')
}

function isRecordOf(value: unknown, type: 'string' | 'number'): value is Record<string, never> {
  return (
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    Object.values(value).every(v => typeof v === type)
  )
}

function withoutVersion<T extends { version: 1 }>(value: T): Omit<T, 'version'> {
  const rest: Partial<T> = { ...value }
  delete rest.version
  return rest as Omit<T, 'version'>
}
