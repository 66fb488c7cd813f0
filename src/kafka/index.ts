/**
 * kafka-dr's only door to the Kafka client library. Everything else imports from here (enforced by
 * eslint's no-restricted-imports), so the library can be patched or replaced in one place.
 */
export { KafkaAdmin, type ClusterDescription, type NewTopic, type OffsetSpec, type TopicDescription } from './admin.ts'
export { PartitionFetcher, type PartitionFetch, type PartitionFetcherOptions } from './fetcher.ts'
export { RecordProducer, type ProducedPartition, type RecordProducerOptions } from './producer.ts'
export { PartitionDecoder, type AbortedTransaction, type BatchView, type DecodeResult } from './batches.ts'
export { parseBroker } from './options.ts'
export { protocolErrorName } from './call.ts'
export type * from './types.ts'
