import { type TopicFilter } from '../core/topic-filter.ts'
import { type Logger } from '../observability/logger.ts'
import { REGISTRY_ERRORS, RegistryError, type RegistryClient } from './registry-client.ts'

/**
 * Which record keys that look like the Confluent wire format really are. A key that starts with a
 * zero byte and is at least 5 bytes long parses as "magic 0, schema id N", but so does a big-endian
 * long of 2^24 or more (an epoch-milliseconds key: 00 00 01 9e ... reads as id 106,000 or so).
 * Rewriting bytes 1-4 of such a key, or stopping its partition for an "unknown schema id", would
 * corrupt or halt data that has nothing to do with schemas.
 *
 * Rule: a key's id counts only when the source registry holds it under a subject that serves that
 * topic's keys: `<topic>-key` (TopicNameStrategy, the serializers' default), or a subject matched by
 * `schemas.keySubjects` (for RecordNameStrategy and TopicRecordNameStrategy keys). Any other key is
 * copied byte-identical. Whether the link's `schemas.subjects` selects the subject is decided later,
 * as for values (an excluded key subject is a reported failure, never a silent copy).
 *
 * The verdict is cached per topic and id, so the data path asks the registry once per id, never per
 * record. A "no" is revised when the schema sync registers a version of a key subject under that id
 * (`learn`): a registry reuses an id when the same schema is registered under a second subject.
 */
export class KeySchemaIds {
  /** topic -> id -> whether the id is a key schema of that topic. */
  readonly #verdicts = new Map<string, Map<number, boolean>>()
  /** id -> subjects it is registered under on the source (the registry call, shared by topics). */
  readonly #subjectsOf = new Map<number, readonly string[]>()
  readonly #source: RegistryClient
  readonly #keySubjects: TopicFilter | null
  readonly #log: Logger | null
  #notWireFormat = 0

  /** Bound on cached verdicts and subject lists: random binary keys could otherwise fill memory. */
  static readonly MAX_CACHED = 100_000

  constructor(source: RegistryClient, keySubjects: TopicFilter | null, log: Logger | null) {
    this.#source = source
    this.#keySubjects = keySubjects
    this.#log = log
  }

  /** Hot path: true or false once decided for this topic, undefined before (call `decide`). */
  isWire(topic: string, id: number): boolean | undefined {
    return this.#verdicts.get(topic)?.get(id)
  }

  /**
   * Decides every id not decided yet for `topic` (one registry call per id, shared by topics).
   * Throws the registry's error when it cannot answer (no answer, 5xx, 401...): the caller waits
   * and asks again, as it does while schemas cannot be registered.
   */
  async decide(topic: string, ids: Iterable<number>): Promise<void> {
    let verdicts = this.#verdicts.get(topic)
    if (verdicts === undefined) {
      verdicts = new Map()
      this.#verdicts.set(topic, verdicts)
    }
    const keySubject = `${topic}-key`
    for (const id of ids) {
      if (verdicts.has(id)) continue
      const subjects = await this.#subjectsOfId(id)
      const wire = subjects.some(s => s === keySubject || this.#keySubjects?.matches(s) === true)
      // Only "no"s are dropped at the bound: a decided "yes" is relied on until the batch is sent.
      if (verdicts.size >= KeySchemaIds.MAX_CACHED)
        for (const [known, yes] of verdicts) if (!yes) verdicts.delete(known)
      verdicts.set(id, wire)
      if (!wire) {
        this.#notWireFormat++
        this.#log?.info(
          {
            topic,
            schemaId: id,
            subjects: subjects.slice(0, 5),
            code: 'KDR_KEY_NOT_WIRE_FORMAT'
          },
          `keys of topic ${topic} that start like the wire format with schema id ${id} are not schema references (id ${subjects.length === 0 ? 'unknown to the source registry' : `not registered under ${keySubject}`}, nor under schemas.keySubjects): copied byte-identical`
        )
      }
    }
  }

  /** How many (topic, id) pairs were found not to be key schemas (each logged once). */
  get notWireFormat(): number {
    return this.#notWireFormat
  }

  /**
   * A source version was just registered on the target under `subject` with source id `id`: if
   * the subject serves keys, its id is a key schema from now on (it may have been decided "no"
   * before, when the same schema was registered elsewhere first and the registry reused its id).
   */
  learn(subject: string, id: number): void {
    if (subject.endsWith('-key')) this.#verdicts.get(subject.slice(0, -4))?.set(id, true)
    if (this.#keySubjects?.matches(subject) === true) {
      for (const verdicts of this.#verdicts.values()) if (verdicts.has(id)) verdicts.set(id, true)
    }
    this.#subjectsOf.delete(id)
  }

  async #subjectsOfId(id: number): Promise<readonly string[]> {
    const known = this.#subjectsOf.get(id)
    if (known !== undefined) return known
    let subjects: string[]
    try {
      subjects = (await this.#source.subjectVersionsOf(id)).map(p => p.subject)
    } catch (error) {
      if (!(error instanceof RegistryError) || error.errorCode !== REGISTRY_ERRORS.schemaNotFound) throw error
      subjects = []
    }
    if (this.#subjectsOf.size >= KeySchemaIds.MAX_CACHED) this.#subjectsOf.clear()
    this.#subjectsOf.set(id, subjects)
    return subjects
  }
}
