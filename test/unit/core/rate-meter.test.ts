import assert from 'node:assert/strict'
import { test } from 'node:test'
import { RateMeter } from '../../../src/core/rate-meter.ts'

test('rates are a moving average of steady samples, known after a whole window, forgotten when unowned', () => {
  const meter = new RateMeter(1000)
  meter.sample(0, new Map([['t:0', 0]]))
  assert.deepEqual(meter.rates(), {}, 'one sample: no rate yet')
  meter.sample(500, new Map([['t:0', 2500]]))
  assert.deepEqual(meter.rates(), {}, 'half a window: not known yet')
  meter.sample(1000, new Map([['t:0', 5000]]))
  assert.deepEqual(meter.rates(), { 't:0': 5000 })
  // A burst moves the average a little, not all the way: one rebalance's timing cannot swing it.
  meter.sample(1100, new Map([['t:0', 15_000]]))
  const rate = meter.rates()['t:0']!
  assert.ok(rate > 5000 && rate < 100_000, `a burst of 100,000 B/s for 100 ms moves the average part way, to ${rate}`)
  meter.sample(3000, new Map([['t:1', 0]]))
  assert.deepEqual(meter.rates(), {}, 'a partition no longer owned is forgotten')
})

test('a counter that went back (a partition copied again from the start) is a new baseline, not a negative rate', () => {
  const meter = new RateMeter(1000)
  meter.sample(0, new Map([['t:0', 9000]]))
  meter.sample(1000, new Map([['t:0', 100]]))
  assert.deepEqual(meter.rates(), {})
  meter.sample(2000, new Map([['t:0', 1100]]))
  assert.deepEqual(meter.rates(), { 't:0': 1000 })
})
