import {
  ACL_OPERATIONS,
  ACL_PATTERN_TYPES,
  ACL_PERMISSIONS,
  ACL_RESOURCE_TYPES,
  type AclBinding
} from '../core/acl-transform.ts'
import { type Segment } from '../core/copy-index.ts'
import { type Pause } from '../core/pauses.ts'
import {
  type HeartbeatDocument,
  type LinkDocumentKind,
  type LinkDocuments,
  decodeDocument,
  encodeDocument,
  isLinkDocumentKind
} from './documents.ts'
import {
  type Fields,
  type JsonObject,
  STATE_FORMAT_VERSION,
  StateFormatError,
  decimal,
  parseJson,
  versioned
} from './json.ts'

/**
 * Records of kafka-dr's state topic on the target cluster (`__kdr_state`, compacted, one partition).
 * One partition means one batch is appended atomically: progress and the offset runs it covers are
 * committed together, so after any crash the stored mapping ends exactly where stored progress does.
 *
 * Keys are JSON arrays, values JSON objects with a format version `v`; offsets are decimal strings
 * (int64 does not fit a JSON number). A null value deletes a key (compaction tombstone).
 *
 *   ["progress", link, topic, partition]        {v:1, next, topicId, sourceClusterId, updatedAt, targetEnd?, lastCopied?, worker?, generation?}
 *   ["segments", link, topic, partition]        {v:1, segments: [[sourceStart, targetStart, targetEnd?], ...]}
 *   ["run", link, topic, partition, sourceStart] {v:1, targetStart, length}   (old format: read, converted, deleted)
 *   ["gap", link, topic, partition, from]        {v:1, to, reason, at}   (records knowingly skipped)
 *   ["checkpoint", link, group, topic, partition] {v:1, sourceOffset, targetOffset, exact, notReplicated, at}
 *   ["heartbeat", link]  {..., v:1}  the replicator's liveness and stopped partitions
 *   ["worker", link, slot] {..., v:1} the same heartbeat, kept per writer slot of the worker group
 *   ["fence", link]      {..., v:1}  set by failover: a replicator of this link must stop writing
 *   ["failover", link]   {..., v:1}  the failover record (steps done, failover points), read by failback
 *   ["pause", link, topic] {v:1, by, at, reason} an operator's pause of a topic (`*`: the whole link, core/pauses.ts)
 *   ["acl", link, id]    {v:1, role, resourceType, patternType, name, principal, host, operation, permission}
 *                        an ACL binding on the target that ACL sync created (role `created`: deleted when it no
 *                        longer derives from the source) or held back (`held`: granted by failover --grant-writes);
 *                        id is core/acl-transform.ts's aclId of the binding
 * `segments` is the sparse index of where the copies are on the target (core/copy-index.ts), written
 * only when a segment starts or is pruned; `targetEnd` (one past the last copy) rides on progress,
 * so a commit writes one record per partition that moved, whatever gaps the source has.
 * `heartbeat`, `fence` and `failover` are the link's documents, typed in documents.ts. Every
 * worker of a scaled-out link writes `heartbeat` (the newest one wins: liveness, schemas, origin ids)
 * and its own `worker` record under its slot, so each worker's last word survives compaction; the keys
 * are bounded by workers.maxWorkers.
 */

export const STATE_TOPIC = '__kdr_state'

export interface ProgressValue {
  /** Next source offset to copy: everything below it is on the target. */
  next: bigint
  topicId: string
  sourceClusterId: string
  updatedAt: number
  /** One past the target offset of the last copy (absent in records of older versions). */
  targetEnd?: bigint | null
  /**
   * Source offset of that last copy (absent in older records). With targetEnd it lets the next
   * session continue the current segment instead of starting one (core/copy-index.ts).
   */
  lastCopied?: bigint | null
  /** The worker that committed it and its group generation (scale-out); absent in older records. */
  worker?: string
  generation?: number
}

/** An old-format run: `length` copies from `targetStart` on, for sources from the key's sourceStart. */
export interface RunValue {
  targetStart: bigint
  length: bigint
}

export interface GapValue {
  to: bigint
  reason: string
  at: number
}

export interface CheckpointValue {
  /** The group's committed offset on the source when the checkpoint was taken. */
  sourceOffset: bigint
  /** Where the group resumes on the target. */
  targetOffset: bigint
  exact: boolean
  /** Source records below sourceOffset that are not on the target yet. */
  notReplicated: bigint
  at: number
}

