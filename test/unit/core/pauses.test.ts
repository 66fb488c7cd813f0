import assert from 'node:assert/strict'
import { test } from 'node:test'
import { PauseSet, WHOLE_LINK, describePause } from '../../../src/core/pauses.ts'

const alice = { by: 'alice@h', at: Date.UTC(2026, 11, 3, 10), reason: 'disk swap' }
const bob = { by: 'bob@h', at: Date.UTC(2026, 11, 3, 11), reason: null }

test('a topic pause covers that topic only; the whole link covers every topic and wins', () => {
  const pauses = new PauseSet()
  assert.equal(pauses.covering('orders'), null)
  pauses.apply('orders', alice)
  assert.deepEqual(pauses.covering('orders'), { scope: 'orders', pause: alice })
  assert.equal(pauses.covering('payments'), null)
  pauses.apply(WHOLE_LINK, bob)
  assert.deepEqual(pauses.covering('orders'), { scope: WHOLE_LINK, pause: bob })
  assert.deepEqual(pauses.covering('payments'), { scope: WHOLE_LINK, pause: bob })
  pauses.apply(WHOLE_LINK, null)
  assert.deepEqual(pauses.covering('orders'), { scope: 'orders', pause: alice })
  pauses.apply('orders', null)
  assert.equal(pauses.size, 0)
})

test('describePause says who, when and why', () => {
  assert.equal(describePause(alice, 'orders'), 'paused by alice@h at 2026-12-03T10:00:00.000Z: disk swap')
  assert.equal(describePause(bob, WHOLE_LINK), 'link paused by bob@h at 2026-12-03T11:00:00.000Z')
})
