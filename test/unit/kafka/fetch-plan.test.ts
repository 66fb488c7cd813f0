import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { fetchErrorKind } from '../../../src/kafka/fetch-errors.ts'
import { cutBatchBytes, planFetch } from '../../../src/kafka/fetch-plan.ts'
import { outOfRangeOutcome } from '../../../src/kafka/out-of-range.ts'

const none = (): number => 0

describe('fetch plan: no partition starves', () => {
  test('the order rotates by one partition per request, so each is first in turn', () => {
    const requests = ['a', 'b', 'c']
    const firsts = [0, 1, 2, 3].map(round => planFetch(requests, round, 1000, none).map(p => p.request))
    assert.deepEqual(firsts, [
      ['a', 'b', 'c'],
      ['b', 'c', 'a'],
      ['c', 'a', 'b'],
      ['a', 'b', 'c']
    ])
    assert.ok(planFetch(requests, 7, 1000, none).every(p => p.maxBytes === 1000))
    assert.deepEqual(planFetch([], 5, 1000, none), [])
  })

  test('a partition waiting for a batch larger than its limit goes first, asking for the whole batch', () => {
    const needed = (r: string): number => (r === 'c' ? 5000 : 0)
    const plan = planFetch(['a', 'b', 'c', 'd'], 0, 1000, needed)
    assert.deepEqual(
      plan.map(p => [p.request, p.maxBytes]),
      [
        ['c', 5000],
        ['a', 1000],
        ['b', 1000],
        ['d', 1000]
      ]
    )
    // A batch smaller than the usual size keeps the usual size.
    assert.equal(planFetch(['x'], 0, 1000, () => 10)[0]!.maxBytes, 1000)
  })

  test('a response that holds only the start of a batch yields that batch size', () => {
    // A fake answer: the broker cut a 4,000-byte batch at 1,000 bytes.
    const cut = Buffer.alloc(1000)
    cut.writeInt32BE(4000 - 12, 8)
    assert.equal(cutBatchBytes(cut, 0), 4000)
    // Complete batches were read: the cut one is the next fetch's first, no special treatment.
    assert.equal(cutBatchBytes(cut, 1), 0)
    // Nothing, or too little to read a length from.
    assert.equal(cutBatchBytes(null, 0), 0)
    assert.equal(cutBatchBytes(Buffer.alloc(11), 0), 0)
    // A length that fits what came is not a cut batch (malformed: for the batch decoder to report).
    const whole = Buffer.alloc(100)
    whole.writeInt32BE(50, 8)
    assert.equal(cutBatchBytes(whole, 0), 0)
  })
})

describe('fetch partition errors', () => {
  test('every code has a name and an action', () => {
    assert.deepEqual(fetchErrorKind(29), { name: 'TOPIC_AUTHORIZATION_FAILED', action: 'operator' })
    assert.deepEqual(fetchErrorKind(6), { name: 'NOT_LEADER_OR_FOLLOWER', action: 'refresh' })
    assert.deepEqual(fetchErrorKind(74), { name: 'FENCED_LEADER_EPOCH', action: 'refresh' })
    assert.deepEqual(fetchErrorKind(76), { name: 'UNSUPPORTED_COMPRESSION_TYPE', action: 'stop' })
    // Not in kafka-dr's table: the library's name, and a stop (never retried blindly).
    assert.deepEqual(fetchErrorKind(87), { name: 'INVALID_RECORD', action: 'stop' })
    assert.deepEqual(fetchErrorKind(9999), { name: 'UNKNOWN_ERROR_9999', action: 'stop' })
  })
})

describe('OFFSET_OUT_OF_RANGE', () => {
  test('only a known range concludes; a failed lookup or a range containing the offset retries', () => {
    assert.equal(outOfRangeOutcome(5n, 10n, 20n), 'below-start')
    assert.equal(outOfRangeOutcome(25n, 10n, 20n), 'beyond-end')
    assert.equal(outOfRangeOutcome(15n, 10n, 20n), 'retry')
    assert.equal(outOfRangeOutcome(20n, 10n, 20n), 'retry')
    assert.equal(outOfRangeOutcome(25n, undefined, undefined), 'retry')
    assert.equal(outOfRangeOutcome(25n, 10n, undefined), 'retry')
    assert.equal(outOfRangeOutcome(25n, -1n, -1n), 'retry')
  })
})
