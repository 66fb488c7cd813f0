import { randomBytes } from 'node:crypto'
import { type SchemaIdMode, type SchemaSyncState, type SubjectSyncState } from '../engine-events/index.ts'
import { type SchemaRef, registrationOrder } from '../core/schema-wire.ts'
import { type TopicFilter } from '../core/topic-filter.ts'
import { KdrError, describeCause } from '../errors.ts'
import { type Logger } from '../observability/logger.ts'
import { KeySchemaIds } from './key-ids.ts'
import {
  REGISTRY_ERRORS,
  RegistryError,
  type RegistryClient,
  type SchemaToRegister,
  type SubjectVersion
} from './registry-client.ts'

/**
 * Replicates Schema Registry subjects of one link from the source cluster's registry to the target
 * cluster's: versions in ascending order, referenced schemas first, schema types and references,
 * compatibility levels (global and per subject). Soft-deleted versions are reported, never
 * re-registered.
 *
 * Two paths share one lock, so they never race: the periodic pass (syncAll) and the data path
 * (ensureIds), which registers on demand the schemas a batch of records refers to before the batch
 * is written. Ids: `keep-ids` registers under the source's ids (IMPORT mode, checked by a preflight
 * probe); `translate-ids` lets the target assign ids and keeps the source -> target map that the
 * data path uses to rewrite records.
 */

export interface SchemaSyncSettings {
  link: string
  mode: SchemaIdMode
  subjects: TopicFilter
  /** How long a failed id or subject waits before it is tried again. */
  retryMs: number
  /** Subjects besides `<topic>-key` whose ids mark a wire-format key (schemas.keySubjects); null: none. */
  keySubjects?: TopicFilter | null
}

/** Why a schema could not be made available on the target; names the subject and id. */
export interface SchemaFailure {
  kind: 'unknown-id' | 'excluded' | 'rejected' | 'failed'
  reason: string
}

interface Registered {
  id: number
  version: number
}

const refKey = (subject: string, version: number): string => `${subject}\u0000${version}`

export class SchemaSync {
  readonly #settings: SchemaSyncSettings
  readonly #source: RegistryClient
  readonly #target: RegistryClient
  readonly #log: Logger
  /** Source (subject, version) -> where it is on the target. */
  readonly #registered = new Map<string, Registered>()
  /** Source schema id -> target schema id, for every id known to exist on the target. */
  readonly #ids = new Map<number, number>()
  readonly #idFailures = new Map<number, { failure: SchemaFailure; until: number }>()
  /** Source versions read so far: a (subject, version) never changes content. */
  readonly #versions = new Map<string, SubjectVersion>()
  readonly #subjects = new Map<string, SubjectSyncState>()
  /** keep-ids: subjects already in IMPORT mode on the target. */
  readonly #importing = new Set<string>()
  readonly #keyIds: KeySchemaIds
  #lock: Promise<unknown> = Promise.resolve()
  #lastSyncAt: number | null = null
  #lastError: string | null = null
  #globalCompatibility: string | null = null

  constructor(settings: SchemaSyncSettings, source: RegistryClient, target: RegistryClient, log: Logger) {
    this.#settings = settings
    this.#source = source
    this.#target = target
    this.#log = log.child({ component: 'schemas' })
    this.#keyIds = new KeySchemaIds(source, settings.keySubjects ?? null, this.#log)
  }

  get mode(): SchemaIdMode {
    return this.#settings.mode
  }

  /** The target id of a source id known to exist on the target (hot path: a map lookup). */
  targetId(sourceId: number): number | undefined {
    return this.#ids.get(sourceId)
  }

  /** Hot path: whether a key of `topic` with this id is in the wire format; undefined until decided. */
  keyIsWire(topic: string, id: number): boolean | undefined {
    return this.#keyIds.isWire(topic, id)
  }

  /** Decides the key ids of `topic` not decided yet (see key-ids.ts); throws when the registry cannot answer. */
  async decideKeys(topic: string, ids: Iterable<number>): Promise<void> {
    await this.#keyIds.decide(topic, ids)
  }

