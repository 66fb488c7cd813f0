import { KdrError } from '../errors.ts'

/**
 * A client of the Confluent Schema Registry REST API (the subset schema replication needs). It
 * speaks only that API, so it works against Confluent Schema Registry, Apicurio's ccompat API,
 * Karapace and Redpanda alike. Errors name the cluster alias and the request, never a credential.
 */

export interface RegistryConnection {
  /** Alias of the cluster this registry belongs to (for messages). */
  alias: string
  /** Base URL, e.g. http://127.0.0.1:8081 or https://host/apis/ccompat/v7 (no trailing slash needed). */
  url: string
  auth?: { username: string; password: string } | { bearerToken: string }
  timeoutMs?: number
}

export type SchemaType = 'AVRO' | 'PROTOBUF' | 'JSON'

export interface SchemaReference {
  name: string
  subject: string
  version: number
}

/** A schema as registered under a subject and version. */
export interface SubjectVersion {
  subject: string
  version: number
  id: number
  schema: string
  schemaType: SchemaType
  references: SchemaReference[]
}

export interface SchemaToRegister {
  schema: string
  schemaType: SchemaType
  references: SchemaReference[]
}

/** Confluent error codes this project acts on. */
export const REGISTRY_ERRORS = {
  subjectNotFound: 40401,
  versionNotFound: 40402,
  schemaNotFound: 40403,
  subjectCompatibilityNotConfigured: 40408,
  subjectModeNotConfigured: 40409,
  incompatible: 409,
  invalidSchema: 42201
} as const

export class RegistryError extends KdrError {
  readonly status: number
  /** The registry's error_code (e.g. 40403), or the HTTP status when it gave none; 0 when no answer. */
  readonly errorCode: number
  /** Worth trying again later: no answer, a timeout, 5xx or 429. */
  readonly retriable: boolean

  constructor(alias: string, request: string, status: number, errorCode: number, detail: string, cause?: unknown) {
    super(
      'KDR_ERR_SCHEMA_REGISTRY',
      `schema registry of cluster ${alias}: ${request} ${status === 0 ? 'failed' : `answered ${status}`}: ${detail}`,
      {},
      cause === undefined ? undefined : { cause }
    )
    this.status = status
    this.errorCode = errorCode
    this.retriable = status === 0 || status >= 500 || status === 429
  }
}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json'

export class RegistryClient {
  readonly alias: string
  readonly #base: string
  readonly #headers: Record<string, string>
  readonly #timeoutMs: number

  constructor(connection: RegistryConnection) {
    this.alias = connection.alias
    this.#base = connection.url.replace(/\/+$/, '')
    this.#timeoutMs = connection.timeoutMs ?? 10_000
    this.#headers = { accept: `${CONTENT_TYPE}, application/json`, 'content-type': CONTENT_TYPE }
    const auth = connection.auth
    if (auth !== undefined) {
      this.#headers.authorization =
        'bearerToken' in auth
          ? `Bearer ${auth.bearerToken}`
          : `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`
    }
  }

  /** The URL without credentials (URLs with user:password@ are refused by the config). */
  get url(): string {
    return this.#base
  }

  async subjects(deleted = false): Promise<string[]> {
    return this.#call<string[]>('GET', `/subjects${deleted ? '?deleted=true' : ''}`)
  }

