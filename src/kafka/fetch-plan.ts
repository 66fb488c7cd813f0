/**
 * The order and sizes of the partitions in one Fetch request, so no partition starves:
 *
 * - A broker fills a response in request order until its size limit is spent, so the partitions
 *   asked for first are served first. The order rotates by one position every request: each
 *   partition is at the front in turn.
 * - A broker returns a record batch larger than the partition's limit whole only to the first
 *   partition of the response (KIP-74); to any other it sends a cut-off piece, and the partition
 *   would fetch that piece forever. A partition whose last answer held no complete batch goes
 *   first in the next request, asking for at least that batch's size (bounded by the response
 *   limit: a larger batch is reported, never fetched).
 */

export interface PlannedPartition<R> {
  request: R
  /** partition_max_bytes for this partition in this request. */
  maxBytes: number
}

/**
 * The requests in fetch order: rotated by `round`, partitions waiting for an oversized batch first
 * (`needed` > 0: the batch's size), each with its size.
 */
export function planFetch<R>(
  requests: readonly R[],
  round: number,
  partitionMaxBytes: number,
  needed: (request: R) => number
): PlannedPartition<R>[] {
  const n = requests.length
  const first: PlannedPartition<R>[] = []
  const rest: PlannedPartition<R>[] = []
  const shift = n === 0 ? 0 : round % n
  for (let i = 0; i < n; i++) {
    const request = requests[(i + shift) % n]!
    const size = needed(request)
    if (size > 0) first.push({ request, maxBytes: Math.max(partitionMaxBytes, size) })
    else rest.push({ request, maxBytes: partitionMaxBytes })
  }
  return first.length === 0 ? rest : first.concat(rest)
}

/**
 * The size of the record batch a partition's records start with when the answer holds no complete
 * batch (the broker cut it at the size limit), else 0. `completeBatches` is how many complete
 * batches were read from `records`.
 */
export function cutBatchBytes(records: Buffer | null, completeBatches: number): number {
  if (completeBatches > 0 || records === null || records.length < 12) return 0
  const size = records.readInt32BE(8) + 12
  // Not longer than what came: a malformed length, left to the batch decoder to report.
  return size > records.length ? size : 0
}
