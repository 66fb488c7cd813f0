import { subscribe } from 'node:diagnostics_channel'

/**
 * TLS alerts a broker sent, per cluster alias, so a failed call can say why. With TLS 1.3 a broker
 * that requires client certificates (ssl.client.auth=required) completes the handshake and then
 * sends an alert ("certificate required", "bad certificate"); the client library only reports the
 * requests that were waiting as "Connection closed". Its connections are announced on the
 * `plt:kafka:instances` diagnostics channel and carry the `context` given in toClientOptions, so the
 * alert can be recorded here against the cluster it came from. Diagnostic only: nothing depends on it.
 */

/** What toClientOptions puts in a client's `context`, inherited by each of its connections. */
export interface ConnectionContext {
  kdrCluster: string
}

const ALERT_TTL_MS = 30_000
const alerts = new Map<string, { reason: string; at: number }>()
let watching = false

/** Starts recording alerts (idempotent). */
export function watchTlsAlerts(): void {
  if (watching) return
  watching = true
  subscribe('plt:kafka:instances', message => {
    const { type, instance } = message as { type?: string; instance?: ConnectionLike }
    if (type !== 'connection' || instance === undefined) return
    instance.on('error', (error: unknown) => {
      const cluster = (instance.context as Partial<ConnectionContext> | undefined)?.kdrCluster
      const reason = tlsAlertIn(error)
      if (cluster !== undefined && reason !== undefined) alerts.set(cluster, { reason, at: Date.now() })
    })
  })
}

interface ConnectionLike {
  context: unknown
  on(event: 'error', listener: (error: unknown) => void): unknown
}

/** "the broker ended the TLS session with alert <name>" for a recent alert from `cluster`'s brokers. */
export function recentTlsAlert(cluster: string, now = Date.now()): string | undefined {
  const alert = alerts.get(cluster)
  if (alert === undefined || now - alert.at > ALERT_TTL_MS) return undefined
  return `the broker ended the TLS session with alert "${alert.reason}" (a listener with ssl.client.auth=required needs tls.cert and tls.key, signed by a CA the broker trusts)`
}

/** The TLS alert (e.g. "bad certificate") in an error's cause chain: OpenSSL codes ERR_SSL_..._ALERT_... */
export function tlsAlertIn(error: unknown): string | undefined {
  let current: unknown = error
  for (let depth = 0; depth < 6 && current !== null && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code
    const match = typeof code === 'string' ? /^ERR_SSL_.*ALERT_(.+)$/.exec(code) : null
    if (match?.[1] !== undefined) return match[1].toLowerCase().replaceAll('_', ' ')
    current = (current as { cause?: unknown }).cause
  }
  return undefined
}
