import assert from 'node:assert/strict'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { type AddressInfo } from 'node:net'
import { after, before, test } from 'node:test'
import { describeCause } from '../../../src/errors.ts'
import { OAuthTokenSource, parseTokenResponse } from '../../../src/kafka/oauth-token.ts'
import { toClientOptions } from '../../../src/kafka/options.ts'
import { type OAuthBearerSettings } from '../../../src/kafka/types.ts'

/** A token endpoint whose answers the tests script; it records every request it gets. */
interface Seen {
  authorization: string | undefined
  body: URLSearchParams
}
let server: Server
let endpoint = ''
const seen: Seen[] = []
let answer: (n: number) => { status: number; body: unknown } = () => ({ status: 500, body: {} })

before(async () => {
  server = createServer((request: IncomingMessage, response) => {
    let text = ''
    request.on('data', (chunk: Buffer) => (text += chunk.toString()))
    request.on('end', () => {
      seen.push({ authorization: request.headers.authorization, body: new URLSearchParams(text) })
      const { status, body } = answer(seen.length)
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`
})
after(() => server.close())

const SECRET = 's3cret:with+chars'

function settings(overrides: Partial<OAuthBearerSettings> = {}): OAuthBearerSettings {
  return {
    mechanism: 'OAUTHBEARER',
    tokenEndpoint: endpoint,
    clientId: 'kafka-dr',
    clientSecret: SECRET,
    clientAuthMethod: 'basic',
    ...overrides
  }
}

const quickRetry = { initialMs: 1, maxMs: 2, maxAttempts: 2 }

test('the client-credentials grant: Basic client authentication (RFC 6749 §2.3.1) and the scope', async () => {
  seen.length = 0
  answer = () => ({ status: 200, body: { access_token: 'tok-1', token_type: 'Bearer', expires_in: 60 } })
  const source = new OAuthTokenSource({ cluster: 'dc1', settings: settings({ scope: 'kafka dr' }) })
  assert.equal(await source.token(), 'tok-1')
  assert.equal(seen.length, 1)
  assert.equal(seen[0]!.body.get('grant_type'), 'client_credentials')
  assert.equal(seen[0]!.body.get('scope'), 'kafka dr')
  assert.equal(seen[0]!.body.get('client_secret'), null)
  const basic = Buffer.from(seen[0]!.authorization!.replace(/^Basic /, ''), 'base64').toString()
  assert.equal(basic, `kafka-dr:${encodeURIComponent(SECRET)}`)
})

test('clientAuthMethod post puts the credentials in the form body', async () => {
  seen.length = 0
  answer = () => ({ status: 200, body: { access_token: 'tok-2', expires_in: 60 } })
  const source = new OAuthTokenSource({ cluster: 'dc1', settings: settings({ clientAuthMethod: 'post' }) })
  assert.equal(await source.token(), 'tok-2')
  assert.equal(seen[0]!.authorization, undefined)
  assert.equal(seen[0]!.body.get('client_id'), 'kafka-dr')
  assert.equal(seen[0]!.body.get('client_secret'), SECRET)
})

test('a token is reused until 80 % of its lifetime, then refreshed once for concurrent callers', async () => {
  seen.length = 0
  answer = n => ({ status: 200, body: { access_token: `tok-${n}`, expires_in: 100 } })
  let now = 1_000_000
  const source = new OAuthTokenSource({ cluster: 'dc1', settings: settings(), now: () => now })
  assert.equal(await source.token(), 'tok-1')
  now += 79_000
  assert.equal(await source.token(), 'tok-1')
  now += 2_000
  const tokens = await Promise.all([source.token(), source.token(), source.token()])
  assert.deepEqual(tokens, ['tok-2', 'tok-2', 'tok-2'])
  assert.equal(seen.length, 2)
  assert.equal(source.fetched, 2)
})

test('transient failures are retried with backoff; a failed refresh hands out the still-valid token', async () => {
  seen.length = 0
  answer = n => (n === 1 ? { status: 503, body: {} } : { status: 200, body: { access_token: 'tok', expires_in: 10 } })
  let now = 0
  const source = new OAuthTokenSource({ cluster: 'dc1', settings: settings(), retry: quickRetry, now: () => now })
  assert.equal(await source.token(), 'tok')
  assert.equal(seen.length, 2)
  answer = () => ({ status: 503, body: {} })
  now += 9_000 // past the refresh point, before expiry
  assert.equal(await source.token(), 'tok')
  now += 2_000 // expired: the failure surfaces
  await assert.rejects(source.token(), /HTTP 503/)
})

test('a refused grant fails at once, naming the cluster and the endpoint, never the secret', async () => {
  seen.length = 0
  answer = () => ({ status: 401, body: { error: 'invalid_client', error_description: `bad ${SECRET}` } })
  const source = new OAuthTokenSource({ cluster: 'dc1', settings: settings(), retry: quickRetry })
  const error = await source.token().then(
    () => assert.fail('expected a failure'),
    (e: unknown) => e as Error
  )
  assert.equal(seen.length, 1, 'a 4xx answer is not retried')
  assert.match(error.message, /cannot get an OAUTHBEARER token from http:\/\/127\.0\.0\.1:\d+\/token/)
  assert.match(error.message, /HTTP 401 \(invalid_client\)/)
  assert.match(error.message, /\(cluster dc1\)$/)
  assert.ok(!error.message.includes(SECRET))
})

test('an unreachable endpoint gives up after the bounded retries', async () => {
  const closed = `http://127.0.0.1:1/token`
  const source = new OAuthTokenSource({
    cluster: 'dc9',
    settings: settings({ tokenEndpoint: closed }),
    retry: quickRetry
  })
  await assert.rejects(source.token(), (error: Error) => {
    assert.match(describeCause(error), /from http:\/\/127\.0\.0\.1:1\/token \(3 tries\): request failed/)
    assert.match(error.message, /cluster dc9/)
    return true
  })
})

test('the lifetime comes from expires_in, else from the JWT exp claim; without either the response is refused', () => {
  const jwt = (claims: object): string =>
    `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`
  assert.deepEqual(parseTokenResponse('{"access_token":"a","expires_in":10}', 1000, 0.8), {
    value: 'a',
    obtainedAt: 1000,
    refreshAt: 9000,
    expiresAt: 11_000
  })
  const token = jwt({ sub: 'x', exp: 20 })
  assert.equal(parseTokenResponse(JSON.stringify({ access_token: token }), 10_000, 0.8).refreshAt, 18_000)
  assert.throws(() => parseTokenResponse('{"access_token":"opaque"}', 0, 0.8), /no expires_in/)
  assert.throws(
    () => parseTokenResponse('{"access_token":"a","token_type":"mac","expires_in":1}', 0, 0.8),
    /not Bearer/
  )
  assert.throws(() => parseTokenResponse('{}', 0, 0.8), /no access_token/)
  assert.throws(() => parseTokenResponse('<html>', 0, 0.8), /not JSON/)
})

test('client options: OAUTHBEARER gets a token provider shared by every client of the cluster', async () => {
  seen.length = 0
  answer = n => ({ status: 200, body: { access_token: `shared-${n}`, expires_in: 60 } })
  const sasl = settings()
  const admin = toClientOptions({ alias: 'dc1', bootstrap: ['h:1'], sasl }, 'admin')
  const fetcher = toClientOptions({ alias: 'dc1', bootstrap: ['h:1'], sasl }, 'fetcher')
  assert.equal(admin.sasl?.mechanism, 'OAUTHBEARER')
  const provide = (options: typeof admin): Promise<string> => (options.sasl!.token as () => Promise<string>)()
  assert.equal(await provide(admin), 'shared-1')
  assert.equal(await provide(fetcher), 'shared-1')
  assert.equal(seen.length, 1)
})
