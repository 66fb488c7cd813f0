import { type BaseOptions } from '@platformatic/kafka'
import { tokenSourceFor } from './oauth-token.ts'
import { type ConnectionContext, watchTlsAlerts } from './tls-alerts.ts'
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
  if (connection.tls !== undefined) {
    options.tls = connection.tls
    // Connections inherit the context: a TLS alert they receive is recorded against this cluster.
    options.context = { kdrCluster: connection.alias } satisfies ConnectionContext
    watchTlsAlerts()
  }
  const sasl = connection.sasl
  if (sasl?.mechanism === 'OAUTHBEARER') {
    // Called at every authentication and re-authentication (KIP-368), which the library schedules at
    // 80 % of the session lifetime the broker grants (connections.max.reauth.ms, capped by the token).
    const source = tokenSourceFor(connection.alias, sasl)
    options.sasl = { mechanism: 'OAUTHBEARER', token: () => source.token() }
  } else if (sasl !== undefined) {
    const { mechanism, username, password } = sasl
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
