import { createHash, timingSafeEqual } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http'
import { type AddressInfo } from 'node:net'
import { type VerificationStatus } from '../core/verify-window.ts'
import { type LinkStatus } from '../engine-events/index.ts'
import { KdrError, describeCause } from '../errors.ts'
import { type Logger } from '../observability/logger.ts'
import { type Metrics, partitionLag } from '../observability/metrics.ts'
import { createScrubber } from '../observability/scrub.ts'
import { type LinkControl, controlRoute, readControlRequest } from './control.ts'
import { allowedHost } from './host-check.ts'
import { version } from '../version.ts'

/**
 * The HTTP server inside `kafka-dr replicate`: Prometheus metrics, liveness and readiness, and the
 * status API, and (control.ts) pause and resume. It binds to loopback by default; bound elsewhere, the config requires a
 * bearer token, which every request must carry (compared in constant time). Without a token, every
 * request must name a loopback host or the listen host in its Host header (host-check.ts: a web page
 * cannot read the API through DNS rebinding). Every answer is scrubbed of secrets as log lines are.
 *
 *   GET /metrics      Prometheus text format
 *   GET /healthz      200 while the process runs
 *   GET /readyz       200 when every link runs, holds its worker group assignment and no partition is stopped, else 503 (JSON names why)
 *   GET /api/status   what `kafka-dr status --json` prints
 *   GET /api/dashboard the live state the dashboard polls (per link: totals, partitions, groups, schemas, verification)
 *   GET /              the dashboard (ui/; static files need no token, the data they fetch does)
 *   POST /api/links/{link}/pause|resume  (control.ts; only with http.token, even on loopback)
 */

export interface HttpServerOptions {
  host: string
  port: number
  token: string | null
  metrics: Metrics
  /** The replicator's live status (readiness). */
  links: () => LinkStatus[]
  /** The status report of `kafka-dr status --json`. */
  status: () => Promise<unknown>
  log: Logger
  /** Resolved secret values of the config: scrubbed from every answer. */
  secrets?: readonly string[]
  /** A link's continuous verification (verify/continuous.ts), for the dashboard; null when it has none. */
  verification?: (link: string) => VerificationStatus | null
  /** Pause and resume (control.ts); absent: no write endpoint. */
  control?: LinkControl
}

export interface HttpServer {
  /** Base URL, e.g. http://127.0.0.1:9644 */
  url: string
  port: number
  close(): Promise<void>
}

/** How long one /api/status answer is reused: it reads the state topic and asks the source. */
const STATUS_CACHE_MS = 2000

/** The dashboard's files, served as they are: ui/ beside src/ and dist/, uPlot from its package. */
function loadAssets(): Map<string, { type: string; body: Buffer }> {
  const ui = join(import.meta.dirname, '..', '..', 'ui')
  const require = createRequire(import.meta.url)
  const uplot = join(require.resolve('uplot/package.json'), '..', 'dist')
  const file = (path: string, type: string) => ({ type, body: readFileSync(path) })
  return new Map([
    ['/', file(join(ui, 'index.html'), 'text/html; charset=utf-8')],
    ['/assets/dashboard.js', file(join(ui, 'dashboard.js'), 'text/javascript; charset=utf-8')],
    ['/assets/dashboard.css', file(join(ui, 'dashboard.css'), 'text/css; charset=utf-8')],
    ['/assets/uPlot.iife.min.js', file(join(uplot, 'uPlot.iife.min.js'), 'text/javascript; charset=utf-8')],
    ['/assets/uPlot.min.css', file(join(uplot, 'uPlot.min.css'), 'text/css; charset=utf-8')]
  ])
}

