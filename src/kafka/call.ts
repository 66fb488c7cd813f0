import { type ErrorCode, type ErrorLocation, KdrError, describeCause } from '../errors.ts'
import { recentTlsAlert } from './tls-alerts.ts'

/**
 * Runs one client-library call and relabels any failure with the operation and cluster it concerns,
 * so "describe configs on dc2: TOPIC_AUTHORIZATION_FAILED" reaches the operator instead of a bare
 * protocol error. The original error stays reachable as `cause`.
 */
export async function labelled<T>(
  code: ErrorCode,
  location: ErrorLocation & { operation: string; cluster: string },
  call: () => Promise<T>
): Promise<T> {
  try {
    return await call()
  } catch (error) {
    if (KdrError.is(error)) throw error
    // A connection the broker closed over a TLS alert reports only "Connection closed": add the alert.
    const alert = protocolErrorName(error) === undefined ? recentTlsAlert(location.cluster) : undefined
    const reason = `${describeCause(error)}${alert === undefined ? '' : `; ${alert}`}`
    throw new KdrError(code, `${location.operation} failed: ${reason}`, location, { cause: error })
  }
}

/** The broker's error name (e.g. OFFSET_OUT_OF_RANGE) carried by a protocol error, if any. */
export function protocolErrorName(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const apiId = (error as { apiId?: unknown }).apiId
  if (typeof apiId === 'string') return apiId
  const inner = (error as { errors?: unknown }).errors
  if (Array.isArray(inner)) {
    for (const e of inner) {
      const name = protocolErrorName(e)
      if (name !== undefined) return name
    }
  }
  return undefined
}

/** The broker's error name anywhere in an error's cause chain (wrappers keep the protocol error as cause). */
export function errorNameInChain(error: unknown): string | undefined {
  let current: unknown = error
  for (let depth = 0; depth < 8 && current !== undefined && current !== null; depth++) {
    const name = protocolErrorName(current)
    if (name !== undefined) return name
    current = (current as { cause?: unknown }).cause
  }
  return undefined
}
