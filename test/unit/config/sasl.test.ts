import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseConfig, redactedConfig } from '../../../src/config/index.ts'
import { baseConfig, issueAt, issuesOf, yaml } from './helpers.ts'

/** baseConfig with dc1 over TLS and the given sasl mapping. */
function withSasl(sasl: Record<string, unknown>): string {
  const config = baseConfig()
  config.clusters.dc1 = { ...config.clusters.dc1, tls: true, sasl }
  return yaml(config)
}

const oauth = {
  mechanism: 'oauthbearer',
  tokenEndpoint: 'https://idp.example/oauth2/token',
  clientId: 'kafka-dr',
  clientSecret: 'client-secret-canary'
}

test('OAUTHBEARER: endpoint, client id and secret compile with Basic client authentication by default', () => {
  const config = parseConfig(withSasl({ ...oauth, scope: 'kafka' }))
  assert.deepEqual(config.clusters.get('dc1')?.sasl, {
    mechanism: 'OAUTHBEARER',
    tokenEndpoint: 'https://idp.example/oauth2/token',
    clientId: 'kafka-dr',
    clientSecret: 'client-secret-canary',
    scope: 'kafka',
    clientAuthMethod: 'basic'
  })
  assert.ok(config.secrets.includes('client-secret-canary'), 'a literal client secret is scrubbed like any secret')
  const printed = JSON.stringify(redactedConfig(config))
  assert.ok(!printed.includes('client-secret-canary'))
  assert.match(printed, /"clientSecret":"\*\*\*"/)
})

test('OAUTHBEARER: missing and foreign keys are named', () => {
  const issues = issuesOf(withSasl({ mechanism: 'OAUTHBEARER', clientId: 'kafka-dr', password: 'x' }))
  assert.equal(issueAt(issues, 'clusters.dc1.sasl.tokenEndpoint').message, 'required with mechanism OAUTHBEARER')
  assert.equal(issueAt(issues, 'clusters.dc1.sasl.clientSecret').message, 'required with mechanism OAUTHBEARER')
  assert.equal(
    issueAt(issues, 'clusters.dc1.sasl.password').message,
    'not used with mechanism OAUTHBEARER (its keys: tokenEndpoint, clientId, clientSecret, scope, clientAuthMethod)'
  )
  const scram = issuesOf(withSasl({ mechanism: 'SCRAM-SHA-256', username: 'u', clientSecret: 'x' }))
  assert.equal(issueAt(scram, 'clusters.dc1.sasl.password').message, 'required with mechanism SCRAM-SHA-256')
  assert.equal(
    issueAt(scram, 'clusters.dc1.sasl.clientSecret').message,
    'not used with mechanism SCRAM-SHA-256 (its keys: username, password)'
  )
})

test('OAUTHBEARER: the token endpoint is https, or http to a loopback host only; no credentials in it', () => {
  const plain = issuesOf(withSasl({ ...oauth, tokenEndpoint: 'http://idp.example/token' }))
  assert.equal(
    issueAt(plain, 'clusters.dc1.sasl.tokenEndpoint').message,
    'the client secret would be sent unencrypted over "http://idp.example/token": use an https:// URL'
  )
  parseConfig(withSasl({ ...oauth, tokenEndpoint: 'http://127.0.0.1:8080/token' }))
  const inUrl = issuesOf(withSasl({ ...oauth, tokenEndpoint: 'https://id:pw@idp.example/token' }))
  assert.equal(
    issueAt(inUrl, 'clusters.dc1.sasl.tokenEndpoint').message,
    'credentials do not belong in the URL: use clientId and clientSecret'
  )
  const method = issuesOf(withSasl({ ...oauth, clientAuthMethod: 'jwt' }))
  assert.equal(issueAt(method, 'clusters.dc1.sasl.clientAuthMethod').message, 'expected one of basic, post')
})

test('OAUTHBEARER without TLS is refused like every SASL mechanism', () => {
  const config = baseConfig()
  config.clusters.dc1 = { ...config.clusters.dc1, sasl: oauth }
  assert.match(issueAt(issuesOf(yaml(config)), 'clusters.dc1.sasl').message, /^SASL over a connection without TLS/)
})
