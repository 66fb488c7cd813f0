/**
 * What OFFSET_OUT_OF_RANGE means, once the partition's log range is looked up (ListOffsets):
 * - `below-start`: the records at the fetch offset were deleted (retention) before they were read;
 * - `beyond-end`: the fetch offset is past the log end (the log was truncated or replaced);
 * - `retry`: nothing can be concluded: the lookup failed, or the range contains the offset (the
 *   error came from a leader in transition). The partition fetches again after a backoff; a failed
 *   lookup never becomes a permanent stop.
 */
export type OutOfRangeOutcome = 'below-start' | 'beyond-end' | 'retry'

export function outOfRangeOutcome(
  fetchOffset: bigint,
  logStart: bigint | undefined,
  logEnd: bigint | undefined
): OutOfRangeOutcome {
  if (logStart === undefined || logEnd === undefined || logStart < 0n || logEnd < 0n) return 'retry'
  if (fetchOffset < logStart) return 'below-start'
  if (fetchOffset > logEnd) return 'beyond-end'
  return 'retry'
}
