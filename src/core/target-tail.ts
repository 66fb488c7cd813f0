import { PROVENANCE_HEADER_KEY, decodeProvenance } from './provenance.ts'

/**
 * What the newest records of a target partition say about who wrote it, for a link about to copy
 * into it without stored progress (engine/foreign-target.ts) and for `kafka-dr drift`:
 *
 * - `foreign`: none of them carries kafka-dr's provenance header: someone else's data;
 * - `own`: copies of this very source partition: the link wrote here before and its progress is gone
 *   (a crash before its first commit, or `__kdr_state` lost): copying from the start duplicates them;
 * - `copies`: copies from another origin (another link of a hub writes this topic too);
 * - `unknown`: nothing readable (an empty answer, only transaction markers).
 */
export type TailVerdict =
  { kind: 'foreign' } | { kind: 'own'; newestSourceOffset: bigint } | { kind: 'copies' } | { kind: 'unknown' }

export interface TailOrigin {
  /** The source cluster's id; null when not known (then no copy counts as `own`). */
  sourceClusterId: string | null
  topic: string
  partition: number
}

export function classifyTail(
  records: readonly { headers: readonly (readonly [Buffer, Buffer | null])[] }[],
  origin: TailOrigin
): TailVerdict {
  if (records.length === 0) return { kind: 'unknown' }
  let copies = false
  let newestOwn: bigint | null = null
  for (const record of records) {
    for (const [key, value] of record.headers) {
      if (!PROVENANCE_HEADER_KEY.equals(key)) continue
      copies = true
      const p = decodeProvenance(value)
      if (
        p !== null &&
        p.originClusterId === origin.sourceClusterId &&
        p.topic === origin.topic &&
        p.partition === origin.partition &&
        (newestOwn === null || p.offset > newestOwn)
      )
        newestOwn = p.offset
      break
    }
  }
  if (newestOwn !== null) return { kind: 'own', newestSourceOffset: newestOwn }
  return copies ? { kind: 'copies' } : { kind: 'foreign' }
}
