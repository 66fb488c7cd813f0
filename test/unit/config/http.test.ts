import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { parseConfig, redactedConfig } from '../../../src/config/index.ts'
import { baseConfig, issueAt, issuesOf, yaml } from './helpers.ts'

describe('config: http', () => {
  test('default: on, loopback port 9644, no token', () => {
    assert.deepEqual(parseConfig(yaml(baseConfig())).http, { host: '127.0.0.1', port: 9644, token: null })
  })

  test('enabled: false turns the server off', () => {
    assert.equal(parseConfig(yaml({ ...baseConfig(), http: { enabled: false } })).http, null)
  })

  test('a non-loopback address needs a token; the token is a secret', () => {
    const issues = issuesOf(yaml({ ...baseConfig(), http: { listen: '0.0.0.0:9644' } }))
    assert.match(issueAt(issues, 'http.token').message, /^required when http\.listen is not a loopback address/)
    const config = parseConfig(yaml({ ...baseConfig(), http: { listen: '[::]:9000', token: 'CANARY-token' } }))
    assert.deepEqual(config.http, { host: '::', port: 9000, token: 'CANARY-token' })
    assert.ok(config.secrets.includes('CANARY-token'))
    assert.ok(!JSON.stringify(redactedConfig(config)).includes('CANARY-token'))
  })

  test('a malformed address points at http.listen', () => {
    const issues = issuesOf(yaml({ ...baseConfig(), http: { listen: 'localhost' } }))
    assert.equal(issueAt(issues, 'http.listen').message, 'expected "host:port" (port 0 to 65535; 0 picks a free port)')
  })
})
