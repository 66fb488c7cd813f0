import { setTimeout as sleep } from 'node:timers/promises'
import { Backoff, type BackoffPolicy } from '../core/backoff.ts'
import { KdrError } from '../errors.ts'
import { type OAuthBearerSettings } from './types.ts'

/**
 * Access tokens for SASL OAUTHBEARER, from the OAuth 2.0 client-credentials grant (RFC 6749 §4.4):
 * a POST of `grant_type=client_credentials` (and `scope`) to the token endpoint, the client
 * authenticating with its id and secret (HTTP Basic by default, §2.3.1; or in the form body).
 *
 * The client library asks for a token at every authentication: when a connection opens, and when it
 * re-authenticates (KIP-368) at 80 % of the session lifetime the broker granted, which is at most the
 * token's remaining lifetime. Invariants:
 * - a token is handed out until 80 % of its lifetime has passed (`refreshAt`); the first request after
 *   that fetches a new one, so every authentication gets a token with at least a fifth of its life left
 *   whenever the endpoint answers;
 * - one fetch at a time per source: concurrent connections share it;
 * - a fetch retries network failures, 5xx and 429 with bounded backoff; a refused grant (4xx) fails at
 *   once (retrying cannot fix credentials);
 * - if a refresh fails while the cached token has not expired, that token is still handed out (the
 *   next request tries again); only without a valid token does authentication fail, with an error
 *   naming the cluster and the endpoint, never the secret or a token.
 */

export interface TokenSourceOptions {
  /** Cluster alias, for errors. */
  cluster: string
  settings: OAuthBearerSettings
  /** Share of a token's lifetime after which it is refreshed (default 0.8). */
  refreshAfter?: number
  /** Time limit of one HTTP request (default 10 s). */
  requestTimeoutMs?: number
  retry?: BackoffPolicy
  now?: () => number
  fetch?: typeof fetch
}

export interface CachedToken {
  value: string
  obtainedAt: number
  refreshAt: number
  expiresAt: number
}

const DEFAULT_RETRY: BackoffPolicy = { initialMs: 250, maxMs: 2000, maxAttempts: 4 }

export class OAuthTokenSource {
  readonly #options: TokenSourceOptions
  readonly #now: () => number
  #cached: CachedToken | null = null
  #inflight: Promise<CachedToken> | null = null
  #fetched = 0

  constructor(options: TokenSourceOptions) {
    this.#options = options
    this.#now = options.now ?? Date.now
  }

  /** Tokens obtained so far. */
  get fetched(): number {
    return this.#fetched
  }

