import { type ConnectionOptions as TlsOptions } from 'node:tls'

/**
 * How to reach one cluster. `alias` is the name the operator gave the cluster in the config; it is
 * what every error message and log line uses, never a credential.
 */
export interface ClusterConnection {
  alias: string
  /** host:port pairs */
  bootstrap: string[]
  clientId?: string
  tls?: TlsOptions
  sasl?: SaslSettings
  connectTimeoutMs?: number
  requestTimeoutMs?: number
}

export type SaslMechanism = 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512'

export interface SaslSettings {
  mechanism: SaslMechanism
  username: string
  /** Resolved secret; never logged. Providers may rotate it by passing a function. */
  password: string | (() => string | Promise<string>)
}

/** Kafka header: the key is a string on the wire (non-null); the value may be null. */
export type RecordHeader = readonly [key: Buffer, value: Buffer | null]

export type TimestampType = 'create' | 'log-append'

/** A record as fetched from one partition, with the timestamp the broker actually serves. */
export interface FetchedRecord {
  offset: bigint
  /** For LogAppendTime batches this is the broker's append time (the batch's maxTimestamp). */
  timestamp: bigint
  timestampType: TimestampType
  key: Buffer | null
  value: Buffer | null
  /** In wire order, duplicates kept. A fresh array per record: the receiver may change it. */
  headers: RecordHeader[]
}

/** A record to write to an explicit partition, with an explicit timestamp. */
export interface RecordToProduce {
  partition: number
  timestamp: bigint
  key: Buffer | null
  value: Buffer | null
  headers: readonly RecordHeader[]
}

export interface TopicPartition {
  topic: string
  partition: number
}

export interface TopicPartitionOffset extends TopicPartition {
  offset: bigint
}
