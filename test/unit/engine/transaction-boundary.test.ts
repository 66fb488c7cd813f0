import assert from 'node:assert/strict'
import { test } from 'node:test'
import { TransactionBoundary } from '../../../src/engine/transaction-boundary.ts'

const limits = { maxRecords: 1000, maxBytes: 1_000_000 }
const tick = (): Promise<void> => new Promise(resolve => setImmediate(resolve))

test('a commit waits for the writes under way and lets none start until it reopens', async () => {
  const boundary = new TransactionBoundary(limits)
  assert.equal(await boundary.enter(), true)
  let quiet: boolean | null = null
  const quiescing = boundary.quiesce(5_000).then(q => (quiet = q))
  let lateEntered = false
  const late = boundary.enter().then(ok => (lateEntered = ok))
  await tick()
  assert.equal(quiet, null, 'the commit must wait for the write under way')
  assert.equal(lateEntered, false, 'no write starts while a commit is pending')
  boundary.leave(10, 100)
  await quiescing
  assert.equal(quiet, true)
  assert.equal(boundary.active, 0)
  assert.deepEqual(boundary.size, { records: 10, bytes: 100 })
  await tick()
  assert.equal(lateEntered, false, 'still closed while the commit runs')
  boundary.reopen()
  await late
  assert.equal(lateEntered, true)
  assert.deepEqual(boundary.size, { records: 0, bytes: 0 }, 'a new transaction counts from zero')
})

test('a write that does not finish in time makes quiesce answer false, and the boundary stays closed', async () => {
  const boundary = new TransactionBoundary(limits)
  await boundary.enter()
  assert.equal(await boundary.quiesce(20), false)
  let entered = false
  void boundary.enter().then(() => (entered = true))
  await tick()
  assert.equal(entered, false)
})

test('past maxRecords or maxBytes new writes wait and a commit is asked for', async () => {
  const boundary = new TransactionBoundary({ maxRecords: 5, maxBytes: 1_000_000 })
  let asked = 0
  boundary.onFull = () => asked++
  await boundary.enter()
  boundary.leave(5, 50)
  assert.equal(asked, 1)
  let entered = false
  const waiting = boundary.enter().then(ok => (entered = ok))
  await tick()
  assert.equal(entered, false, 'a full transaction takes no more writes')
  assert.equal(await boundary.quiesce(1000), true)
  boundary.reopen()
  await waiting
  assert.equal(entered, true)

  const bytes = new TransactionBoundary({ maxRecords: 1000, maxBytes: 100 })
  let askedBytes = 0
  bytes.onFull = () => askedBytes++
  await bytes.enter()
  bytes.leave(1, 100)
  assert.equal(askedBytes, 1)
})

test('shut refuses waiting and later writes (the link stops)', async () => {
  const boundary = new TransactionBoundary(limits)
  await boundary.quiesce(10)
  const waiting = boundary.enter()
  boundary.shut()
  assert.equal(await waiting, false)
  assert.equal(await boundary.enter(), false)
})
