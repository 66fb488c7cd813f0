import { type KafkaDrConfig } from '../config/index.ts'
import { KdrError, describeCause } from '../errors.ts'
import { type Logger } from '../observability/logger.ts'
import { type EngineEvents, type LinkStatus, NO_EVENTS } from '../engine-events/index.ts'
import { RoutePlan } from '../core/routes.ts'
import { LinkReplicator } from './link-replicator.ts'

/**
 * Runs every link of a config. Links are independent: one that fails to start is reported and
 * retried with backoff (as a fresh LinkReplicator) without holding up the others.
 */
export class Replicator {
  readonly #config: KafkaDrConfig
  readonly #links: LinkReplicator[]
  readonly #log: Logger
  readonly #startErrors = new Map<string, string>()
  readonly #retries = new Set<NodeJS.Timeout>()
  #stopped = false

  readonly #events: EngineEvents
  /** One route per (origin, target) over every link of the config: which copied records each link copies. */
  readonly #routes: RoutePlan

  constructor(config: KafkaDrConfig, log: Logger, events: EngineEvents = NO_EVENTS) {
    this.#config = config
    this.#log = log
    this.#events = events
    this.#routes = RoutePlan.of(config.clusters.keys(), config.links)
    this.#links = config.links.map(link => this.#newLink(link))
  }

  #newLink(link: KafkaDrConfig['links'][number]): LinkReplicator {
    return new LinkReplicator(
      link,
      this.#config.clusters,
      this.#log,
      this.#config.registries,
      this.#events,
      this.#routes.linkRouting(link.source, link.target)
    )
  }

  get links(): readonly LinkReplicator[] {
    return this.#links
  }

  /** Starts every link; resolves when each has started or failed its first attempt. */
  async start(): Promise<void> {
    await Promise.all(this.#links.map((_, index) => this.#startLink(index, 1)))
  }

  async stop(): Promise<void> {
    this.#stopped = true
    for (const timer of this.#retries) clearTimeout(timer)
    await Promise.all(this.#links.map(link => link.stop()))
  }

  status(): LinkStatus[] {
    return this.#links.map(link => {
      const status = link.status()
      const startError = this.#startErrors.get(link.config.name)
      if (startError === undefined) return status
      return { ...status, state: status.state === 'fenced' ? 'fenced' : 'failed', error: startError }
    })
  }

  async #startLink(index: number, attempt: number): Promise<void> {
    const link = this.#links[index]!
    try {
      await link.start()
      this.#startErrors.delete(link.config.name)
    } catch (error) {
      if (this.#stopped) return // stopped while starting: nothing to report or retry
      const message = describeCause(error)
      this.#startErrors.set(link.config.name, message)
      this.#events.error(link.config.name, KdrError.is(error) ? error.code : 'KDR_ERR_RUNTIME')
      if (KdrError.is(error) && error.code === 'KDR_ERR_FENCED') {
        // Failed over: this link must not write until failback. Not retried.
        this.#log.error({ link: link.config.name, err: message }, 'link is fenced; not started')
        await link.stop().catch(() => {})
        return
      }
      const delay = Math.min(60_000, 2000 * 2 ** Math.min(attempt - 1, 5))
      this.#log.error({ link: link.config.name, err: message, retryInMs: delay }, 'link failed to start; retrying')
      await link.stop().catch(() => {})
      if (this.#stopped) return
      this.#links[index] = this.#newLink(link.config)
      const timer = setTimeout(() => {
        this.#retries.delete(timer)
        if (!this.#stopped) void this.#startLink(index, attempt + 1)
      }, delay)
      this.#retries.add(timer)
    }
  }
}
