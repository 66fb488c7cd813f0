import { type KdrError, describeCause } from '../errors.ts'
import {
  type RawRecord,
  type RecordHeader,
  type RecordProducer,
  type RecordToProduce,
  recordParts
} from '../kafka/index.ts'
import { type Logger } from '../observability/logger.ts'
import { type CopierSettings } from './copier-types.ts'
import { classifyProduceError } from './errors.ts'

/**
 * The dead-letter path of one partition copier (partition-copier.ts), under onRecordError=dead-letter:
 * a record the target refuses, or a record batch that cannot be decoded, is written to the link's
 * dead-letter topic with headers naming the reason and where it came from. Rare by nature: plain
 * objects per letter are fine here.
 */
export class DeadLetters {
  readonly #producer: RecordProducer
  readonly #settings: CopierSettings
  readonly #log: Logger
  readonly #topic: string
  readonly #partition: number

  constructor(producer: RecordProducer, settings: CopierSettings, log: Logger, topic: string, partition: number) {
    this.#producer = producer
    this.#settings = settings
    this.#log = log
    this.#topic = topic
    this.#partition = partition
  }

  /**
   * Writes a record the target refused (with its value, else without when that is refused too).
   * Returns whether a dead letter was written; when not, the caller stops the partition.
   */
  async record(raw: RawRecord, offset: bigint, failure: KdrError): Promise<boolean> {
    const parts = recordParts(raw)
    const record: RecordToProduce = {
      partition: 0,
      timestamp: BigInt(raw.timestamp),
      key: parts.key,
      value: parts.value,
      headers: parts.headers
    }
    const errorHeaders: RecordHeader[] = [
      [Buffer.from('kdr-dlq-error'), Buffer.from(failure.message)],
      [Buffer.from('kdr-dlq-source'), Buffer.from(`${this.#topic}/${this.#partition}/${offset}`)]
    ]
    const full: RecordToProduce = { ...record, headers: [...record.headers, ...errorHeaders] }
    // A record too large for the target is usually too large for the dead-letter topic too: then
    // the dead letter keeps key, headers and the reason, without the value.
    const withoutValue: RecordToProduce = {
      ...full,
      value: null,
      headers: [...full.headers, [Buffer.from('kdr-dlq-value-bytes'), Buffer.from(String(record.value?.length ?? 0))]]
    }
    for (const candidate of [full, withoutValue]) {
      try {
        await this.#producer.send(this.#settings.deadLetterTopic, [candidate])
        this.#settings.events.error(this.#settings.link, failure.code)
        this.#log.error(
          {
            code: failure.code,
            deadLetterTopic: this.#settings.deadLetterTopic,
            offset: String(offset),
            valueKept: candidate === full
          },
          `record sent to the dead-letter topic: ${failure.message}`
        )
        return true
      } catch (error) {
        if (classifyProduceError(error).kind !== 'record') {
          this.#log.error({ err: describeCause(error) }, 'dead-letter topic write failed')
          return false
        }
      }
    }
    return false
  }

  /**
   * Writes the dead letter of an undecodable record batch at source offsets [from, to): headers
   * only, naming the offsets, the reason and the batch's size. Throws when it cannot be written.
   */
  async batch(from: bigint, to: bigint, bytes: number, error: KdrError): Promise<void> {
    const headers: RecordHeader[] = [
      [Buffer.from('kdr-dlq-error'), Buffer.from(error.message)],
      [Buffer.from('kdr-dlq-source'), Buffer.from(`${this.#topic}/${this.#partition}/${from}-${to - 1n}`)],
      [Buffer.from('kdr-dlq-value-bytes'), Buffer.from(String(bytes))]
    ]
    const letter = { partition: 0, timestamp: BigInt(Date.now()), key: null, value: null, headers }
    await this.#producer.send(this.#settings.deadLetterTopic, [letter])
  }
}
