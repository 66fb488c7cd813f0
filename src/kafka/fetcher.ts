import { Consumer, FetchIsolationLevels, ListOffsetTimestamps } from '@platformatic/kafka'
import { KdrError, describeCause } from '../errors.ts'
import { labelled } from './call.ts'
import { PartitionDecoder } from './batches.ts'
import { toClientOptions } from './options.ts'
import { type ClusterConnection, type FetchedRecord, type TopicPartitionOffset } from './types.ts'

type FetchResponse = Awaited<ReturnType<Consumer['fetch']>>

export interface PartitionFetcherOptions {
  isolation?: 'read_committed' | 'read_uncommitted'
  /** How long the broker may hold a fetch open waiting for minBytes. */
  maxWaitMs?: number
  minBytes?: number
  /** Upper bound on one response per broker. */
  maxBytes?: number
  partitionMaxBytes?: number
}

/** Broker error codes the fetcher reacts to (Kafka protocol error table). */
const OFFSET_OUT_OF_RANGE = 1
const RETRIABLE_AFTER_METADATA_REFRESH = new Set([
  3, // UNKNOWN_TOPIC_OR_PARTITION
  5, // LEADER_NOT_AVAILABLE
  6, // NOT_LEADER_OR_FOLLOWER
  74, // FENCED_LEADER_EPOCH
  75, // UNKNOWN_LEADER_EPOCH
  100 // UNKNOWN_TOPIC_ID
])

export interface PartitionFetch {
  topic: string
  partition: number
  /** Id of the topic that answered (from the metadata the request used); '' when unknown. */
  topicId: string
  fetchOffset: bigint
  records: FetchedRecord[]
  /** Where the next fetch of this partition starts. Equals fetchOffset when nothing was returned. */
  nextOffset: bigint
  highWatermark: bigint
  lastStableOffset: bigint
  logStartOffset: bigint
  abortedRecords: number
  controlRecords: number
  /** Set when this partition could not be read; `retriable` says whether trying again may help. */
  error?: { error: KdrError; retriable: boolean }
}

interface TopicMeta {
  topicId: string
  leaders: number[]
}

/**
 * Fetches explicitly chosen partitions at explicit offsets, without a consumer group: the
 * replicator owns its positions. Built on the client library's low-level Fetch (the only path to
 * explicit assignment and to batch attributes). Partition errors are returned, never swallowed;
 * the caller decides policy (e.g. OFFSET_OUT_OF_RANGE is reported as possible data loss).
 */
export class PartitionFetcher {
  readonly cluster: string
  readonly #consumer: Consumer
  readonly #options: Required<PartitionFetcherOptions>
  readonly #decoders = new Map<string, { decoder: PartitionDecoder; expected: bigint }>()
  #metadata = new Map<string, TopicMeta>()
  #metadataStale = true

