import { type MessageToProduce, Producer, ProduceAcks } from '@platformatic/kafka'
import { KdrError } from '../errors.ts'
import { labelled } from './call.ts'
import { toClientOptions } from './options.ts'
import { type ClusterConnection, type RecordToProduce } from './types.ts'

export interface RecordProducerOptions {
  /** Idempotent producing: no duplicates or reordering from the producer's own retries. */
  idempotent?: boolean
  acks?: 'all' | 'leader'
  compression?: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd'
}

export interface ProducedPartition {
  partition: number
  /** Offset of the first record of this send in that partition. */
  baseOffset: bigint
}

/**
 * Writes records to explicit partitions with explicit timestamps, keeping null keys and values
 * (tombstones) and every header in order, duplicates included.
 */
export class RecordProducer {
  readonly cluster: string
  readonly #producer: Producer
  readonly #acks: number
  readonly #partitionCounts = new Map<string, number>()

  constructor(connection: ClusterConnection, options: RecordProducerOptions = {}) {
    this.cluster = connection.alias
    const idempotent = options.idempotent ?? true
    this.#acks = idempotent || options.acks !== 'leader' ? ProduceAcks.ALL : ProduceAcks.LEADER
    this.#producer = new Producer({
      ...toClientOptions(connection, 'producer'),
      idempotent,
      acks: this.#acks,
      compression: options.compression ?? 'none'
    })
  }

  /** Sends all records to `topic`; resolves once every record is acknowledged. */
  async send(topic: string, records: readonly RecordToProduce[]): Promise<ProducedPartition[]> {
    if (records.length === 0) return []
    await this.#checkPartitions(topic, records)
    const messages = new Array<MessageToProduce>(records.length)
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!
      const message: MessageToProduce = {
        topic,
        partition: r.partition,
        timestamp: r.timestamp,
        headers: toHeaderMap(r.headers)
      }
      if (r.key !== null) message.key = r.key
      if (r.value !== null) message.value = r.value
      messages[i] = message
    }
    const result = await labelled('KDR_ERR_KAFKA_PRODUCE', { operation: 'produce', cluster: this.cluster, topic }, () =>
      this.#producer.send({ messages, acks: this.#acks })
    )
    return (result.offsets ?? []).map(o => ({ partition: o.partition, baseOffset: o.offset }))
  }

  async close(): Promise<void> {
    await this.#producer.close()
  }

  /**
   * The client library maps a partition number beyond the topic's partition count onto
   * `partition % count` from its cached metadata, which would put records in the wrong partition
   * right after the target topic grows. So every partition is checked against metadata refreshed
   * since it was last unknown, and a send to a partition that does not exist fails loudly.
   */
  async #checkPartitions(topic: string, records: readonly RecordToProduce[]): Promise<void> {
    let highest = 0
    for (const r of records) if (r.partition > highest) highest = r.partition
    if (highest < (this.#partitionCounts.get(topic) ?? 0)) return
    const metadata = await labelled(
      'KDR_ERR_KAFKA_PRODUCE',
      { operation: 'refresh metadata', cluster: this.cluster, topic },
      () => this.#producer.metadata({ topics: [topic], forceUpdate: true })
    )
    const count = metadata.topics.get(topic)?.partitionsCount ?? 0
    this.#partitionCounts.set(topic, count)
    if (highest >= count) {
      throw new KdrError('KDR_ERR_KAFKA_PRODUCE', `partition ${highest} does not exist (the topic has ${count})`, {
        cluster: this.cluster,
        topic,
        partition: highest
      })
    }
  }
}

/**
 * The library takes headers as a Map and writes them in iteration order. Map keys compare by
 * identity, so a repeated header name keeps its own entry as long as each key is a distinct Buffer
 * object; a repeated *object* is replaced by a fresh view of the same bytes (no copy).
 */
function toHeaderMap(headers: readonly (readonly [Buffer, Buffer | null])[]): Map<Buffer, Buffer> {
  const map = new Map<Buffer, Buffer>()
  for (const [key, value] of headers) {
    // The library writes a null header value as length -1 (null on the wire); its type says Buffer.
    map.set(map.has(key) ? key.subarray() : key, value as Buffer)
  }
  return map
}
