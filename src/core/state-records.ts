/**
 * Records of kafka-dr's state topic on the target cluster (`__kdr_state`, compacted, one partition).
 * One partition means one batch is appended atomically: progress and the offset runs it covers are
 * committed together, so after any crash the stored mapping ends exactly where stored progress does.
 *
 * Keys are JSON arrays, values JSON objects with a format version `v`; offsets are decimal strings
 * (int64 does not fit a JSON number). A null value deletes a key (compaction tombstone).
 *
 *   ["progress", link, topic, partition]        {v:1, next, topicId, sourceClusterId, updatedAt, targetEnd?, lastCopied?}
 *   ["segments", link, topic, partition]        {v:1, segments: [[sourceStart, targetStart, targetEnd?], ...]}
 *   ["run", link, topic, partition, sourceStart] {v:1, targetStart, length}   (old format: read, converted, deleted)
 *   ["gap", link, topic, partition, from]        {v:1, to, reason, at}   (records knowingly skipped)
 *   ["checkpoint", link, group, topic, partition] {v:1, sourceOffset, targetOffset, exact, notReplicated, at}
 *   ["heartbeat", link]  {v:1, ...}  the replicator's liveness and stopped partitions
 *   ["fence", link]      {v:1, ...}  set by failover: a replicator of this link must stop writing
 *   ["failover", link]   {v:1, ...}  the failover record (steps done, failover points), read by failback
 * `segments` is the sparse index of where the copies are on the target (core/copy-index.ts), written
 * only when a segment starts or is pruned; `targetEnd` (one past the last copy) rides on progress,
 * so a commit writes one record per partition that moved, whatever gaps the source has.
 * The last three carry JSON documents whose shape belongs to their writer (src/failover, the engine).
 */

import { type Segment } from './copy-index.ts'
import { type OffsetRun } from './offset-runs.ts'

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

export type StateEntry =
  | { kind: 'progress'; link: string; topic: string; partition: number; value: ProgressValue | null }
  | {
      kind: 'run'
      link: string
      topic: string
      partition: number
      sourceStart: bigint
      value: Omit<OffsetRun, 'sourceStart'> | null
    }
  | { kind: 'segments'; link: string; topic: string; partition: number; value: Segment[] | null }
  | { kind: 'gap'; link: string; topic: string; partition: number; from: bigint; value: GapValue | null }
  | { kind: 'checkpoint'; link: string; group: string; topic: string; partition: number; value: CheckpointValue | null }
  | { kind: 'heartbeat'; link: string; value: Record<string, unknown> | null }
  | { kind: 'fence'; link: string; value: Record<string, unknown> | null }
  | { kind: 'failover'; link: string; value: Record<string, unknown> | null }

export const LINK_DOCUMENT_KINDS = ['heartbeat', 'fence', 'failover'] as const
export type LinkDocumentKind = (typeof LINK_DOCUMENT_KINDS)[number]

function isLinkDocumentKind(kind: unknown): kind is LinkDocumentKind {
  return typeof kind === 'string' && (LINK_DOCUMENT_KINDS as readonly string[]).includes(kind)
}