  /**
   * Checks, before any record moves, that both registries answer and, for keep-ids, that the target
   * registers schemas under the ids it is given (a probe subject, deleted again afterwards).
   */
  async preflight(): Promise<void> {
    const where = `link ${this.#settings.link}`
    try {
      await Promise.all([this.#source.subjects(), this.#target.subjects()])
    } catch (error) {
      throw new KdrError(
        'KDR_ERR_SCHEMA_REGISTRY',
        `schema replication for ${where} cannot start: ${describeCause(error)}`
      )
    }
    if (this.#settings.mode === 'keep-ids') await this.#probeImport(where)
  }

  async #probeImport(where: string): Promise<void> {
    const target = this.#target
    const tag = randomBytes(6).toString('hex')
    const subject = `_kafka-dr-probe-${tag}`
    const wantedId = 2_000_000_000 + randomBytes(3).readUIntBE(0, 3)
    const schema: SchemaToRegister = {
      schema: JSON.stringify({ type: 'record', name: `KafkaDrProbe${tag}`, fields: [] }),
      schemaType: 'AVRO',
      references: []
    }
    const advice = `Use schemas.mode: translate-ids with this registry, or a registry that supports IMPORT mode with ids (Confluent Schema Registry)`
    let got: number
    try {
      await target.setMode(subject, 'IMPORT')
      got = await target.register(subject, schema, { id: wantedId, version: 1 })
    } catch (error) {
      await this.#removeProbe(subject)
      throw new KdrError(
        'KDR_ERR_SCHEMA_REGISTRY',
        `schemas.mode keep-ids for ${where}: the schema registry of cluster ${target.alias} (${target.url}) refused an IMPORT-mode registration with a given id: ${describeCause(error)}. ${advice}`
      )
    }
    await this.#removeProbe(subject)
    if (got !== wantedId) {
      throw new KdrError(
        'KDR_ERR_SCHEMA_REGISTRY',
        `schemas.mode keep-ids for ${where}: the schema registry of cluster ${target.alias} (${target.url}) does not keep schema ids: asked to register id ${wantedId} in IMPORT mode, it assigned id ${got}. ${advice}`
      )
    }
    this.#log.info(
      { registry: target.url },
      'keep-ids preflight: the target registry registers schemas under given ids'
    )
  }

  async #removeProbe(subject: string): Promise<void> {
    try {
      await this.#target.deleteSubject(subject, false)
      await this.#target.deleteSubject(subject, true)
    } catch (error) {
      this.#log.warn({ subject, err: describeCause(error) }, 'could not delete the keep-ids probe subject')
    }
  }

  /**
   * One pass: compatibility, then every selected subject's missing versions. Failures are per
   * subject. The lock is taken subject by subject, so records waiting for an on-demand registration
   * wait for one subject at most, never for a whole pass.
   */
  async syncAll(): Promise<SchemaSyncState> {
    try {
      await this.#exclusive(() => this.#syncGlobalCompatibility())
      const subjects = (await this.#source.subjects()).filter(s => this.#settings.subjects.matches(s))
      for (const subject of subjects) {
        await this.#exclusive(async () => {
          try {
            await this.#syncSubject(subject, Number.POSITIVE_INFINITY)
          } catch (error) {
            if (error instanceof RegistryError && error.retriable) throw error
            this.#subjectState(subject).failed = describeCause(error)
            this.#log.error({ subject, err: describeCause(error) }, 'schema subject could not be replicated')
          }
        })
      }
      for (const known of this.#subjects.keys()) if (!subjects.includes(known)) this.#subjects.delete(known)
      this.#lastError = null
    } catch (error) {
      this.#lastError = describeCause(error)
      throw error
    } finally {
      this.#lastSyncAt = Date.now()
    }
    return this.state()
  }

