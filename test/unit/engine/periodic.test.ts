import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { runEvery } from '../../../src/engine/periodic.ts'

/** The loop shape of a link (periodic.ts): intervals, wakes, failures. Times are generous bounds, not targets. */

test('a wake asked for while a pass runs starts the next pass as soon as it ends', async () => {
  const stop = new AbortController()
  let wake = (): void => {}
  const starts: number[] = []
  const t0 = performance.now()
  const loop = runEvery(
    stop.signal,
    60_000,
    async () => {
      starts.push(performance.now() - t0)
      if (starts.length === 1) {
        wake() // e.g. a transaction filled up while the commit ran
        await sleep(20)
      } else stop.abort()
    },
    { wakeable: w => (wake = w), onError: () => {} }
  )
  wake() // the first pass at once
  await loop
  assert.equal(starts.length, 2, 'the wake during the pass was not lost')
  assert.ok(starts[1]! < 5_000, `the second pass started ${Math.round(starts[1]!)} ms in, not after the interval`)
})

test('fixedRate counts the interval from the start of the last pass', async () => {
  const stop = new AbortController()
  const starts: number[] = []
  await runEvery(
    stop.signal,
    300,
    async () => {
      starts.push(performance.now())
      await sleep(250)
      if (starts.length === 3) stop.abort()
    },
    { fixedRate: true, onError: () => {} }
  )
  const gap = starts[2]! - starts[1]!
  // 300 ms apart with fixedRate, 550 ms (250 + 300) without: the bound sits between them.
  assert.ok(gap < 450, `passes ${Math.round(gap)} ms apart: the 250 ms pass is inside the 300 ms interval`)
})

test('a failing pass is reported and the loop goes on', async () => {
  const stop = new AbortController()
  const errors: unknown[] = []
  let passes = 0
  await runEvery(
    stop.signal,
    1,
    () => {
      passes++
      if (passes === 3) stop.abort()
      return Promise.reject(new Error(`pass ${passes}`))
    },
    { onError: error => errors.push(error) }
  )
  assert.equal(passes, 3)
  assert.equal(errors.length, 3)
})
