import { type Reader, Writer } from '@platformatic/kafka'

/**
 * The Produce request and response (v9..v11) kafka-dr encodes itself: batches go on the wire as the
 * bytes RecordBatchWriter built, with no per-record objects (BatchProducer sends them).
 */

const ACKS_ALL = -1

export interface Pending {
  topic: string
  partition: number
  batch: Buffer
  records: number
  sequence: number
  producerId: bigint
  /** Times this batch went back to the queue after the leader moved or was not ready yet. */
  attempts: number
  resolve: (baseOffset: bigint) => void
  reject: (error: Error) => void
}

export interface PartitionAnswer {
  errorCode: number
  baseOffset: bigint
  errorMessage: string | null
}

export type ProduceAnswers = Map<string, PartitionAnswer>

export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`
}

/*
  Produce Request (Version: 9..11) => transactional_id acks timeout_ms [topic_data] TAG_BUFFER
    topic_data => name [partition_data] TAG_BUFFER
      partition_data => index records TAG_BUFFER
*/
export function createProduceRequest(
  transactionalId: string | null,
  timeoutMs: number,
  byTopic: Map<string, Pending[]>
): Writer {
  const writer = Writer.create().appendString(transactionalId).appendInt16(ACKS_ALL).appendInt32(timeoutMs)
  writer.appendUnsignedVarInt(byTopic.size + 1)
  for (const [topic, list] of byTopic) {
    writer.appendString(topic).appendUnsignedVarInt(list.length + 1)
    for (const pending of list) {
      writer
        .appendInt32(pending.partition)
        .appendUnsignedVarInt(pending.batch.length + 1)
        .append(pending.batch)
      writer.appendTaggedFields()
    }
    writer.appendTaggedFields()
  }
  return writer.appendTaggedFields()
}

/*
  Produce Response (Version: 9..11) => [responses] throttle_time_ms TAG_BUFFER
    responses => name [partition_responses] TAG_BUFFER
      partition_responses => index error_code base_offset log_append_time_ms log_start_offset
                             [record_errors] error_message TAG_BUFFER
        record_errors => batch_index batch_index_error_message TAG_BUFFER
*/
export function parseProduceResponse(
  _correlationId: number,
  _apiKey: number,
  _apiVersion: number,
  reader: Reader
): ProduceAnswers {
  const answers: ProduceAnswers = new Map()
  reader.readArray(
    r => {
      const topic = r.readString()
      r.readArray(
        p => {
          const index = p.readInt32()
          const errorCode = p.readInt16()
          const baseOffset = p.readInt64()
          p.readInt64() // log_append_time_ms
          p.readInt64() // log_start_offset
          const recordErrors: string[] = []
          p.readArray(
            e => {
              const batchIndex = e.readInt32()
              const message = e.readNullableString()
              e.readTaggedFields()
              recordErrors.push(`record ${batchIndex}: ${message ?? 'no message'}`)
            },
            true,
            false
          )
          const errorMessage = p.readNullableString()
          p.readTaggedFields()
          const detail = [errorMessage, ...recordErrors].filter(m => m !== null && m !== '').join('; ')
          answers.set(partitionKey(topic, index), {
            errorCode,
            baseOffset,
            errorMessage: detail === '' ? null : detail
          })
        },
        true,
        false
      )
      r.readTaggedFields()
    },
    true,
    false
  )
  reader.readInt32() // throttle_time_ms
  reader.readTaggedFields()
  return answers
}
