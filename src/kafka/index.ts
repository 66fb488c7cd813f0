/**
 * kafka-dr's only door to the Kafka client library. Everything else imports from here (enforced by
 * eslint's no-restricted-imports), so the library can be patched or replaced in one place.
 */
export { KafkaAdmin, type ClusterDescription, type NewTopic, type OffsetSpec, type TopicDescription } from './admin.ts'
export {
  type AclBinding as KafkaAclBinding,
  type AclOperationName,
  type AclPatternTypeName,
  type AclPermissionName,
  type AclResourceTypeName
} from './acls.ts'
export { PartitionFetcher, type PartitionFetch, type PartitionFetcherOptions } from './fetcher.ts'
export { RecordProducer, type ProducedPartition, type RecordProducerOptions } from './producer.ts'
export { PartitionDecoder, toFetchedRecord, type AbortedTransaction, type DecodeResult } from './batches.ts'
export { BatchProducer, ProducerClosedError } from './batch-producer.ts'
export { TargetCopyReader, copyIsolation, type CopySource } from './copy-reader.ts'
export { CODEC_IDS, compressorFor, type CompressionName } from './compression.ts'
export { asyncCompressorFor } from './compression-pool.ts'
export {
  RECORD_WRITE_OVERHEAD,
  RecordBatchWriter,
  encodeHeaderKey,
  payloadSpans,
  recordParts,
  type AsyncCompressor,
  type HeaderToAdd,
  type Int32Patch,
  type PayloadSpans,
  type RawRecord
} from './record-batch.ts'
export { parseBroker } from './options.ts'
export { errorNameInChain, protocolErrorName } from './call.ts'
export {
  TransactionError,
  TransactionSession,
  transactionFailureKind,
  type ProducerIdentity,
  type TransactionFailureKind
} from './transaction.ts'
export type * from './types.ts'
export {
  PartitionRangeReader,
  READ_RANGE_BACKOFF,
  readPartitionRange,
  type PartitionRange,
  type RangeFetcher,
  type RangeReadEnd,
  type RangeShortfall,
  type ReadRangeOptions
} from './range-reader.ts'
export { fenceTransactionalIds, type FencedId } from './transaction-fence.ts'
