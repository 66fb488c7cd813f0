import { setTimeout as sleep } from 'node:timers/promises'
import { wireSchemaId } from '../core/schema-wire.ts'
import { KdrError, describeCause } from '../errors.ts'
import { type Int32Patch, type PayloadSpans, type RawRecord, payloadSpans } from '../kafka/index.ts'
import { type Logger } from '../observability/logger.ts'
import { type SchemaFailure } from '../schemas/schema-sync.ts'
import { type Batch, type CopierSchemas, type CopierSettings } from './copier-types.ts'

const MAX_BACKOFF_MS = 10_000

/**
 * The schema-id path of one partition copier (partition-copier.ts): notes which wire-format schema
 * ids a batch's records use, makes them exist on the target before the batch is written (the
 * ordering guarantee), and, under translate-ids, gives the target ids to write into each record.
 *
 * Hot path: note() and idPatch() run per record and allocate nothing; they reuse one spans and one
 * patch object (the copier writes one batch at a time, and the writer consumes a patch before the
 * next record's is made).
 */
export class CopierSchemaIds {
  readonly #schemas: CopierSchemas
  readonly #settings: CopierSettings
  readonly #log: Logger
  readonly #topic: string
  readonly #partition: number
  /** Aborted when the link's drain timeout passed: the wait for the registry stops at once. */
  readonly #abandoned: AbortSignal
  /** Whether the copier stopped or drains: a batch waiting for its schemas is then not sent. */
  readonly #stopped: () => boolean
  /** Reused per record: where key and value are, and the id bytes to rewrite. */
  readonly #spans: PayloadSpans = { keyAt: 0, keyLength: -1, valueAt: 0, valueLength: -1 }
  readonly #patch: Int32Patch = { keyIdAt: -1, keyId: 0, valueIdAt: -1, valueId: 0 }
  /** Ids whose records pass through untouched (schemas.onError=pass-through), each reported once. */
  readonly #passedThrough = new Set<number>()
  #stop: KdrError | null = null
  /** The last id resolved and its target id: records of a partition mostly share one schema. */
  #lastSchemaId = -1
  #lastTargetId = -1

  constructor(
    schemas: CopierSchemas,
    settings: CopierSettings,
    log: Logger,
    topic: string,
    partition: number,
    abandoned: AbortSignal,
    stopped: () => boolean
  ) {
    this.#schemas = schemas
    this.#settings = settings
    this.#log = log
    this.#topic = topic
    this.#partition = partition
    this.#abandoned = abandoned
    this.#stopped = stopped
  }

  /** translate-ids: ids in records are rewritten to the target's. */
  get rewrite(): boolean {
    return this.#schemas.rewrite
  }

  /** Why the partition stops before a record (onError=stop), once ensure() returned fewer than all. */
  get stop(): KdrError | null {
    return this.#stop
  }

  /** The target id of a source id known on the target (a source -> target pair never changes). */
  #targetIdOf(id: number): number | undefined {
    if (id === this.#lastSchemaId) return this.#lastTargetId
    const target = this.#schemas.targetId(id)
    if (target !== undefined) {
      this.#lastSchemaId = id
      this.#lastTargetId = target
    }
    return target
  }

