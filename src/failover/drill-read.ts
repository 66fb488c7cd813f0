import { type CopyOwner, copiedOffsetOf } from '../core/copy-owner.ts'
import { type DrillSourceRecord, type DrillTargetRecord } from '../core/drill-compare.ts'
import { type Digest } from '../core/verify-merge.ts'
import { type FetchedRecord, PartitionRangeReader, type RangeFetcher } from '../kafka/index.ts'

/**
 * The two reads of a drill for one partition, both through the shared range reader (bounded retries,
 * errors naming cluster, topic, partition and offset) on fetchers that belong to no consumer group:
 * nothing is committed and no group is joined on either cluster.
 */

/**
 * The next `count` records the group would read on the source from `from` (up to `to`, the high
 * watermark when the drill started), each with its digest; `digestOf` answers null for records the
 * link does not copy (they are left out: no copy is expected).
 */
export async function readSourceWindow(
  fetcher: RangeFetcher,
  range: { topic: string; partition: number; from: bigint; to: bigint },
  count: number,
  digestOf: (record: FetchedRecord) => Promise<Digest | null>
): Promise<{ records: DrillSourceRecord[]; notCopied: number }> {
  const records: DrillSourceRecord[] = []
  let notCopied = 0
  if (count <= 0 || range.from >= range.to) return { records, notCopied }
  const reader = new PartitionRangeReader(fetcher, range)
  for (let batch = await reader.next(); batch !== null; batch = await reader.next()) {
    for (const record of batch) {
      const digest = await digestOf(record)
      if (digest === null) notCopied++
      else records.push({ offset: record.offset, digest })
      if (records.length >= count) return { records, notCopied }
    }
  }
  return { records, notCopied }
}

export interface TargetWindow {
  records: DrillTargetRecord[]
  /** The read reached the end of what the target serves now (see DrillWindow.targetComplete). */
  complete: boolean
}

/**
 * The target records a consumer would read from the translated offset `from`: until the copy of the
 * source window's last record (`lastSource`; with an empty window, one fetch), the end of the
 * partition (`to`), or `maxRecords`. `onFirstRecord` runs when the first record arrives (RTO).
 */
export async function readTargetWindow(
  fetcher: RangeFetcher,
  range: { topic: string; partition: number; from: bigint; to: bigint },
  owner: CopyOwner,
  lastSource: bigint | null,
  maxRecords: number,
  digestOf: (record: FetchedRecord) => Digest,
  onFirstRecord: () => void
): Promise<TargetWindow> {
  const records: DrillTargetRecord[] = []
  if (range.from >= range.to) return { records, complete: true }
  const reader = new PartitionRangeReader(fetcher, range)
  for (let batch = await reader.next(); batch !== null; batch = await reader.next()) {
    if (records.length === 0) onFirstRecord()
    for (const record of batch) {
      const copiedFrom = copiedOffsetOf(record.headers, owner)
      records.push({ offset: record.offset, copiedFrom, digest: digestOf(record) })
      if (lastSource === null || (copiedFrom !== null && copiedFrom >= lastSource)) return { records, complete: true }
      if (records.length >= maxRecords) return { records, complete: false }
    }
  }
  // Ended at `to`, or short of it at an open transaction (read_committed): nothing more is readable now.
  return { records, complete: true }
}
