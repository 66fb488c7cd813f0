import assert from 'node:assert/strict'
import { test } from 'node:test'
import { FetchSizing } from '../../../src/core/fetch-sizing.ts'

test('a local source keeps the configured sizes', () => {
  const sizing = new FetchSizing()
  assert.equal(sizing.roundTripMs, null)
  assert.equal(sizing.scale, 1)
  assert.equal(sizing.sample(0.3), false)
  assert.equal(sizing.sample(9.9), false)
  assert.equal(sizing.scale, 1)
})

test('each further 10 ms of round trip adds the configured size once more, up to 8 times', () => {
  const sizing = new FetchSizing()
  assert.equal(sizing.sample(52.5), true)
  assert.equal(sizing.scale, 6)
  const far = new FetchSizing()
  far.sample(300)
  assert.equal(far.scale, 8)
})

test('the estimate is the smallest recent probe: one slow probe changes nothing, old ones age out', () => {
  const sizing = new FetchSizing({ window: 3 })
  sizing.sample(52)
  assert.equal(sizing.sample(400), false)
  assert.equal(sizing.roundTripMs, 52)
  assert.equal(sizing.scale, 6)
  // The link got shorter (failover to a closer replica): after `window` probes the sizes follow.
  sizing.sample(1)
  assert.equal(sizing.scale, 1)
  sizing.sample(80)
  sizing.sample(80)
  assert.equal(sizing.roundTripMs, 1)
  sizing.sample(80)
  assert.equal(sizing.roundTripMs, 80)
  assert.equal(sizing.scale, 8)
})

test('a failed probe (NaN) is ignored', () => {
  const sizing = new FetchSizing()
  assert.equal(sizing.sample(Number.NaN), false)
  assert.equal(sizing.roundTripMs, null)
})
