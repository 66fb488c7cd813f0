import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseBroker, toClientOptions } from '../../../src/kafka/options.ts'

test('parseBroker reads host:port, IPv6 in brackets, and rejects the rest with the address', () => {
  assert.deepEqual(parseBroker('127.0.0.1:19092'), { host: '127.0.0.1', port: 19092 })
  assert.deepEqual(parseBroker('kafka-1.dc1.example:9093'), { host: 'kafka-1.dc1.example', port: 9093 })
  assert.deepEqual(parseBroker('[::1]:9092'), { host: '::1', port: 9092 })
  for (const bad of ['localhost', 'host:', 'host:0', 'host:70000', ':9092']) {
    assert.throws(() => parseBroker(bad), new RegExp(`"${bad.replace(/[[\]]/g, '\\$&')}" is not host:port`))
  }
})

test('client options never auto-create topics and carry SASL settings without altering them', () => {
  const options = toClientOptions(
    { alias: 'dc1', bootstrap: ['h:1'], sasl: { mechanism: 'SCRAM-SHA-512', username: 'u', password: 'p' } },
    'admin'
  )
  assert.equal(options.autocreateTopics, false)
  assert.equal(options.clientId, 'kafka-dr-admin')
  assert.deepEqual(options.bootstrapBrokers, [{ host: 'h', port: 1 }])
  assert.deepEqual(options.sasl, { mechanism: 'SCRAM-SHA-512', username: 'u', password: 'p' })
})