/** What the dashboard shows of one link, from the replicator's live status. */
export function dashboardLink(
  l: LinkStatus,
  now: number,
  verification: VerificationStatus | null = null
): Record<string, unknown> {
  let records = 0
  let bytes = 0
  let lag = 0
  /** The oldest known age of a record not replicated; null when records are missing but none has a known age. */
  let lagSeconds: number | null = null
  const partitions = l.partitions.map(p => {
    const missing = partitionLag(p, now)
    records += p.replicatedRecords
    bytes += p.replicatedBytes
    lag += missing.records
    if (missing.seconds !== null) lagSeconds = Math.max(lagSeconds ?? 0, missing.seconds)
    return {
      topic: p.topic,
      partition: p.partition,
      state: p.state,
      reason: p.reason,
      lagRecords: missing.records,
      lagBytes: missing.bytes,
      lagSeconds: missing.seconds,
      replicatedRecords: p.replicatedRecords
    }
  })
  return {
    link: l.link,
    source: l.source,
    target: l.target,
    state: l.state,
    error: l.error,
    failover: l.state === 'fenced' ? 'fenced by failover: this link does not write until failback' : null,
    // Scale-out: this worker's place in the link's worker group; its partitions are listed below.
    worker: l.worker ?? null,
    records,
    bytes,
    lagRecords: lag,
    lagSeconds: lag === 0 ? 0 : lagSeconds,
    partitions,
    groups: l.groups,
    schemas:
      l.schemas === null
        ? null
        : {
            mode: l.schemas.mode,
            totals: l.schemas.totals,
            failed: l.schemas.subjects
              .filter(s => s.failed !== null)
              .map(s => ({ subject: s.subject, reason: s.failed }))
          },
    // Continuous verification of the partitions this worker copies (null: the link has no verify).
    verification
  }
}

export const json = (value: unknown): string =>
  JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)

