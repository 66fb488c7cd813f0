import assert from 'node:assert/strict'
import { test } from 'node:test'
import { KdrError, describeCause, formatLocation } from '../../src/errors.ts'

test('error messages name operation, cluster, topic, partition and offset when known', () => {
  const error = new KdrError('KDR_ERR_KAFKA_FETCH', 'broker error code 6', {
    operation: 'fetch',
    cluster: 'dc1',
    topic: 'orders',
    partition: 3,
    offset: 42n
  })
  assert.equal(error.message, 'broker error code 6 (during fetch, cluster dc1, topic orders, partition 3, offset 42)')
  assert.equal(error.code, 'KDR_ERR_KAFKA_FETCH')
  assert.equal(formatLocation({}), '')
})

test('KdrError.is recognises errors by symbol, not by class identity', () => {
  assert.ok(KdrError.is(new KdrError('KDR_ERR_CONFIG', 'x')))
  assert.ok(KdrError.is({ [Symbol.for('kafka-dr.error')]: true }))
  assert.ok(!KdrError.is(new Error('x')))
})

test('describeCause flattens aggregated errors', () => {
  const aggregate = new AggregateError(
    [new Error('NOT_LEADER'), new Error('TIMEOUT'), new Error('TIMEOUT')],
    'Producing messages failed.'
  )
  assert.equal(describeCause(aggregate), 'Producing messages failed: NOT_LEADER; TIMEOUT')
})

test('describeCause follows nested causes to the root reason, each reason once', () => {
  const auth = new Error('SASL authentication failed.', {
    cause: new Error('Received response with error', { cause: new Error('SASL authentication failed.') })
  })
  const network = new Error('Connection to 127.0.0.1:9094 failed.', { cause: auth })
  const retries = Object.assign(new Error('metadata failed 2 times.'), { errors: [network, network] })
  assert.equal(
    describeCause(retries),
    'metadata failed 2 times: Connection to 127.0.0.1:9094 failed: SASL authentication failed: Received response with error'
  )
  const wrapped = new KdrError('KDR_ERR_KAFKA_ADMIN', 'list offsets failed: x', { cluster: 'dc1' }, { cause: auth })
  assert.equal(describeCause(new Error('outer', { cause: wrapped })), `outer: ${wrapped.message}`)
})
