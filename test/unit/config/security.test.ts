import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { parseConfig, redactedConfig } from '../../../src/config/index.ts'
import { baseConfig, issueAt, issuesOf, yaml } from './helpers.ts'

const dir = mkdtempSync(join(tmpdir(), 'kdr-config-tls-'))
after(() => rmSync(dir, { recursive: true, force: true }))
const caPem = '-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n'
writeFileSync(join(dir, 'ca.pem'), caPem)
writeFileSync(join(dir, 'client.pem'), 'CERT')
writeFileSync(join(dir, 'client.key'), 'KEY!')

test('tls: true uses the system CAs and verifies certificates', () => {
  const input = baseConfig()
  input.clusters.dc1!.tls = true
  const config = parseConfig(yaml(input))
  assert.deepEqual(config.clusters.get('dc1')?.tls, { rejectUnauthorized: true })
  assert.equal(config.clusters.get('dc2')?.tls, undefined)
  assert.deepEqual(config.warnings, [])
})

test('tls: false or absent means a plaintext connection', () => {
  const input = baseConfig()
  input.clusters.dc1!.tls = false
  assert.ok(!('tls' in parseConfig(yaml(input)).clusters.get('dc1')!))
})

test('tls files are read at load time, relative to the base directory', () => {
  const input = baseConfig()
  input.clusters.dc1!.tls = {
    ca: join(dir, 'ca.pem'),
    cert: 'client.pem',
    key: 'client.key',
    passphrase: 'pass-phrase-1',
    serverName: 'kafka.internal'
  }
  const config = parseConfig(yaml(input), 'test.yaml', dir)
  const tls = config.clusters.get('dc1')?.tls
  assert.deepEqual(tls, {
    rejectUnauthorized: true,
    ca: Buffer.from(caPem),
    cert: Buffer.from('CERT'),
    key: Buffer.from('KEY!'),
    passphrase: 'pass-phrase-1',
    servername: 'kafka.internal'
  })
  assert.ok(config.secrets.includes('pass-phrase-1'))
  const view = redactedConfig(config) as { clusters: Record<string, { tls: unknown }> }
  assert.deepEqual(view.clusters.dc1?.tls, {
    rejectUnauthorized: true,
    ca: `<${caPem.length} bytes>`,
    cert: '<4 bytes>',
    key: '<4 bytes>',
    passphrase: '***',
    servername: 'kafka.internal'
  })
})

test('rejectUnauthorized: false is allowed with a warning', () => {
  const input = baseConfig()
  input.clusters.dc1!.tls = { rejectUnauthorized: false }
  const config = parseConfig(yaml(input))
  assert.deepEqual(config.clusters.get('dc1')?.tls, { rejectUnauthorized: false })
  assert.deepEqual(config.warnings, ['clusters.dc1.tls.rejectUnauthorized is false: certificates are not verified'])
})

test('a missing tls file is an error at its key naming the file', () => {
  const input = baseConfig()
  input.clusters.dc1!.tls = { ca: 'nope/ca.pem' }
  input.clusters.dc2!.tls = { cert: join(dir, 'client.pem'), key: dir }
  const issues = issuesOf(yaml(input), dir)
  assert.equal(
    issueAt(issues, 'clusters.dc1.tls.ca').message,
    `cannot read file "${join(dir, 'nope/ca.pem')}" (no such file)`
  )
  assert.equal(issueAt(issues, 'clusters.dc2.tls.key').message, `cannot read file "${dir}" (is a directory)`)
})

test('cert and key go together, a passphrase needs a key', () => {
  const input = baseConfig()
  input.clusters.dc1!.tls = { cert: join(dir, 'client.pem') }
  input.clusters.dc2!.tls = { passphrase: 'x' }
  const issues = issuesOf(yaml(input))
  assert.equal(
    issueAt(issues, 'clusters.dc1.tls.key').message,
    'required when cert is given: a client certificate needs its key'
  )
  assert.equal(issueAt(issues, 'clusters.dc2.tls.passphrase').message, 'a passphrase needs a key')
})

test('SASL mechanisms are accepted in any case and normalised to upper case', () => {
  const input = baseConfig()
  input.clusters.dc1!.tls = true
  input.clusters.dc1!.sasl = { mechanism: 'scram-sha-512', username: 'replicator', password: 'pw-123456' }
  input.clusters.dc2!.tls = true
  input.clusters.dc2!.sasl = { mechanism: 'Plain', username: 'replicator', password: 'pw-654321' }
  const config = parseConfig(yaml(input))
  assert.deepEqual(config.clusters.get('dc1')?.sasl, {
    mechanism: 'SCRAM-SHA-512',
    username: 'replicator',
    password: 'pw-123456'
  })
  assert.equal(config.clusters.get('dc2')?.sasl?.mechanism, 'PLAIN')
  assert.deepEqual(config.secrets, ['pw-123456', 'pw-654321'])
})

test('bad SASL settings say what is allowed', () => {
  const input = baseConfig()
  input.clusters.dc1!.tls = true
  input.clusters.dc1!.sasl = { mechanism: 'GSSAPI', username: '', password: 'pw-123456', token: 'x' }
  const issues = issuesOf(yaml(input))
  assert.equal(
    issueAt(issues, 'clusters.dc1.sasl.mechanism').message,
    'expected one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER (any case)'
  )
  assert.equal(issueAt(issues, 'clusters.dc1.sasl.username').message, 'expected a non-empty string')
  assert.match(
    issueAt(issues, 'clusters.dc1.sasl.token').message,
    /^unknown key \(allowed: mechanism, username, password, tokenEndpoint, clientId, clientSecret, scope, clientAuthMethod\)/
  )
  assert.equal(issues.length, 3)
})

test('SASL without TLS is an error unless allowInsecureSasl, which warns', () => {
  const input = baseConfig()
  input.clusters.dc1!.sasl = { mechanism: 'PLAIN', username: 'u', password: 'pw-123456' }
  const issues = issuesOf(yaml(input))
  assert.match(issueAt(issues, 'clusters.dc1.sasl').message, /without TLS .*allowInsecureSasl: true/)

  input.clusters.dc1!.allowInsecureSasl = true
  const config = parseConfig(yaml(input))
  assert.equal(config.clusters.get('dc1')?.sasl?.mechanism, 'PLAIN')
  assert.deepEqual(config.warnings, [
    'clusters.dc1.allowInsecureSasl is true: SASL credentials and data travel without TLS'
  ])
  assert.ok(!('allowInsecureSasl' in config.clusters.get('dc1')!))
})

test('redactedConfig hides passwords and keeps the rest readable', () => {
  const input = baseConfig()
  input.clusters.dc1!.clientId = 'kafka-dr-east'
  input.clusters.dc1!.tls = true
  input.clusters.dc1!.sasl = { mechanism: 'PLAIN', username: 'replicator', password: 'pw-123456' }
  const view = redactedConfig(parseConfig(yaml(input)))
  assert.deepEqual((view as { clusters: unknown }).clusters, {
    dc1: {
      bootstrap: ['127.0.0.1:19092'],
      clientId: 'kafka-dr-east',
      tls: { rejectUnauthorized: true },
      sasl: { mechanism: 'PLAIN', username: 'replicator', password: '***' }
    },
    dc2: { bootstrap: ['127.0.0.1:29092'] }
  })
  assert.doesNotMatch(JSON.stringify(view), /pw-123456/)
})
