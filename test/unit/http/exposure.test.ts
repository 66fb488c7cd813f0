import assert from 'node:assert/strict'
import { request } from 'node:http'
import { after, describe, test } from 'node:test'
import { allowedHost } from '../../../src/http/host-check.ts'
import { type HttpServer, startHttpServer } from '../../../src/http/server.ts'
import { createLogger } from '../../../src/observability/logger.ts'
import { Metrics } from '../../../src/observability/metrics.ts'
import { createScrubber } from '../../../src/observability/scrub.ts'

/**
 * What the HTTP server exposes when nobody configured a token: only requests addressed to this
 * machine by name (DNS rebinding defence), and never a secret, in a status answer or an error.
 */

const SECRET = 'CANARY-exposure-secret-9876'

/** GET with an explicit Host header (fetch does not let a caller set it). */
function get(
  server: HttpServer,
  path: string,
  host: string | null,
  token?: string
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {}
    if (host !== null) headers.host = host
    if (token !== undefined) headers.authorization = `Bearer ${token}`
    const req = request({ host: '127.0.0.1', port: server.port, path, headers, setHost: host !== null }, res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString() }))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('allowedHost (DNS rebinding defence)', () => {
  test('loopback names and addresses, with or without a port, and the listen host are accepted', () => {
    for (const host of [
      'localhost',
      'localhost:9644',
      'LOCALHOST:1',
      'localhost.',
      'app.localhost:80',
      '127.0.0.1:9644',
      '127.1.2.3',
      '[::1]:9644',
      '[::1]'
    ]) {
      assert.equal(allowedHost(host, '127.0.0.1'), true, host)
    }
    assert.equal(allowedHost(undefined, '127.0.0.1'), true, 'no Host header: not a browser')
  })

  test('any other name is refused, including look-alikes and malformed headers', () => {
    for (const host of [
      'evil.example:9644',
      'evil.example',
      'localhost.evil.example',
      '127.0.0.1.evil.example',
      '10.0.0.5:9644',
      '[::2]:80',
      '',
      'localhost:9644/x',
      'a b'
    ]) {
      assert.equal(allowedHost(host, '127.0.0.1'), false, host)
    }
    assert.equal(allowedHost('0.0.0.0:9644', '0.0.0.0'), false, 'a wildcard listen address names no host')
  })
})

describe('createScrubber: one set of rules for logs and HTTP answers', () => {
  test('secret fields at any depth and secret values anywhere are replaced', () => {
    const scrub = createScrubber([SECRET])
    const out = scrub.json({
      a: { auth: { username: 'dr', password: 'pw-by-key' }, bearerToken: 'tok-by-key', token: null },
      message: `connect failed: https://dr:${SECRET}@registry`,
      offset: 12n
    })
    assert.ok(!out.includes(SECRET) && !out.includes('pw-by-key') && !out.includes('tok-by-key'), out)
    const parsed = JSON.parse(out) as {
      a: { auth: { username: string; password: string }; token: null }
      offset: string
    }
    assert.equal(parsed.a.auth.username, 'dr')
    assert.equal(parsed.a.auth.password, '[redacted]')
    assert.equal(parsed.a.token, null)
    assert.equal(parsed.offset, '12')
    assert.equal(scrub.text(`x ${JSON.stringify(SECRET)} y`), 'x "[redacted]" y')
  })
})

describe('HTTP server without a token', () => {
  const servers: HttpServer[] = []
  after(async () => Promise.all(servers.map(s => s.close())))

  async function start(options: {
    token?: string
    status?: () => Promise<unknown>
  }): Promise<{ server: HttpServer; logs: string[] }> {
    const logs: string[] = []
    const server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      token: options.token ?? null,
      metrics: new Metrics(() => []),
      links: () => [],
      status: options.status ?? (async () => ({ ok: true })),
      log: createLogger({ level: 'error', secrets: [SECRET], write: line => logs.push(line) }),
      secrets: [SECRET]
    })
    servers.push(server)
    return { server, logs }
  }

  test('a request for another host name gets 403, for every path; loopback names are answered', async () => {
    const { server } = await start({})
    for (const path of ['/api/status', '/metrics', '/healthz', '/', '/nope']) {
      const refused = await get(server, path, `evil.example:${server.port}`)
      assert.equal(refused.status, 403, path)
      assert.match(refused.body, /DNS rebinding/)
    }
    assert.equal((await get(server, '/api/status', `localhost:${server.port}`)).status, 200)
    assert.equal((await get(server, '/healthz', `127.0.0.1:${server.port}`)).status, 200)
  })

  test('with a token the Host header is not checked (the token is the defence)', async () => {
    const { server } = await start({ token: 'a-token-of-some-length' })
    assert.equal((await get(server, '/healthz', 'dr.example.internal:9644', 'a-token-of-some-length')).status, 200)
    assert.equal((await get(server, '/healthz', 'dr.example.internal:9644')).status, 401)
  })

  test('/api/status and error bodies are scrubbed like log lines', async () => {
    const { server } = await start({
      status: async () => ({
        registry: { url: 'https://r', auth: { username: 'dr', password: 'by-key-pw' } },
        note: `x${SECRET}x`
      })
    })
    const ok = await get(server, '/api/status', `localhost:${server.port}`)
    assert.equal(ok.status, 200)
    assert.ok(!ok.body.includes(SECRET) && !ok.body.includes('by-key-pw'), ok.body)
    assert.match(ok.body, /"password": "\[redacted\]"/)
    const { server: failing, logs } = await start({
      status: async () => {
        throw new Error(`state topic unreadable: SASL login as dr/${SECRET} refused`)
      }
    })
    const failed = await get(failing, '/api/status', `localhost:${failing.port}`)
    assert.equal(failed.status, 500)
    assert.match(failed.body, /state topic unreadable/)
    assert.ok(!failed.body.includes(SECRET), failed.body)
    assert.ok(logs.length > 0 && logs.every(l => !l.includes(SECRET)))
  })
})