  constructor(connection: ClusterConnection, options: PartitionFetcherOptions = {}) {
    this.cluster = connection.alias
    this.#options = {
      isolation: options.isolation ?? 'read_committed',
      maxWaitMs: options.maxWaitMs ?? 500,
      minBytes: options.minBytes ?? 1,
      maxBytes: options.maxBytes ?? 64 * 1024 * 1024,
      partitionMaxBytes: options.partitionMaxBytes ?? 8 * 1024 * 1024
    }
    // The library's Consumer requires a group id; the low-level fetch never joins that group.
    this.#consumer = new Consumer({
      ...toClientOptions(connection, 'fetcher'),
      groupId: 'kafka-dr-fetcher-unused',
      maxWaitTime: this.#options.maxWaitMs,
      minBytes: this.#options.minBytes,
      maxBytes: this.#options.maxBytes
    })
  }

  /** One fetch round: one request per leader broker, in parallel. */
  async fetch(requests: readonly TopicPartitionOffset[]): Promise<PartitionFetch[]> {
    const topics = [...new Set(requests.map(r => r.topic))]
    await this.#ensureMetadata(topics)

    const byNode = new Map<number, TopicPartitionOffset[]>()
    const results: PartitionFetch[] = []
    for (const request of requests) {
      const leader = this.#metadata.get(request.topic)?.leaders[request.partition]
      if (leader === undefined || leader < 0) {
        this.#metadataStale = true
        results.push(this.#failed(request, 'KDR_ERR_UNKNOWN_TOPIC', 'no leader known for this partition', true))
        continue
      }
      let list = byNode.get(leader)
      if (list === undefined) byNode.set(leader, (list = []))
      list.push(request)
    }

    const perNode = await Promise.all([...byNode].map(([node, list]) => this.#fetchFromNode(node, list)))
    for (const list of perNode) results.push(...list)
    return results
  }

  async close(): Promise<void> {
    await this.#consumer.close(true)
  }

  async #ensureMetadata(topics: string[]): Promise<void> {
    if (!this.#metadataStale && topics.every(t => this.#metadata.has(t))) return
    const metadata = await labelled('KDR_ERR_KAFKA_FETCH', { operation: 'fetch metadata', cluster: this.cluster }, () =>
      this.#consumer.metadata({ topics, forceUpdate: true })
    )
    const next = new Map<string, TopicMeta>()
    for (const [name, topic] of metadata.topics) {
      next.set(name, { topicId: topic.id, leaders: topic.partitions.map(p => p.leader) })
    }
    this.#metadata = next
    this.#metadataStale = false
  }

  async #fetchFromNode(node: number, requests: TopicPartitionOffset[]): Promise<PartitionFetch[]> {
    const byTopic = new Map<string, { topicId: string; partitions: TopicPartitionOffset[] }>()
    const topicNames = new Map<string, string>()
    for (const r of requests) {
      const topicId = this.#metadata.get(r.topic)!.topicId
      topicNames.set(topicId, r.topic)
      let entry = byTopic.get(r.topic)
      if (entry === undefined) byTopic.set(r.topic, (entry = { topicId, partitions: [] }))
      entry.partitions.push(r)
    }

    let response: FetchResponse
    try {
      response = await this.#consumer.fetch({
        node,
        isolationLevel:
          this.#options.isolation === 'read_committed'
            ? FetchIsolationLevels.READ_COMMITTED
            : FetchIsolationLevels.READ_UNCOMMITTED,
        maxWaitTime: this.#options.maxWaitMs,
        topics: [...byTopic.values()].map(t => ({
          topicId: t.topicId,
          partitions: t.partitions.map(p => ({
            partition: p.partition,
            fetchOffset: p.offset,
            currentLeaderEpoch: -1,
            lastFetchedEpoch: -1,
            partitionMaxBytes: this.#options.partitionMaxBytes
          }))
        }))
      })
    } catch (error) {
      // A partition-level error fails the whole call; its parsed response still holds every partition.
      const partial = (error as { response?: FetchResponse }).response
      if (partial?.responses === undefined) {
        this.#metadataStale = true
        const message = `fetch from broker ${node} failed: ${describeCause(error)}`
        return requests.map(r => this.#failed(r, 'KDR_ERR_KAFKA_FETCH', message, true, error))
      }
      response = partial
    }

    const wanted = new Map(requests.map(r => [`${r.topic}:${r.partition}`, r]))
    const results: PartitionFetch[] = []
    const outOfRange: PartitionFetch[] = []
    for (const topicResponse of response.responses) {
      const topic = topicNames.get(topicResponse.topicId) ?? topicResponse.topicId
      for (const p of topicResponse.partitions) {
        const request = wanted.get(`${topic}:${p.partitionIndex}`)
        if (request === undefined) continue
        wanted.delete(`${topic}:${p.partitionIndex}`)
        const result = this.#partitionResult(request, p)
        if (result.error?.error.code === 'KDR_ERR_OFFSET_OUT_OF_RANGE') outOfRange.push(result)
        results.push(result)
      }
    }
    await Promise.all(outOfRange.map(r => this.#describeRange(r)))
    // With incremental fetch sessions the broker leaves out partitions that have nothing new.
    for (const request of wanted.values()) results.push(this.#empty(request))
    return results
  }

  #partitionResult(
    request: TopicPartitionOffset,
    p: FetchResponse['responses'][number]['partitions'][number]
  ): PartitionFetch {
    const base = this.#empty(request)
    base.highWatermark = p.highWatermark
    base.lastStableOffset = p.lastStableOffset
    base.logStartOffset = p.logStartOffset
    if (p.errorCode === OFFSET_OUT_OF_RANGE) {
      // The broker sends no offsets with this error; #describeRange fills them in.
      base.error = { retriable: false, error: this.#outOfRangeError(request, 'unknown range') }
      return base
    }
    if (p.errorCode !== 0) {
      const retriable = RETRIABLE_AFTER_METADATA_REFRESH.has(p.errorCode)
      if (retriable) this.#metadataStale = true
      return { ...base, ...this.#failed(request, 'KDR_ERR_KAFKA_FETCH', `broker error code ${p.errorCode}`, retriable) }
    }

    const key = `${request.topic}:${request.partition}`
    let state = this.#decoders.get(key)
    if (state === undefined || state.expected !== request.offset) {
      // A new partition, or the caller sought elsewhere: transaction state from before no longer applies.
      state = { decoder: new PartitionDecoder(this.#options.isolation === 'read_committed'), expected: request.offset }
      this.#decoders.set(key, state)
    }
    const decoded = state.decoder.decode(p.records ?? [], request.offset, p.abortedTransactions)
    state.expected = decoded.nextOffset
    base.records = decoded.records
    base.nextOffset = decoded.nextOffset
    base.abortedRecords = decoded.abortedRecords
    base.controlRecords = decoded.controlRecords
    return base
  }

  #outOfRangeError(request: TopicPartitionOffset, range: string): KdrError {
    return new KdrError('KDR_ERR_OFFSET_OUT_OF_RANGE', `offset ${request.offset} is outside the partition's ${range}`, {
      cluster: this.cluster,
      topic: request.topic,
      partition: request.partition,
      offset: request.offset
    })
  }

  /** Looks up log start and end so an out-of-range report says how many records are gone. */
  async #describeRange(result: PartitionFetch): Promise<void> {
    const partitions = { [result.topic]: [result.partition] }
    try {
      const [earliest, latest] = await Promise.all([
        this.#consumer.listOffsets({ topics: [result.topic], partitions, timestamp: ListOffsetTimestamps.EARLIEST }),
        this.#consumer.listOffsets({ topics: [result.topic], partitions, timestamp: ListOffsetTimestamps.LATEST })
      ])
      const start = earliest.get(result.topic)?.[result.partition]
      const end = latest.get(result.topic)?.[result.partition]
      if (start === undefined || end === undefined) return
      result.logStartOffset = start
      result.highWatermark = end
      result.error = {
        retriable: false,
        error: this.#outOfRangeError({ ...result, offset: result.fetchOffset }, `range [${start}, ${end})`)
      }
    } catch {
      // Keep the report without the range: the offsets are a courtesy, the error itself stands.
    }
  }

  #empty(request: TopicPartitionOffset): PartitionFetch {
    return {
      topic: request.topic,
      partition: request.partition,
      topicId: this.#metadata.get(request.topic)?.topicId ?? '',
      fetchOffset: request.offset,
      records: [],
      nextOffset: request.offset,
      highWatermark: -1n,
      lastStableOffset: -1n,
      logStartOffset: -1n,
      abortedRecords: 0,
      controlRecords: 0
    }
  }

  #failed(
    request: TopicPartitionOffset,
    code: 'KDR_ERR_KAFKA_FETCH' | 'KDR_ERR_UNKNOWN_TOPIC',
    message: string,
    retriable: boolean,
    cause?: unknown
  ): PartitionFetch {
    const location = {
      cluster: this.cluster,
      topic: request.topic,
      partition: request.partition,
      offset: request.offset
    }
    return { ...this.#empty(request), error: { retriable, error: new KdrError(code, message, location, { cause }) } }
  }
}
