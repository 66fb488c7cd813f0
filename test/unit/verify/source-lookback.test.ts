import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type FetchedRecord } from '../../../src/kafka/index.ts'
import { SourceLookback } from '../../../src/verify/source-lookback.ts'

const record = (offset: number): FetchedRecord => ({
  offset: BigInt(offset),
  timestamp: 0n,
  timestampType: 'create',
  key: null,
  value: Buffer.from(`v${offset}`),
  headers: []
})

test('source records read again for old copies: one read per fetch, compacted or skipped offsets are null', async () => {
  const reads: bigint[] = []
  // The source holds even offsets only (odd ones compacted away); 4 records per fetch; offset 6 came
  // from the target (not expected there: no digest).
  const lookback = new SourceLookback(
    from => {
      reads.push(from)
      const first = Number(from) + (Number(from) % 2)
      return Promise.resolve([0, 2, 4, 6].map(i => record(first + i)))
    },
    r => Promise.resolve(r.offset === 6n ? null : Buffer.from(`d${r.offset}`))
  )
  assert.deepEqual(await lookback.digestAt(2), Buffer.from('d2'))
  assert.deepEqual(await lookback.digestAt(4), Buffer.from('d4'))
  assert.equal(await lookback.digestAt(3), null, 'compacted away')
  assert.equal(await lookback.digestAt(6), null, 'from the target')
  assert.deepEqual(reads, [2n], 'one fetch served them all')
  assert.deepEqual(await lookback.digestAt(10), Buffer.from('d10'))
  assert.deepEqual(await lookback.digestAt(0), Buffer.from('d0'))
  assert.deepEqual(reads, [2n, 10n, 0n])
})
