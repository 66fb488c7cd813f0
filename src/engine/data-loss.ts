import { KdrError, formatLocation } from '../errors.ts'
import { type PartitionFetch } from '../kafka/index.ts'
import { type Logger } from '../observability/logger.ts'
import { type CopierSettings } from './copier-types.ts'

/**
 * Source data lost before a partition copier (partition-copier.ts) copied it, under the link's
 * onDataLoss policy. Each function decides and, under skip, logs the loss; the copier applies the
 * outcome: a KdrError stops the partition, a count of lost records means it continues.
 */

/** `error` with `policy` said after its message (its location stays at the end, once). */
export function withPolicy(error: KdrError, policy: string): KdrError {
  const message = error.message.slice(0, error.message.length - formatLocation(error.location).length)
  return new KdrError(error.code, `${message}. ${policy}`, error.location, { cause: error.cause })
}

/**
 * The fetch offset is out of range. Below the source log start (records deleted before they were
 * copied): data loss, continue at the log start under skip. Ahead of the log end: the source log
 * was truncated or replaced, and a new position is never guessed (stop).
 */
export function outOfRangeLoss(
  result: PartitionFetch,
  settings: CopierSettings,
  log: Logger,
  topic: string,
  partition: number
): KdrError | bigint {
  const location = {
    cluster: settings.sourceCluster,
    topic,
    partition,
    offset: result.fetchOffset
  }
  const logStart = result.logStartOffset
  if (logStart < 0n || result.fetchOffset >= logStart) {
    // Ahead of the log end: the source log was truncated or replaced. Never guess a new position.
    return new KdrError(
      'KDR_ERR_OFFSET_OUT_OF_RANGE',
      `next offset ${result.fetchOffset} is beyond the source partition's end ${result.highWatermark} (source truncated or re-created); partition stopped`,
      location
    )
  }
  const lost = logStart - result.fetchOffset
  const what = `source data lost: offsets ${result.fetchOffset}..${logStart - 1n} (${lost} records) were deleted on the source before they were replicated`
  if (settings.onDataLoss === 'stop') {
    return new KdrError('KDR_ERR_SOURCE_DATA_LOST', `${what}. Policy onDataLoss=stop: partition stopped`, location)
  }
  log.error(
    { code: 'KDR_ERR_SOURCE_DATA_LOST', from: String(result.fetchOffset), to: String(logStart), lost: String(lost) },
    `${what}. Policy onDataLoss=skip: continuing at ${logStart}; the gap is recorded in the state topic`
  )
  return lost
}

/**
 * The source log diverged below the fetch position (unclean leader election): records fetched
 * from `endOffset` on are no longer on the source. Under skip, the copies stay and fetching goes on.
 */
export function divergedLoss(
  result: PartitionFetch,
  endOffset: bigint,
  error: KdrError,
  settings: CopierSettings,
  log: Logger
): KdrError | bigint {
  const lost = result.fetchOffset > endOffset ? result.fetchOffset - endOffset : 0n
  if (settings.onDataLoss === 'stop') return withPolicy(error, 'Policy onDataLoss=stop: partition stopped')
  settings.events.error(settings.link, error.code)
  log.error(
    { code: error.code, from: String(endOffset), to: String(result.fetchOffset), lost: String(lost) },
    `${error.message}. Policy onDataLoss=skip: copies already on the target stay, the source's new records at these offsets are not copied; continuing at ${result.fetchOffset}`
  )
  return lost
}
