import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type BatchSender, TransactionBoundary } from '../../../src/engine/transaction-boundary.ts'

const limits = { maxRecords: 1000, maxBytes: 1_000_000 }
const tick = (): Promise<void> => new Promise(resolve => setImmediate(resolve))
const producerA = { send: () => Promise.resolve(0n) } as BatchSender
const producerB = { send: () => Promise.resolve(0n) } as BatchSender
const boundaryWith = (bounds = limits): TransactionBoundary => new TransactionBoundary(bounds, [producerA, producerB])

test('sealing moves new writes to the next transaction at once, and waits only for the writes of the sealed one', async () => {
  const boundary = boundaryWith()
  const first = (await boundary.enter())!
  assert.equal(first.generation, 0)
  assert.equal(first.batches, producerA)
  let sealed: number | null | undefined
  const sealing = boundary.seal(5_000).then(g => (sealed = g))
  assert.equal(boundary.generation, 1)
  const next = (await boundary.enter())!
  assert.equal(next.generation, 1, 'a write during the commit goes to the next transaction')
  assert.equal(next.batches, producerB, 'on the other producer')
  await tick()
  assert.equal(sealed, undefined, 'the commit waits for the write under way in its transaction')
  next.leave(3, 30)
  await tick()
  assert.equal(sealed, undefined, 'a write of the next transaction does not end the wait')
  first.leave(10, 100)
  await sealing
  assert.equal(sealed, 0)
  assert.equal(boundary.active(0), 0)
  assert.deepEqual(boundary.size, { records: 3, bytes: 30 }, 'the open transaction counts its own writes')
  // The third transaction is the first producer's again, counted from zero.
  assert.equal(await boundary.seal(10), 1)
  const third = (await boundary.enter())!
  assert.equal(third.generation, 2)
  assert.equal(third.batches, producerA)
  assert.deepEqual(boundary.size, { records: 0, bytes: 0 })
})

test('a write that does not finish in time makes seal answer null', async () => {
  const boundary = boundaryWith()
  await boundary.enter()
  assert.equal(await boundary.seal(20), null)
})

test('past maxRecords or maxBytes new writes wait and a commit is asked for; sealing lets them go on', async () => {
  const boundary = boundaryWith({ maxRecords: 5, maxBytes: 1_000_000 })
  let asked = 0
  boundary.onFull = () => asked++
  const slot = (await boundary.enter())!
  slot.leave(5, 50)
  assert.equal(asked, 1)
  let entered: number | null = null
  const waiting = boundary.enter().then(s => (entered = s?.generation ?? -1))
  await tick()
  assert.equal(entered, null, 'a full transaction takes no more writes')
  assert.equal(await boundary.seal(1000), 0)
  await waiting
  assert.equal(entered, 1, 'the waiting write goes to the next transaction')

  const bytes = boundaryWith({ maxRecords: 1000, maxBytes: 100 })
  let askedBytes = 0
  bytes.onFull = () => askedBytes++
  ;(await bytes.enter())!.leave(1, 100)
  assert.equal(askedBytes, 1)
})

test('an ambiguous write names its transaction; leave counts once', async () => {
  const boundary = boundaryWith()
  const ambiguous: number[] = []
  boundary.onAmbiguous = g => ambiguous.push(g)
  await boundary.seal(10)
  const slot = (await boundary.enter())!
  slot.leave(1, 1, true)
  slot.leave(1, 1, true)
  assert.deepEqual(ambiguous, [1])
  assert.equal(boundary.active(1), 0)
})

test('shut refuses waiting and later writes (the link stops)', async () => {
  const boundary = boundaryWith({ maxRecords: 1, maxBytes: 1_000_000 })
  ;(await boundary.enter())!.leave(1, 1)
  const waiting = boundary.enter()
  boundary.shut()
  assert.equal(await waiting, null)
  assert.equal(await boundary.enter(), null)
})
