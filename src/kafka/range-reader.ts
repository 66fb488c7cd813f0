import { setTimeout as sleep } from 'node:timers/promises'
import { Backoff, type BackoffClock, type BackoffPolicy, systemClock } from '../core/backoff.ts'
import { KdrError, describeCause, formatLocation } from '../errors.ts'
import { type PartitionFetch } from './fetcher.ts'
import { type FetchedRecord, type TopicPartitionOffset } from './types.ts'

/**
 * Reads one partition's offsets [from, to) to the end, for the readers that need a whole range rather
 * than a stream: the state store (the whole state topic at start-up), failback (the divergent tail)
 * and verify (both sides of a partition). Not the replicator's data path.
 *
 * Guarantees:
 * - records are delivered in offset order, each once, all within [from, to);
 * - a retriable error (or a fetch that throws, e.g. a broker unreachable) is retried with the shared
 *   backoff; when the bound is reached the reader throws a KdrError naming cluster, topic, partition
 *   and the offset it was at, with the last cause;
 * - a non-retriable error is thrown as the fetcher reported it (it names the location), except a log
 *   start that moved past the reader (retention), which `followLogStart` turns into a recorded skip;
 * - the reader never stops short silently: when the log ends below `to`, or an open transaction holds
 *   the last stable offset below `to` (read_committed), it ends with `complete: false` and a
 *   `shortfall` saying where and why; the caller decides whether that is an error.
 */

/** What the reader needs of a fetcher (PartitionFetcher has it; tests pass a fake). */
export interface RangeFetcher {
  readonly cluster: string
  fetch(requests: readonly TopicPartitionOffset[]): Promise<PartitionFetch[]>
}

export interface PartitionRange {
  topic: string
  partition: number
  from: bigint
  /** Exclusive. */
  to: bigint
}

export interface ReadRangeOptions {
  /** Retry pacing and bound (default READ_RANGE_BACKOFF). */
  backoff?: BackoffPolicy
  clock?: BackoffClock
  /** How to wait between retries (tests pass a fake). */
  sleep?: (ms: number) => Promise<void>
  /**
   * When an open transaction holds the last stable offset below `to`: 'return' at once with the
   * shortfall (default), or 'wait' for the transaction to end, retrying with the backoff, and return
   * with the shortfall only at the bound.
   */
  unstable?: 'return' | 'wait'
  /**
   * When the log start moved past the reader (retention or deletion during the read): continue at the
   * new log start and list the skipped range in `skipped` (true), or throw the out-of-range error
   * (false, default).
   */
  followLogStart?: boolean
}

/** Defaults: quick first retries, at most 5 s apart, given up after 30 s without progress. */
export const READ_RANGE_BACKOFF: BackoffPolicy = { initialMs: 100, maxMs: 5000, maxElapsedMs: 30_000 }

export interface RangeShortfall {
  /** 'open-transaction': the last stable offset is below `to`; 'log-end': the log ends below `to`. */
  reason: 'open-transaction' | 'log-end'
  /** The first offset not read. */
  at: bigint
  lastStableOffset: bigint
  highWatermark: bigint
}

export interface RangeReadEnd {
  /** Where reading ended: `to` when complete, else the first offset not read. */
  next: bigint
  complete: boolean
  shortfall: RangeShortfall | null
  /** Ranges the log start moved past during the read (only with followLogStart). */
  skipped: { from: bigint; to: bigint }[]
  records: number
  /** Retries over the whole read. */
  retries: number
}

/** Pull-style reader: `next()` until it returns null, then `end` says where and why it ended. */
export class PartitionRangeReader {
  readonly #fetcher: RangeFetcher
  readonly #range: PartitionRange
  readonly #options: ReadRangeOptions
  readonly #backoff: Backoff
  readonly #sleep: (ms: number) => Promise<void>
  #offset: bigint
  #end: RangeReadEnd | null = null
  readonly #skipped: { from: bigint; to: bigint }[] = []
  #records = 0
  #retries = 0

  constructor(fetcher: RangeFetcher, range: PartitionRange, options: ReadRangeOptions = {}) {
    this.#fetcher = fetcher
    this.#range = range
    this.#options = options
    this.#backoff = new Backoff(options.backoff ?? READ_RANGE_BACKOFF, options.clock ?? systemClock)
    this.#sleep = options.sleep ?? (ms => sleep(ms))
    this.#offset = range.from
  }