/** An ACL binding ACL sync created on the target, or held back from it (sync/acl-sync.ts). */
export interface AclRecordValue {
  role: 'created' | 'held'
  binding: AclBinding
}

/** A document record: `[kind, link]` and the document (null: deleted). */
export type DocumentEntry = {
  [K in LinkDocumentKind]: { kind: K; link: string; value: LinkDocuments[K] | null }
}[LinkDocumentKind]

export type StateEntry =
  | { kind: 'progress'; link: string; topic: string; partition: number; value: ProgressValue | null }
  | { kind: 'run'; link: string; topic: string; partition: number; sourceStart: bigint; value: RunValue | null }
  | { kind: 'segments'; link: string; topic: string; partition: number; value: Segment[] | null }
  | { kind: 'gap'; link: string; topic: string; partition: number; from: bigint; value: GapValue | null }
  | { kind: 'checkpoint'; link: string; group: string; topic: string; partition: number; value: CheckpointValue | null }
  | { kind: 'worker'; link: string; slot: number; value: HeartbeatDocument | null }
  | { kind: 'pause'; link: string; topic: string; value: Pause | null }
  | { kind: 'acl'; link: string; id: string; value: AclRecordValue | null }
  | DocumentEntry

export function isDocumentEntry(entry: StateEntry): entry is DocumentEntry {
  return isLinkDocumentKind(entry.kind)
}

export function encodeStateEntry(entry: StateEntry): { key: Buffer; value: Buffer | null } {
  switch (entry.kind) {
    case 'progress':
      return {
        key: key(['progress', entry.link, entry.topic, entry.partition]),
        value: entry.value === null ? null : json(encodeProgress(entry.value))
      }
    case 'segments':
      return {
        key: key(['segments', entry.link, entry.topic, entry.partition]),
        value:
          entry.value === null
            ? null
            : json({
                v: STATE_FORMAT_VERSION,
                segments: entry.value.map(s =>
                  s.targetEnd === undefined
                    ? [s.sourceStart.toString(), s.targetStart.toString()]
                    : [s.sourceStart.toString(), s.targetStart.toString(), s.targetEnd.toString()]
                )
              })
      }
    case 'run':
      return {
        key: key(['run', entry.link, entry.topic, entry.partition, entry.sourceStart.toString()]),
        value:
          entry.value === null
            ? null
            : json({
                v: STATE_FORMAT_VERSION,
                targetStart: entry.value.targetStart.toString(),
                length: entry.value.length.toString()
              })
      }
    case 'gap':
      return {
        key: key(['gap', entry.link, entry.topic, entry.partition, entry.from.toString()]),
        value:
          entry.value === null
            ? null
            : json({
                v: STATE_FORMAT_VERSION,
                to: entry.value.to.toString(),
                reason: entry.value.reason,
                at: entry.value.at
              })
      }
    case 'worker':
      return {
        key: key(['worker', entry.link, entry.slot]),
        value: entry.value === null ? null : json(encodeDocument('heartbeat', entry.value))
      }
    case 'pause':
      return {
        key: key(['pause', entry.link, entry.topic]),
        value:
          entry.value === null
            ? null
            : json({ v: STATE_FORMAT_VERSION, by: entry.value.by, at: entry.value.at, reason: entry.value.reason })
      }
    case 'acl':
      return {
        key: key(['acl', entry.link, entry.id]),
        value:
          entry.value === null
            ? null
            : json({ v: STATE_FORMAT_VERSION, role: entry.value.role, ...entry.value.binding })
      }
    case 'checkpoint':
      return {
        key: key(['checkpoint', entry.link, entry.group, entry.topic, entry.partition]),
        value:
          entry.value === null
            ? null
            : json({
                v: STATE_FORMAT_VERSION,
                sourceOffset: entry.value.sourceOffset.toString(),
                targetOffset: entry.value.targetOffset.toString(),
                exact: entry.value.exact,
                notReplicated: entry.value.notReplicated.toString(),
                at: entry.value.at
              })
      }
    default:
      return {
        key: key([entry.kind, entry.link]),
        // The kind and its document type go together (DocumentEntry); TypeScript cannot follow that here.
        value: entry.value === null ? null : json(encodeDocument(entry.kind, entry.value as never))
      }
  }
}

