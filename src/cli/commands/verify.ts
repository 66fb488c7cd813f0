import { setTimeout as sleep } from 'node:timers/promises'
import { type KafkaDrConfig, loadConfig } from '../../config/index.ts'
import { KdrError, describeCause } from '../../errors.ts'
import { type VerifyOptions, type VerifyReport, verifyLink } from '../../verify/verify.ts'

/**
 * `kafka-dr verify --config F --link dc1->dc2 [--topics a,b] [--from-time T] [--strict] [--json]`: exit
 * 0 only when every checked partition's replicated range matches the source; progress goes to stderr.
 * A bad option value is a usage error (exit 2), found before any cluster is contacted.
 *
 * `--watch <interval>` runs the check again every interval (from the start of one run to the start of
 * the next) and prints each result (with --json one line per run), until SIGINT or SIGTERM; the exit
 * code is the last finished run's. A run that fails (a cluster does not answer) is reported and the
 * next one comes on schedule; a configuration error ends the watch.
 */
export interface VerifyCommandOptions {
  config: string
  link: string
  topics?: string
  fromTime?: string
  rangeSize?: string
  strict?: boolean
  json?: boolean
  quiet?: boolean
  watch?: string
}

export async function verifyCommand(options: VerifyCommandOptions): Promise<number> {
  const parsed = parseVerifyOptions(options)
  const watchMs = options.watch === undefined ? null : parseWatchInterval(options.watch)
  const config = loadConfig(options.config)
  if (watchMs === null) return verifyOnce(config, options, parsed)
  return watchVerify(config, options, parsed, watchMs)
}

async function verifyOnce(
  config: KafkaDrConfig,
  options: VerifyCommandOptions,
  parsed: Omit<VerifyOptions, 'onProgress'>,
  watching = false
): Promise<number> {
  let lastProgress = 0
  const report = await verifyLink(config, options.link, {
    ...parsed,
    onProgress: p => {
      if (options.quiet === true || Date.now() - lastProgress < 1000) return
      lastProgress = Date.now()
      const share = p.total === 0 ? 100 : (p.checked / p.total) * 100
      process.stderr.write(
        `verify: ${p.checked} of ${p.total} source records checked (${share.toFixed(0)} %), at ${p.topic}/${p.partition}\n`
      )
    }
  })
  if (options.json === true) console.log(watching ? JSON.stringify(report) : JSON.stringify(report, null, 2))
  else printReport(report)
  return report.ok ? 0 : 1
}

/** Runs verifyOnce every `intervalMs` until SIGINT/SIGTERM (a second signal exits at once). */
async function watchVerify(
  config: KafkaDrConfig,
  options: VerifyCommandOptions,
  parsed: Omit<VerifyOptions, 'onProgress'>,
  intervalMs: number
): Promise<number> {
  const stop = new AbortController()
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stop.signal.aborted) process.exit(130)
    process.stderr.write(`verify --watch: ${signal}: stopping\n`)
    stop.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  let last: number | null = null
  try {
    while (!stop.signal.aborted) {
      const started = performance.now()
      try {
        last = await verifyOnce(config, options, { ...parsed, signal: stop.signal }, true)
      } catch (error) {
        if (stop.signal.aborted) break // the run under way was stopped: not a result
        if (KdrError.is(error) && error.code === 'KDR_ERR_CONFIG') throw error
        process.stderr.write(`kafka-dr: verify run failed: ${describeCause(error)}\n`)
        last = 1
      }
      try {
        await sleep(Math.max(0, intervalMs - (performance.now() - started)), undefined, { signal: stop.signal })
      } catch {
        break // stopped while waiting
      }
    }
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
  // Stopped before the first run finished: nothing was proven.
  return last ?? 1
}

/** Shortest --watch interval: a full check reads every replicated record. */
export const MIN_WATCH_MS = 1000

/** --watch: a duration like 30s, 5m, 1h or 500ms; a bare number is seconds. */
export function parseWatchInterval(text: string): number {
  const match = /^(\d+)(ms|s|m|h)?$/.exec(text.trim())
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match?.[2] ?? 's'] ?? 1000
  const ms = match === null ? NaN : Number(match[1]) * unit
  if (!Number.isSafeInteger(ms) || ms < MIN_WATCH_MS) {
    throw usage(
      `--watch: expected an interval of at least 1s (e.g. 30s, 5m, 1h; a bare number is seconds), got "${text}"`
    )
  }
  return ms
}

/** Largest --range-size: a range digest per this many source offsets (one range = one hash). */
export const MAX_RANGE_SIZE = 100_000_000

