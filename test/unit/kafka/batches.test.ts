import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
// The client library's batch encoder builds the input batches (an implementation independent of ours).
// eslint-disable-next-line no-restricted-imports
import { createRecordsBatch } from '@platformatic/kafka'
import {
  ATTR_CONTROL,
  ATTR_TIMESTAMP_LOG_APPEND,
  ATTR_TRANSACTIONAL,
  PartitionDecoder,
  toFetchedRecord
} from '../../../src/kafka/batches.ts'
import { decompress } from '../../../src/kafka/compression.ts'
import { type RawBatch, readBatches } from '../../../src/kafka/record-batch.ts'
import { type FetchedRecord } from '../../../src/kafka/types.ts'

const b = (s: string): Buffer => Buffer.from(s)

interface Entry {
  key?: Buffer | null
  value: Buffer | null
  headers?: [Buffer, Buffer | null][]
}

/** A real v2 batch of `entries` at `firstOffset`, decoded back to a RawBatch; fields may be overridden. */
function rawBatch(firstOffset: bigint, entries: Entry[], extra: Partial<RawBatch> = {}): RawBatch {
  const writer = createRecordsBatch(
    entries.map((e, i) => ({
      topic: 't',
      partition: 0,
      timestamp: 1000n + BigInt(i),
      key: (e.key ?? null) as Buffer,
      value: e.value as Buffer,
      headers: new Map((e.headers ?? []).map(([k, v]) => [k, v as Buffer]))
    })),
    {}
  )
  const bytes = Buffer.from(writer.buffer)
  bytes.writeBigInt64BE(firstOffset, 0)
  const [decoded] = readBatches(bytes, decompress)
  return { ...decoded!, ...extra }
}

function batch(firstOffset: bigint, values: string[], extra: Partial<RawBatch> = {}): RawBatch {
  return rawBatch(
    firstOffset,
    values.map(v => ({ value: b(v), headers: [[b('h'), b(v)]] })),
    extra
  )
}

/** A control batch with one marker record: key = int16 version 0, int16 type (0 abort, 1 commit). */
function marker(offset: bigint, producerId: bigint, commit: boolean): RawBatch {
  const key = Buffer.alloc(4)
  key.writeInt16BE(commit ? 1 : 0, 2)
  return rawBatch(offset, [{ key, value: b('\u0000\u0000') }], {
    attributes: ATTR_CONTROL | ATTR_TRANSACTIONAL,
    producerId
  })
}

function records(result: ReturnType<PartitionDecoder['decode']>): FetchedRecord[] {
  return result.records.map(toFetchedRecord)
}

const values = (result: ReturnType<PartitionDecoder['decode']>): (string | undefined)[] =>
  records(result).map(r => r.value?.toString())

describe('PartitionDecoder', () => {
  test('assigns offsets and CreateTime timestamps from batch base plus deltas', () => {
    const result = new PartitionDecoder(false).decode([batch(10n, ['a', 'b', 'c'])], 10n, null)
    assert.deepEqual(
      records(result).map(r => [r.offset, r.timestamp, r.timestampType]),
      [
        [10n, 1000n, 'create'],
        [11n, 1001n, 'create'],
        [12n, 1002n, 'create']
      ]
    )
    assert.equal(result.nextOffset, 13n)
    assert.deepEqual(records(result)[1]?.headers, [[b('h'), b('b')]])
  })

  test('skips records below the fetch offset inside the first batch', () => {
    const result = new PartitionDecoder(false).decode([batch(10n, ['a', 'b', 'c']), batch(13n, ['d'])], 12n, null)
    assert.deepEqual(values(result), ['c', 'd'])
    assert.equal(result.nextOffset, 14n)
  })

  test('LogAppendTime batches give every record the batch max timestamp', () => {
    const logAppend = batch(0n, ['a', 'b'], { attributes: ATTR_TIMESTAMP_LOG_APPEND, maxTimestamp: 5555 })
    const result = new PartitionDecoder(false).decode([logAppend], 0n, null)
    assert.deepEqual(
      records(result).map(r => [r.timestamp, r.timestampType]),
      [
        [5555n, 'log-append'],
        [5555n, 'log-append']
      ]
    )
  })

  test('a compacted batch whose records are all gone still moves nextOffset past it', () => {
    const emptied = { ...batch(0n, ['x', 'y', 'z']), recordCount: 0, records: Buffer.alloc(0) }
    const result = new PartitionDecoder(false).decode([emptied], 0n, null)
    assert.equal(result.records.length, 0)
    assert.equal(result.nextOffset, 3n)
  })

  test('control batches are passed over and counted', () => {
    const result = new PartitionDecoder(true).decode(
      [batch(0n, ['a'], { attributes: ATTR_TRANSACTIONAL, producerId: 7n }), marker(1n, 7n, true), batch(2n, ['b'])],
      0n,
      []
    )
    assert.deepEqual(values(result), ['a', 'b'])
    assert.equal(result.controlRecords, 1)
    assert.equal(result.nextOffset, 3n)
  })

  test('read_committed drops an aborted transaction but keeps other producers interleaved with it', () => {
    const tx = { attributes: ATTR_TRANSACTIONAL }
    const result = new PartitionDecoder(true).decode(
      [
        batch(0n, ['aborted-1'], { ...tx, producerId: 1n }),
        batch(1n, ['kept-2'], { ...tx, producerId: 2n }),
        batch(2n, ['aborted-1b'], { ...tx, producerId: 1n }),
        marker(3n, 1n, false),
        marker(4n, 2n, true),
        batch(5n, ['after'], { ...tx, producerId: 1n })
      ],
      0n,
      [{ producerId: 1n, firstOffset: 0n }]
    )
    assert.deepEqual(values(result), ['kept-2', 'after'])
    assert.equal(result.abortedRecords, 2)
  })

  test('aborted state survives across responses until the abort marker arrives', () => {
    const decoder = new PartitionDecoder(true)
    const tx = { attributes: ATTR_TRANSACTIONAL, producerId: 9n }
    const aborted = [{ producerId: 9n, firstOffset: 0n }]
    // The broker lists the aborted transaction with each response that overlaps it.
    const first = decoder.decode([batch(0n, ['a1'], tx)], 0n, aborted)
    const second = decoder.decode([batch(1n, ['a2'], tx)], first.nextOffset, aborted)
    const third = decoder.decode([marker(2n, 9n, false), batch(3n, ['c1'], tx)], second.nextOffset, aborted)
    assert.deepEqual([...values(first), ...values(second), ...values(third)], ['c1'])
  })

  test('read_uncommitted keeps aborted data (it is what the log holds)', () => {
    const result = new PartitionDecoder(false).decode(
      [batch(0n, ['a'], { attributes: ATTR_TRANSACTIONAL, producerId: 1n }), marker(1n, 1n, false)],
      0n,
      [{ producerId: 1n, firstOffset: 0n }]
    )
    assert.deepEqual(values(result), ['a'])
  })

  test('null header values and null keys pass through', () => {
    const withNulls = rawBatch(0n, [{ key: null, value: null, headers: [[b('k'), null]] }])
    const [record] = records(new PartitionDecoder(false).decode([withNulls], 0n, null))
    assert.equal(record?.key, null)
    assert.equal(record?.value, null)
    assert.deepEqual(record?.headers, [[b('k'), null]])
  })
})