export function encodeStateEntry(entry: StateEntry): { key: Buffer; value: Buffer | null } {
  switch (entry.kind) {
    case 'progress':
      return {
        key: key(['progress', entry.link, entry.topic, entry.partition]),
        value:
          entry.value === null
            ? null
            : json({
                v: 1,
                next: entry.value.next.toString(),
                topicId: entry.value.topicId,
                sourceClusterId: entry.value.sourceClusterId,
                updatedAt: entry.value.updatedAt,
                ...(entry.value.targetEnd === undefined || entry.value.targetEnd === null
                  ? {}
                  : { targetEnd: entry.value.targetEnd.toString() }),
                ...(entry.value.lastCopied === undefined || entry.value.lastCopied === null
                  ? {}
                  : { lastCopied: entry.value.lastCopied.toString() })
              })
      }
    case 'segments':
      return {
        key: key(['segments', entry.link, entry.topic, entry.partition]),
        value:
          entry.value === null
            ? null
            : json({
                v: 1,
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
            : json({ v: 1, targetStart: entry.value.targetStart.toString(), length: entry.value.length.toString() })
      }
    case 'gap':
      return {
        key: key(['gap', entry.link, entry.topic, entry.partition, entry.from.toString()]),
        value: entry.value === null ? null : json({ v: 1, ...entry.value, to: entry.value.to.toString() })
      }
    case 'heartbeat':
    case 'fence':
    case 'failover':
      return { key: key([entry.kind, entry.link]), value: entry.value === null ? null : json({ ...entry.value, v: 1 }) }
    case 'checkpoint':
      return {
        key: key(['checkpoint', entry.link, entry.group, entry.topic, entry.partition]),
        value:
          entry.value === null
            ? null
            : json({
                v: 1,
                sourceOffset: entry.value.sourceOffset.toString(),
                targetOffset: entry.value.targetOffset.toString(),
                exact: entry.value.exact,
                notReplicated: entry.value.notReplicated.toString(),
                at: entry.value.at
              })
      }
  }
}

/**
 * Decodes one state record; null for keys of unknown kinds or versions (written by a newer
 * kafka-dr) and for malformed records, which the caller counts and reports.
 */
export function decodeStateEntry(rawKey: Buffer | null, rawValue: Buffer | null): StateEntry | null {
  try {
    return decodeOrThrow(rawKey, rawValue)
  } catch {
    return null
  }
}

function decodeOrThrow(rawKey: Buffer | null, rawValue: Buffer | null): StateEntry | null {
  if (rawKey === null) return null
  const k: unknown = JSON.parse(rawKey.toString())
  if (Array.isArray(k) && k[0] === 'checkpoint') return decodeCheckpoint(k, rawValue)
  if (Array.isArray(k) && isLinkDocumentKind(k[0]) && typeof k[1] === 'string' && k.length === 2) {
    const value = rawValue === null ? null : (JSON.parse(rawValue.toString()) as Record<string, unknown>)
    if (value !== null && value.v !== 1) return null
    return { kind: k[0], link: k[1], value }
  }
  if (!Array.isArray(k) || typeof k[1] !== 'string' || typeof k[2] !== 'string' || typeof k[3] !== 'number') return null
  const [kind, link, topic, partition] = k as [unknown, string, string, number]
  const v = rawValue === null ? null : (JSON.parse(rawValue.toString()) as Record<string, unknown>)
  if (v !== null && v.v !== 1) return null
  switch (kind) {
    case 'progress':
      return {
        kind,
        link,
        topic,
        partition,
        value:
          v === null
            ? null
            : {
                next: BigInt(v.next as string),
                topicId: String(v.topicId),
                sourceClusterId: String(v.sourceClusterId),
                updatedAt: Number(v.updatedAt),
                ...(typeof v.targetEnd === 'string' ? { targetEnd: BigInt(v.targetEnd) } : {}),
                ...(typeof v.lastCopied === 'string' ? { lastCopied: BigInt(v.lastCopied) } : {})
              }
      }
    case 'segments': {
      if (v !== null && !Array.isArray(v.segments)) return null
      const segments =
        v === null
          ? null
          : (v.segments as unknown[]).map(pair => {
              const [sourceStart, targetStart, targetEnd] = pair as [string, string, string | undefined]
              return {
                sourceStart: BigInt(sourceStart),
                targetStart: BigInt(targetStart),
                ...(targetEnd === undefined ? {} : { targetEnd: BigInt(targetEnd) })
              }
            })
      return { kind, link, topic, partition, value: segments }
    }
    case 'run': {
      const entry: StateEntry & { kind: 'run' } = {
        kind,
        link,
        topic,
        partition,
        sourceStart: BigInt(k[4] as string),
        value: v === null ? null : { targetStart: BigInt(v.targetStart as string), length: BigInt(v.length as string) }
      }
      if (entry.value !== null && (entry.value.length <= 0n || entry.sourceStart < 0n)) return null
      return entry
    }
    case 'gap':
      return {
        kind,
        link,
        topic,
        partition,
        from: BigInt(k[4] as string),
        value: v === null ? null : { to: BigInt(v.to as string), reason: String(v.reason), at: Number(v.at) }
      }
    default:
      return null
  }
}

function decodeCheckpoint(k: unknown[], rawValue: Buffer | null): StateEntry | null {
  const [, link, group, topic, partition] = k
  if (
    typeof link !== 'string' ||
    typeof group !== 'string' ||
    typeof topic !== 'string' ||
    typeof partition !== 'number'
  ) {
    return null
  }
  const v = rawValue === null ? null : (JSON.parse(rawValue.toString()) as Record<string, unknown>)
  if (v !== null && v.v !== 1) return null
  return {
    kind: 'checkpoint',
    link,
    group,
    topic,
    partition,
    value:
      v === null
        ? null
        : {
            sourceOffset: BigInt(v.sourceOffset as string),
            targetOffset: BigInt(v.targetOffset as string),
            exact: v.exact === true,
            notReplicated: BigInt(v.notReplicated as string),
            at: Number(v.at)
          }
  }
}

function key(parts: (string | number)[]): Buffer {
  return Buffer.from(JSON.stringify(parts))
}

function json(value: Record<string, unknown>): Buffer {
  return Buffer.from(JSON.stringify(value))
}