  /** Adds the ids of `record`'s wire-format key and value that the target does not know yet. */
  note(record: RawRecord, batch: Batch): void {
    const schemas = this.#schemas
    const spans = this.#spans
    payloadSpans(record, spans)
    if (schemas.keys) {
      const id = wireSchemaId(record.data, spans.keyAt, spans.keyLength)
      const wire = id < 0 ? false : schemas.keyIsWire(this.#topic, id)
      if (wire === undefined) (batch.keyIds ??= new Set()).add(id)
      else if (wire && this.#targetIdOf(id) === undefined) (batch.schemaIds ??= new Set()).add(id)
    }
    if (schemas.values) {
      const id = wireSchemaId(record.data, spans.valueAt, spans.valueLength)
      if (id >= 0 && this.#targetIdOf(id) === undefined) (batch.schemaIds ??= new Set()).add(id)
    }
  }

  /** The schema id of a key, or -1 when it is not a key schema's (schemas/key-ids.ts) or not in the wire format. */
  #keySchemaId(data: Buffer, at: number, length: number): number {
    const id = wireSchemaId(data, at, length)
    return id >= 0 && this.#schemas.keyIsWire(this.#topic, id) === true ? id : -1
  }

  /** The ids `record` carries (key, value), as far as the link looks at them; -1 for none. */
  #schemaIdsOf(record: RawRecord): [number, number] {
    const schemas = this.#schemas
    const spans = this.#spans
    payloadSpans(record, spans)
    return [
      schemas.keys ? this.#keySchemaId(record.data, spans.keyAt, spans.keyLength) : -1,
      schemas.values ? wireSchemaId(record.data, spans.valueAt, spans.valueLength) : -1
    ]
  }

  /**
   * The ordering guarantee: makes every schema the batch refers to exist on the target before any
   * of its records is written (registering on demand; while the registry does not answer, the
   * partition waits). Returns how many leading records may be sent (all, unless a schema failed
   * under onError=stop: then `stop` says why), or null when the partition stops or drains meanwhile.
   */
  async ensure(batch: Batch): Promise<number | null> {
    const schemas = this.#schemas
    let backoff = 0
    for (;;) {
      if (this.#stopped()) return null
      let outcome: Map<number, number | SchemaFailure>
      try {
        if (batch.keyIds !== null) {
          // Keys that only look like the wire format (epoch-ms longs) are copied as they are.
          await schemas.decideKeys(this.#topic, batch.keyIds)
          for (const id of batch.keyIds) {
            if (schemas.keyIsWire(this.#topic, id) === true && this.#targetIdOf(id) === undefined)
              (batch.schemaIds ??= new Set()).add(id)
          }
          batch.keyIds = null
          if (batch.schemaIds === null) return batch.records.length
        }
        outcome = await schemas.ensureIds(batch.schemaIds!)
      } catch (error) {
        this.#settings.events.retry(this.#settings.link, 'schema-registry')
        backoff = Math.min(MAX_BACKOFF_MS, backoff === 0 ? 500 : backoff * 2)
        this.#log.warn(
          { err: describeCause(error), retryInMs: backoff, offset: String(batch.records[0]!.offset) },
          'schema registry not available; records wait until their schemas exist on the target'
        )
        await sleep(backoff, undefined, { signal: this.#abandoned }).catch(() => {})
        continue
      }
      const failed = new Map<number, SchemaFailure>()
      for (const [id, result] of outcome) if (typeof result !== 'number') failed.set(id, result)
      if (failed.size === 0) return batch.records.length
      return this.#applyFailures(batch, failed)
    }
  }

  /** Applies schemas.onError to the records whose schemas failed: how many leading records may be sent. */
  #applyFailures(batch: Batch, failed: ReadonlyMap<number, SchemaFailure>): number {
    const schemas = this.#schemas
    for (let i = 0; i < batch.records.length; i++) {
      const record = batch.records[i]!
      for (const id of this.#schemaIdsOf(record)) {
        const failure = id < 0 ? undefined : failed.get(id)
        if (failure === undefined) continue
        const location = {
          cluster: this.#settings.sourceCluster,
          topic: this.#topic,
          partition: this.#partition,
          offset: BigInt(record.offset)
        }
        if (schemas.onError === 'stop') {
          this.#stop = new KdrError(
            'KDR_ERR_SCHEMA',
            `${failure.reason}. Policy schemas.onError=stop: partition stopped before this record`,
            location
          )
          return i
        }
        if (!this.#passedThrough.has(id)) {
          this.#passedThrough.add(id)
          this.#settings.events.error(this.#settings.link, 'KDR_ERR_SCHEMA')
          this.#log.error(
            { code: 'KDR_ERR_SCHEMA', schemaId: id, offset: String(record.offset) },
            `${failure.reason}. Policy schemas.onError=pass-through: records with schema id ${id} are copied untouched (not decodable on the target until the schema exists there)`
          )
        }
      }
    }
    return batch.records.length
  }

  /** The target ids to write into `record` (translate-ids), or null when nothing changes. */
  idPatch(record: RawRecord): Int32Patch | null {
    const schemas = this.#schemas
    const spans = this.#spans
    const patch = this.#patch
    payloadSpans(record, spans)
    const keyId = schemas.keys ? this.#rewrittenId(record.data, spans.keyAt, spans.keyLength, true) : -1
    const valueId = schemas.values ? this.#rewrittenId(record.data, spans.valueAt, spans.valueLength, false) : -1
    if (keyId < 0 && valueId < 0) return null
    // Positions are relative to the start of the key/value region the writer copies.
    patch.keyIdAt = keyId < 0 ? -1 : spans.keyAt + 1 - record.keyAt
    patch.keyId = keyId
    patch.valueIdAt = valueId < 0 ? -1 : spans.valueAt + 1 - record.keyAt
    patch.valueId = valueId
    return patch
  }

  /** The target id for the payload at data[at, at + length) when it differs from its id, else -1. */
  #rewrittenId(data: Buffer, at: number, length: number, key: boolean): number {
    const id = key ? this.#keySchemaId(data, at, length) : wireSchemaId(data, at, length)
    const target = id < 0 ? undefined : this.#targetIdOf(id)
    return target === undefined || target === id ? -1 : target
  }
}
