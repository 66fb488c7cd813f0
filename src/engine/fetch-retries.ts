import { PartitionBackoff } from '../core/partition-backoff.ts'
import { type KdrError } from '../errors.ts'
import { type PartitionFetch } from '../kafka/index.ts'
import { type Logger } from '../observability/logger.ts'
import { type CopierSettings } from './copier-types.ts'

/** Fetch retries of one partition: transient errors, and errors only an operator can fix (an ACL). */
const FETCH_RETRY_MAX_MS = 5_000
const FETCH_BLOCKED_FIRST_MS = 1_000
const FETCH_BLOCKED_MAX_MS = 30_000

/**
 * The fetch retries of one partition copier (partition-copier.ts). Its errors never delay other
 * partitions' fetches: this partition alone backs off (bounded, with jitter); when only an operator
 * can fix the error (an ACL), slowly, shown as `retrying` with the reason and logged once, so a fix
 * resumes it without a restart.
 */
export class FetchRetries {
  readonly #settings: CopierSettings
  readonly #log: Logger
  /** Wakes the fetch loop once the backoff has passed. */
  readonly #wake: () => void
  readonly #backoff = new PartitionBackoff()
  #blocked: KdrError | null = null
  #brokerError: string | null = null

  constructor(settings: CopierSettings, log: Logger, wake: () => void) {
    this.#settings = settings
    this.#log = log
    this.#wake = wake
  }

  /** Set while fetches fail for a reason only an operator can fix: shown as `retrying` with it. */
  get blocked(): KdrError | null {
    return this.#blocked
  }

  /** The broker's name for the error the partition's fetches fail with (status, metric). */
  get brokerError(): string | null {
    return this.#brokerError
  }

  /** Whether the last fetch failed (recovered() is due at the next good one). */
  get failing(): boolean {
    return this.#backoff.failures > 0
  }

  /** Whether a fetch may go now: no failure, or its backoff has passed. */
  ready(): boolean {
    return this.#backoff.failures === 0 || this.#backoff.ready(Date.now())
  }

  /**
   * A fetch failed (other than out of range, diverged or an undecodable batch). Returns false when
   * retrying cannot help: the caller stops the partition.
   */
  failed(failure: NonNullable<PartitionFetch['error']>): boolean {
    this.#brokerError = failure.brokerError ?? null
    if (!failure.retriable) return false
    const blocked = failure.operator === true
    const delay = blocked
      ? this.#backoff.fail(Date.now(), FETCH_BLOCKED_MAX_MS, FETCH_BLOCKED_FIRST_MS)
      : this.#backoff.fail(Date.now(), FETCH_RETRY_MAX_MS)
    setTimeout(this.#wake, delay).unref()
    this.#settings.events.retry(this.#settings.link, 'fetch')
    if (!blocked || this.#blocked?.message === failure.error.message) return true
    this.#blocked = failure.error
    this.#settings.events.error(this.#settings.link, failure.error.code)
    this.#log.error(
      { code: failure.error.code, brokerError: failure.brokerError, err: failure.error.message },
      `partition cannot be read from the source: ${failure.brokerError ?? 'refused'}; retrying every ${FETCH_BLOCKED_MAX_MS / 1000} s at most until it can (no restart needed)`
    )
    return true
  }

  /** A fetch succeeded after failures: the backoff resets, and a blocked partition says it is readable again. */
  recovered(): void {
    const failures = this.#backoff.failures
    this.#backoff.succeed()
    this.#brokerError = null
    if (this.#blocked === null) return
    this.#blocked = null
    this.#log.info({ failedFetches: failures }, 'partition readable on the source again: fetching resumed')
  }
}
