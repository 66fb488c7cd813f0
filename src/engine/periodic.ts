import { setTimeout as sleep } from 'node:timers/promises'

/**
 * One shape for every loop of a link (commits, heartbeats, topic/config/schema sync, checkpoints,
 * round-trip probes): a pass every `ms` until `signal` aborts; a failing pass is reported and the loop
 * goes on at the next interval (each pass bounds its own work).
 */
export interface PeriodicOptions {
  /** Receives a function that starts the next pass at once (also when asked while a pass runs). */
  wakeable?: (wake: () => void) => void
  /** Passes start every `ms` (less the time the last pass took), not `ms` after the last one ended. */
  fixedRate?: boolean
  onError: (error: unknown) => void
}

export async function runEvery(
  signal: AbortSignal,
  ms: number,
  task: () => Promise<void>,
  options: PeriodicOptions
): Promise<void> {
  // A wake aborts the controller of the pass to come: one asked for while a pass runs (a transaction
  // filled up during a commit) starts the next pass as soon as this one ends, never a whole interval later.
  let early = new AbortController()
  options.wakeable?.(() => early.abort())
  let took = 0
  while (!signal.aborted) {
    if (!early.signal.aborted) {
      try {
        await sleep(options.fixedRate === true ? Math.max(0, ms - took) : ms, undefined, {
          signal: AbortSignal.any([signal, early.signal])
        })
      } catch {
        if (signal.aborted) return
      }
    }
    early = new AbortController()
    const started = performance.now()
    try {
      await task()
    } catch (error) {
      options.onError(error)
    }
    took = performance.now() - started
  }
}
