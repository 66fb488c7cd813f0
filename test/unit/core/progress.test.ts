import assert from 'node:assert/strict'
import { test } from 'node:test'
import { CatchUpProgress, describeProgress } from '../../../src/core/progress.ts'

test('rate over the window and the ETA at that rate', () => {
  const progress = new CatchUpProgress(10_000)
  assert.deepEqual(progress.sample(0, 0, 100_000), { remaining: 100_000, rate: null, etaSeconds: null })
  const second = progress.sample(2000, 20_000, 80_000)
  assert.equal(second.rate, 10_000)
  assert.equal(second.etaSeconds, 8)
  // Older samples leave the window: the rate follows the recent past (here: 5,000 records/s).
  progress.sample(12_000, 120_000, 50_000)
  const late = progress.sample(22_000, 170_000, 25_000)
  assert.equal(late.rate, 5000)
  assert.equal(late.etaSeconds, 5)
})

test('nothing moving: no ETA; nothing left: ETA 0', () => {
  const progress = new CatchUpProgress()
  progress.sample(0, 10, 5)
  assert.equal(progress.sample(5000, 10, 5).etaSeconds, null)
  assert.equal(progress.sample(6000, 15, 0).etaSeconds, 0)
})

test('described for a terminal', () => {
  assert.equal(
    describeProgress({ remaining: 1_234_567, rate: 45_678.4, etaSeconds: 27.03 }),
    '1,234,567 records remaining, 45,678 records/s, ETA 28 s'
  )
  assert.equal(
    describeProgress({ remaining: 10, rate: null, etaSeconds: null }),
    '10 records remaining, rate unknown, ETA unknown'
  )
  assert.equal(
    describeProgress({ remaining: 9e6, rate: 1000, etaSeconds: 9000 }),
    '9,000,000 records remaining, 1,000 records/s, ETA 150 min'
  )
})
