import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { parseConfig } from '../../../src/config/index.ts'
import { baseConfig, errorOf, issueAt, issuesOf, yaml } from './helpers.ts'

/** Registry credentials never cross the network unencrypted unless the operator says so. */

function withRegistry(registry: Record<string, unknown>): string {
  const config = baseConfig()
  config.clusters.dc1!.schemaRegistry = registry
  return yaml(config)
}

const auth = { username: 'dr', password: 'canary-plain-secret' }

describe('config: schema registry credentials over plain http', () => {
  test('auth with an http:// URL to a remote host is refused, naming the key that allows it', () => {
    const issues = issuesOf(withRegistry({ url: 'http://registry.dc1.example:8081', auth }))
    assert.equal(
      issueAt(issues, 'clusters.dc1.schemaRegistry.auth').message,
      'credentials would be sent unencrypted over "http://registry.dc1.example:8081": use an https:// URL, or set clusters.dc1.schemaRegistry.allowPlaintextCredentials: true to accept that'
    )
    const bearer = issuesOf(
      withRegistry({ url: 'http://10.1.2.3/apis/ccompat/v7', auth: { bearerToken: 'canary-token' } })
    )
    assert.match(issueAt(bearer, 'clusters.dc1.schemaRegistry.auth').message, /allowPlaintextCredentials: true/)
    // The refusal quotes the URL, never the credential.
    assert.ok(!errorOf(withRegistry({ url: 'http://r.example', auth })).message.includes('canary-plain-secret'))
  })

  test('allowPlaintextCredentials: true accepts it, with a warning', () => {
    const config = parseConfig(
      withRegistry({ url: 'http://registry.dc1.example:8081', auth, allowPlaintextCredentials: true })
    )
    assert.deepEqual(config.registries.get('dc1')?.auth, auth)
    assert.deepEqual(config.warnings, [
      'clusters.dc1.schemaRegistry sends registry credentials unencrypted to http://registry.dc1.example:8081 (clusters.dc1.schemaRegistry.allowPlaintextCredentials is true)'
    ])
  })

  test('https, loopback hosts and http without credentials need nothing', () => {
    for (const registry of [
      { url: 'https://registry.dc1.example', auth },
      { url: 'http://127.0.0.1:18081/apis/ccompat/v7', auth },
      { url: 'http://localhost:8081', auth },
      { url: 'http://[::1]:8081', auth },
      { url: 'http://registry.dc1.example:8081' }
    ]) {
      const config = parseConfig(withRegistry(registry))
      assert.deepEqual(config.warnings, [], registry.url)
    }
  })

  test('allowPlaintextCredentials must be a boolean', () => {
    const issues = issuesOf(withRegistry({ url: 'http://r.example', auth, allowPlaintextCredentials: 'yes' }))
    assert.equal(
      issueAt(issues, 'clusters.dc1.schemaRegistry.allowPlaintextCredentials').message,
      'expected true or false'
    )
  })
})
