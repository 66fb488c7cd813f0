/**
 * kafka-dr's closed error registry. Every failure that reaches an operator carries one of these
 * codes plus the coordinates it concerns (cluster, topic, partition, offset), so a log line or a CLI
 * message can always say *where* something went wrong. Messages never contain secrets: callers pass
 * cluster aliases and bootstrap addresses, never credentials.
 */
export const errorCodes = [
  'KDR_ERR_CONFIG',
  'KDR_ERR_KAFKA_ADMIN',
  'KDR_ERR_KAFKA_CONNECT',
  'KDR_ERR_KAFKA_FETCH',
  'KDR_ERR_KAFKA_PRODUCE',
  'KDR_ERR_OFFSET_OUT_OF_RANGE',
  'KDR_ERR_SOURCE_DATA_LOST',
  'KDR_ERR_SOURCE_TOPIC_RECREATED',
  'KDR_ERR_STATE',
  'KDR_ERR_FENCED',
  'KDR_ERR_FAILOVER',
  'KDR_ERR_UNKNOWN_TOPIC',
  'KDR_ERR_FOREIGN_TARGET',
  'KDR_ERR_SCHEMA_REGISTRY',
  'KDR_ERR_SCHEMA',
  'KDR_ERR_RUNTIME'
] as const

export type ErrorCode = (typeof errorCodes)[number]

/** Where an error happened; every field optional, filled as far as the caller knows it. */
export interface ErrorLocation {
  cluster?: string
  topic?: string
  partition?: number
  offset?: bigint
  operation?: string
}

const kKdrError = Symbol.for('kafka-dr.error')

export class KdrError extends Error {
  readonly code: ErrorCode
  readonly location: ErrorLocation
  readonly [kKdrError] = true

  constructor(code: ErrorCode, message: string, location: ErrorLocation = {}, options?: { cause?: unknown }) {
    super(`${message}${formatLocation(location)}`, options)
    this.name = 'KdrError'
    this.code = code
    this.location = location
  }

  /** Identity by symbol, not by class, so duplicate package copies still recognise each other. */
  static is(error: unknown): error is KdrError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[kKdrError] === true
  }
}

/** Renders " (cluster dc1, topic orders, partition 3, offset 42)" with only the known parts. */
export function formatLocation(location: ErrorLocation): string {
  const parts: string[] = []
  if (location.operation !== undefined) parts.push(`during ${location.operation}`)
  if (location.cluster !== undefined) parts.push(`cluster ${location.cluster}`)
  if (location.topic !== undefined) parts.push(`topic ${location.topic}`)
  if (location.partition !== undefined) parts.push(`partition ${location.partition}`)
  if (location.offset !== undefined) parts.push(`offset ${location.offset}`)
  return parts.length === 0 ? '' : ` (${parts.join(', ')})`
}

/**
 * A short text for the cause chain of any thrown value: nested causes and aggregated client errors
 * (retries, one per broker) down to the root reason, e.g. "Connection to host:port failed: SASL
 * authentication failed", each distinct reason once. A KdrError's message already describes its cause.
 */
export function describeCause(error: unknown): string {
  return describeChain(error, new Set())
}

function describeChain(error: unknown, seen: Set<string>): string {
  if (!(error instanceof Error)) return String(error)
  const own = error.message.replace(/\.$/, '')
  seen.add(own)
  if (error instanceof KdrError) return own
  const errors: unknown = (error as { errors?: unknown }).errors
  const inner: unknown[] = Array.isArray(errors) ? errors : []
  const causes = inner.length > 0 ? inner : error.cause === undefined ? [] : [error.cause]
  const reasons = [...new Set(causes.map(c => describeChain(c, new Set(seen))))].filter(r => r !== '' && !seen.has(r))
  return reasons.length === 0 ? own : `${own}: ${reasons.join('; ')}`
}
