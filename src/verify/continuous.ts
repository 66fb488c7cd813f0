import { setTimeout as sleep } from 'node:timers/promises'
import { type KafkaDrConfig, type LinkConfig } from '../config/index.ts'
import { Backoff } from '../core/backoff.ts'
import { type VerificationStatus, VerificationTally, type WindowResult } from '../core/verify-window.ts'
import { type LinkStatus } from '../engine-events/index.ts'
import { withinDeadline } from '../engine/shutdown.ts'
import { describeCause } from '../errors.ts'
import { type Logger } from '../observability/logger.ts'
import { type SourcePartition, checkWindows } from './windows.ts'

/**
 * Continuous verification inside `kafka-dr replicate`: for every link with `verify: { intervalMs,
 * recordsPerPartition }`, a loop checks every intervalMs the newest replicated records of each
 * partition against their copies on the target (windows.ts). It sits above the engine and reads it
 * only through its status: which partitions this process copies and whether the link runs.
 *
 * Scale-out: each worker verifies the partitions it copies (its share in the link's status), so the
 * work spreads with the copying and no partition is verified twice; a partition moving during a
 * pass is verified by its new owner at its next pass. Metrics carry the worker label.
 *
 * Invariants: one pass at a time per link; a failing pass (a cluster or the state unreadable, or a
 * window not checked) waits longer each time (backoff from intervalMs up to MAX_FAILURE_DELAY_MS)
 * and never touches the data path; stop() aborts the pass under way and returns within STOP_WAIT_MS.
 */

/** What the loop reports, besides its status (observability/metrics.ts implements it). */
export interface VerifyEvents {
  /** The loop started: the last-success gauge starts at this time (epoch ms). */
  verifyStarted(link: string, at: number): void
  /** One window checked (error: not checked, the counts are not findings). */
  verifyWindow(
    link: string,
    topic: string,
    found: { matched: number; missing: number; altered: number; error: boolean }
  ): void
  /** A pass checked every window (epoch ms). */
  verifySucceeded(link: string, at: number): void
}

/** The longest wait after failing passes (when intervalMs is shorter). */
export const MAX_FAILURE_DELAY_MS = 5 * 60_000
/** The first pass comes this soon after the start at the latest: a restart re-checks what it copied before. */
const FIRST_PASS_DELAY_MS = 10_000
/** While the link is not running (starting, fenced), look again this often at most. */
const NOT_RUNNING_DELAY_MS = 5_000
const STOP_WAIT_MS = 5_000

export class ContinuousVerifier {
  readonly #config: KafkaDrConfig
  readonly #log: Logger
  readonly #events: VerifyEvents
  readonly #links: () => LinkStatus[]
  readonly #tallies = new Map<string, VerificationTally>()
  readonly #abort = new AbortController()
  readonly #loops: Promise<void>[] = []

  constructor(config: KafkaDrConfig, log: Logger, events: VerifyEvents, links: () => LinkStatus[]) {
    this.#config = config
    this.#log = log.child({ component: 'continuous-verify' })
    this.#events = events
    this.#links = links
  }

  /** Starts one loop per link that has `verify` in the config; none for the others. */
  start(): void {
    for (const link of this.#config.links) {
      if (link.verify === undefined) continue
      const tally = new VerificationTally(link.name, link.verify.intervalMs, link.verify.recordsPerPartition)
      this.#tallies.set(link.name, tally)
      this.#events.verifyStarted(link.name, Date.now())
      this.#loops.push(this.#run(link, link.verify, tally))
    }
  }

  /** The link's verification so far; null when the link does not verify continuously. */
  status(link: string): VerificationStatus | null {
    return this.#tallies.get(link)?.status() ?? null
  }

  /** Ends every loop: the pass under way is aborted (its clients closed). Bounded by STOP_WAIT_MS. */
  async stop(): Promise<void> {
    this.#abort.abort()
    const ended = await withinDeadline(Promise.all(this.#loops), performance.now() + STOP_WAIT_MS)
    if (!ended.inTime) this.#log.warn({ waitedMs: STOP_WAIT_MS }, 'continuous verification did not stop in time')
  }

  async #run(
    link: LinkConfig,
    settings: { intervalMs: number; recordsPerPartition: number },
    tally: VerificationTally
  ): Promise<void> {
    const signal = this.#abort.signal
    const backoff = new Backoff({
      initialMs: settings.intervalMs,
      maxMs: Math.max(settings.intervalMs, MAX_FAILURE_DELAY_MS),
      maxAttempts: Number.MAX_SAFE_INTEGER
    })
    let delay = Math.min(settings.intervalMs, FIRST_PASS_DELAY_MS)
    for (;;) {
      try {
        await sleep(delay, undefined, { signal })
      } catch {
        return // stopped
      }
      const live = this.#links().find(l => l.link === link.name)
      if (live?.state !== 'running') {
        delay = Math.min(settings.intervalMs, NOT_RUNNING_DELAY_MS)
        continue
      }
      const ok = await this.#pass(link, owned(live), settings.recordsPerPartition, tally)
      if (signal.aborted) return
      if (ok) backoff.reset()
      delay = ok ? settings.intervalMs : (backoff.next() ?? backoff.policy.maxMs)
    }
  }

  /** One pass: true when every window was checked (whatever it found). */
  async #pass(
    link: LinkConfig,
    partitions: SourcePartition[],
    records: number,
    tally: VerificationTally
  ): Promise<boolean> {
    const signal = this.#abort.signal
    let windows: WindowResult[]
    try {
      windows = await checkWindows(this.#config, link, partitions, records, signal)
    } catch (error) {
      if (signal.aborted) return false
      const reason = describeCause(error)
      tally.failed(reason, Date.now())
      this.#log.warn({ link: link.name, err: reason }, 'continuous verification: pass failed; retrying with backoff')
      return false
    }
    if (signal.aborted) return false // a partial pass is not reported
    for (const w of windows) {
      this.#events.verifyWindow(link.name, w.topic, { ...w, error: w.error !== null })
      if (w.failed || w.error !== null) this.#logWindow(link, w)
    }
    const at = Date.now()
    const ok = tally.pass(windows, at)
    if (ok) this.#events.verifySucceeded(link.name, at)
    const last = tally.status().lastPass
    this.#log.debug({ link: link.name, ...last }, 'continuous verification: pass done')
    return ok
  }

  #logWindow(link: LinkConfig, w: WindowResult): void {
    const where = {
      link: link.name,
      source: link.source,
      target: link.target,
      topic: w.topic,
      partition: w.partition,
      sourceOffsets: `${w.from}..${w.to - 1}`
    }
    if (w.error !== null) {
      this.#log.warn({ ...where, err: w.error }, 'continuous verification: window not checked')
    } else {
      this.#log.error(
        { ...where, matched: w.matched, missing: w.missing, altered: w.altered },
        `continuous verification: the target does not match the source (${w.missing} missing, ${w.altered} altered); run kafka-dr verify --link ${link.name} --topics ${w.topic} for the offsets`
      )
    }
  }
}

/** The partitions this process copies (a stopped one that still exists on the source is verified too). */
function owned(live: LinkStatus): SourcePartition[] {
  return live.partitions
    .filter(p => p.state !== 'source-deleted')
    .map(p => ({ topic: p.topic, partition: p.partition }))
}