  /** Null once the read ended (complete or short). */
  get end(): RangeReadEnd | null {
    return this.#end
  }

  /** The next records of the range in offset order (never empty), or null at the end. */
  async next(): Promise<FetchedRecord[] | null> {
    const { topic, partition, to } = this.#range
    for (;;) {
      if (this.#end !== null) return null
      const offset = this.#offset
      if (offset >= to) {
        this.#finish(null)
        return null
      }
      let result: PartitionFetch | undefined
      try {
        ;[result] = await this.#fetcher.fetch([{ topic, partition, offset }])
      } catch (error) {
        await this.#retry(error)
        continue
      }
      if (result === undefined) {
        await this.#retry(new Error('the fetch returned no result for the partition'))
        continue
      }
      if (result.error !== undefined) {
        const { error, retriable } = result.error
        if (
          error.code === 'KDR_ERR_OFFSET_OUT_OF_RANGE' &&
          this.#options.followLogStart === true &&
          result.logStartOffset > offset
        ) {
          const resume = result.logStartOffset < to ? result.logStartOffset : to
          this.#skipped.push({ from: offset, to: resume })
          this.#offset = resume
          this.#backoff.reset()
          continue
        }
        if (!retriable) throw error
        await this.#retry(error)
        continue
      }
      let records = result.records
      if (records.length > 0 && (records[0]!.offset < offset || records.at(-1)!.offset >= to)) {
        records = records.filter(r => r.offset >= offset && r.offset < to)
      }
      if (result.nextOffset > offset) {
        this.#offset = result.nextOffset
        this.#backoff.reset()
        if (records.length === 0) continue // only control records or aborted data: go on
        this.#records += records.length
        return records
      }
      // Nothing returned at `offset`: say why instead of looping or stopping short in silence.
      const { highWatermark, lastStableOffset } = result
      if (highWatermark >= 0n && highWatermark <= offset) {
        this.#finish({ reason: 'log-end', at: offset, lastStableOffset, highWatermark })
        return null
      }
      if (lastStableOffset >= 0n && lastStableOffset <= offset) {
        const shortfall: RangeShortfall = { reason: 'open-transaction', at: offset, lastStableOffset, highWatermark }
        if (this.#options.unstable !== 'wait' || !(await this.#wait())) {
          this.#finish(shortfall)
          return null
        }
        continue
      }
      await this.#retry(
        new Error(`no records returned although the log holds records up to ${highWatermark} (high watermark)`)
      )
    }
  }

  #finish(shortfall: RangeShortfall | null): void {
    this.#end = {
      next: shortfall === null ? this.#range.to : shortfall.at,
      complete: shortfall === null,
      shortfall,
      skipped: this.#skipped,
      records: this.#records,
      retries: this.#retries
    }
  }

  /** Sleeps the next backoff delay; false when the bound is reached. */
  async #wait(): Promise<boolean> {
    const delay = this.#backoff.next()
    if (delay === null) return false
    this.#retries++
    await this.#sleep(delay)
    return true
  }

  /** Sleeps before a retry, or throws when the bound is reached. */
  async #retry(cause: unknown): Promise<void> {
    if (await this.#wait()) return
    const { topic, partition, from, to } = this.#range
    const location = { cluster: this.#fetcher.cluster, topic, partition, offset: this.#offset }
    // A KdrError's message ends with its own location: keep only its reason, the new one says where.
    const reason = KdrError.is(cause)
      ? cause.message.slice(0, cause.message.length - formatLocation(cause.location).length)
      : describeCause(cause)
    throw new KdrError(
      'KDR_ERR_KAFKA_FETCH',
      `reading offsets [${from}, ${to}) gave up after ${this.#backoff.attempts} retries in ${this.#backoff.elapsedMs} ms: ${reason}`,
      location,
      { cause }
    )
  }
}

/**
 * Reads [from, to) and hands each fetch's records to `onRecords` (awaited before the next fetch, so
 * a slow consumer slows the read and memory stays at one fetch). Returns how the read ended.
 */
export async function readPartitionRange(
  fetcher: RangeFetcher,
  range: PartitionRange,
  onRecords: (records: FetchedRecord[]) => void | Promise<void>,
  options: ReadRangeOptions = {}
): Promise<RangeReadEnd> {
  const reader = new PartitionRangeReader(fetcher, range, options)
  for (let records = await reader.next(); records !== null; records = await reader.next()) await onRecords(records)
  return reader.end!
}
