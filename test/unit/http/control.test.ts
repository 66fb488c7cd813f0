import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { KdrError } from '../../../src/errors.ts'
import { type ControlRequest, controlRoute } from '../../../src/http/control.ts'
import { type HttpServer, startHttpServer } from '../../../src/http/server.ts'
import { createLogger } from '../../../src/observability/logger.ts'
import { Metrics } from '../../../src/observability/metrics.ts'

/** The write endpoints (pause, resume): a token is required even on loopback; bodies are checked. */

const TOKEN = 'a-control-token-of-some-length'

describe('controlRoute', () => {
  test('decodes the link name and names the action; other paths are not writes', () => {
    assert.deepEqual(controlRoute('/api/links/dc1-%3Edc2/pause'), { link: 'dc1->dc2', action: 'pause' })
    assert.deepEqual(controlRoute('/api/links/a/resume'), { link: 'a', action: 'resume' })
    assert.equal(controlRoute('/api/links/a/b/pause'), null)
    assert.equal(controlRoute('/api/links/a/delete'), null)
    assert.equal(controlRoute('/api/links/%E0%A4%A/pause'), null, 'malformed escapes are no route')
  })
})

describe('HTTP pause and resume', () => {
  const servers: HttpServer[] = []
  after(async () => Promise.all(servers.map(s => s.close())))
  const asked: { action: string; request: ControlRequest }[] = []

  async function start(token: string | null): Promise<HttpServer> {
    const server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      token,
      metrics: new Metrics(() => []),
      links: () => [],
      status: async () => ({}),
      log: createLogger({ level: 'error', write: () => {} }),
      control: {
        hasLink: name => name === 'dc1->dc2',
        pause: async request => {
          if (request.topics?.includes('other') === true)
            throw new KdrError('KDR_ERR_CONFIG', 'topics: link dc1->dc2 does not replicate topic "other"')
          asked.push({ action: 'pause', request })
          return { changed: request.topics ?? ['*'] }
        },
        resume: async request => {
          asked.push({ action: 'resume', request })
          return { changed: ['*'] }
        }
      }
    })
    servers.push(server)
    return server
  }

  const post = (server: HttpServer, path: string, body: string | null, token?: string): Promise<Response> =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` })
      },
      ...(body === null ? {} : { body })
    })

  test('without http.token every write is refused with 403, even from loopback', async () => {
    const server = await start(null)
    const response = await post(server, '/api/links/dc1-%3Edc2/pause', '{}')
    assert.equal(response.status, 403)
    assert.match(((await response.json()) as { error: string }).error, /need http\.token/)
    assert.equal(asked.length, 0)
  })

  test('with a token: 401 without it, 200 with it; the body is passed on with who asked', async () => {
    const server = await start(TOKEN)
    assert.equal((await post(server, '/api/links/dc1-%3Edc2/pause', '{}')).status, 401)
    assert.equal((await post(server, '/api/links/dc1-%3Edc2/pause', '{}', 'wrong')).status, 401)
    const ok = await post(
      server,
      '/api/links/dc1-%3Edc2/pause',
      JSON.stringify({ topics: ['orders'], reason: 'disk swap', by: 'alice' }),
      TOKEN
    )
    assert.equal(ok.status, 200)
    assert.deepEqual(await ok.json(), { changed: ['orders'] })
    const last = asked.at(-1)!
    assert.equal(last.action, 'pause')
    assert.deepEqual(last.request.topics, ['orders'])
    assert.equal(last.request.reason, 'disk swap')
    assert.match(last.request.by, /^alice \(http:(::ffff:)?127\.0\.0\.1\)$/)
    const resumed = await post(server, '/api/links/dc1-%3Edc2/resume', null, TOKEN)
    assert.equal(resumed.status, 200)
    assert.equal(asked.at(-1)!.request.topics, null, 'no body: the whole link')
  })

  test('bad bodies get 400 naming the field, unknown links 404, GET 405', async () => {
    const server = await start(TOKEN)
    const cases: [string, RegExp][] = [
      ['not json', /expected a JSON object/],
      ['[1]', /expected a JSON object/],
      ['{"topics": "orders"}', /"topics" must be an array/],
      ['{"reason": 5}', /"reason" must be a string/],
      ['{"topics": ["other"]}', /does not replicate topic "other"/],
      [JSON.stringify({ reason: 'x'.repeat(501) }), /"reason" must be at most 500 characters/],
      [JSON.stringify({ by: 'alice\nforged log line' }), /"by" must be at most 100 characters of printable text/]
    ]
    for (const [body, message] of cases) {
      const response = await post(server, '/api/links/dc1-%3Edc2/pause', body, TOKEN)
      assert.equal(response.status, 400, body)
      assert.match(((await response.json()) as { error: string }).error, message)
    }
    assert.equal((await post(server, '/api/links/nope/pause', '{}', TOKEN)).status, 404)
    const get = await fetch(`${server.url}/api/links/dc1-%3Edc2/pause`, {
      headers: { authorization: `Bearer ${TOKEN}` }
    })
    assert.equal(get.status, 405)
    assert.equal(get.headers.get('allow'), 'POST')
  })
})