export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const log = options.log.child({ component: 'http' })
  const expected = options.token === null ? null : digest(options.token)
  const startedAt = Date.now()
  const assets = loadAssets()
  const scrub = createScrubber(options.secrets ?? [])
  let cached: { at: number; body: Promise<string> } | null = null

  const reply = (res: ServerResponse, status: number, type: string, body: string): void => {
    res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' })
    res.end(body)
  }
  const replyJson = (res: ServerResponse, status: number, body: unknown): void =>
    reply(res, status, 'application/json; charset=utf-8', scrub.json(body))

  const authorized = (req: IncomingMessage): boolean => {
    if (expected === null) return true
    const header = req.headers.authorization ?? ''
    const given = header.startsWith('Bearer ') ? header.slice(7) : ''
    return timingSafeEqual(digest(given), expected)
  }

  /** A write: only with a configured token, even on loopback (control.ts). */
  const control = async (
    req: IncomingMessage,
    res: ServerResponse,
    route: NonNullable<ReturnType<typeof controlRoute>>,
    links: LinkControl
  ): Promise<void> => {
    if (expected === null) {
      return replyJson(res, 403, {
        error: 'write endpoints need http.token in the config (a bearer token), even on loopback'
      })
    }
    if (!authorized(req)) {
      res.setHeader('www-authenticate', 'Bearer realm="kafka-dr"')
      return replyJson(res, 401, { error: 'a bearer token is required (Authorization: Bearer <token>)' })
    }
    if (!links.hasLink(route.link)) return replyJson(res, 404, { error: `no link named "${route.link}"` })
    try {
      const request = await readControlRequest(req, route.link)
      const result = await (route.action === 'pause' ? links.pause(request) : links.resume(request))
      log.warn(
        { link: route.link, action: route.action, by: request.by, topics: request.topics },
        `link ${route.action} via HTTP`
      )
      return replyJson(res, 200, result)
    } catch (error) {
      if (!KdrError.is(error) || error.code !== 'KDR_ERR_CONFIG') throw error
      return replyJson(res, 400, { error: error.message })
    }
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname
    if (expected === null && !allowedHost(req.headers.host, options.host)) {
      return replyJson(res, 403, {
        error: `Host ${JSON.stringify(req.headers.host)} is not this server's: without http.token only loopback names and the listen address are answered (DNS rebinding defence)`
      })
    }
    const write = controlRoute(path)
    if (write !== null && options.control !== undefined) {
      if (req.method !== 'POST') {
        res.setHeader('allow', 'POST')
        return replyJson(res, 405, { error: `${path}: only POST` })
      }
      return control(req, res, write, options.control)
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD')
      return replyJson(res, 405, { error: 'only GET and HEAD' })
    }
    const asset = assets.get(path === '/index.html' ? '/' : path)
    if (asset !== undefined) {
      res.writeHead(200, {
        'content-type': asset.type,
        'cache-control': 'no-cache',
        'x-content-type-options': 'nosniff'
      })
      res.end(req.method === 'HEAD' ? undefined : asset.body)
      return
    }
    if (!authorized(req)) {
      res.setHeader('www-authenticate', 'Bearer realm="kafka-dr"')
      return replyJson(res, 401, { error: 'a bearer token is required (Authorization: Bearer <token>)' })
    }
    switch (path) {
      case '/metrics':
        return reply(res, 200, options.metrics.contentType, scrub.text(await options.metrics.text()))
      case '/healthz':
        return replyJson(res, 200, {
          status: 'ok',
          version,
          pid: process.pid,
          uptimeSeconds: Math.round((Date.now() - startedAt) / 1000)
        })
      case '/readyz': {
        const links = options.links().map(l => {
          // A paused partition is the operator's choice, not a fault: it does not make the link unready.
          const stopped = l.partitions.filter(p => p.state !== 'running' && p.state !== 'paused')
          // Scale-out: ready once this worker holds its assignment (a copier for each partition it owns).
          const holds = l.worker === undefined || (l.worker.generation >= 0 && l.partitions.length >= l.worker.owned)
          return {
            link: l.link,
            state: l.state,
            error: l.error,
            ...(l.worker === undefined
              ? {}
              : { worker: l.worker.id, generation: l.worker.generation, partitions: l.worker.owned }),
            ready: l.state === 'running' && stopped.length === 0 && holds,
            stoppedPartitions: stopped.map(p => ({
              topic: p.topic,
              partition: p.partition,
              state: p.state,
              reason: p.reason
            }))
          }
        })
        const ready = links.length > 0 && links.every(l => l.ready)
        return replyJson(res, ready ? 200 : 503, { ready, links })
      }
      case '/api/dashboard': {
        const now = Date.now()
        const links = options.links().map(l => dashboardLink(l, now, options.verification?.(l.link) ?? null))
        return replyJson(res, 200, { at: now, links })
      }
      case '/api/status': {
        if (cached === null || Date.now() - cached.at > STATUS_CACHE_MS) {
          cached = { at: Date.now(), body: options.status().then(scrub.json) }
        }
        const body = await cached.body.catch((error: unknown) => {
          cached = null
          throw error
        })
        return reply(res, 200, 'application/json; charset=utf-8', body)
      }
      default:
        return replyJson(res, 404, {
          error: `no such path: ${path}`,
          paths: ['/', '/metrics', '/healthz', '/readyz', '/api/status', '/api/dashboard']
        })
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log.error({ err: describeCause(error), url: req.url }, 'HTTP request failed')
      // The error (e.g. from reading the state or a registry) may quote a credential: scrubbed.
      if (!res.headersSent) replyJson(res, 500, { error: describeCause(error) })
      else res.end()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new KdrError(
          'KDR_ERR_CONFIG',
          `the HTTP server cannot listen on ${options.host}:${options.port} (http.listen): ${error.code ?? error.message}${error.code === 'EADDRINUSE' ? ' (another kafka-dr on this host? set http.listen, or http.enabled: false)' : ''}`
        )
      )
    )
    server.listen(options.port, options.host, () => resolve())
  })
  const { port } = server.address() as AddressInfo
  const host = options.host.includes(':') ? `[${options.host}]` : options.host
  const url = `http://${host}:${port}`
  log.info({ url, auth: expected === null ? 'none (loopback)' : 'bearer token' }, 'HTTP server listening')
  return {
    url,
    port,
    close: () =>
      new Promise<void>(resolve => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
  }
}

/** Fixed-length digests, so that the comparison takes the same time whatever was sent. */
function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest()
}
