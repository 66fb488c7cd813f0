import {
  Base,
  type Broker,
  type ClusterMetadata,
  type Connection,
  kGetApi,
  kGetBootstrapConnection,
  kGetConnection,
  kMetadata
} from '@platformatic/kafka'
import { toClientOptions } from './options.ts'
import { type ClusterConnection } from './types.ts'

/**
 * The client library's base client, for the requests kafka-dr encodes and decodes itself (produce
 * with pre-built record batches, fetch without per-record objects). The library still owns what it
 * does well: connections, TLS, SASL, API version negotiation, metadata and its retries.
 */
export class RawClient extends Base {
  readonly alias: string

  constructor(connection: ClusterConnection, role: string) {
    super(toClientOptions(connection, role))
    this.alias = connection.alias
  }

  metadataOf(topics: string[], forceUpdate: boolean): Promise<ClusterMetadata> {
    return new Promise((resolve, reject) => {
      this[kMetadata]({ topics, forceUpdate }, (error, metadata) => (error ? reject(error) : resolve(metadata!)))
    })
  }

  connectionTo(broker: Broker): Promise<Connection> {
    return new Promise((resolve, reject) => {
      this[kGetConnection](broker, (error, connection) => (error ? reject(error) : resolve(connection!)))
    })
  }

  bootstrapConnection(): Promise<Connection> {
    return new Promise((resolve, reject) => {
      this[kGetBootstrapConnection]((error, connection) => (error ? reject(error) : resolve(connection!)))
    })
  }

  /** The highest version of `api` that both the broker and the library implement. */
  negotiatedVersion(api: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this[kGetApi](api, (error, found) => (error ? reject(error) : resolve(found!.version)))
    })
  }
}