function encodeProgress(value: ProgressValue): JsonObject {
  return {
    v: STATE_FORMAT_VERSION,
    next: value.next.toString(),
    topicId: value.topicId,
    sourceClusterId: value.sourceClusterId,
    updatedAt: value.updatedAt,
    ...(value.targetEnd == null ? {} : { targetEnd: value.targetEnd.toString() }),
    ...(value.lastCopied == null ? {} : { lastCopied: value.lastCopied.toString() }),
    ...(value.worker === undefined ? {} : { worker: value.worker }),
    ...(value.generation === undefined ? {} : { generation: value.generation })
  }
}

/** A state record read: its entry, or why it could not be (and the link its key names, when readable). */
export type StateRecordRead =
  | { ok: true; entry: StateEntry }
  | {
      ok: false
      link: string | null
      /** Written by a newer kafka-dr (a higher format version, a kind this version does not know). */
      newer: boolean
      problem: string
    }

/**
 * Decodes one state record. Never throws: a record this version cannot read (corrupt, or written by
 * a newer kafka-dr) comes back with the reason, for the caller to count, report and skip.
 */
export function readStateRecord(rawKey: Buffer | null, rawValue: Buffer | null): StateRecordRead {
  let link: string | null = null
  try {
    if (rawKey === null) throw new StateFormatError('state record without a key')
    const k = parseJson(rawKey, 'state record key')
    if (!Array.isArray(k) || typeof k[0] !== 'string') {
      throw new StateFormatError(`state record key ${rawKey.toString()} is not a JSON array starting with a kind`)
    }
    if (typeof k[1] === 'string') link = k[1]
    const value = rawValue === null ? null : parseJson(rawValue, `value of state record ${rawKey.toString()}`)
    return { ok: true, entry: decodeEntry(k as [string, ...unknown[]], value, rawKey.toString()) }
  } catch (error) {
    const newer = error instanceof StateFormatError && error.newer
    return { ok: false, link, newer, problem: error instanceof Error ? error.message : String(error) }
  }
}

/** Decodes one state record; null for one readStateRecord reports as unreadable. */
export function decodeStateEntry(rawKey: Buffer | null, rawValue: Buffer | null): StateEntry | null {
  const read = readStateRecord(rawKey, rawValue)
  return read.ok ? read.entry : null
}

function decodeEntry(k: [string, ...unknown[]], value: unknown, rawKey: string): StateEntry {
  const kind = k[0]
  const what = `state record ${rawKey}`
  if (isLinkDocumentKind(kind)) {
    keyShape(k, ['string'], rawKey)
    return { kind, link: k[1] as string, value: value === null ? null : decodeDocument(kind, value) } as DocumentEntry
  }
  if (kind === 'worker') {
    keyShape(k, ['string', 'partition'], rawKey)
    const [, link, slot] = k as [string, string, number]
    return { kind, link, slot, value: value === null ? null : decodeDocument('heartbeat', value) }
  }
  if (kind === 'pause') {
    keyShape(k, ['string', 'string'], rawKey)
    const [, link, topic] = k as [string, string, string]
    return { kind, link, topic, value: value === null ? null : decodePause(versioned(value, what)) }
  }
  if (kind === 'acl') {
    keyShape(k, ['string', 'string'], rawKey)
    const [, link, id] = k as [string, string, string]
    return { kind, link, id, value: value === null ? null : decodeAcl(versioned(value, what), what) }
  }
  if (kind === 'checkpoint') {
    keyShape(k, ['string', 'string', 'string', 'partition'], rawKey)
    const [, link, group, topic, partition] = k as [string, string, string, string, number]
    return {
      kind,
      link,
      group,
      topic,
      partition,
      value: value === null ? null : decodeCheckpoint(versioned(value, what))
    }
  }
  switch (kind) {
    case 'progress':
    case 'segments': {
      keyShape(k, ['string', 'string', 'partition'], rawKey)
      const [, link, topic, partition] = k as [string, string, string, number]
      if (kind === 'progress') {
        return { kind, link, topic, partition, value: value === null ? null : decodeProgress(versioned(value, what)) }
      }
      return {
        kind,
        link,
        topic,
        partition,
        value: value === null ? null : decodeSegments(versioned(value, what), what)
      }
    }
    case 'run':
    case 'gap': {
      keyShape(k, ['string', 'string', 'partition', 'decimal'], rawKey)
      const [, link, topic, partition, offsetText] = k as [string, string, string, number, string]
      const offset = decimal(offsetText, `${what}: key offset`)
      if (kind === 'gap') {
        return {
          kind,
          link,
          topic,
          partition,
          from: offset,
          value: value === null ? null : decodeGap(versioned(value, what))
        }
      }
      const run = value === null ? null : decodeRun(versioned(value, what))
      if (offset < 0n || (run !== null && run.length <= 0n)) {
        throw new StateFormatError(`${what}: a run must start at an offset >= 0 and have a length > 0`)
      }
      return { kind, link, topic, partition, sourceStart: offset, value: run }
    }
    default:
      throw new StateFormatError(`${what}: unknown kind ${JSON.stringify(kind)}, written by a newer kafka-dr?`, true)
  }
}

