import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, afterEach, test } from 'node:test'
import { loadConfig, parseConfig, redactedConfig, scrubSecrets } from '../../../src/config/index.ts'
import { resolveReferences } from '../../../src/config/secrets.ts'
import { type ClusterConnection, type PasswordSaslSettings } from '../../../src/kafka/index.ts'
import { baseConfig, errorOf, issueAt, issuesOf, yaml } from './helpers.ts'

/** The username/password SASL settings of a cluster (these tests configure no OAUTHBEARER). */
function passwordSasl(cluster: ClusterConnection | undefined): PasswordSaslSettings | undefined {
  return cluster?.sasl?.mechanism === 'OAUTHBEARER' ? undefined : cluster?.sasl
}

const dir = mkdtempSync(join(tmpdir(), 'kdr-config-secrets-'))
after(() => rmSync(dir, { recursive: true, force: true }))

const envNames = ['KDR_TEST_USER', 'KDR_TEST_PASSWORD', 'KDR_TEST_CANARY', 'KDR_TEST_EMPTY']
afterEach(() => {
  for (const name of envNames) Reflect.deleteProperty(process.env, name)
})

function withSasl(password: string, username = 'replicator') {
  const input = baseConfig()
  input.clusters.dc1!.tls = true
  input.clusters.dc1!.sasl = { mechanism: 'SCRAM-SHA-256', username, password }
  return input
}

test('${env:NAME} is replaced by the variable and recorded as a secret', () => {
  process.env.KDR_TEST_USER = 'svc-kafka-dr'
  process.env.KDR_TEST_PASSWORD = 'env-password-1'
  const config = parseConfig(yaml(withSasl('${env:KDR_TEST_PASSWORD}', 'user:${env:KDR_TEST_USER}')))
  assert.deepEqual(config.clusters.get('dc1')?.sasl, {
    mechanism: 'SCRAM-SHA-256',
    username: 'user:svc-kafka-dr',
    password: 'env-password-1'
  })
  assert.deepEqual(config.secrets, ['svc-kafka-dr', 'env-password-1'])
  const view = JSON.stringify(redactedConfig(config))
  assert.doesNotMatch(view, /svc-kafka-dr|env-password-1/)
  assert.match(view, /"username":"user:\*\*\*"/)
})

test('${file:PATH} reads the file, drops one trailing newline, and resolves relative to the config directory', () => {
  mkdirSync(join(dir, 'conf', 'secrets'), { recursive: true })
  writeFileSync(join(dir, 'conf', 'secrets', 'password'), 'file-password-1\n')
  writeFileSync(join(dir, 'conf', 'secrets', 'user'), 'file-user\n\n')
  writeFileSync(join(dir, 'conf', 'secrets', 'client'), 'client-1')
  const input = withSasl('${file:secrets/password}', '${file:' + join(dir, 'conf', 'secrets', 'user') + '}')
  input.clusters.dc2!.clientId = '${file:./secrets/client}'
  writeFileSync(join(dir, 'conf', 'kafka-dr.yaml'), yaml(input))
  const config = loadConfig(join(dir, 'conf', 'kafka-dr.yaml'))
  assert.equal(passwordSasl(config.clusters.get('dc1'))?.password, 'file-password-1')
  assert.equal(passwordSasl(config.clusters.get('dc1'))?.username, 'file-user\n')
  assert.equal(config.clusters.get('dc2')?.clientId, 'client-1')
  assert.deepEqual(config.secrets.toSorted(), ['client-1', 'file-password-1', 'file-user\n'])
  // parseConfig resolves against baseDir the same way.
  assert.equal(parseConfig(yaml(input), 'x', join(dir, 'conf')).clusters.get('dc2')?.clientId, 'client-1')
})

test('CRLF endings lose one newline too', () => {
  writeFileSync(join(dir, 'crlf'), 'crlf-password\r\n')
  assert.equal(
    passwordSasl(parseConfig(yaml(withSasl('${file:crlf}')), 'x', dir).clusters.get('dc1'))?.password,
    'crlf-password'
  )
})

test('$${ is a literal ${ and other dollars are left alone', () => {
  const config = parseConfig(yaml(withSasl('pa$$${env:NOT_A_REFERENCE}$x$')))
  assert.equal(passwordSasl(config.clusters.get('dc1'))?.password, 'pa$${env:NOT_A_REFERENCE}$x$')
  assert.deepEqual(config.secrets, ['pa$${env:NOT_A_REFERENCE}$x$'])
})

test('a missing variable is reported at its key, naming the variable and no value', () => {
  process.env.KDR_TEST_CANARY = 'CANARY-s3cr3t'
  const input = withSasl('${env:KDR_TEST_MISSING}')
  input.clusters.dc2!.clientId = '${env:KDR_TEST_CANARY}-${env:KDR_TEST_MISSING_2}'
  const error = errorOf(yaml(input))
  assert.deepEqual(error.issues, [
    { path: 'clusters.dc1.sasl.password', message: 'environment variable KDR_TEST_MISSING is not set' },
    { path: 'clusters.dc2.clientId', message: 'environment variable KDR_TEST_MISSING_2 is not set' }
  ])
  assert.doesNotMatch(error.message, /CANARY-s3cr3t/)
})

test('an empty variable is set, and then judged like any empty value', () => {
  process.env.KDR_TEST_EMPTY = ''
  const issues = issuesOf(yaml(withSasl('${env:KDR_TEST_EMPTY}')))
  assert.deepEqual(issues, [{ path: 'clusters.dc1.sasl.password', message: 'expected a non-empty string' }])
})