  /** Versions of a subject, ascending; [] when the subject does not exist. */
  async versions(subject: string, deleted = false): Promise<number[]> {
    const versions = await this.#orNull(
      this.#call<number[]>('GET', `/subjects/${enc(subject)}/versions${deleted ? '?deleted=true' : ''}`),
      REGISTRY_ERRORS.subjectNotFound
    )
    return (versions ?? []).sort((a, b) => a - b)
  }

  /** A subject's live versions and those soft-deleted (listed only with deleted=true), ascending. */
  async liveAndDeleted(subject: string): Promise<{ live: number[]; softDeleted: number[] }> {
    const [all, live] = await Promise.all([this.versions(subject, true), this.versions(subject)])
    const liveSet = new Set(live)
    return { live, softDeleted: all.filter(v => !liveSet.has(v)) }
  }

  async version(subject: string, version: number, deleted = false): Promise<SubjectVersion> {
    const raw = await this.#call<RawSubjectVersion>(
      'GET',
      `/subjects/${enc(subject)}/versions/${version}${deleted ? '?deleted=true' : ''}`
    )
    return normalize(raw)
  }

  /** The subjects and versions a schema id is registered under (non-deleted ones). */
  async subjectVersionsOf(id: number): Promise<{ subject: string; version: number }[]> {
    return this.#call('GET', `/schemas/ids/${id}/versions`)
  }

  /** The version under `subject` that holds exactly this schema, or null. */
  async lookup(subject: string, schema: SchemaToRegister): Promise<SubjectVersion | null> {
    const raw = await this.#orNull(
      this.#call<RawSubjectVersion>('POST', `/subjects/${enc(subject)}`, body(schema)),
      REGISTRY_ERRORS.subjectNotFound,
      REGISTRY_ERRORS.schemaNotFound
    )
    return raw === null ? null : normalize(raw)
  }

  /** Registers a schema; with `id` and `version` (IMPORT mode) the registry is asked to use them. Returns the id. */
  async register(subject: string, schema: SchemaToRegister, fixed?: { id: number; version: number }): Promise<number> {
    const payload = { ...body(schema), ...(fixed === undefined ? {} : { id: fixed.id, version: fixed.version }) }
    const result = await this.#call<{ id: number }>('POST', `/subjects/${enc(subject)}/versions`, payload)
    return result.id
  }

  /** Compatibility level of a subject, or of the registry when `subject` is null; null when the subject has none of its own. */
  async compatibility(subject: string | null): Promise<string | null> {
    const path = subject === null ? '/config' : `/config/${enc(subject)}`
    const result = await this.#orNull(
      this.#call<{ compatibilityLevel?: string; compatibility?: string }>('GET', path),
      REGISTRY_ERRORS.subjectCompatibilityNotConfigured,
      REGISTRY_ERRORS.subjectNotFound
    )
    return result === null ? null : (result.compatibilityLevel ?? result.compatibility ?? null)
  }

  async setCompatibility(subject: string | null, level: string): Promise<void> {
    await this.#call('PUT', subject === null ? '/config' : `/config/${enc(subject)}`, { compatibility: level })
  }

  async mode(subject: string | null): Promise<string | null> {
    const result = await this.#orNull(
      this.#call<{ mode: string }>('GET', subject === null ? '/mode' : `/mode/${enc(subject)}`),
      REGISTRY_ERRORS.subjectModeNotConfigured,
      REGISTRY_ERRORS.subjectNotFound
    )
    return result?.mode ?? null
  }

  async setMode(subject: string | null, mode: string): Promise<void> {
    await this.#call('PUT', subject === null ? '/mode' : `/mode/${enc(subject)}`, { mode })
  }

  /** Deletes a subject: soft, then (permanent) hard. */
  async deleteSubject(subject: string, permanent: boolean): Promise<void> {
    await this.#call('DELETE', `/subjects/${enc(subject)}${permanent ? '?permanent=true' : ''}`)
  }

  async #orNull<T>(call: Promise<T>, ...codes: number[]): Promise<T | null> {
    try {
      return await call
    } catch (error) {
      if (error instanceof RegistryError && codes.includes(error.errorCode)) return null
      throw error
    }
  }

  async #call<T>(method: string, path: string, payload?: unknown): Promise<T> {
    const request = `${method} ${path.split('?')[0]}`
    let response: Response
    try {
      response = await fetch(`${this.#base}${path}`, {
        method,
        headers: this.#headers,
        ...(payload === undefined ? {} : { body: JSON.stringify(payload) }),
        signal: AbortSignal.timeout(this.#timeoutMs)
      })
    } catch (error) {
      const reason = error instanceof Error ? (describeFetchFailure(error) ?? error.message) : String(error)
      throw new RegistryError(this.alias, `${request} at ${this.#base}`, 0, 0, reason, error)
    }
    const text = await response.text()
    if (!response.ok) {
      let errorCode = response.status
      let detail = text.slice(0, 300)
      try {
        const parsed = JSON.parse(text) as { error_code?: number; message?: string }
        if (typeof parsed.error_code === 'number') errorCode = parsed.error_code
        if (typeof parsed.message === 'string') detail = parsed.message
      } catch {
        // not JSON: keep the start of the text
      }
      throw new RegistryError(this.alias, request, response.status, errorCode, detail)
    }
    return (text === '' ? null : JSON.parse(text)) as T
  }
}

interface RawSubjectVersion {
  subject: string
  version: number
  id: number
  schema: string
  schemaType?: string
  references?: SchemaReference[]
}

function normalize(raw: RawSubjectVersion): SubjectVersion {
  return {
    subject: raw.subject,
    version: raw.version,
    id: raw.id,
    schema: raw.schema,
    // Confluent leaves schemaType out for Avro.
    schemaType: (raw.schemaType ?? 'AVRO') as SchemaType,
    references: raw.references ?? []
  }
}

function body(schema: SchemaToRegister): Record<string, unknown> {
  return {
    schema: schema.schema,
    ...(schema.schemaType === 'AVRO' ? {} : { schemaType: schema.schemaType }),
    ...(schema.references.length === 0 ? {} : { references: schema.references })
  }
}

function enc(subject: string): string {
  return encodeURIComponent(subject)
}

/** fetch() reports "fetch failed" and hides the reason (ECONNREFUSED, timeout) in its cause. */
function describeFetchFailure(error: Error): string | null {
  if (error.name === 'TimeoutError') return 'no answer in time'
  const cause = error.cause as { code?: string; message?: string } | undefined
  if (cause?.code !== undefined) return `${cause.code}${cause.message === undefined ? '' : ` (${cause.message})`}`
  return null
}
