import { type HttpConfig, isLoopbackHost, loadConfig } from '../../config/index.ts'
import { CatchUpProgress, describeProgress } from '../../core/progress.ts'
import { KdrError } from '../../errors.ts'
import { type LinkStatus } from '../../engine-events/index.ts'
import { startObserved } from '../../http/observed.ts'
import { type Logger, createLogger } from '../../observability/logger.ts'
import { startDrillSchedule } from '../drill-schedule.ts'

/**
 * `kafka-dr replicate --config F`: runs every link until SIGINT or SIGTERM, then stops gracefully
 * (in-flight writes finish, progress is committed) and exits 0. A stop is bounded by the links'
 * drainTimeoutMs: when it passes (the target does not answer) or the final commit fails, the log
 * names the source offsets left uncommitted and the exit code is 1. A second signal exits at once.
 */
export async function replicate(options: {
  config: string
  logLevel?: string
  /** json or pretty; default pretty on a terminal, json otherwise. */
  logFormat?: 'json' | 'pretty'
  statusIntervalMs?: number
  /** false: no HTTP server; httpListen overrides the config's http.listen. */
  http?: boolean
  httpListen?: string
  /** This process's id in the links' worker groups (static membership); default host-pid. */
  workerId?: string
}): Promise<number> {
  // Signals are handled from the first moment: a SIGTERM during start-up still ends in a clean stop.
  let log: Logger | null = null
  let signalled = 0
  const stopped = new Promise<string>(resolve => {
    const onSignal = (signal: NodeJS.Signals): void => {
      signalled++
      if (signalled > 1) {
        log?.error({ signal }, 'second signal: exiting without waiting for in-flight writes')
        process.exit(1)
      }
      log?.info({ signal }, 'stopping: finishing in-flight writes and committing progress')
      resolve(signal)
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  })

  const config = loadConfig(options.config)
  log = createLogger({
    secrets: config.secrets,
    format: options.logFormat ?? (process.stderr.isTTY ? 'pretty' : 'json'),
    ...(options.logLevel === undefined ? {} : { level: options.logLevel })
  })
  for (const warning of config.warnings) log.warn({ config: config.origin }, warning)
  const observed = await startObserved(
    config,
    log,
    options.http === false ? null : withListen(config.http, options.httpListen),
    options.workerId
  )
  const running = observed.replicator
  const interval = setInterval(() => logSummary(log, running.status()), options.statusIntervalMs ?? 30_000)
  const catchUp = watchCatchUp(log, () => running.status())
  // Scheduled DR drills (links[].drill) run beside the engine, not inside it.
  // Scaled-out links: only the worker group's leader drills (every worker would drill the same groups).
  const drills = startDrillSchedule(config, log, observed.metrics, link =>
    running.status().some(l => l.link === link && (l.worker?.leader ?? true))
  )
  await stopped
  clearInterval(interval)
  clearInterval(catchUp)
  await Promise.all([observed.stop(), drills.stop()])
  logSummary(log, running.status())
  log.debug({ activeResources: process.getActiveResourcesInfo() }, 'resources still open at exit')
  // Not a clean stop: records will be copied again on restart (each link logged which).
  return running.links.some(link => link.leftUncommitted.length > 0) ? 1 : 0
}

/**
 * While a link has a backlog (at least 10,000 records and more than a few seconds of work), a line
 * every 5 s says how much is left, how fast it goes and when it will be done.
 */
function watchCatchUp(log: Logger, status: () => LinkStatus[]): NodeJS.Timeout {
  const progress = new Map<string, CatchUpProgress>()
  return setInterval(() => {
    const now = Date.now()
    for (const link of status()) {
      let copied = 0
      let remaining = 0
      for (const p of link.partitions) {
        copied += p.replicatedRecords
        remaining += Number(p.lagRecords)
      }
      let tracker = progress.get(link.link)
      if (tracker === undefined) progress.set(link.link, (tracker = new CatchUpProgress()))
      const report = tracker.sample(now, copied, remaining)
      if (remaining < 10_000 || (report.etaSeconds !== null && report.etaSeconds < 5)) continue
      log.info(
        {
          link: link.link,
          remainingRecords: remaining,
          recordsPerSecond: report.rate === null ? null : Math.round(report.rate),
          etaSeconds: report.etaSeconds === null ? null : Math.ceil(report.etaSeconds)
        },
        `catching up: ${describeProgress(report)}`
      )
    }
  }, 5000).unref()
}

function logSummary(log: Logger, links: LinkStatus[]): void {
  for (const link of links) {
    let records = 0
    let lag = 0n
    // Paused partitions are an operator's choice (kafka-dr pause), not stopped by a fault.
    const stopped = link.partitions.filter(p => p.state !== 'running' && p.state !== 'paused')
    for (const p of link.partitions) {
      records += p.replicatedRecords
      lag += p.lagRecords
    }
    log.info(
      {
        link: link.link,
        state: link.state,
        partitions: link.partitions.length,
        replicatedRecords: records,
        lagRecords: String(lag),
        stoppedPartitions: stopped.map(p => `${p.topic}/${p.partition}: ${p.reason ?? p.state}`)
      },
      'status'
    )
  }
}

/** The config's HTTP settings with --http-listen applied; the token rule holds for the new address too. */
function withListen(http: HttpConfig | null, listen: string | undefined): HttpConfig | null {
  if (listen === undefined) return http
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(listen)
  const port = Number(match?.[2])
  if (match?.[1] === undefined || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new KdrError('KDR_ERR_CONFIG', `--http-listen: expected "host:port", got "${listen}"`)
  }
  const token = http?.token ?? null
  if (token === null && !isLoopbackHost(match[1])) {
    throw new KdrError(
      'KDR_ERR_CONFIG',
      `--http-listen ${listen} is not a loopback address: set http.token in the config`
    )
  }
  return { host: match[1], port, token }
}
