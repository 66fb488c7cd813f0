import {
  Consumer,
  FetchIsolationLevels,
  ListOffsetTimestamps,
  createAPI,
  fetchV13,
  fetchV14,
  fetchV15,
  fetchV16,
  fetchV17
} from '@platformatic/kafka'
import { KdrError, describeCause } from '../errors.ts'
import { labelled } from './call.ts'
import { PartitionDecoder, toFetchedRecord } from './batches.ts'
import { DEFAULT_MAX_DECOMPRESSED_BYTES, DecompressionLimitError, boundedDecompressor } from './compression.ts'
import { OFFSET_OUT_OF_RANGE, fetchErrorKind } from './fetch-errors.ts'
import { cutBatchBytes, planFetch } from './fetch-plan.ts'
import { type FetchResponse, type FetchedPartition, parseFetchResponse } from './fetch-response.ts'
import { type OutOfRangeOutcome, outOfRangeOutcome } from './out-of-range.ts'
import { toClientOptions } from './options.ts'
import { RawClient } from './raw-client.ts'
import { BatchFormatError, type Decompressor, type RawRecord, readBatches } from './record-batch.ts'
import { type ClusterConnection, type FetchedRecord, type TopicPartitionOffset } from './types.ts'

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
  /**
   * The most one compressed record batch may decompress to, and about the most a response's
   * decompressed batches hold together (see readBatches): bounds memory whatever the source sends.
   */
  maxDecompressedBytes?: number
}

export interface FetchFailure {
  error: KdrError
  /** Whether fetching again may help. */
  retriable: boolean
  /** The broker's name for the partition error (TOPIC_AUTHORIZATION_FAILED), when the broker sent one. */
  brokerError?: string
  /** Retriable, but only once an operator changes something (an ACL): retried slowly. */
  operator?: boolean
  /**
   * The record batch at the fetch offset cannot be decoded for good (it decompresses beyond
   * `maxDecompressedBytes`): the link's record error policy applies to its offsets.
   */
  batch?: { baseOffset: bigint; lastOffset: bigint; bytes: number }
  /**
   * The source log diverged below the fetch offset (unclean leader election): the leader's log
   * for the last fetched epoch ends at `endOffset`; records from there on that were copied are no
   * longer on the source.
   */
  diverged?: { epoch: number; endOffset: bigint }
}

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
  error?: FetchFailure
}

interface TopicMeta {
  topicId: string
  leaders: number[]
  /** Leader epoch per partition, sent as current_leader_epoch (-1 when unknown). */
  epochs: number[]
}

/** Per partition: transaction state, the offset it expects next and the epoch of the last batch fetched. */
interface PartitionState {
  decoder: PartitionDecoder
  expected: bigint
  /** partitionLeaderEpoch of the last batch fetched, sent as last_fetched_epoch (-1: none yet). */
  epoch: number
}

/**
 * Fetches explicitly chosen partitions at explicit offsets, without a consumer group: the
 * replicator owns its positions. Built on the client library's low-level Fetch (the only path to
 * explicit assignment and to batch attributes). Partition errors are returned, never swallowed,
 * each with the broker's error name; the caller decides policy (e.g. OFFSET_OUT_OF_RANGE is
 * reported as possible data loss).
 */
