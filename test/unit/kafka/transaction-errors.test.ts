import assert from 'node:assert/strict'
import { test } from 'node:test'
import { classifyProduceError } from '../../../src/engine/errors.ts'
import { TransactionError, transactionFailureKind } from '../../../src/kafka/index.ts'

test('transaction errors are sorted as the Java producer sorts them', () => {
  for (const name of ['PRODUCER_FENCED', 'INVALID_PRODUCER_EPOCH', 'TRANSACTIONAL_ID_NOT_FOUND'])
    assert.equal(transactionFailureKind(name), 'fenced', name)
  for (const name of ['TRANSACTIONAL_ID_AUTHORIZATION_FAILED', 'CLUSTER_AUTHORIZATION_FAILED', 'UNSUPPORTED_VERSION'])
    assert.equal(transactionFailureKind(name), 'fatal', name)
  for (const name of ['OUT_OF_ORDER_SEQUENCE_NUMBER', 'INVALID_TXN_STATE', 'TRANSACTION_ABORTABLE', undefined])
    assert.equal(transactionFailureKind(name), 'abortable', String(name))
})

test('a copier never retries a write whose transaction failed: the link aborts it (closed)', () => {
  const error = new TransactionError('abortable', 'the transaction failed', 'dc2')
  assert.deepEqual(classifyProduceError(error), { kind: 'closed', name: undefined })
  const fenced = new TransactionError('fenced', 'fenced', 'dc2')
  assert.equal(fenced.code, 'KDR_ERR_FENCED')
  assert.deepEqual(classifyProduceError(fenced), { kind: 'closed', name: undefined })
})
