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

function fakes(options: { endFails?: unknown } = {}) {
  const steps: string[] = []
  let open = false
  let failure: TransactionError | null = null
  const session = {
    transactionalId: 'kafka-dr.eos.0',
    timeoutMs: 30_000,
    onFailure: (() => {}) as (error: TransactionError) => void,
    get failure() {
      return failure
    },
    get open() {
      return open
    },
    init: () => Promise.resolve({ id: 7n, epoch: 0 }),
    end: async (commit: boolean) => {
      steps.push(`end(${commit})`)
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
      steps.push(`send ${topic}-${partition} (${batch.readInt32BE(57)} records)`)
      return Promise.resolve(0n)
    },
    close: () => Promise.resolve()
  }
  return {
    steps,
    parts: { session: session as unknown as TransactionSession, batches: batches as unknown as BatchProducer }
  }
}

const entry: StateEntry = {
  kind: 'progress',
  link: 'eos',
  topic: 'orders',
  partition: 0,
  value: { next: 10n, topicId: 't', sourceClusterId: 's', updatedAt: 1, targetEnd: 11n, lastCopied: 9n }
}

test('a commit gathers progress only once no write is under way, writes it in the transaction, then ends it', async () => {
  const { steps, parts } = fakes()
  const failures: TransactionError[] = []
  const delivery = new TransactionalDelivery(
    { alias: 'dc2', bootstrap: [] },
    link,
    createLogger({ write: () => {} }),
    e => failures.push(e),
    parts
  )
  assert.equal(await delivery.boundary.enter(), true)
  const committing = delivery.commit(() => {
    steps.push('gather')
    return { entries: [entry, { ...entry, partition: 1 }], committed: () => steps.push('committed') }
  })
  await new Promise(resolve => setImmediate(resolve))
  assert.equal(steps.length, 0, 'nothing is gathered while a write is under way')
  steps.push('write ends')
  delivery.boundary.leave(5, 500)
  await committing
  assert.deepEqual(steps, ['write ends', 'gather', 'send __kdr_state-0 (2 records)', 'end(true)', 'committed'])
  assert.deepEqual(failures, [])
  assert.equal(await delivery.boundary.enter(), true, 'writes go on after the commit')
})

test('a commit whose EndTxn fails marks nothing committed, fails the session and refuses later writes', async () => {
  const { steps, parts } = fakes({ endFails: new Error('broker gone') })
  const failures: TransactionError[] = []
  const delivery = new TransactionalDelivery(
    { alias: 'dc2', bootstrap: [] },
    link,
    createLogger({ write: () => {} }),
    e => failures.push(e),
    parts
  )
  await assert.rejects(
    delivery.commit(() => ({ entries: [entry], committed: () => steps.push('committed') })),
    (error: unknown) => error instanceof TransactionError && error.kind === 'abortable'
  )
  assert.ok(!steps.includes('committed'))
  assert.equal(failures.length, 1)
  assert.equal(await delivery.boundary.enter(), false, 'no write starts in a failed transaction')
})

test('a write that does not end within half the transaction timeout gives the transaction up', async () => {
  const { parts } = fakes()
  const quick = { ...link, transaction: { ...link.transaction, timeoutMs: 40 } }
  const failures: TransactionError[] = []
  const delivery = new TransactionalDelivery(
    { alias: 'dc2', bootstrap: [] },
    quick,
    createLogger({ write: () => {} }),
    e => failures.push(e),
    parts
  )
  await delivery.boundary.enter()
  let gathered = false
  await assert.rejects(
    delivery.commit(() => ((gathered = true), null)),
    /did not finish within 20 ms/
  )
  assert.equal(gathered, false)
  assert.equal(failures.length, 1)
})
