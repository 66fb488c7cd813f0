import {
  Consumer,
  FetchIsolationLevels,
  ListOffsetTimestamps,
  type Reader,
  createAPI,
  fetchV13,
  fetchV14,
  fetchV15,
  fetchV16,
  fetchV17
} from '@platformatic/kafka'
import { KdrError, describeCause } from '../errors.ts'
import { labelled } from './call.ts'
import { type AbortedTransaction, PartitionDecoder, toFetchedRecord } from './batches.ts'
import { decompress } from './compression.ts'
import { toClientOptions } from './options.ts'
import { RawClient } from './raw-client.ts'
import { BatchFormatError, type RawRecord, readBatches } from './record-batch.ts'
import { type ClusterConnection, type FetchedRecord, type TopicPartitionOffset } from './types.ts'

/** A partition of a fetch response with its records still as bytes (decoded by PartitionDecoder). */
interface FetchedPartition {
  partitionIndex: number
  errorCode: number
  highWatermark: bigint
  lastStableOffset: bigint
  logStartOffset: bigint
  abortedTransactions: AbortedTransaction[] | null
  records: Buffer | null
}

interface FetchResponse {
  errorCode: number
  responses: { topicId: string; partitions: FetchedPartition[] }[]
}

/*
  Fetch Response (Versions: 13..17) => throttle_time_ms error_code session_id [responses] TAG_BUFFER
    responses => topic_id [partitions] TAG_BUFFER
      partitions => partition_index error_code high_watermark last_stable_offset log_start_offset
                    [aborted_transactions] preferred_read_replica records TAG_BUFFER
        aborted_transactions => producer_id first_offset TAG_BUFFER
  Tagged fields (diverging epoch, current leader, snapshot id, node endpoints) are passed over.
  Unlike the client library's parser this one leaves each partition's records as one buffer, so
  records are decoded once, by our decoder, without an object per field.
*/
export function parseFetchResponse(
  _correlationId: number,
  _apiKey: number,
  _apiVersion: number,
  reader: Reader
): FetchResponse {
  reader.readInt32() // throttle_time_ms
  const errorCode = reader.readInt16()
  reader.readInt32() // session_id
  const responses = reader.readArray(
    r => {
      const topicId = r.readUUID()
      const partitions = r.readArray(
        p => {
          const partition: FetchedPartition = {
            partitionIndex: p.readInt32(),
            errorCode: p.readInt16(),
            highWatermark: p.readInt64(),
            lastStableOffset: p.readInt64(),
            logStartOffset: p.readInt64(),
            abortedTransactions: p.readNullableArray(
              a => {
                const aborted = { producerId: a.readInt64(), firstOffset: a.readInt64() }
                a.readTaggedFields()
                return aborted
              },
              true,
              false
            ),
            records: null
          }
          p.readInt32() // preferred_read_replica
          const size = p.readUnsignedVarInt() - 1
          // A records length past the response is corruption, not a batch cut by a size limit.
          if (size > p.remaining) {
            throw new BatchFormatError(
              `partition ${partition.partitionIndex}: records field of ${size} bytes, ${p.remaining} left in the fetch response`
            )
          }
          if (size > 0) {
            partition.records = p.buffer.slice(p.position, p.position + size)
            p.skip(size)
          }
          p.readTaggedFields()
          return partition
        },
        true,
        false
      )
      r.readTaggedFields()
      return { topicId, partitions }
    },
    true,
    false
  )
  reader.readTaggedFields()
  return { errorCode, responses }
}

const fetchRequests = { 13: fetchV13, 14: fetchV14, 15: fetchV15, 16: fetchV16, 17: fetchV17 } as const
type FetchApi = ReturnType<typeof createAPI<unknown[], FetchResponse>>
const FETCH_MIN_VERSION = 13

export interface PartitionFetcherOptions {
  isolation?: 'read_committed' | 'read_uncommitted'
  /**
   * Leave records as byte ranges (PartitionFetch.raw) instead of objects with their own buffers
   * (PartitionFetch.records): the replicator's data path.
   */
  raw?: boolean
  /** With raw: the header key to locate in every record (RawRecord.provAt). */
  provenanceKey?: Buffer
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
  /** The records (empty with the `raw` option). */
  records: FetchedRecord[]
  /** The records as byte ranges (only with the `raw` option). */
  raw: RawRecord[]
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
  readonly #connection: ClusterConnection
  readonly #client: RawClient
  /** Only for log range lookups after OFFSET_OUT_OF_RANGE; created on first use. */
  #consumer: Consumer | null = null
  #api: FetchApi | null = null
  readonly #options: Required<Omit<PartitionFetcherOptions, 'provenanceKey'>> & { provenanceKey: Buffer | null }
  readonly #decoders = new Map<string, { decoder: PartitionDecoder; expected: bigint }>()
  #metadata = new Map<string, TopicMeta>()
  #brokers = new Map<number, { host: string; port: number }>()
  #metadataStale = true

