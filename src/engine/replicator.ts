import { type KafkaDrConfig } from '../config/index.ts'
import { KdrError, describeCause } from '../errors.ts'
import { TransactionError } from '../kafka/index.ts'
import { type Logger } from '../observability/logger.ts'
import { type EngineEvents, type LinkStatus, NO_EVENTS } from '../engine-events/index.ts'
import { RoutePlan } from '../core/routes.ts'
import { LinkReplicator } from './link-replicator.ts'
import { type WorkerIdentity, defaultWorkerIdentity } from './link-workers.ts'

/** A link failing again within this time after a restart counts as failing in a row. */
const RESET_AFTER_MS = 120_000

/** Backoff before the attempt-th start of a link: 2 s doubling, at most 60 s. */
function restartDelay(attempt: number): number {
  return Math.min(60_000, 2000 * 2 ** Math.min(attempt - 1, 5))
}

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
  /** Run-time failures in a row per link, for the restart backoff. */
  readonly #failures = new Map<string, { count: number; at: number }>()

  readonly #events: EngineEvents
  /** One route per (origin, target) over every link of the config: which copied records each link copies. */
  readonly #routes: RoutePlan

  /** Who this process is in the links' worker groups (docs/scale-out.md). */
  readonly identity: WorkerIdentity

  constructor(
    config: KafkaDrConfig,
    log: Logger,
    events: EngineEvents = NO_EVENTS,
    identity: WorkerIdentity = defaultWorkerIdentity()
  ) {
    this.identity = identity
    this.#config = config
    this.#log = log
    this.#events = events
    this.#routes = RoutePlan.of(config.clusters.keys(), config.links)
    this.#links = config.links.map(link => this.#newLink(link))
  }

  #newLink(link: KafkaDrConfig['links'][number]): LinkReplicator {
    const replicator = new LinkReplicator(
      link,
      this.#config.clusters,
      this.#log,
      this.#config.registries,
      this.#events,
      this.#routes.linkRouting(link.source, link.target),
      { workers: this.#config.workers, identity: this.identity }
    )
    replicator.onFailed = error => this.#restartFailed(replicator, error)
    return replicator
  }

  /**
   * A link stopped by itself at run time (an exactly-once transaction failed): started again as a
   * fresh LinkReplicator after a backoff that grows with failures in a row (a link that ran for
   * RESET_AFTER_MS counts from the start again), unless only an operator can fix it.
   */
  #restartFailed(failed: LinkReplicator, error: KdrError): void {
    const index = this.#links.indexOf(failed)
    if (index < 0 || this.#stopped) return
    const name = failed.config.name
    this.#events.error(name, error.code)
    this.#startErrors.set(name, error.message)
    if (givesUp(error)) {
      this.#log.error({ link: name, err: error.message }, 'link stopped; not restarted')
      return
    }
    const now = Date.now()
    const last = this.#failures.get(name)
    const inARow = last !== undefined && now - last.at < RESET_AFTER_MS ? last.count + 1 : 1
    this.#failures.set(name, { count: inARow, at: now })
    this.#log.error(
      { link: name, err: error.message, retryInMs: restartDelay(inARow) },
      'link stopped after a failure; restarting'
    )
    this.#startLater(index, restartDelay(inARow), inARow + 1)
  }

  /** Replaces the link at `index` by a fresh one and starts it (as attempt `next`) after `delayMs`. */
  #startLater(index: number, delayMs: number, next: number): void {
    this.#links[index] = this.#newLink(this.#links[index]!.config)
    const timer = setTimeout(() => {
      this.#retries.delete(timer)
      if (!this.#stopped) void this.#startLink(index, next)
    }, delayMs)
    this.#retries.add(timer)
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
      if (givesUp(error)) {
        // Failed over (must not write until failback), or refused for good: not retried.
        this.#log.error({ link: link.config.name, err: message }, 'link not started; not retried')
        await link.stop().catch(() => {})
        return
      }
      this.#log.error(
        { link: link.config.name, err: message, retryInMs: restartDelay(attempt) },
        'link failed to start; retrying'
      )
      await link.stop().catch(() => {})
      if (this.#stopped) return
      this.#startLater(index, restartDelay(attempt), attempt + 1)
    }
  }
}

/**
 * Failures a restart cannot mend: the link was failed over (fenced until failback), or the target
 * refuses its transactions for good (an ACL, an unsupported broker): an operator must act.
 */
function givesUp(error: unknown): boolean {
  if (error instanceof TransactionError) return error.kind === 'fatal'
  // Fenced: failed over. Config: refused by the worker group (this process's configuration differs).
  return KdrError.is(error) && (error.code === 'KDR_ERR_FENCED' || error.code === 'KDR_ERR_CONFIG')
}
