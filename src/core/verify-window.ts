/**
 * Continuous verification (verify/continuous.ts), the pure parts: which source offsets a pass checks
 * per partition (the rolling window), how much target reading one window may cost, and the running
 * tally a link's verification reports (dashboard, /api/dashboard).
 *
 * The window of a partition is the newest `records` source offsets below the stored replication
 * position (the link's committed progress): everything in it is claimed to be on the target, so every
 * source record without its copy there is missing, and none is merely lag.
 */

export interface OffsetWindow {
  from: bigint
  /** Exclusive. */
  to: bigint
}

/**
 * [max(logStart, firstCopied, to - records), to) with to = min(replicatedNext, source end); null when
 * nothing was copied yet or no replicated record is still on the source. Records below the first the
 * link ever copied were never its to copy (startFrom: latest, progress seeded by failback): never in a
 * window, so a quiet partition does not report them as missing pass after pass.
 */
export function windowFor(input: {
  /** Stored progress: next source offset to copy; null before the first commit. */
  replicatedNext: bigint | null
  /** Lowest source offset in the link's copy index (the first segment's start); null when nothing was copied. */
  firstCopied: bigint | null
  logStart: bigint
  /** The source partition's end offset (high watermark). */
  end: bigint
  records: number
}): OffsetWindow | null {
  if (input.replicatedNext === null || input.firstCopied === null || input.records < 1) return null
  const to = input.replicatedNext < input.end ? input.replicatedNext : input.end
  let from = to - BigInt(input.records)
  if (from < input.logStart) from = input.logStart
  if (from < input.firstCopied) from = input.firstCopied
  return from < to ? { from, to } : null
}

/**
 * Target records one window may read: its copies plus the records between them (copies of later
 * offsets not yet committed, replays, other writers in active-active). Beyond it the window is
 * reported as not checked rather than read without bound.
 */
export function targetReadLimit(records: number): number {
  return Math.max(1_000_000, records * 10)
}

/** What one window found (one partition, one pass). */
export interface WindowResult {
  topic: string
  partition: number
  from: number
  to: number
  matched: number
  missing: number
  altered: number
  /** The window did not pass: missing, altered or reordered copies, records lost before replication. */
  failed: boolean
  /** Why the window could not be checked; then the counts above are not findings. */
  error: string | null
}

/** A link's continuous verification as status and dashboard show it. Times in epoch ms. */
export interface VerificationStatus {
  link: string
  intervalMs: number
  recordsPerPartition: number
  /** End of the last pass, successful or not; null before the first. */
  lastPassAt: number | null
  /** End of the last pass that checked every window (whatever it found); null before the first. */
  lastSuccessAt: number | null
  /** Why the last pass did not check every window; null when it did. */
  lastError: string | null
  /** Since this process started. */
  totals: { passes: number; windows: number; matched: number; missing: number; altered: number; errors: number }
  /** The last pass: its windows and findings. */
  lastPass: { windows: number; matched: number; missing: number; altered: number; errors: number } | null
  /** Windows of the last pass that did not match or could not be checked (first MAX_LISTED). */
  problems: WindowResult[]
}

const MAX_LISTED = 20

/** The running tally of one link's passes (one instance per link, fed by its verification loop). */
export class VerificationTally {
  readonly #status: VerificationStatus

  constructor(link: string, intervalMs: number, recordsPerPartition: number) {
    this.#status = {
      link,
      intervalMs,
      recordsPerPartition,
      lastPassAt: null,
      lastSuccessAt: null,
      lastError: null,
      totals: { passes: 0, windows: 0, matched: 0, missing: 0, altered: 0, errors: 0 },
      lastPass: null,
      problems: []
    }
  }

  /** A pass that ran to its end: successful when every window was checked. */
  pass(windows: readonly WindowResult[], at: number): boolean {
    const s = this.#status
    const pass = { windows: windows.length, matched: 0, missing: 0, altered: 0, errors: 0 }
    for (const w of windows) {
      if (w.error !== null) {
        pass.errors++
        continue
      }
      pass.matched += w.matched
      pass.missing += w.missing
      pass.altered += w.altered
    }
    s.totals.passes++
    s.totals.windows += pass.windows - pass.errors
    s.totals.matched += pass.matched
    s.totals.missing += pass.missing
    s.totals.altered += pass.altered
    s.totals.errors += pass.errors
    s.lastPass = pass
    s.lastPassAt = at
    s.problems = windows.filter(w => w.failed || w.error !== null).slice(0, MAX_LISTED)
    const failed = windows.find(w => w.error !== null)
    s.lastError =
      failed === undefined
        ? null
        : `${pass.errors} of ${pass.windows} windows not checked; first: ${failed.topic}/${failed.partition}: ${failed.error}`
    if (failed === undefined) s.lastSuccessAt = at
    return failed === undefined
  }

  /** A pass that ended before its windows (the state or a cluster could not be read). */
  failed(error: string, at: number): void {
    this.#status.totals.passes++
    this.#status.lastPassAt = at
    this.#status.lastError = error
  }

  status(): VerificationStatus {
    const s = this.#status
    return {
      ...s,
      totals: { ...s.totals },
      lastPass: s.lastPass === null ? null : { ...s.lastPass },
      problems: s.problems.map(p => ({ ...p }))
    }
  }
}
