/**
 * Records of kafka-dr's state topic on the target cluster (`__kdr_state`, compacted, one partition).
 * One partition means one batch is appended atomically: progress and the offset runs it covers are
 * committed together, so after any crash the stored mapping ends exactly where stored progress does.
 *
 * Keys are JSON arrays, values JSON objects with a format version `v`; offsets are decimal strings
 * (int64 does not fit a JSON number). A null value deletes a key (compaction tombstone).
 *
 *   ["progress", link, topic, partition]        {v:1, next, topicId, sourceClusterId, updatedAt}
 *   ["run", link, topic, partition, sourceStart] {v:1, targetStart, length}
 *   ["gap", link, topic, partition, from]        {v:1, to, reason, at}   (records knowingly skipped)
 */

import { type OffsetRun } from './offset-runs.ts'

export const STATE_TOPIC = '__kdr_state'

export interface ProgressValue {
  /** Next source offset to copy: everything below it is on the target. */
  next: bigint
  topicId: string
  sourceClusterId: string
  updatedAt: number
}

export interface GapValue {
  to: bigint
  reason: string
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
  | { kind: 'gap'; link: string; topic: string; partition: number; from: bigint; value: GapValue | null }

export function encodeStateEntry(entry: StateEntry): { key: Buffer; value: Buffer | null } {
  switch (entry.kind) {
    case 'progress':
      return {
        key: key(['progress', entry.link, entry.topic, entry.partition]),
        value: entry.value === null ? null : json({ v: 1, ...entry.value, next: entry.value.next.toString() })
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
                updatedAt: Number(v.updatedAt)
              }
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

function key(parts: (string | number)[]): Buffer {
  return Buffer.from(JSON.stringify(parts))
}

function json(value: Record<string, unknown>): Buffer {
  return Buffer.from(JSON.stringify(value))
}