/** The key's parts after the kind, by type; a key of another shape is malformed. */
function keyShape(k: unknown[], parts: ('string' | 'partition' | 'decimal')[], rawKey: string): void {
  const ok =
    k.length === parts.length + 1 &&
    parts.every((part, i) => {
      const v = k[i + 1]
      if (part === 'partition') return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
      return typeof v === 'string'
    })
  if (!ok) throw new StateFormatError(`state record key ${rawKey} is not [kind, ${parts.join(', ')}]`)
}

function decodeProgress(f: Fields): ProgressValue {
  return {
    next: f.offset('next'),
    topicId: f.string('topicId'),
    sourceClusterId: f.string('sourceClusterId'),
    updatedAt: f.number('updatedAt'),
    ...(f.has('targetEnd') ? { targetEnd: f.offset('targetEnd') } : {}),
    ...(f.has('lastCopied') ? { lastCopied: f.offset('lastCopied') } : {}),
    ...(f.has('worker') ? { worker: f.string('worker') } : {}),
    ...(f.has('generation') ? { generation: f.integer('generation') } : {})
  }
}

function decodeSegments(f: Fields, what: string): Segment[] {
  return f.array('segments').map((s, i) => {
    if (!Array.isArray(s) || s.length < 2 || s.length > 3) {
      throw new StateFormatError(`${what}: segments[${i}] must be [sourceStart, targetStart, targetEnd?]`)
    }
    const at = `${what}: segments[${i}]`
    return {
      sourceStart: decimal(s[0], at),
      targetStart: decimal(s[1], at),
      ...(s[2] === undefined ? {} : { targetEnd: decimal(s[2], at) })
    }
  })
}

function decodeRun(f: Fields): RunValue {
  return { targetStart: f.offset('targetStart'), length: f.offset('length') }
}

function decodeGap(f: Fields): GapValue {
  return { to: f.offset('to'), reason: f.string('reason'), at: f.number('at') }
}

function decodePause(f: Fields): Pause {
  return { by: f.string('by'), at: f.number('at'), reason: f.nullable('reason', name => f.string(name)) }
}

function decodeAcl(f: Fields, what: string): AclRecordValue {
  const label = <T extends string>(name: string, allowed: readonly T[]): T => {
    const v = f.string(name)
    if (!(allowed as readonly string[]).includes(v)) {
      throw new StateFormatError(
        `${what}: field ${name} must be one of ${allowed.join(', ')}, found ${JSON.stringify(v)}`
      )
    }
    return v as T
  }
  return {
    role: label('role', ['created', 'held'] as const),
    binding: {
      resourceType: label('resourceType', ACL_RESOURCE_TYPES),
      patternType: label('patternType', ACL_PATTERN_TYPES),
      name: f.string('name'),
      principal: f.string('principal'),
      host: f.string('host'),
      operation: label('operation', ACL_OPERATIONS),
      permission: label('permission', ACL_PERMISSIONS)
    }
  }
}

function decodeCheckpoint(f: Fields): CheckpointValue {
  return {
    sourceOffset: f.offset('sourceOffset'),
    targetOffset: f.offset('targetOffset'),
    exact: f.boolean('exact'),
    notReplicated: f.offset('notReplicated'),
    at: f.number('at')
  }
}

function key(parts: (string | number)[]): Buffer {
  return Buffer.from(JSON.stringify(parts))
}

function json(value: JsonObject): Buffer {
  return Buffer.from(JSON.stringify(value))
}
