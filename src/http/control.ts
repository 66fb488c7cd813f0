import { type IncomingMessage } from 'node:http'
import { KdrError } from '../errors.ts'

/**
 * The HTTP API's write endpoints (server.ts): pause and resume of a link or of some of its topics.
 *
 *   POST /api/links/{link}/pause   {"topics"?: [...], "reason"?: "...", "by"?: "..."}
 *   POST /api/links/{link}/resume  {"topics"?: [...], "by"?: "..."}
 *
 * `{link}` is URL-encoded (dc1->dc2 is dc1-%3Edc2). Every write needs http.token, even on loopback:
 * without one the server answers 403 (any local process or page could otherwise change replication).
 */

export interface ControlRequest {
  link: string
  topics: string[] | null
  reason: string | null
  /** Who asks: the body's `by` if given, with the caller's address. */
  by: string
}

/** What the replicate command lets the HTTP API change (it wraps failover/pause.ts). */
export interface LinkControl {
  /** Whether the config has a link of that name (else 404). */
  hasLink(name: string): boolean
  pause(request: ControlRequest): Promise<unknown>
  resume(request: ControlRequest): Promise<unknown>
}

const ROUTE = /^\/api\/links\/([^/]+)\/(pause|resume)$/
/** Bodies are a few topic names and a reason. */
const MAX_BODY_BYTES = 64 * 1024

/** The write route `path` names, or null. */
export function controlRoute(path: string): { link: string; action: 'pause' | 'resume' } | null {
  const match = ROUTE.exec(path)
  if (match === null) return null
  let link: string
  try {
    link = decodeURIComponent(match[1]!)
  } catch {
    return null
  }
  return { link, action: match[2] as 'pause' | 'resume' }
}

/** `reason` and `by` are stored in the state, shown and logged: short, one line of printable text. */
const MAX_REASON = 500
const MAX_BY = 100

function checkText(value: unknown, field: string, max: number): void {
  if (value === undefined) return
  if (typeof value !== 'string') throw new KdrError('KDR_ERR_CONFIG', `request body: "${field}" must be a string`)
  // eslint-disable-next-line no-control-regex
  if (value.length > max || /[\u0000-\u001f\u007f]/.test(value)) {
    throw new KdrError(
      'KDR_ERR_CONFIG',
      `request body: "${field}" must be at most ${max} characters of printable text (no line breaks or control characters)`
    )
  }
}

/** Reads and checks a write request's JSON body; KDR_ERR_CONFIG (answered 400) names what is wrong. */
export async function readControlRequest(req: IncomingMessage, link: string): Promise<ControlRequest> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_BODY_BYTES) throw new KdrError('KDR_ERR_CONFIG', `request body larger than ${MAX_BODY_BYTES} bytes`)
    chunks.push(chunk)
  }
  const text = Buffer.concat(chunks).toString('utf8').trim()
  let body: unknown = {}
  if (text !== '') {
    try {
      body = JSON.parse(text)
    } catch {
      throw new KdrError('KDR_ERR_CONFIG', 'request body: expected a JSON object')
    }
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new KdrError('KDR_ERR_CONFIG', 'request body: expected a JSON object')
  }
  const { topics, reason, by } = body as Record<string, unknown>
  if (topics !== undefined && (!Array.isArray(topics) || topics.some(t => typeof t !== 'string'))) {
    throw new KdrError('KDR_ERR_CONFIG', 'request body: "topics" must be an array of topic names')
  }
  checkText(reason, 'reason', MAX_REASON)
  checkText(by, 'by', MAX_BY)
  const caller = `http:${req.socket.remoteAddress ?? 'unknown'}`
  return {
    link,
    topics: topics === undefined ? null : (topics as string[]),
    reason: (reason as string | undefined) ?? null,
    by: by === undefined || by === '' ? caller : `${by as string} (${caller})`
  }
}
