import { wireSchemaId, withSchemaId } from '../core/schema-wire.ts'
import { TopicFilter } from '../core/topic-filter.ts'
import { type FetchedRecord } from '../kafka/index.ts'
import { KeySchemaIds } from './key-ids.ts'
import { RegistryError, type RegistryClient } from './registry-client.ts'

/**
 * Read-only source id -> target id lookup for readers of a translate-ids link (verify): a source
 * record is compared with its copy as the replicator wrote it, i.e. with the target's ids. An id the
 * target registry does not hold stays as it is (records passed through untouched compare equal).
 * A key's id counts only when it is a key schema of the topic, as for the replicator (key-ids.ts).
 * Registers nothing.
 */
export class TargetIdLookup {
  readonly #source: RegistryClient
  readonly #target: RegistryClient
  readonly #keys: boolean
  readonly #values: boolean
  readonly #ids = new Map<number, number>()
  readonly #keyIds: KeySchemaIds

  constructor(
    source: RegistryClient,
    target: RegistryClient,
    parts: { keys: boolean; values: boolean; keySubjects?: readonly string[] }
  ) {
    this.#source = source
    this.#target = target
    this.#keys = parts.keys
    this.#values = parts.values
    const keySubjects = parts.keySubjects ?? []
    this.#keyIds = new KeySchemaIds(
      source,
      keySubjects.length === 0 ? null : new TopicFilter(keySubjects, [], () => false),
      null
    )
  }

  /** The record of source topic `topic` as the link writes it to the target (a new record only when an id changes). */
  async translate(record: FetchedRecord, topic: string): Promise<FetchedRecord> {
    const key = this.#keys ? await this.#payload(record.key, topic) : record.key
    const value = this.#values ? await this.#payload(record.value, null) : record.value
    return key === record.key && value === record.value ? record : { ...record, key, value }
  }

  /** `keyOf`: the topic when the payload is a key of it, null for a value. */
  async #payload(payload: Buffer | null, keyOf: string | null): Promise<Buffer | null> {
    if (payload === null) return null
    const id = wireSchemaId(payload, 0, payload.length)
    if (id < 0) return payload
    if (keyOf !== null) {
      try {
        if (this.#keyIds.isWire(keyOf, id) === undefined) await this.#keyIds.decide(keyOf, [id])
      } catch (error) {
        if (!(error instanceof RegistryError) || error.retriable) throw error
      }
      if (this.#keyIds.isWire(keyOf, id) !== true) return payload
    }
    const target = await this.targetId(id)
    return target === id ? payload : withSchemaId(payload, target)
  }

  /** The target's id for a source id; the source id itself when the target has no such schema. */
  async targetId(id: number): Promise<number> {
    const known = this.#ids.get(id)
    if (known !== undefined) return known
    let target = id
    try {
      for (const place of await this.#source.subjectVersionsOf(id)) {
        const schema = await this.#source.version(place.subject, place.version, true)
        const found = await this.#target.lookup(place.subject, schema)
        if (found !== null) {
          target = found.id
          break
        }
      }
    } catch (error) {
      if (!(error instanceof RegistryError) || error.retriable) throw error
    }
    this.#ids.set(id, target)
    return target
  }
}
