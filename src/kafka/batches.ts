import {
  ATTR_CONTROL,
  ATTR_TIMESTAMP_LOG_APPEND,
  ATTR_TRANSACTIONAL,
  type RawBatch,
  type RawRecord,
  firstRecordKey,
  readRecords,
  recordParts
} from './record-batch.ts'
import { type FetchedRecord } from './types.ts'

/**
 * Fetched record batches (magic v2) into records, with the three things the client library leaves
 * to us: the timestamp type (attributes bit 3), control batches (bit 5) and, under read_committed,
 * aborted transactions (bit 4 plus the response's abortedTransactions list).
 */

export { ATTR_CONTROL, ATTR_TIMESTAMP_LOG_APPEND, ATTR_TRANSACTIONAL }

/** Control record key: int16 version, int16 type; type 0 = ABORT, 1 = COMMIT. */
const CONTROL_TYPE_ABORT = 0

export interface AbortedTransaction {
  producerId: bigint
  firstOffset: bigint
}

export interface DecodeResult {
  records: RawRecord[]
  /** The offset to fetch next: one past the last batch seen, even if it held no deliverable record. */
  nextOffset: bigint
  /** Records dropped because they belong to aborted transactions (read_committed only). */
  abortedRecords: number
  /** Control records passed over (commit/abort markers): they occupy offsets but carry no data. */
  controlRecords: number
}

/** A raw record as an object with its own buffers (views of the fetched bytes, not copies). */
export function toFetchedRecord(record: RawRecord): FetchedRecord {
  const { key, value, headers } = recordParts(record)
  return {
    offset: BigInt(record.offset),
    timestamp: BigInt(record.timestamp),
    timestampType: record.logAppendTime ? 'log-append' : 'create',
    key,
    value,
    headers
  }
}

/**
 * Decoder state for one partition. Aborted-transaction state survives across fetch responses: a
 * transaction's data may arrive in one response and its abort marker in a later one, and the data
 * must still be dropped (the client library's stream only looks within one response).
 */
export class PartitionDecoder {
  readonly readCommitted: boolean
  /** Producer ids whose current transaction is known to be aborted and whose marker is not yet seen. */
  readonly #abortedProducers = new Set<bigint>()
  /** Aborted transactions announced by the broker but not yet reached, sorted by firstOffset. */
  #pending: AbortedTransaction[] = []

  constructor(readCommitted: boolean) {
    this.readCommitted = readCommitted
  }

  /**
   * Decodes the batches of one fetch response for this partition. Records below `fetchOffset` are
   * skipped: the broker returns whole batches, which may start before the requested offset.
   */
  decode(
    batches: readonly RawBatch[],
    fetchOffset: bigint,
    abortedTransactions: readonly AbortedTransaction[] | null | undefined,
    provenanceKey: Buffer | null = null
  ): DecodeResult {
    if (this.readCommitted && abortedTransactions != null && abortedTransactions.length > 0) {
      this.#addPending(abortedTransactions)
    }
    const records: RawRecord[] = []
    let nextOffset = fetchOffset
    let abortedRecords = 0
    let controlRecords = 0
    const from = Number(fetchOffset)

    for (const batch of batches) {
      const lastOffset = batch.baseOffset + BigInt(batch.lastOffsetDelta)
      if (lastOffset < fetchOffset) continue
      if (lastOffset + 1n > nextOffset) nextOffset = lastOffset + 1n

      if (this.readCommitted) this.#activatePending(lastOffset)

      const transactional = (batch.attributes & ATTR_TRANSACTIONAL) !== 0
      if ((batch.attributes & ATTR_CONTROL) !== 0) {
        controlRecords += batch.recordCount
        if (transactional && controlType(batch) === CONTROL_TYPE_ABORT) {
          this.#abortedProducers.delete(batch.producerId)
        }
        continue
      }
      if (this.readCommitted && transactional && this.#abortedProducers.has(batch.producerId)) {
        abortedRecords += batch.recordCount
        continue
      }
      readRecords(batch, from, provenanceKey, records)
    }
    return { records, nextOffset, abortedRecords, controlRecords }
  }

  /** Forget transaction state, e.g. after the caller seeks to another offset. */
  reset(): void {
    this.#abortedProducers.clear()
    this.#pending = []
  }

  #addPending(list: readonly AbortedTransaction[]): void {
    const known = new Set(this.#pending.map(t => `${t.producerId}:${t.firstOffset}`))
    for (const t of list) {
      if (!known.has(`${t.producerId}:${t.firstOffset}`)) this.#pending.push(t)
    }
    this.#pending.sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0))
  }

  #activatePending(upToOffset: bigint): void {
    let i = 0
    while (i < this.#pending.length && this.#pending[i]!.firstOffset <= upToOffset) {
      this.#abortedProducers.add(this.#pending[i]!.producerId)
      i++
    }
    if (i > 0) this.#pending = this.#pending.slice(i)
  }
}

function controlType(batch: RawBatch): number {
  const key = firstRecordKey(batch)
  return key != null && key.length >= 4 ? key.readInt16BE(2) : -1
}
