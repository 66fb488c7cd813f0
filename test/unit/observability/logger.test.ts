import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createLogger } from '../../../src/observability/logger.ts'

test('known secret values are scrubbed from every line, in messages, fields and error text', () => {
  const lines: string[] = []
  const secret = 'CANARY-s3cr3t"pw'
  const log = createLogger({ secrets: [secret], write: line => lines.push(line) })
  log.info(`connecting with ${secret}`)
  log.error({ err: new Error(`auth failed for password ${secret}`), detail: { nested: secret } }, 'failure')
  log.warn({ sasl: { mechanism: 'PLAIN', username: 'u', password: 'literal-not-in-list' } }, 'sasl settings')
  log.warn({ registry: { url: 'http://r', auth: { bearerToken: 'token-not-in-list' } } }, 'registry settings')
  const all = lines.join('')
  assert.equal(all.includes('CANARY-s3cr3t'), false, all)
  assert.equal(all.includes('literal-not-in-list'), false, 'password keys are redacted even when the value is unknown')
  assert.equal(all.includes('token-not-in-list'), false, 'registry bearer tokens are redacted by key too')
  assert.ok(all.includes('[redacted]'))
  assert.equal(lines.length, 4)
  for (const line of lines) assert.doesNotThrow(() => JSON.parse(line), 'still valid JSON after scrubbing')
})

test('pretty format: readable lines, made from the scrubbed JSON (no secret survives)', () => {
  const lines: string[] = []
  const secret = 'CANARY-pretty-secret'
  const log = createLogger({ secrets: [secret], format: 'pretty', write: line => lines.push(line) })
  log.info({ link: 'dc1->dc2', detail: secret }, `connected with ${secret}`)
  assert.equal(lines.length, 1)
  assert.match(
    lines[0]!,
    /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: connected with \[redacted\]\n {4}link: "dc1->dc2"\n {4}detail: "\[redacted\]"\n$/
  )
})