export class PartitionFetcher {
  readonly cluster: string
  readonly #connection: ClusterConnection
  readonly #client: RawClient
  /** Only for log range lookups after OFFSET_OUT_OF_RANGE; created on first use. */
  #consumer: Consumer | null = null
  #api: FetchApi | null = null
  readonly #options: Required<Omit<PartitionFetcherOptions, 'provenanceKey'>> & { provenanceKey: Buffer | null }
  readonly #decompress: Decompressor
  readonly #partitions = new Map<string, PartitionState>()
  /** Partitions whose last answer was a record batch cut at the size limit: that batch's size. */
  readonly #cutBatches = new Map<string, number>()
  /** Rotates the order of partitions in requests (fetch-plan.ts). */
  #round = 0
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
      partitionMaxBytes: options.partitionMaxBytes ?? 8 * 1024 * 1024,
      maxDecompressedBytes: options.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES
    }
    this.#decompress = boundedDecompressor(this.#options.maxDecompressedBytes)
    this.#client = new RawClient(connection, 'fetcher')
  }

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

    const round = this.#round++
    const perNode = await Promise.all(
      [...byNode].map(([node, list]) => this.#fetchFromNode(node, list, sizeScale, round))
    )
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
      next.set(name, {
        topicId: topic.id,
        leaders: topic.partitions.map(p => p.leader),
        epochs: topic.partitions.map(p => p.leaderEpoch ?? -1)
      })
    }
    this.#metadata = next
    this.#metadataStale = false
  }

  async #fetchFromNode(
    node: number,
    requests: TopicPartitionOffset[],
    sizeScale: number,
    round: number
  ): Promise<PartitionFetch[]> {
    const responseMaxBytes = this.#options.maxBytes * sizeScale
    const planned = planFetch(
      requests,
      round,
      this.#options.partitionMaxBytes * sizeScale,
      r => this.#cutBatches.get(`${r.topic}:${r.partition}`) ?? 0
    )
    const byTopic = new Map<string, { topicId: string; partitions: typeof planned }>()
    const topicNames = new Map<string, string>()
    for (const p of planned) {
      const topicId = this.#metadata.get(p.request.topic)!.topicId
      topicNames.set(topicId, p.request.topic)
      let entry = byTopic.get(p.request.topic)
      if (entry === undefined) byTopic.set(p.request.topic, (entry = { topicId, partitions: [] }))
      entry.partitions.push(p)
    }

    let response: FetchResponse
    try {
      const broker = this.#brokers.get(node)
      if (broker === undefined) throw new Error(`broker ${node} is not in the cluster metadata`)
      const [api, connection] = await Promise.all([this.#fetchApi(), this.#client.connectionTo(broker)])
      const topics = [...byTopic.values()].map(t => ({
        topicId: t.topicId,
        partitions: t.partitions.map(({ request: p, maxBytes }) => {
          const state = this.#partitions.get(`${p.topic}:${p.partition}`)
          return {
            partition: p.partition,
            // With both epochs the leader checks that the log fetched so far is still its log
            // (KIP-320): a truncated log answers with diverging_epoch instead of other records.
            currentLeaderEpoch: this.#metadata.get(p.topic)?.epochs[p.partition] ?? -1,
            fetchOffset: p.offset,
            lastFetchedEpoch: state !== undefined && state.expected === p.offset ? state.epoch : -1,
            partitionMaxBytes: Math.min(maxBytes, Math.max(responseMaxBytes, this.#options.partitionMaxBytes))
          }
        })
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
        responseMaxBytes,
        isolation,
        0,
        -1,
        topics,
        [],
        ''
      )
      if (response.errorCode !== 0) {
        const name = fetchErrorKind(response.errorCode).name
        throw new Error(`broker ${node} answered the fetch with ${name} (error code ${response.errorCode})`)
      }
    } catch (error) {
      if (KdrError.is(error) && error.code === 'KDR_ERR_KAFKA_FETCH' && this.#api === null) throw error
      this.#metadataStale = true
      const message = `fetch from broker ${node} failed: ${describeCause(error)}`
      return requests.map(r => this.#failed(r, 'KDR_ERR_KAFKA_FETCH', message, true, error))
    }

    const wanted = new Map(requests.map(r => [`${r.topic}:${r.partition}`, r]))
    const results: PartitionFetch[] = []
    const outOfRange: PartitionFetch[] = []
    // Decompressed bytes the partitions of this response may still hold (the first batch of each
    // partition is bounded by the decompressor alone).
    const budget = { remaining: this.#options.maxDecompressedBytes }
    for (const topicResponse of response.responses) {
      const topic = topicNames.get(topicResponse.topicId) ?? topicResponse.topicId
      for (const p of topicResponse.partitions) {
        const request = wanted.get(`${topic}:${p.partitionIndex}`)
        if (request === undefined) continue
        wanted.delete(`${topic}:${p.partitionIndex}`)
        const result = this.#partitionResult(request, p, responseMaxBytes, budget)
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
    p: FetchedPartition,
    responseMaxBytes: number,
    budget: { remaining: number }
  ): PartitionFetch {
    const base = this.#empty(request)
    base.highWatermark = p.highWatermark
    base.lastStableOffset = p.lastStableOffset
    base.logStartOffset = p.logStartOffset
    const key = `${request.topic}:${request.partition}`
    if (p.errorCode === OFFSET_OUT_OF_RANGE) {
      // Also the answer when the leader no longer knows the last fetched epoch (retention removed
      // it): the next fetch goes without it, so a retry cannot repeat this forever.
      const state = this.#partitions.get(key)
      if (state !== undefined) state.epoch = -1
      // The broker sends no offsets with this error; #describeRange looks them up and decides.
      base.error = {
        retriable: true,
        brokerError: 'OFFSET_OUT_OF_RANGE',
        error: this.#outOfRangeError(request, 'unknown range')
      }
      return base
    }
    if (p.errorCode !== 0) {
      const { name, action } = fetchErrorKind(p.errorCode)
      if (action === 'refresh') this.#metadataStale = true
      const failed = this.#failed(
        request,
        'KDR_ERR_KAFKA_FETCH',
        `the source broker refused the fetch: ${name} (error code ${p.errorCode})`,
        action !== 'stop'
      )
      failed.error!.brokerError = name
      if (action === 'operator') failed.error!.operator = true
      return { ...base, error: failed.error! }
    }
    if (p.divergingEpoch !== null) {
      // Whatever the partition held from the end offset on is gone; positions must not move.
      this.#partitions.delete(key)
      const { epoch, endOffset } = p.divergingEpoch
      base.error = {
        retriable: false,
        diverged: { epoch, endOffset },
        error: new KdrError(
          'KDR_ERR_SOURCE_DATA_LOST',
          `the source log diverged (unclean leader election?): the leader's log for epoch ${epoch} ends at offset ${endOffset}, below the next offset ${request.offset}; records ${endOffset}..${request.offset - 1n} that were fetched are no longer on the source`,
          { cluster: this.cluster, topic: request.topic, partition: request.partition, offset: endOffset }
        )
      }
      return base
    }
    if (budget.remaining <= 0 && p.records !== null) return base // decoded in a later fetch

    let state = this.#partitions.get(key)
    if (state === undefined || state.expected !== request.offset) {
      // A new partition, or the caller sought elsewhere: transaction state from before no longer applies.
      state = {
        decoder: new PartitionDecoder(this.#options.isolation === 'read_committed'),
        expected: request.offset,
        epoch: -1
      }
      this.#partitions.set(key, state)
    }
    let decoded
    let batches
    try {
      batches = p.records === null ? [] : readBatches(p.records, this.#decompress, budget.remaining)
      decoded = state.decoder.decode(batches, request.offset, p.abortedTransactions, this.#options.provenanceKey)
    } catch (error) {
      this.#partitions.delete(key)
      if (error instanceof DecompressionLimitError) {
        // Never retried: the same batch would come again. The record error policy decides.
        const records = p.records!
        const baseOffset = records.readBigInt64BE(0)
        base.error = {
          retriable: false,
          batch: {
            baseOffset,
            lastOffset: baseOffset + BigInt(records.readInt32BE(23)),
            bytes: records.readInt32BE(8) + 12
          },
          error: new KdrError(
            'KDR_ERR_KAFKA_FETCH',
            `${error.message} (fetch.maxDecompressedBytes): not decompressed`,
            { cluster: this.cluster, topic: request.topic, partition: request.partition, offset: baseOffset },
            { cause: error }
          )
        }
        return base
      }
      // A corrupt or unreadable batch is never turned into data; fetching it again may help
      // (corruption on the way), so the partition retries rather than skips.
      const what = error instanceof BatchFormatError ? error.message : `undecodable records: ${describeCause(error)}`
      return { ...base, ...this.#failed(request, 'KDR_ERR_KAFKA_FETCH', what, true, error) }
    }
    for (const batch of batches) {
      if (batch.attributes & 0x07) budget.remaining -= batch.records.length
    }
    const cut = cutBatchBytes(p.records, batches.length)
    if (cut > 0) {
      if (cut > responseMaxBytes) {
        this.#cutBatches.delete(key)
        base.error = {
          retriable: false,
          error: new KdrError(
            'KDR_ERR_KAFKA_FETCH',
            `the record batch at this offset is ${cut} bytes, more than fetch.maxBytes allows in one response (${responseMaxBytes}); raise fetch.maxBytes to copy it`,
            { cluster: this.cluster, topic: request.topic, partition: request.partition, offset: request.offset }
          )
        }
        return base
      }
      this.#cutBatches.set(key, cut)
    } else if (batches.length > 0) {
      this.#cutBatches.delete(key)
    }
    const last = batches.at(-1)
    if (last !== undefined) state.epoch = last.partitionLeaderEpoch
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

  /**
   * Looks up log start and end after OFFSET_OUT_OF_RANGE and decides (out-of-range.ts): deleted or
   * truncated records are reported with the range, anything else (a failed lookup, an offset the
   * range contains) is retried, never concluded.
   */
  async #describeRange(result: PartitionFetch): Promise<void> {
    const partitions = { [result.topic]: [result.partition] }
    // The library's Consumer requires a group id; listOffsets never joins that group.
    this.#consumer ??= new Consumer({
      ...toClientOptions(this.#connection, 'fetcher'),
      groupId: 'kafka-dr-fetcher-unused'
    })
    let start: bigint | undefined
    let end: bigint | undefined
    let lookupError: unknown = null
    try {
      const [earliest, latest] = await Promise.all([
        this.#consumer.listOffsets({ topics: [result.topic], partitions, timestamp: ListOffsetTimestamps.EARLIEST }),
        this.#consumer.listOffsets({ topics: [result.topic], partitions, timestamp: ListOffsetTimestamps.LATEST })
      ])
      start = earliest.get(result.topic)?.[result.partition]
      end = latest.get(result.topic)?.[result.partition]
    } catch (error) {
      lookupError = error
    }
    const outcome: OutOfRangeOutcome = outOfRangeOutcome(result.fetchOffset, start, end)
    if (outcome === 'retry') {
      const why =
        start === undefined || end === undefined
          ? `the log range lookup failed (${lookupError === null ? 'no answer for the partition' : describeCause(lookupError)})`
          : `the log range [${start}, ${end}) contains it (a leader in transition)`
      result.error = {
        retriable: true,
        brokerError: 'OFFSET_OUT_OF_RANGE',
        error: new KdrError(
          'KDR_ERR_KAFKA_FETCH',
          `the source broker answered OFFSET_OUT_OF_RANGE, but ${why}; fetching again`,
          { cluster: this.cluster, topic: result.topic, partition: result.partition, offset: result.fetchOffset },
          { cause: lookupError ?? undefined }
        )
      }
      return
    }
    result.logStartOffset = start!
    result.highWatermark = end!
    result.error = {
      retriable: false,
      brokerError: 'OFFSET_OUT_OF_RANGE',
      error: this.#outOfRangeError({ ...result, offset: result.fetchOffset }, `range [${start}, ${end})`)
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
