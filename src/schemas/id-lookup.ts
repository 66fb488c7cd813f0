import { wireSchemaId, withSchemaId } from '../core/schema-wire.ts'
import { type FetchedRecord } from '../kafka/index.ts'
import { RegistryError, type RegistryClient } from './registry-client.ts'

/**
 * Read-only source id -> target id lookup for readers of a translate-ids link (verify): a source
 * record is compared with its copy as the replicator wrote it, i.e. with the target's ids. An id the
 * target registry does not hold stays as it is (records passed through untouched compare equal).
 * Registers nothing.
 */
export class TargetIdLookup {
  readonly #source: RegistryClient
  readonly #target: RegistryClient
  readonly #keys: boolean
  readonly #values: boolean
  readonly #ids = new Map<number, number>()

  constructor(source: RegistryClient, target: RegistryClient, parts: { keys: boolean; values: boolean }) {
    this.#source = source
    this.#target = target
    this.#keys = parts.keys
    this.#values = parts.values
  }

  /** The record as the link writes it to the target (a new record only when an id changes). */
  async translate(record: FetchedRecord): Promise<FetchedRecord> {
    const key = this.#keys ? await this.#payload(record.key) : record.key
    const value = this.#values ? await this.#payload(record.value) : record.value
    return key === record.key && value === record.value ? record : { ...record, key, value }
  }

  async #payload(payload: Buffer | null): Promise<Buffer | null> {
    if (payload === null) return null
    const id = wireSchemaId(payload, 0, payload.length)
    if (id < 0) return payload
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