  constructor(connection: ClusterConnection, options: PartitionFetcherOptions = {}) {
    this.cluster = connection.alias
    this.#connection = connection
    this.#options = {
      isolation: options.isolation ?? 'read_committed',
      raw: options.raw ?? false,
      provenanceKey: options.provenanceKey ?? null,
      maxWaitMs: options.maxWaitMs ?? 500,
      minBytes: options.minBytes ?? 1,
      maxBytes: options.maxBytes ?? 64 * 1024 * 1024,
      partitionMaxBytes: options.partitionMaxBytes ?? 8 * 1024 * 1024
    }
    this.#client = new RawClient(connection, 'fetcher')
  }

  /** One fetch round: one request per leader broker, in parallel. */
  /**
   * Fetches the given partitions (one request per leader, in parallel). `sizeScale` multiplies
   * `maxBytes` and `partitionMaxBytes` for this call: the caller's answer to a long round trip.
   */
  async fetch(requests: readonly TopicPartitionOffset[], sizeScale = 1): Promise<PartitionFetch[]> {
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

    const perNode = await Promise.all([...byNode].map(([node, list]) => this.#fetchFromNode(node, list, sizeScale)))
    for (const list of perNode) results.push(...list)
    return results
  }

  /**
   * Times one small request (metadata of `topics`) to the source: the round trip as the fetches
   * see it, without transfer time or a broker's wait for data. Refreshes the metadata too.
   */
  async roundTripMs(topics: string[]): Promise<number> {
    const started = performance.now()
    const metadata = await labelled('KDR_ERR_KAFKA_FETCH', { operation: 'fetch metadata', cluster: this.cluster }, () =>
      this.#client.metadataOf(topics, true)
    )
    const elapsed = performance.now() - started
    this.#brokers = metadata.brokers
    return elapsed
  }

  async close(): Promise<void> {
    await Promise.all([this.#client.close(), this.#consumer?.close(true)])
  }

  async #fetchApi(): Promise<FetchApi> {
    if (this.#api !== null) return this.#api
    const version = Math.min(17, await this.#client.negotiatedVersion('Fetch'))
    if (version < FETCH_MIN_VERSION) {
      throw new KdrError(
        'KDR_ERR_KAFKA_FETCH',
        `the cluster supports Fetch up to v${version}; kafka-dr needs v${FETCH_MIN_VERSION} (Kafka 3.1 or later)`,
        { cluster: this.cluster }
      )
    }
    const module = fetchRequests[version as keyof typeof fetchRequests]
    this.#api = createAPI<unknown[], FetchResponse>(
      1,
      version,
      module.createRequest as (...args: unknown[]) => ReturnType<typeof module.createRequest>,
      parseFetchResponse
    )
    return this.#api
  }

  async #ensureMetadata(topics: string[]): Promise<void> {
    if (!this.#metadataStale && topics.every(t => this.#metadata.has(t))) return
    const metadata = await labelled('KDR_ERR_KAFKA_FETCH', { operation: 'fetch metadata', cluster: this.cluster }, () =>
      this.#client.metadataOf(topics, true)
    )
    this.#brokers = metadata.brokers
    const next = new Map<string, TopicMeta>()
    for (const [name, topic] of metadata.topics) {
      next.set(name, { topicId: topic.id, leaders: topic.partitions.map(p => p.leader) })
    }
    this.#metadata = next
    this.#metadataStale = false
  }

  async #fetchFromNode(node: number, requests: TopicPartitionOffset[], sizeScale: number): Promise<PartitionFetch[]> {
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
      const broker = this.#brokers.get(node)
      if (broker === undefined) throw new Error(`broker ${node} is not in the cluster metadata`)
      const [api, connection] = await Promise.all([this.#fetchApi(), this.#client.connectionTo(broker)])
      const topics = [...byTopic.values()].map(t => ({
        topicId: t.topicId,
        partitions: t.partitions.map(p => ({
          partition: p.partition,
          currentLeaderEpoch: -1,
          fetchOffset: p.offset,
          lastFetchedEpoch: -1,
          partitionMaxBytes: this.#options.partitionMaxBytes * sizeScale
        }))
      }))
      const isolation =
        this.#options.isolation === 'read_committed'
          ? FetchIsolationLevels.READ_COMMITTED
          : FetchIsolationLevels.READ_UNCOMMITTED
      // Session id 0 with epoch -1: a full fetch outside any fetch session, so every partition asked
      // for is answered, with or without new records.
      response = await api.async(
        connection,
        this.#options.maxWaitMs,
        this.#options.minBytes,
        this.#options.maxBytes * sizeScale,
        isolation,
        0,
        -1,
        topics,
        [],
        ''
      )
      if (response.errorCode !== 0)
        throw new Error(`broker ${node} answered the fetch with error code ${response.errorCode}`)
    } catch (error) {
      if (KdrError.is(error) && error.code === 'KDR_ERR_KAFKA_FETCH' && this.#api === null) throw error
      this.#metadataStale = true
      const message = `fetch from broker ${node} failed: ${describeCause(error)}`
      return requests.map(r => this.#failed(r, 'KDR_ERR_KAFKA_FETCH', message, true, error))
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
    // Every partition asked for is in a sessionless answer; one missing is treated as empty.
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
    let decoded
    try {
      const batches = p.records === null ? [] : readBatches(p.records, decompress)
      decoded = state.decoder.decode(batches, request.offset, p.abortedTransactions, this.#options.provenanceKey)
    } catch (error) {
      // A corrupt or unreadable batch is never turned into data; fetching it again may help
      // (corruption on the way), so the partition retries rather than skips.
      this.#decoders.delete(key)
      const what = error instanceof BatchFormatError ? error.message : `undecodable records: ${describeCause(error)}`
      return { ...base, ...this.#failed(request, 'KDR_ERR_KAFKA_FETCH', what, true, error) }
    }
    state.expected = decoded.nextOffset
    if (this.#options.raw) base.raw = decoded.records
    else base.records = decoded.records.map(toFetchedRecord)
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
    // The library's Consumer requires a group id; listOffsets never joins that group.
    this.#consumer ??= new Consumer({
      ...toClientOptions(this.#connection, 'fetcher'),
      groupId: 'kafka-dr-fetcher-unused'
    })
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
      raw: [],
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
