import { setTimeout as sleep } from 'node:timers/promises'
import { type LinkConfig } from '../config/index.ts'
import { FetchSizing } from '../core/fetch-sizing.ts'
import { PROVENANCE_HEADER_KEY } from '../core/provenance.ts'
import { describeCause } from '../errors.ts'
import { type ClusterConnection, PartitionFetcher } from '../kafka/index.ts'
import { type Logger } from '../observability/logger.ts'
import { type EngineEvents } from '../engine-events/index.ts'
import { type PartitionCopier } from './partition-copier.ts'
import { partitionKey } from '../state/index.ts'

/**
 * The fetch lanes of a link (link-replicator.ts): one fetcher (own connections) per lane, reading
 * its share of the running partitions from the source in shared fetch requests, one request at a
 * time. Fetch and buffer sizes follow the round trip to the source. A lane with nothing to fetch
 * sleeps until a partition wants data again (wake()) or half a second passed.
 */
export class FetchLanes {
  /** The link's copiers by partitionKey, shared with the link (it adds them; lanes only read). */
  readonly #copiers: ReadonlyMap<string, PartitionCopier>
  readonly #config: LinkConfig
  readonly #log: Logger
  readonly #events: EngineEvents
  #fetchers: PartitionFetcher[] = []
  readonly #laneOf = new Map<PartitionCopier, number>()
  #nextLane = 0
  /** Fetch and buffer sizes follow the round trip to the source. */
  readonly #sizing = new FetchSizing()
  /** Resolvers of idle fetch lanes, woken when a partition wants data again or on stop. */
  readonly #wakers = new Set<() => void>()
  #stopping = false

  constructor(copiers: ReadonlyMap<string, PartitionCopier>, config: LinkConfig, log: Logger, events: EngineEvents) {
    this.#copiers = copiers
    this.#config = config
    this.#log = log
    this.#events = events
  }

  /** Creates one fetcher per lane (fetch.concurrency). */
  open(source: ClusterConnection): void {
    const config = this.#config
    this.#fetchers = Array.from(
      { length: config.fetch.concurrency },
      () =>
        new PartitionFetcher(source, {
          isolation: 'read_committed',
          raw: true,
          provenanceKey: PROVENANCE_HEADER_KEY,
          maxWaitMs: config.fetch.maxWaitMs,
          minBytes: config.fetch.minBytes,
          maxBytes: config.fetch.maxBytes,
          partitionMaxBytes: config.fetch.partitionMaxBytes,
          maxDecompressedBytes: config.fetch.maxDecompressedBytes
        })
    )
  }

  /** Puts a new copier on a lane (round robin) and sizes its buffer. */
  assign(copier: PartitionCopier): void {
    copier.bufferScale = this.#sizing.scale
    this.#laneOf.set(copier, this.#nextLane++ % Math.max(1, this.#fetchers.length))
  }

  /** Forgets a copier the link no longer runs (its partition moved to another worker). */
  unassign(copier: PartitionCopier): void {
    this.#laneOf.delete(copier)
  }

  /** Runs every lane until stop(). */
  run(): Promise<void>[] {
    return this.#fetchers.map((fetcher, lane) => this.#fetchLoop(fetcher, lane))
  }

  /** No new fetch from now on; idle lanes end at once, a lane waiting for a response after it. */
  stop(): void {
    this.#stopping = true
    this.wake()
  }

  close(): Promise<void>[] {
    return this.#fetchers.map(f => f.close())
  }

  /** Measures the round trip to the source and scales fetch and buffer sizes to it. */
  async probeRoundTrip(): Promise<void> {
    const fetcher = this.#fetchers[0]
    if (fetcher === undefined) return
    const topics = [...new Set([...this.#copiers.values()].map(c => c.topic))]
    if (!this.#sizing.sample(await fetcher.roundTripMs(topics))) return
    for (const copier of this.#copiers.values()) copier.bufferScale = this.#sizing.scale
    this.#log.info(
      {
        roundTripMs: Number(this.#sizing.roundTripMs!.toFixed(1)),
        partitionFetchBytes: this.#config.fetch.partitionMaxBytes * this.#sizing.scale,
        partitionBufferBytes: this.#config.producer.maxBufferedBytesPerPartition * this.#sizing.scale
      },
      'fetch sizes follow the round trip to the source'
    )
    this.wake()
  }

  /** Wakes the idle lanes: a partition wants data again, or the link stops. */
  wake(): void {
    for (const wake of [...this.#wakers]) wake()
  }

  /** One fetch lane: fetches its share of the partitions, one request at a time, for as long as the link runs. */
  async #fetchLoop(fetcher: PartitionFetcher, lane: number): Promise<void> {
    let backoff = 0
    let warnedAt = 0
    while (!this.#stopping) {
      let queued = 0
      for (const copier of this.#copiers.values()) queued += copier.queuedBytes
      // The link-wide limit: no new fetch while the partitions together hold this much unwritten.
      const active =
        queued >= this.#config.producer.maxBufferedBytes
          ? []
          : [...this.#copiers.values()].filter(c => c.wantsFetch && this.#laneOf.get(c) === lane)
      if (active.length === 0) {
        await new Promise<void>(resolve => {
          const done = (): void => {
            this.#wakers.delete(done)
            clearTimeout(timer)
            resolve()
          }
          const timer = setTimeout(done, 500).unref()
          this.#wakers.add(done)
        })
        continue
      }
      try {
        const results = await fetcher.fetch(
          active.map(c => ({ topic: c.topic, partition: c.partition, offset: c.fetchOffset })),
          this.#sizing.scale
        )
        // A partition's errors are its own: it backs off alone (PartitionCopier.onFetch) while the
        // others keep fetching. Transient ones are summed up here, at most one line per 5 s.
        let failing = 0
        let first: string | null = null
        for (const result of results) {
          this.#copiers.get(partitionKey(result.topic, result.partition))?.onFetch(result)
          if (result.error?.retriable === true && result.error.operator !== true) {
            failing++
            first ??= result.error.error.message
          }
        }
        backoff = 0
        if (failing > 0 && Date.now() - warnedAt >= 5000) {
          warnedAt = Date.now()
          this.#log.warn(
            { err: first, partitions: failing },
            'source fetch failed for some partitions; each retries with its own backoff'
          )
        }
      } catch (error) {
        this.#events.retry(this.#config.name, 'fetch')
        backoff = Math.min(5000, backoff === 0 ? 200 : backoff * 2)
        this.#log.warn({ err: describeCause(error), retryInMs: backoff }, 'source fetch failed; retrying')
        await sleep(backoff)
      }
    }
  }
}
