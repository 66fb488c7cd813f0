import assert from 'node:assert/strict'
import { test } from 'node:test'
import { PartitionBackoff } from '../../../src/core/partition-backoff.ts'

test('backoff doubles per failure within [base/2, base], stays under its bound, and resets on success', () => {
  const high = new PartitionBackoff({ initialMs: 100, random: () => 1 })
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7, 8].map(() => high.fail(0, 5000)),
    [100, 200, 400, 800, 1600, 3200, 5000, 5000]
  )
  const low = new PartitionBackoff({ initialMs: 100, random: () => 0 })
  assert.deepEqual(
    [1, 2, 3].map(() => low.fail(0, 5000)),
    [50, 100, 200]
  )
  assert.equal(high.failures, 8)
  assert.equal(high.succeed(), true)
  assert.equal(high.succeed(), false)
  assert.equal(high.failures, 0)
  assert.equal(high.fail(0, 5000), 100)
})

test('a partition is ready again only when its delay has passed', () => {
  const backoff = new PartitionBackoff({ random: () => 1 })
  assert.equal(backoff.ready(0), true)
  const delay = backoff.fail(1000, 30_000, 1000)
  assert.equal(delay, 1000)
  assert.equal(backoff.ready(1999), false)
  assert.equal(backoff.ready(2000), true)
  // Thousands of failures never overflow the bound.
  for (let i = 0; i < 5000; i++) backoff.fail(0, 30_000, 1000)
  assert.equal(backoff.fail(0, 30_000, 1000), 30_000)
})
