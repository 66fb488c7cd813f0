import { setTimeout as sleep } from 'node:timers/promises'
import { type CopyReader, type FoundCopy } from '../core/copy-search.ts'
import { type CopyOwner, copiedOffsetOf } from '../core/copy-owner.ts'
import { KdrError } from '../errors.ts'
import { PartitionFetcher } from './fetcher.ts'
import { type ClusterConnection, type FetchedRecord } from './types.ts'

/**
 * Finds this link's copies on a target partition by their provenance header (core/copy-search.ts
 * searches with it). One small fetch per step; other writers' records are skipped forward with
 * fetches that double in size (64 KiB up to 8 MiB), at most MAX_SCAN_FETCHES per step, so a
 * translation reads a bounded amount; beyond it, it fails with an error naming the partition (never
 * a wrong answer).
 */

/** Whose copies to look for: see core/copy-owner.ts. */
export type CopySource = CopyOwner

const MAX_SCAN_FETCHES = 32
const MAX_RETRIES = 5
/** The scan's fetch size grows to STEP_BYTES * MAX_SCALE through a long run of other writers' records. */
const MAX_SCALE = 128
/**
 * How a link's copies are searched on its target. `delivery: exactly-once`: read_committed, since the
 * copies of an aborted transaction carry the same provenance as the committed copies written after
 * them and must never be an answer. Otherwise read_uncommitted, so another writer's open transaction
 * never holds a search back.
 */
export function copyIsolation(delivery: 'at-least-once' | 'exactly-once'): 'read_committed' | 'read_uncommitted' {
  return delivery === 'exactly-once' ? 'read_committed' : 'read_uncommitted'
}

/** Enough for one record batch of usual size; the broker returns a larger first batch whole. */
const STEP_BYTES = 64 * 1024

export class TargetCopyReader implements CopyReader {
  readonly #fetcher: PartitionFetcher
  readonly #cluster: string
  readonly #topic: string
  readonly #partition: number
  readonly #source: CopySource
  /** Fetches made: what translations cost. */
  reads = 0

  constructor(fetcher: PartitionFetcher, targetTopic: string, partition: number, source: CopySource) {
    this.#fetcher = fetcher
    this.#cluster = fetcher.cluster
    this.#topic = targetTopic
    this.#partition = partition
    this.#source = source
  }

  /** A fetcher sized for one step of the search (the caller closes it); isolation: copyIsolation. */
  static fetcher(
    connection: ClusterConnection,
    clientId: string,
    isolation: 'read_committed' | 'read_uncommitted' = 'read_uncommitted'
  ): PartitionFetcher {
    return new PartitionFetcher(
      { ...connection, clientId },
      { maxWaitMs: 0, partitionMaxBytes: STEP_BYTES, maxBytes: STEP_BYTES, isolation }
    )
  }

  async firstCopy(from: bigint, to: bigint): Promise<FoundCopy | null> {
    let offset = from
    let retries = 0
    for (let fetches = 0; fetches < MAX_SCAN_FETCHES;) {
      if (offset >= to) return null
      this.reads++
      const scale = Math.min(MAX_SCALE, 2 ** fetches)
      const [result] = await this.#fetcher.fetch([{ topic: this.#topic, partition: this.#partition, offset }], scale)
      if (result === undefined) return null
      if (result.error !== undefined) {
        // Below the target's log start (retention): those copies are gone, search what remains.
        if (result.error.error.code === 'KDR_ERR_OFFSET_OUT_OF_RANGE' && result.logStartOffset > offset) {
          offset = result.logStartOffset
          fetches++
          continue
        }
        if (result.error.retriable && retries < MAX_RETRIES) {
          await sleep(100 * 2 ** retries++)
          continue
        }
        throw new KdrError(
          'KDR_ERR_STATE',
          `cannot read the target to translate offsets: ${result.error.error.message}`,
          { cluster: this.#cluster, topic: this.#topic, partition: this.#partition, offset },
          { cause: result.error.error }
        )
      }
      fetches++
      for (const record of result.records) {
        if (record.offset < offset) continue
        if (record.offset >= to) return null
        const sourceOffset = this.#sourceOffsetOf(record)
        if (sourceOffset !== null) return { targetOffset: record.offset, sourceOffset }
      }
      if (result.nextOffset <= offset) return null // the end of the partition
      offset = result.nextOffset
    }
    throw new KdrError(
      'KDR_ERR_STATE',
      `no copy of ${this.#source.topic}/${this.#source.partition} found within ${MAX_SCAN_FETCHES} fetches from target offset ${from}: too many records of other writers in between`,
      { cluster: this.#cluster, topic: this.#topic, partition: this.#partition, offset: from }
    )
  }

  #sourceOffsetOf(record: FetchedRecord): bigint | null {
    return copiedOffsetOf(record.headers, this.#source)
  }
}
