import { protocolErrorsCodesById } from '@platformatic/kafka'

/**
 * What a broker's per-partition error code in a Fetch response means for the partition, by name
 * (Kafka protocol error table). Every code gets a name in reports: the ones kafka-dr reacts to are
 * listed here; any other code is reported with the client library's name for it, or as
 * UNKNOWN_ERROR_<code>, and stops the partition (an error kafka-dr does not know is never retried
 * blindly nor dropped).
 */

/**
 * - `refresh`: transient (leadership moved, a replica not ready): the partition retries with a
 *   short backoff after a metadata refresh.
 * - `transient`: transient on the broker's side: retried with a short backoff.
 * - `operator`: only an operator can fix it (an ACL): the partition is shown `retrying` with the
 *   broker's error and is retried with a long backoff, so a restored ACL resumes it without a restart.
 * - `stop`: retrying cannot help: the partition stops with the broker's error.
 * OFFSET_OUT_OF_RANGE is not here: the fetcher looks up the log range and the copier decides.
 */
export type FetchErrorAction = 'refresh' | 'transient' | 'operator' | 'stop'

interface FetchErrorKind {
  name: string
  action: FetchErrorAction
}

export const OFFSET_OUT_OF_RANGE = 1
export const FENCED_LEADER_EPOCH = 74
export const UNKNOWN_LEADER_EPOCH = 75

const KNOWN: ReadonlyMap<number, FetchErrorKind> = new Map<number, FetchErrorKind>([
  [-1, { name: 'UNKNOWN_SERVER_ERROR', action: 'stop' }],
  [OFFSET_OUT_OF_RANGE, { name: 'OFFSET_OUT_OF_RANGE', action: 'stop' }],
  [2, { name: 'CORRUPT_MESSAGE', action: 'transient' }],
  [3, { name: 'UNKNOWN_TOPIC_OR_PARTITION', action: 'refresh' }],
  [5, { name: 'LEADER_NOT_AVAILABLE', action: 'refresh' }],
  [6, { name: 'NOT_LEADER_OR_FOLLOWER', action: 'refresh' }],
  [7, { name: 'REQUEST_TIMED_OUT', action: 'transient' }],
  [9, { name: 'REPLICA_NOT_AVAILABLE', action: 'refresh' }],
  [13, { name: 'NETWORK_EXCEPTION', action: 'transient' }],
  [29, { name: 'TOPIC_AUTHORIZATION_FAILED', action: 'operator' }],
  [31, { name: 'CLUSTER_AUTHORIZATION_FAILED', action: 'operator' }],
  [35, { name: 'UNSUPPORTED_VERSION', action: 'stop' }],
  [56, { name: 'KAFKA_STORAGE_ERROR', action: 'refresh' }],
  [FENCED_LEADER_EPOCH, { name: 'FENCED_LEADER_EPOCH', action: 'refresh' }],
  [UNKNOWN_LEADER_EPOCH, { name: 'UNKNOWN_LEADER_EPOCH', action: 'refresh' }],
  [76, { name: 'UNSUPPORTED_COMPRESSION_TYPE', action: 'stop' }],
  [78, { name: 'OFFSET_NOT_AVAILABLE', action: 'refresh' }],
  [100, { name: 'UNKNOWN_TOPIC_ID', action: 'refresh' }],
  [103, { name: 'INCONSISTENT_TOPIC_ID', action: 'refresh' }]
])

/** The name and action for a Fetch partition error code. */
export function fetchErrorKind(code: number): FetchErrorKind {
  const known = KNOWN.get(code)
  if (known !== undefined) return known
  return { name: protocolErrorsCodesById[code] ?? `UNKNOWN_ERROR_${code}`, action: 'stop' }
}
