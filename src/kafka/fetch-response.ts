import { type Reader } from '@platformatic/kafka'
import { type AbortedTransaction } from './batches.ts'
import { BatchFormatError } from './record-batch.ts'

/** A partition of a fetch response with its records still as bytes (decoded by PartitionDecoder). */
export interface FetchedPartition {
  partitionIndex: number
  errorCode: number
  highWatermark: bigint
  lastStableOffset: bigint
  logStartOffset: bigint
  abortedTransactions: AbortedTransaction[] | null
  /**
   * Set when the fetch's last_fetched_epoch shows that the leader's log diverged from what was
   * fetched before (KIP-320, unclean leader election): the leader's log for `epoch` ends at
   * `endOffset`, below the fetch offset. No records come with it.
   */
  divergingEpoch: { epoch: number; endOffset: bigint } | null
  records: Buffer | null
}

export interface FetchResponse {
  errorCode: number
  responses: { topicId: string; partitions: FetchedPartition[] }[]
}

/** Tag of DivergingEpoch among a Fetch response partition's tagged fields (v12+). */
const TAG_DIVERGING_EPOCH = 0

/*
  Fetch Response (Versions: 13..17) => throttle_time_ms error_code session_id [responses] TAG_BUFFER
    responses => topic_id [partitions] TAG_BUFFER
      partitions => partition_index error_code high_watermark last_stable_offset log_start_offset
                    [aborted_transactions] preferred_read_replica records TAG_BUFFER
        aborted_transactions => producer_id first_offset TAG_BUFFER
  A partition's tagged fields: 0 = diverging_epoch (epoch int32, end_offset int64, TAG_BUFFER), read;
  1 current_leader and 2 snapshot_id are passed over (metadata is refreshed on leadership errors).
  Unlike the client library's parser this one leaves each partition's records as one buffer, so
  records are decoded once, by our decoder, without an object per field.
*/
export function parseFetchResponse(
  _correlationId: number,
  _apiKey: number,
  _apiVersion: number,
  reader: Reader
): FetchResponse {
  reader.readInt32() // throttle_time_ms
  const errorCode = reader.readInt16()
  reader.readInt32() // session_id
  const responses = reader.readArray(
    r => {
      const topicId = r.readUUID()
      const partitions = r.readArray(
        p => {
          const partition: FetchedPartition = {
            partitionIndex: p.readInt32(),
            errorCode: p.readInt16(),
            highWatermark: p.readInt64(),
            lastStableOffset: p.readInt64(),
            logStartOffset: p.readInt64(),
            abortedTransactions: p.readNullableArray(
              a => {
                const aborted = { producerId: a.readInt64(), firstOffset: a.readInt64() }
                a.readTaggedFields()
                return aborted
              },
              true,
              false
            ),
            divergingEpoch: null,
            records: null
          }
          p.readInt32() // preferred_read_replica
          const size = p.readUnsignedVarInt() - 1
          // A records length past the response is corruption, not a batch cut by a size limit.
          if (size > p.remaining) {
            throw new BatchFormatError(
              `partition ${partition.partitionIndex}: records field of ${size} bytes, ${p.remaining} left in the fetch response`
            )
          }
          if (size > 0) {
            partition.records = p.buffer.slice(p.position, p.position + size)
            p.skip(size)
          }
          const tags = p.readUnsignedVarInt()
          for (let t = 0; t < tags; t++) {
            const tag = p.readUnsignedVarInt()
            const length = p.readUnsignedVarInt()
            if (tag !== TAG_DIVERGING_EPOCH) {
              p.skip(length)
              continue
            }
            const end = p.position + length
            const epoch = p.readInt32()
            const endOffset = p.readInt64()
            // A default (-1, -1) means "no divergence" (the field is only sent when set).
            if (epoch >= 0 || endOffset >= 0n) partition.divergingEpoch = { epoch, endOffset }
            p.skip(end - p.position)
          }
          return partition
        },
        true,
        false
      )
      r.readTaggedFields()
      return { topicId, partitions }
    },
    true,
    false
  )
  reader.readTaggedFields()
  return { errorCode, responses }
}
