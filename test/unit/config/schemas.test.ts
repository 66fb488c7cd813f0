import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { parseConfig, redactedConfig } from '../../../src/config/index.ts'
import { baseConfig, issueAt, issuesOf, yaml } from './helpers.ts'

function withRegistries(): ReturnType<typeof baseConfig> {
  const config = baseConfig()
  config.clusters.dc1!.schemaRegistry = { url: 'http://127.0.0.1:18081' }
  config.clusters.dc2!.schemaRegistry = {
    url: 'https://registry.dc2.example/apis/ccompat/v7',
    auth: { username: 'dr', password: 'canary-registry-secret' }
  }
  config.links[0]!.schemas = {}
  return config
}

describe('config: schema registries and link schemas', () => {
  test('defaults: translate-ids, stop on schema errors, keys and values, every subject, 30 s passes', () => {
    const config = parseConfig(yaml(withRegistries()))
    assert.deepEqual(config.links[0]!.schemas, {
      subjects: { include: ['.*'], exclude: [] },
      mode: 'translate-ids',
      onError: 'stop',
      keys: true,
      keySubjects: [],
      values: true,
      intervalMs: 30_000
    })
    assert.deepEqual(config.registries.get('dc2'), {
      alias: 'dc2',
      url: 'https://registry.dc2.example/apis/ccompat/v7',
      timeoutMs: 10_000,
      auth: { username: 'dr', password: 'canary-registry-secret' }
    })
    assert.equal(config.links[0]!.schemas === null, false)
  })

  test('a link without schemas copies records only', () => {
    assert.equal(parseConfig(yaml(baseConfig())).links[0]!.schemas, null)
  })

  test('the registry password is a secret: tracked for scrubbing, shown as *** in the printed config', () => {
    const config = parseConfig(yaml(withRegistries()))
    assert.ok(config.secrets.includes('canary-registry-secret'))
    const printed = JSON.stringify(redactedConfig(config))
    assert.ok(!printed.includes('canary-registry-secret'))
    assert.ok(
      printed.includes(
        '"schemaRegistry":{"url":"https://registry.dc2.example/apis/ccompat/v7","auth":{"username":"dr","password":"***"}}'
      )
    )
  })

  test('schemas on a link whose clusters have no registry: the error names the missing key', () => {
    const config = withRegistries()
    delete config.clusters.dc2!.schemaRegistry
    const issue = issueAt(issuesOf(yaml(config)), 'links[0].schemas')
    assert.equal(
      issue.message,
      'schema replication needs a registry on both clusters: clusters.dc2.schemaRegistry is not set (target)'
    )
  })

  test('bad values point at their keys; credentials in a URL are refused without echoing them', () => {
    const config = withRegistries()
    config.clusters.dc1!.schemaRegistry = { url: 'http://dr:hunter2@registry:8081' }
    config.links[0]!.schemas = { mode: 'same-ids', onError: 'ignore', subjects: { include: ['(['] } }
    const issues = issuesOf(yaml(config))
    assert.equal(
      issueAt(issues, 'clusters.dc1.schemaRegistry.url').message,
      'credentials do not belong in the URL: use schemaRegistry.auth'
    )
    assert.equal(issueAt(issues, 'links[0].schemas.mode').message, 'expected one of translate-ids, keep-ids')
    assert.equal(issueAt(issues, 'links[0].schemas.onError').message, 'expected one of stop, pass-through')
    assert.match(issueAt(issues, 'links[0].schemas.subjects.include[0]').message, /^invalid regular expression/)
    assert.ok(!JSON.stringify(issues).includes('hunter2'))
  })

  test('auth is username and password, or a bearer token; a URL must be http or https', () => {
    const config = withRegistries()
    config.clusters.dc1!.schemaRegistry = { url: 'ftp://registry', auth: { username: 'x' } }
    const issues = issuesOf(yaml(config))
    assert.equal(issueAt(issues, 'clusters.dc1.schemaRegistry.url').message, 'expected an http:// or https:// URL')
    assert.equal(
      issueAt(issues, 'clusters.dc1.schemaRegistry.auth').message,
      'expected a mapping with username and password, or with bearerToken'
    )
  })
})
