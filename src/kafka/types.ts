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

/** The mechanisms that authenticate with a username and password. */
export type SaslMechanism = 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512'

export type SaslSettings = PasswordSaslSettings | OAuthBearerSettings

export interface PasswordSaslSettings {
  mechanism: SaslMechanism
  username: string
  /** Resolved secret; never logged. Providers may rotate it by passing a function. */
  password: string | (() => string | Promise<string>)
}

/** SASL OAUTHBEARER with tokens from the OAuth 2.0 client-credentials grant (oauth-token.ts). */
export interface OAuthBearerSettings {
  mechanism: 'OAUTHBEARER'
  /** The authorization server's token endpoint (https://, or http:// to a loopback host). */
  tokenEndpoint: string
  clientId: string
  /** Resolved secret; never logged. */
  clientSecret: string
  /** Space-separated scopes to request; none when absent. */
  scope?: string
  /** How the client authenticates to the endpoint: HTTP Basic (RFC 6749 §2.3.1) or in the form body. */
  clientAuthMethod: 'basic' | 'post'
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