  /** A token to authenticate with now (see the invariants above). */
  async token(): Promise<string> {
    const cached = this.#cached
    if (cached !== null && this.#now() < cached.refreshAt) return cached.value
    try {
      return (await this.#refresh()).value
    } catch (error) {
      if (cached !== null && this.#now() < cached.expiresAt) return cached.value
      throw error
    }
  }

  #refresh(): Promise<CachedToken> {
    this.#inflight ??= this.#fetchWithRetries().finally(() => (this.#inflight = null))
    return this.#inflight
  }

  async #fetchWithRetries(): Promise<CachedToken> {
    const backoff = new Backoff(this.#options.retry ?? DEFAULT_RETRY)
    for (;;) {
      try {
        const token = await this.#fetchOnce()
        this.#cached = token
        this.#fetched++
        return token
      } catch (error) {
        const retryable = !(error instanceof GrantRefused)
        const delay = retryable ? backoff.next() : null
        if (delay === null) {
          const tries = backoff.attempts + 1
          const reason = error instanceof Error ? error.message : String(error)
          throw new KdrError(
            'KDR_ERR_KAFKA_CONNECT',
            `cannot get an OAUTHBEARER token from ${this.#options.settings.tokenEndpoint} (${tries} ${tries === 1 ? 'try' : 'tries'}): ${reason}`,
            { cluster: this.#options.cluster }
          )
        }
        await sleep(delay)
      }
    }
  }

  async #fetchOnce(): Promise<CachedToken> {
    const { settings } = this.#options
    const body = new URLSearchParams({ grant_type: 'client_credentials' })
    if (settings.scope !== undefined) body.set('scope', settings.scope)
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json'
    }
    if (settings.clientAuthMethod === 'basic') {
      // RFC 6749 §2.3.1: id and secret are form-encoded before they are joined and base64-encoded.
      const pair = `${formEncode(settings.clientId)}:${formEncode(settings.clientSecret)}`
      headers.authorization = `Basic ${Buffer.from(pair).toString('base64')}`
    } else {
      body.set('client_id', settings.clientId)
      body.set('client_secret', settings.clientSecret)
    }
    const requestedAt = this.#now()
    let response: Response
    try {
      response = await (this.#options.fetch ?? fetch)(settings.tokenEndpoint, {
        method: 'POST',
        headers,
        body: body.toString(),
        signal: AbortSignal.timeout(this.#options.requestTimeoutMs ?? 10_000),
        redirect: 'error'
      })
    } catch (error) {
      // fetch's own message is "fetch failed"; the reason (ECONNREFUSED, a certificate error) is its cause.
      const cause = (error as { cause?: { message?: unknown; code?: unknown } }).cause
      const detail =
        typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : ''
      throw new Error(`request failed: ${(error as Error).message}${detail === '' ? '' : ` (${detail})`}`, {
        cause: error
      })
    }
    const text = await response.text()
    if (!response.ok) {
      const message = `HTTP ${response.status}${oauthError(text)}`
      if (response.status >= 400 && response.status < 500 && response.status !== 429) throw new GrantRefused(message)
      throw new Error(message)
    }
    return parseTokenResponse(text, requestedAt, this.#options.refreshAfter ?? 0.8)
  }
}

/** A 4xx answer other than 429: the endpoint refused the grant; retrying cannot help. */
class GrantRefused extends Error {}

function formEncode(text: string): string {
  return new URLSearchParams({ x: text }).toString().slice(2)
}

/** The `error` code of an RFC 6749 §5.2 error response (never the body itself: it may echo input). */
function oauthError(text: string): string {
  try {
    const parsed = JSON.parse(text) as { error?: unknown }
    return typeof parsed.error === 'string' && /^[\x20-\x7e]{1,64}$/.test(parsed.error) ? ` (${parsed.error})` : ''
  } catch {
    return ''
  }
}

/**
 * RFC 6749 §5.1: `access_token`, `token_type` Bearer, and the lifetime in `expires_in` seconds. When
 * `expires_in` is missing, the token's own `exp` claim (a JWT) decides; without either kafka-dr could
 * not know when to refresh, so the response is refused. Lifetimes count from when the request was sent.
 */
export function parseTokenResponse(text: string, requestedAt: number, refreshAfter: number): CachedToken {
  let parsed: { access_token?: unknown; token_type?: unknown; expires_in?: unknown }
  try {
    parsed = JSON.parse(text) as typeof parsed
  } catch {
    throw new Error('the token response is not JSON')
  }
  const value = parsed.access_token
  if (typeof value !== 'string' || value === '') throw new Error('the token response has no access_token')
  if (typeof parsed.token_type === 'string' && parsed.token_type.toLowerCase() !== 'bearer') {
    throw new Error(`the token response has token_type ${JSON.stringify(parsed.token_type.slice(0, 32))}, not Bearer`)
  }
  const expiresIn = Number(parsed.expires_in)
  const expiresAt =
    parsed.expires_in !== undefined && Number.isFinite(expiresIn) && expiresIn > 0
      ? requestedAt + expiresIn * 1000
      : jwtExpiry(value)
  if (expiresAt === undefined) {
    throw new Error(
      'the token response has no expires_in and the token carries no exp claim: cannot tell when to refresh it'
    )
  }
  const lifetime = Math.max(0, expiresAt - requestedAt)
  return { value, obtainedAt: requestedAt, refreshAt: requestedAt + lifetime * refreshAfter, expiresAt }
}

/** The `exp` claim (seconds) of a JWT, in milliseconds; undefined if the token is not a readable JWT. */
function jwtExpiry(token: string): number | undefined {
  const payload = token.split('.')[1]
  if (payload === undefined) return undefined
  try {
    const exp = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown }).exp
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined
  } catch {
    return undefined
  }
}

/**
 * One token source per OAUTHBEARER settings object: every client of a cluster (admin, fetcher,
 * producers, worker group) shares the cluster's compiled settings, so they share tokens too.
 */
const sources = new WeakMap<OAuthBearerSettings, OAuthTokenSource>()

export function tokenSourceFor(cluster: string, settings: OAuthBearerSettings): OAuthTokenSource {
  let source = sources.get(settings)
  if (source === undefined) {
    source = new OAuthTokenSource({ cluster, settings })
    sources.set(settings, source)
  }
  return source
}