test('an unreadable file is reported at its key, naming the file', () => {
  const issues = issuesOf(yaml(withSasl('${file:no-such-secret}')), dir)
  assert.deepEqual(issues, [
    { path: 'clusters.dc1.sasl.password', message: `cannot read file "${join(dir, 'no-such-secret')}" (no such file)` }
  ])
})

test('malformed references are errors that quote nothing', () => {
  const input = baseConfig()
  input.clusters.dc1!.clientId = 'abc${vault:secret/x}'
  input.clusters.dc2!.clientId = 'abc${env:KDR'
  input.links[0]!.name = '${env:1BAD}'
  input.links[0]!.deadLetterTopic = '${file:}'
  const issues = issuesOf(yaml(input))
  assert.match(issueAt(issues, 'clusters.dc1.clientId').message, /^unknown reference: expected \$\{env:NAME\}/)
  assert.match(issueAt(issues, 'clusters.dc2.clientId').message, /^unterminated reference/)
  assert.match(issueAt(issues, 'links[0].name').message, /^invalid environment variable name/)
  assert.match(issueAt(issues, 'links[0].deadLetterTopic').message, /^empty file path/)
  assert.equal(issues.length, 4)
  assert.doesNotMatch(JSON.stringify(issues), /vault|secret\/x|KDR'/)
})

test('references resolve in lists and nested values; keys are never resolved', () => {
  process.env.KDR_TEST_USER = 'orders'
  const resolved = resolveReferences(
    { a: ['x', '${env:KDR_TEST_USER}'], '${env:KDR_TEST_USER}': 1, b: { c: true, d: 2, e: null } },
    { baseDir: dir }
  )
  assert.deepEqual(resolved.value, { a: ['x', 'orders'], '${env:KDR_TEST_USER}': 1, b: { c: true, d: 2, e: null } })
  assert.deepEqual(resolved.secrets, ['orders'])
  assert.deepEqual(resolved.problems, [])
})

test('a canary secret never leaks into errors, warnings or the redacted view', () => {
  process.env.KDR_TEST_CANARY = 'CANARY-s3cr3t'
  const canary = 'CANARY-s3cr3t'

  // Invalid: the secret is a valid password on dc1 and, wrongly, a bootstrap address, a cluster
  // reference, a link name duplicate, a template and a regular expression elsewhere.
  const bad = withSasl('${env:KDR_TEST_CANARY}')
  bad.clusters.dc2!.bootstrap = '${env:KDR_TEST_CANARY}'
  bad.clusters.dc3 = { bootstrap: ['127.0.0.1:39092', '${env:KDR_TEST_CANARY}'], tls: { ca: '${env:KDR_TEST_CANARY}' } }
  bad.links.push(
    { source: '${env:KDR_TEST_CANARY}', target: 'dc2', topics: { include: ['${env:KDR_TEST_CANARY}('] } },
    { name: '${env:KDR_TEST_CANARY}', source: 'dc1', target: 'dc2', topics: { include: ['a'] } },
    { name: '${env:KDR_TEST_CANARY}', source: 'dc1', target: 'dc2', topics: { include: ['b'] } },
    {
      name: 'n',
      source: 'dc1',
      target: 'dc2',
      topics: { include: ['a'] },
      naming: { template: '{topic}{${env:KDR_TEST_CANARY}}' }
    }
  )
  const error = errorOf(yaml(bad), dir)
  assert.ok(!error.message.includes(canary), error.message)
  assert.ok(!JSON.stringify(error.issues).includes(canary))
  assert.equal(issueAt(error.issues, 'clusters.dc2.bootstrap').message, 'bootstrap address "***" is not host:port')
  assert.equal(issueAt(error.issues, 'clusters.dc3.bootstrap[1]').message, 'bootstrap address "***" is not host:port')
  assert.equal(issueAt(error.issues, 'links[1].source').message, 'unknown cluster "***": expected one of dc1, dc2, dc3')
  assert.match(issueAt(error.issues, 'links[3].name').message, /^duplicate link name "\*\*\*"/)
  assert.match(issueAt(error.issues, 'clusters.dc3.tls.ca').message, /^cannot read file "\*\*\*"/)

  // Valid: the secret is the password and part of a client id; a warning is produced too.
  const good = withSasl('${env:KDR_TEST_CANARY}')
  good.clusters.dc2!.clientId = 'id-${env:KDR_TEST_CANARY}'
  good.clusters.dc2!.sasl = { mechanism: 'plain', username: 'u', password: '${env:KDR_TEST_CANARY}' }
  good.clusters.dc2!.allowInsecureSasl = true
  good.clusters.dc1!.tls = { rejectUnauthorized: false }
  const config = parseConfig(yaml(good))
  assert.equal(config.warnings.length, 2)
  assert.ok(!config.warnings.join('\n').includes(canary))
  assert.ok(!JSON.stringify(redactedConfig(config)).includes(canary))
  assert.deepEqual(config.secrets, [canary])
  assert.equal(passwordSasl(config.clusters.get('dc1'))?.password, canary)
})

test('literal passwords are secrets too and are never quoted in errors', () => {
  const input = withSasl('literal-pw-42')
  input.clusters.dc2!.bootstrap = 'literal-pw-42'
  const error = errorOf(yaml(input))
  assert.equal(issueAt(error.issues, 'clusters.dc2.bootstrap').message, 'bootstrap address "***" is not host:port')
  assert.ok(!error.message.includes('literal-pw-42'))
})

test('scrubSecrets replaces the longest secret first', () => {
  assert.equal(scrubSecrets('token=abcdef; short=abc', ['abc', 'abcdef']), 'token=***; short=***')
  assert.equal(scrubSecrets('a.b*c', ['.b*']), 'a***c')
  assert.equal(scrubSecrets('unchanged', []), 'unchanged')
  assert.equal(scrubSecrets('unchanged', ['']), 'unchanged')
})
