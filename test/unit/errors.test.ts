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
  assert.equal(describeCause(aggregate), 'Producing messages failed.: NOT_LEADER; TIMEOUT')
})
