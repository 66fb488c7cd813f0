import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseConfig } from '../../../src/config/index.ts'
import { type StateEntry } from '../../../src/state/index.ts'
import { TransactionalDelivery } from '../../../src/engine/delivery.ts'
import { type BatchProducer, TransactionError, type TransactionSession } from '../../../src/kafka/index.ts'
import { createLogger } from '../../../src/observability/logger.ts'

/**
 * The exactly-once commit cycle with fakes for the transaction session and the batch producer: the
 * order of its steps is the guarantee (state gathered only with no write under way, state records in
 * the transaction before EndTxn, memory marked committed only after EndTxn succeeded).
 */

const link = parseConfig(
  `clusters:
  dc1: { bootstrap: '127.0.0.1:1' }
  dc2: { bootstrap: '127.0.0.1:2' }
links:
  - name: eos
    source: dc1
    target: dc2
    delivery: exactly-once
    topics: { include: [orders] }
`,
  '<test>'
).links[0]!

/** One fake turn (a transactional id's session and its producer); steps name it 'A' or 'B'. */
function fakeTurn(name: string, steps: string[], options: { endFails?: unknown; endGate?: Promise<void> }) {
  let open = false
  let failure: TransactionError | null = null
  const session = {
    transactionalId: `kafka-dr.eos.${name}`,
    timeoutMs: 30_000,
    onFailure: (() => {}) as (error: TransactionError) => void,
    get failure() {
      return failure
    },
    get open() {
      return open
    },
    init: () => Promise.resolve({ id: 7n, epoch: 0 }),
    prepareNext: () => Promise.resolve(),
    end: async (commit: boolean) => {
      steps.push(`${name} end(${commit})`)
      await options.endGate
      if (options.endFails !== undefined) throw options.endFails
      open = false
    },
    fail(cause: unknown, what: string) {
      failure ??= new TransactionError('abortable', `${what}: ${String(cause)}`, 'dc2')
      this.onFailure(failure)
      return failure
    },
    close: () => Promise.resolve()
  }
  const batches = {
    send: (topic: string, partition: number, batch: Buffer) => {
      open = true
      steps.push(`${name} send ${topic}-${partition} (${batch.readInt32BE(57)} records)`)
      return Promise.resolve(0n)
    },
    close: () => Promise.resolve()
  }
  return { session: session as unknown as TransactionSession, batches: batches as unknown as BatchProducer }
}

function fakes(options: { endFails?: unknown; endGate?: Promise<void> } = {}) {
  const steps: string[] = []
  const turns = [fakeTurn('A', steps, options), fakeTurn('B', steps, options)] as const
  return { steps, turns }
}

function deliveryWith(turns: ReturnType<typeof fakes>['turns'], failures: TransactionError[], linkConfig = link) {
  return new TransactionalDelivery(
    { alias: 'dc2', bootstrap: [] },
    linkConfig,
    createLogger({ write: () => {} }),
    e => failures.push(e),
    turns
  )
}

const entry: StateEntry = {
  kind: 'progress',
  link: 'eos',
  topic: 'orders',
  partition: 0,
  value: { next: 10n, topicId: 't', sourceClusterId: 's', updatedAt: 1, targetEnd: 11n, lastCopied: 9n }
}

test('a commit moves new writes to the other transaction, gathers once its own writes ended, writes the state in it, then ends it', async () => {
  const { steps, turns } = fakes()
  const failures: TransactionError[] = []
  const delivery = deliveryWith(turns, failures)
  const write = (await delivery.boundary.enter())!
  assert.equal(write.generation, 0)
  const committing = delivery.commit(generation => {
    steps.push(`gather ${generation}`)
    return { entries: [entry, { ...entry, partition: 1 }], committed: () => steps.push('committed') }
  })
  await new Promise(resolve => setImmediate(resolve))
  const during = (await delivery.boundary.enter())!
  assert.equal(during.generation, 1, 'copying goes on in the next transaction while this one commits')
  assert.equal(during.batches, turns[1].batches)
  await new Promise(resolve => setImmediate(resolve))
  assert.equal(steps.length, 0, 'nothing is gathered while a write of the committing transaction is under way')
  steps.push('write ends')
  write.leave(5, 500)
  await committing
  assert.deepEqual(steps, ['write ends', 'gather 0', 'A send __kdr_state-0 (2 records)', 'A end(true)', 'committed'])
  assert.deepEqual(failures, [])
  during.leave(1, 10)
})

test('commits run one at a time, in order, each ending its own transactional id', async () => {
  let open!: () => void
  const { steps, turns } = fakes({ endGate: new Promise<void>(resolve => (open = resolve)) })
  const delivery = deliveryWith(turns, [])
  const gather = (generation: number) => {
    steps.push(`gather ${generation}`)
    return { entries: [entry], committed: () => steps.push(`committed ${generation}`) }
  }
  const first = delivery.commit(gather)
  const second = delivery.commit(gather)
  await new Promise(resolve => setImmediate(resolve))
  assert.deepEqual(steps, ['gather 0', 'A send __kdr_state-0 (1 records)', 'A end(true)'], 'the second waits')
  open()
  await Promise.all([first, second])
  assert.deepEqual(steps.slice(3), [
    'committed 0',
    'gather 1',
    'B send __kdr_state-0 (1 records)',
    'B end(true)',
    'committed 1'
  ])
  assert.equal(delivery.boundary.generation, 2)
})

test('a commit whose EndTxn fails marks nothing committed, fails the delivery and refuses later writes', async () => {
  const { steps, turns } = fakes({ endFails: new Error('broker gone') })
  const failures: TransactionError[] = []
  const delivery = deliveryWith(turns, failures)
  await assert.rejects(
    delivery.commit(() => ({ entries: [entry], committed: () => steps.push('committed') })),
    (error: unknown) => error instanceof TransactionError && error.kind === 'abortable'
  )
  assert.ok(!steps.includes('committed'))
  assert.equal(failures.length, 1)
  assert.equal(await delivery.boundary.enter(), null, 'no write starts once a transaction failed')
  await assert.rejects(
    delivery.commit(() => null),
    TransactionError,
    'no later commit either'
  )
})

test('a write that does not end within half the transaction timeout gives the transaction up', async () => {
  const { turns } = fakes()
  const quick = { ...link, transaction: { ...link.transaction, timeoutMs: 40 } }
  const failures: TransactionError[] = []
  const delivery = deliveryWith(turns, failures, quick)
  await delivery.boundary.enter()
  let gathered = false
  await assert.rejects(
    delivery.commit(() => ((gathered = true), null)),
    /did not finish within 20 ms/
  )
  assert.equal(gathered, false)
  assert.equal(failures.length, 1)
})

test('abandon aborts the open transactions of both ids and nothing commits afterwards', async () => {
  const { steps, turns } = fakes()
  const delivery = deliveryWith(turns, [])
  const a = (await delivery.boundary.enter())!
  await a.batches.send('orders', 0, Buffer.alloc(61))
  a.leave(1, 1)
  const committing = delivery.commit(() => ({ entries: [], committed: () => steps.push('committed') }))
  await new Promise(resolve => setImmediate(resolve))
  const b = (await delivery.boundary.enter())!
  await b.batches.send('orders', 0, Buffer.alloc(61))
  b.leave(1, 1)
  await committing
  await delivery.abandon()
  assert.deepEqual(
    steps.filter(s => s.includes(' end(')),
    ['A end(true)', 'B end(false)'],
    'the committed transaction stays, the open one is aborted'
  )
  await assert.rejects(
    delivery.commit(() => null),
    /given up/
  )
})