  /**
   * Makes every given source id exist on the target before a record that uses it is written:
   * registers the subject history it belongs to on demand. Returns the target id or a failure per
   * id; throws only retriable registry errors (no answer, 5xx), after which the caller waits and asks again.
   */
  async ensureIds(ids: Iterable<number>): Promise<Map<number, number | SchemaFailure>> {
    const result = new Map<number, number | SchemaFailure>()
    const missing: number[] = []
    const now = Date.now()
    for (const id of ids) {
      const known = this.#ids.get(id)
      const failed = this.#idFailures.get(id)
      if (known !== undefined) result.set(id, known)
      else if (failed !== undefined && failed.until > now) result.set(id, failed.failure)
      else missing.push(id)
    }
    if (missing.length === 0) return result
    await this.#exclusive(async () => {
      for (const id of missing) {
        const known = this.#ids.get(id)
        if (known !== undefined) {
          result.set(id, known)
          continue
        }
        try {
          result.set(id, await this.#ensureId(id))
        } catch (error) {
          if (error instanceof RegistryError && error.retriable) throw error
          const failure: SchemaFailure = { kind: 'failed', reason: describeCause(error) }
          result.set(id, failure)
        }
        const outcome = result.get(id)
        if (typeof outcome === 'object') {
          this.#idFailures.set(id, { failure: outcome, until: Date.now() + this.#settings.retryMs })
          this.#log.error({ schemaId: id, kind: outcome.kind }, outcome.reason)
        } else {
          this.#idFailures.delete(id)
        }
      }
    })
    return result
  }

  async #ensureId(id: number): Promise<number | SchemaFailure> {
    const source = this.#source
    let places: { subject: string; version: number }[]
    try {
      places = await source.subjectVersionsOf(id)
    } catch (error) {
      if (!(error instanceof RegistryError) || error.errorCode !== REGISTRY_ERRORS.schemaNotFound) throw error
      places = []
    }
    if (places.length === 0) {
      return {
        kind: 'unknown-id',
        reason: `schema id ${id} is unknown to the schema registry of cluster ${source.alias} (never registered there, or only under deleted versions, which are not copied)`
      }
    }
    const allowed = places.filter(p => this.#settings.subjects.matches(p.subject))
    if (allowed.length === 0) {
      return {
        kind: 'excluded',
        reason: `schema id ${id} is registered only under subject(s) ${places.map(p => `${p.subject} v${p.version}`).join(', ')}, which schemas.subjects does not select`
      }
    }
    const place = allowed[0]!
    try {
      await this.#syncSubject(place.subject, place.version)
    } catch (error) {
      if (error instanceof RegistryError && error.retriable) throw error
      return {
        kind: error instanceof RegistryError && error.status === 409 ? 'rejected' : 'failed',
        reason: `schema id ${id} (subject ${place.subject} version ${place.version}) could not be registered on cluster ${this.#target.alias}: ${describeCause(error)}`
      }
    }
    const target = this.#ids.get(id)
    if (target === undefined) {
      return { kind: 'failed', reason: `schema id ${id} (subject ${place.subject}) was not registered on the target` }
    }
    return target
  }

  /** Compatibility of the registry as a whole: the target follows the source. */
  async #syncGlobalCompatibility(): Promise<void> {
    const level = await this.#source.compatibility(null)
    this.#globalCompatibility = level
    if (level === null) return
    if ((await this.#target.compatibility(null)) !== level) {
      await this.#target.setCompatibility(null, level)
      this.#log.info({ compatibility: level }, 'global compatibility copied to the target registry')
    }
  }

  /** Copies the live versions of `subject` up to `upTo`, in order, with what they reference. */
  async #syncSubject(subject: string, upTo: number): Promise<void> {
    const state = this.#subjectState(subject)
    const { live, softDeleted } = await this.#source.liveAndDeleted(subject)
    for (const v of softDeleted) {
      if (!state.softDeleted.includes(v)) {
        this.#log.warn({ subject, version: v }, 'source schema version is soft-deleted: reported, not copied')
      }
    }
    state.softDeleted = softDeleted
    state.versions = live.length
    const level = await this.#subjectCompatibility(subject)
    let compatibilityPending = level !== null
    const applyCompatibility = async (): Promise<void> => {
      if (!compatibilityPending || level === null) return
      try {
        if ((await this.#target.compatibility(subject)) !== level) await this.#target.setCompatibility(subject, level)
        compatibilityPending = false
        state.compatibility = level
      } catch (error) {
        // Some registries keep no config for a subject that does not exist yet: set it after the first version.
        if (!(error instanceof RegistryError) || error.errorCode !== REGISTRY_ERRORS.subjectNotFound) throw error
      }
    }
    await applyCompatibility()
    const wanted = live.filter(v => v <= upTo && !this.#registered.has(refKey(subject, v)))
    if (wanted.length > 0) {
      const order = await this.#plan(wanted.map(version => ({ subject, version })))
      for (const ref of order) {
        await this.#register(ref)
        await applyCompatibility()
      }
    }
    state.inSync = live.filter(v => this.#registered.has(refKey(subject, v))).length
    state.pending = live.length - state.inSync
    state.failed = null
  }

  /** The source's subject-level compatibility when it differs from its global one (registries that report the global level for every subject included). */
  async #subjectCompatibility(subject: string): Promise<string | null> {
    const level = await this.#source.compatibility(subject)
    return level === null || level === this.#globalCompatibility ? null : level
  }

  /** Reads the wanted versions and everything they reference; returns the order to register them in. */
  async #plan(wanted: SchemaRef[]): Promise<SchemaRef[]> {
    const queue = [...wanted]
    while (queue.length > 0) {
      const ref = queue.shift()!
      const version = await this.#sourceVersion(ref)
      for (const inner of version.references) {
        if (!this.#versions.has(refKey(inner.subject, inner.version))) queue.push(inner)
      }
    }
    const order = registrationOrder(wanted, ref =>
      this.#versions
        .get(refKey(ref.subject, ref.version))!
        .references.map(r => ({ subject: r.subject, version: r.version }))
    )
    return order.filter(ref => !this.#registered.has(refKey(ref.subject, ref.version)))
  }

  async #sourceVersion(ref: SchemaRef): Promise<SubjectVersion> {
    const key = refKey(ref.subject, ref.version)
    const cached = this.#versions.get(key)
    if (cached !== undefined) return cached
    // deleted=true: a live schema may reference a version that was soft-deleted since.
    const version = await this.#source.version(ref.subject, ref.version, true)
    this.#versions.set(key, version)
    return version
  }

  /** Registers one source version on the target (its references are registered already). */
  async #register(ref: SchemaRef): Promise<void> {
    const source = this.#versions.get(refKey(ref.subject, ref.version))!
    const schema: SchemaToRegister = {
      schema: source.schema,
      schemaType: source.schemaType,
      // References point at the versions the referenced schemas got on the target.
      references: source.references.map(r => ({
        name: r.name,
        subject: r.subject,
        version: this.#registered.get(refKey(r.subject, r.version))?.version ?? r.version
      }))
    }
    const target = this.#target
    let registered: Registered
    if (this.#settings.mode === 'keep-ids') {
      if (!this.#importing.has(ref.subject)) {
        if ((await target.mode(ref.subject)) !== 'IMPORT') await target.setMode(ref.subject, 'IMPORT')
        this.#importing.add(ref.subject)
      }
      const existing = await target.lookup(ref.subject, schema)
      const id =
        existing?.id ?? (await target.register(ref.subject, schema, { id: source.id, version: source.version }))
      if (id !== source.id) {
        throw new KdrError(
          'KDR_ERR_SCHEMA',
          `keep-ids: subject ${ref.subject} version ${ref.version} has id ${source.id} on cluster ${this.#source.alias} but id ${id} on cluster ${target.alias}`
        )
      }
      registered = { id, version: existing?.version ?? source.version }
    } else {
      const existing = await target.lookup(ref.subject, schema)
      if (existing !== null) {
        registered = { id: existing.id, version: existing.version }
      } else {
        const id = await target.register(ref.subject, schema)
        const found = await target.lookup(ref.subject, schema)
        registered = { id, version: found?.version ?? source.version }
      }
    }
    this.#registered.set(refKey(ref.subject, ref.version), registered)
    this.#ids.set(source.id, registered.id)
    this.#keyIds.learn(ref.subject, source.id)
    this.#log.info(
      {
        subject: ref.subject,
        version: ref.version,
        schemaType: source.schemaType,
        sourceId: source.id,
        targetId: registered.id,
        targetVersion: registered.version
      },
      'schema replicated'
    )
  }

  #subjectState(subject: string): SubjectSyncState {
    let state = this.#subjects.get(subject)
    if (state === undefined) {
      state = { subject, versions: 0, inSync: 0, pending: 0, failed: null, softDeleted: [], compatibility: null }
      this.#subjects.set(subject, state)
    }
    return state
  }

  state(): SchemaSyncState {
    const subjects = [...this.#subjects.values()].sort((a, b) => (a.subject < b.subject ? -1 : 1))
    const totals = { subjects: subjects.length, versions: 0, inSync: 0, pending: 0, failed: 0, softDeleted: 0 }
    for (const s of subjects) {
      totals.versions += s.versions
      totals.inSync += s.inSync
      totals.pending += s.pending
      totals.failed += s.failed === null ? 0 : 1
      totals.softDeleted += s.softDeleted.length
    }
    return {
      mode: this.#settings.mode,
      sourceRegistry: this.#source.url,
      targetRegistry: this.#target.url,
      lastSyncAt: this.#lastSyncAt,
      lastError: this.#lastError,
      globalCompatibility: this.#globalCompatibility,
      subjects: subjects.map(s => ({ ...s, softDeleted: [...s.softDeleted] })),
      totals,
      ids: this.#ids.size,
      keysNotWireFormat: this.#keyIds.notWireFormat
    }
  }

  /** Runs `task` after every task queued before it: the periodic pass and on-demand registration never interleave. */
  async #exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(task, task)
    this.#lock = run.catch(() => {})
    return run
  }
}
