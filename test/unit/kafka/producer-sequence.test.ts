import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { MAX_SEQUENCE, addToSequence, lastSequenceOf } from '../../../src/kafka/producer-sequence.ts'
import { RecordBatchWriter, stampBatch } from '../../../src/kafka/record-batch.ts'

/**
 * Producer sequence numbers wrap at 2^31-1 as Kafka's do. The expectations are written from the
 * rule itself (the sequence of the i-th record is (base + i) mod 2^31), not from the code under test.
 */
const reference = (base: number, count: number): number => Number((BigInt(base) + BigInt(count)) % 2n ** 31n)

describe('producer sequence numbers', () => {
  test('MAX_SEQUENCE is Java Integer.MAX_VALUE', () => {
    assert.equal(MAX_SEQUENCE, 2 ** 31 - 1)
  })

  test('below the wrap, sequences add up', () => {
    assert.equal(addToSequence(0, 0), 0)
    assert.equal(addToSequence(0, 1), 1)
    assert.equal(addToSequence(1000, 500), 1500)
    assert.equal(addToSequence(MAX_SEQUENCE - 10, 10), MAX_SEQUENCE)
  })

  test('at MAX - 1 and MAX', () => {
    assert.equal(addToSequence(MAX_SEQUENCE - 1, 1), MAX_SEQUENCE)
    assert.equal(addToSequence(MAX_SEQUENCE - 1, 2), 0)
    assert.equal(addToSequence(MAX_SEQUENCE - 1, 3), 1)
    assert.equal(addToSequence(MAX_SEQUENCE, 0), MAX_SEQUENCE)
    assert.equal(addToSequence(MAX_SEQUENCE, 1), 0)
    assert.equal(addToSequence(MAX_SEQUENCE, 2), 1)
  })

  test('counts crossing the wrap match (base + count) mod 2^31, and every result fits an int32', () => {
    const bases = [0, 1, MAX_SEQUENCE - 1000, MAX_SEQUENCE - 50, MAX_SEQUENCE - 2, MAX_SEQUENCE - 1, MAX_SEQUENCE]
    const counts = [0, 1, 2, 3, 49, 50, 51, 500, 1000, 65_536, MAX_SEQUENCE]
    for (const base of bases) {
      for (const count of counts) {
        const next = addToSequence(base, count)
        assert.equal(next, reference(base, count), `base ${base} + ${count}`)
        assert.ok(next >= 0 && next <= MAX_SEQUENCE)
      }
    }
  })

  test('a run of batches crossing the wrap: each next base is the successor of the previous last sequence', () => {
    let base = MAX_SEQUENCE - 50
    const seen: number[] = []
    for (const count of [7, 20, 23, 1, 30, 100]) {
      const last = lastSequenceOf(base, count)
      for (let i = 0; i < count; i++) seen.push(addToSequence(base, i))
      assert.equal(last, seen.at(-1))
      const next = addToSequence(base, count)
      // The broker's rule for the next batch: lastSeq + 1, or 0 after MAX_SEQUENCE.
      assert.equal(next, last === MAX_SEQUENCE ? 0 : last + 1)
      base = next
    }
    // 181 records from MAX - 50: MAX - 50 .. MAX, then 0 .. 129, each once.
    assert.equal(seen.length, 181)
    assert.deepEqual(seen.slice(49, 53), [MAX_SEQUENCE - 1, MAX_SEQUENCE, 0, 1])
    assert.equal(seen.at(-1), 129)
    assert.equal(new Set(seen).size, seen.length)
  })

  test('a stamped batch at a wrapped base: header base sequence and lastOffsetDelta give the wrapped last sequence', () => {
    const writer = new RecordBatchWriter()
    writer.begin(0)
    for (let i = 0; i < 5; i++) writer.appendRecord(1_700_000_000_000 + i, null, Buffer.from(`v${i}`), [])
    const batch = writer.finish(0, null)
    stampBatch(batch, 7n, 0, MAX_SEQUENCE - 1)
    const base = batch.readInt32BE(53)
    const lastOffsetDelta = batch.readInt32BE(23)
    assert.equal(base, MAX_SEQUENCE - 1)
    assert.equal(lastOffsetDelta, 4)
    // What the broker derives (DefaultRecordBatch.lastSequence): base + lastOffsetDelta, wrapped.
    assert.equal(lastSequenceOf(base, lastOffsetDelta + 1), 2)
    assert.equal(addToSequence(base, batch.readInt32BE(57)), 3)
  })
})