/** The command line's option values, checked: a bad one is KDR_ERR_CONFIG (exit 2). */
export function parseVerifyOptions(options: VerifyCommandOptions): Omit<VerifyOptions, 'onProgress'> {
  const parsed: Omit<VerifyOptions, 'onProgress'> = {}
  if (options.topics !== undefined) {
    const topics = options.topics
      .split(',')
      .map(t => t.trim())
      .filter(t => t !== '')
    if (topics.length === 0) throw usage(`--topics: expected comma-separated topic names, got "${options.topics}"`)
    parsed.topics = topics
  }
  if (options.fromTime !== undefined) parsed.fromTime = parseTime(options.fromTime)
  if (options.rangeSize !== undefined) {
    const text = options.rangeSize.trim()
    const n = /^\d+$/.test(text) ? Number(text) : NaN
    if (!Number.isSafeInteger(n) || n < 1 || n > MAX_RANGE_SIZE)
      throw usage(`--range-size: expected a whole number from 1 to ${MAX_RANGE_SIZE}, got "${options.rangeSize}"`)
    parsed.rangeSize = n
  }
  if (options.strict === true) parsed.strict = true
  return parsed
}

/** An ISO date-time or milliseconds since the epoch. */
function parseTime(text: string): number {
  const value = /^\d+$/.test(text) ? Number(text) : Date.parse(text)
  if (!Number.isSafeInteger(value) || value < 0)
    throw usage(`--from-time: expected an ISO date-time or epoch milliseconds, got "${text}"`)
  return value
}

function usage(message: string): KdrError {
  return new KdrError('KDR_ERR_CONFIG', message)
}

function printReport(report: VerifyReport): void {
  console.log(`verify ${report.link} (${report.source} -> ${report.target}): ${report.ok ? 'OK' : 'MISMATCH'}`)
  for (const p of report.partitions) {
    const problems: string[] = []
    if (p.error !== null) problems.push(`error: ${p.error}`)
    if (p.lostOnSource !== null)
      problems.push(
        `${p.lostOnSource.count} lost: source offsets ${p.lostOnSource.from}..${p.lostOnSource.to - 1} were deleted on the source before they were replicated`
      )
    if (p.missing.count > 0)
      problems.push(
        `${p.missing.count} missing (${p.missing.ranges.map(r => (r.to - r.from === 1 ? `${r.from}` : `${r.from}..${r.to - 1}`)).join(', ')}${p.missing.ranges.length === 20 ? ', ...' : ''})`
      )
    if (p.altered.count > 0)
      problems.push(
        `${p.altered.count} altered (offsets ${p.altered.offsets.join(', ')}), copies at target offsets ${p.altered.targetOffsets.join(', ')}`
      )
    if (p.foreign > 0 && report.strict)
      problems.push(
        `${p.foreign} records from other writers on a standby (target offsets ${p.foreignOffsets.join(', ')}${p.foreign > p.foreignOffsets.length ? ', ...' : ''})`
      )
    if (p.reordered.count > 0)
      problems.push(`${p.reordered.count} reordered (offsets ${p.reordered.offsets.join(', ')})`)
    const notes: string[] = []
    if (p.duplicates.count > 0) notes.push(`${p.duplicates.count} duplicates`)
    if (p.notReplicated.count > 0)
      notes.push(`${p.notReplicated.count} not replicated yet (from ${p.notReplicated.from})`)
    if (p.expiredOnTarget > 0) notes.push(`${p.expiredOnTarget} expired on the target`)
    if (p.goneFromSource > 0) notes.push(`${p.goneFromSource} copies of records the source no longer has`)
    if (p.foreign > 0 && !report.strict)
      notes.push(`${p.foreign} records from other writers (target offsets ${p.foreignOffsets.join(', ')})`)
    if (p.uncheckedOnSource !== null)
      notes.push(
        `source offsets ${p.uncheckedOnSource.from}..${p.uncheckedOnSource.to - 1} not checked: ${p.uncheckedOnSource.reason}`
      )
    for (const g of p.recordedGaps) notes.push(`recorded gap ${g.from}..${g.to - 1} (${g.reason})`)
    console.log(
      `  ${p.ok ? 'ok  ' : 'FAIL'} ${p.topic}/${p.partition} -> ${p.targetTopic}: source ${p.sourceRange.from}..${p.sourceRange.to}, ${p.matched} matched${problems.length > 0 ? `; ${problems.join('; ')}` : ''}${notes.length > 0 ? ` (${notes.join(', ')})` : ''}`
    )
  }
  const t = report.totals
  console.log(
    `${t.partitions} partitions (${t.failedPartitions} failed): ${t.checked} source records checked, ${t.matched} matched, ${t.missing} missing, ${t.lostOnSource} lost on the source, ${t.altered} altered, ${t.reordered} reordered; ${t.duplicates} duplicates, ${t.notReplicated} not replicated yet`
  )
}
