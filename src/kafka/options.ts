import { type BaseOptions } from '@platformatic/kafka'
import { type ClusterConnection } from './types.ts'

/** Maps our connection settings onto the client library's base options. */
export function toClientOptions(connection: ClusterConnection, role: string): BaseOptions {
  const options: BaseOptions = {
    clientId: connection.clientId ?? `kafka-dr-${role}`,
    bootstrapBrokers: connection.bootstrap.map(parseBroker),
    connectTimeout: connection.connectTimeoutMs ?? 10_000,
    requestTimeout: connection.requestTimeoutMs ?? 30_000,
    // Our own loops decide when to retry and report; the library retries only transient faults.
    retries: 3,
    retryDelay: 250,
    // Never create topics as a side effect of metadata or produce calls.
    autocreateTopics: false
  }
  if (connection.tls !== undefined) options.tls = connection.tls
  if (connection.sasl !== undefined) {
    const { mechanism, username, password } = connection.sasl
    options.sasl = { mechanism, username, password }
  }
  return options
}

/** Parses "host:port" into the library's broker shape; IPv6 literals go in brackets. */
export function parseBroker(address: string): { host: string; port: number } {
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(address)
  const port = match?.[2] === undefined ? NaN : Number(match[2])
  if (match?.[1] === undefined || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new TypeError(`bootstrap address "${address}" is not host:port`)
  }
  return { host: match[1], port }
}
