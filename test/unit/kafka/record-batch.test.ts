import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
// The client library's own batch codec is the independent oracle for ours.
// eslint-disable-next-line no-restricted-imports
import { Reader, createRecordsBatch, readRecordsBatch } from '@platformatic/kafka'
import { CompressionPool } from '../../../src/kafka/compression-pool.ts'
import { CODEC_IDS, type CompressionName, compressorFor, decompress } from '../../../src/kafka/compression.ts'
import {
  ATTR_TIMESTAMP_LOG_APPEND,
  BatchFormatError,
  type HeaderToAdd,
  type RawRecord,
  RecordBatchWriter,
  encodeHeaderKey,
  readBatches,
  payloadSpans,
  readRecords,
  recordParts,
  stampBatch,
  type Int32Patch,
  type PayloadSpans
} from '../../../src/kafka/record-batch.ts'

interface Message {
  key: Buffer | null
  value: Buffer | null
  headers: [Buffer, Buffer | null][]
  timestamp: bigint
}

const b = (s: string): Buffer => Buffer.from(s)

/** Encodes messages as one batch with the library, as a broker would serve it at `baseOffset`. */
function libraryBatch(messages: Message[], baseOffset: bigint, compression: CompressionName = 'none'): Buffer {
  const headerMaps = messages.map(m => {
    const map = new Map<Buffer, Buffer>()
    for (const [k, v] of m.headers) map.set(map.has(k) ? k.subarray() : k, v as Buffer)
    return map
  })
  const writer = createRecordsBatch(
    messages.map((m, i) => ({
      topic: 't',
      partition: 0,
      timestamp: m.timestamp,
      headers: headerMaps[i]!,
      // The library writes an absent key or value as null.
      key: m.key as Buffer,
      value: m.value as Buffer
    })),
    { compression, producerId: 7n, producerEpoch: 1, partitionLeaderEpoch: 0 }
  )
  const bytes = Buffer.from(writer.buffer)
  bytes.writeBigInt64BE(baseOffset, 0)
  return bytes
}

const sample: Message[] = [
  { key: b('k1'), value: b('v1'), headers: [], timestamp: 1_700_000_000_000n },
  { key: null, value: b('only value'), headers: [[b('h'), b('1')]], timestamp: 1_700_000_000_005n },
  { key: b('tomb'), value: null, headers: [[b('h'), null]], timestamp: 1_699_999_999_990n },
  {
    key: b(''),
    value: b(''),
    headers: [
      [b('dup'), b('a')],
      [b('dup'), b('b')],
      [b('kdr-prov'), b('old')],
      [b('z'), b('')]
    ],
    timestamp: 1_700_000_000_001n
  },
  { key: Buffer.alloc(300, 1), value: Buffer.alloc(70_000, 2), headers: [], timestamp: 1_700_000_000_002n }
]

function decodeAll(buf: Buffer, from = 0, provenanceKey: Buffer | null = null): RawRecord[] {
  const out: RawRecord[] = []
  for (const batch of readBatches(buf, decompress)) readRecords(batch, from, provenanceKey, out)
  return out
}

function asMessage(record: RawRecord): Message {
  const { key, value, headers } = recordParts(record)
  return { key, value, headers, timestamp: BigInt(record.timestamp) }
}

describe('readBatches / readRecords', () => {
  test('decode what the library encodes: keys, values, nulls, headers in order, timestamps, offsets', () => {
    const records = decodeAll(libraryBatch(sample, 1000n))
    assert.deepEqual(records.map(asMessage), sample)
    assert.deepEqual(
      records.map(r => r.offset),
      [1000, 1001, 1002, 1003, 1004]
    )
  })

  for (const compression of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
    test(`decode ${compression}-compressed batches`, () => {
      const records = decodeAll(libraryBatch(sample, 5n, compression))
      assert.deepEqual(records.map(asMessage), sample)
    })
  }

  test('several batches, records before the fetch offset skipped, trailing partial batch left for later', () => {
    const first = libraryBatch(sample.slice(0, 2), 0n)
    const second = libraryBatch(sample.slice(2), 2n)
    const partial = libraryBatch(sample.slice(0, 1), 5n).subarray(0, 30)
    const records = decodeAll(Buffer.concat([first, second, partial]), 1)
    assert.deepEqual(
      records.map(r => r.offset),
      [1, 2, 3, 4]
    )
  })

  test('a corrupt batch fails its CRC check', () => {
    const bytes = libraryBatch(sample, 0n)
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 3) ^ 0xff, bytes.length - 3)
    assert.throws(() => readBatches(bytes, decompress), BatchFormatError)
  })

  test('LogAppendTime batches give every record the batch max timestamp', () => {
    const bytes = libraryBatch(sample.slice(0, 3), 0n)
    bytes.writeInt16BE(bytes.readInt16BE(21) | ATTR_TIMESTAMP_LOG_APPEND, 21)
    bytes.writeBigInt64BE(1_800_000_000_000n, 35)
    stampBatch(bytes, 7n, 1, 0) // recompute the CRC after the edit
    assert.deepEqual(
      decodeAll(bytes).map(r => r.timestamp),
      [1_800_000_000_000, 1_800_000_000_000, 1_800_000_000_000]
    )
  })

  test('locates the header with the given key (the first of that name)', () => {
    const [record] = decodeAll(libraryBatch([sample[3]!], 0n), 0, b('kdr-prov'))
    assert.ok(record !== undefined && record.provAt >= 0)
    assert.equal(record.data.toString('latin1', record.provValueAt, record.provValueAt + record.provValueLength), 'old')
    const [none] = decodeAll(libraryBatch([sample[0]!], 0n), 0, b('kdr-prov'))
    assert.equal(none?.provAt, -1)
  })
})

describe('RecordBatchWriter', () => {
  const header: HeaderToAdd = { keyEntry: encodeHeaderKey(b('kdr-prov')), valuePrefix: b('PREFIX'), valueInt64: 0 }

  function rewrite(records: RawRecord[], compression: CompressionName = 'none'): Buffer {
    const writer = new RecordBatchWriter(256)
    writer.begin(1024)
    for (const record of records) {
      header.valueInt64 = record.offset
      writer.append(record, header)
    }
    const batch = writer.finish(CODEC_IDS[compression], compressorFor(compression))
    stampBatch(batch, 42n, 3, 17)
    return batch
  }

  for (const compression of ['lz4', 'zstd', 'gzip', 'snappy'] as const) {
    test(`compressed on the worker pool (${compression}): byte for byte the batch compressed inline`, async () => {
      const source = decodeAll(libraryBatch(sample, 9000n), 0, b('kdr-prov'))
      const inline = rewrite(source, compression)
      const pool = new CompressionPool(2)
      try {
        const writer = new RecordBatchWriter(256)
        writer.begin(1024)
        for (const record of source) {
          header.valueInt64 = record.offset
          writer.append(record, header)
        }
        const [offThread, second] = await Promise.all([
          writer.finishCompressed(CODEC_IDS[compression], pool.compressor(compression)),
          pool.compressor(compression)(Buffer.from('another job at the same time'), 0)
        ])
        stampBatch(offThread, 42n, 3, 17)
        assert.deepEqual(offThread, inline)
        assert.ok(second.length > 0)
      } finally {
        await pool.close()
      }
    })
  }

  for (const compression of ['none', 'lz4', 'zstd', 'gzip'] as const) {
    test(`the library reads our batch (${compression}): same records, the old header replaced, ours last`, () => {
      const source = decodeAll(libraryBatch(sample, 9000n), 0, b('kdr-prov'))
      const ours = rewrite(source, compression)
      // Our reader checks the CRC; the library decodes the fields independently.
      assert.equal(readBatches(ours, decompress).length, 1)
      const decoded = readRecordsBatch(Reader.from(ours))
      assert.equal(decoded.producerId, 42n)
      assert.equal(decoded.producerEpoch, 3)
      assert.equal(decoded.firstSequence, 17)
      assert.equal(decoded.lastOffsetDelta, sample.length - 1)
      assert.equal(decoded.firstTimestamp, sample[0]!.timestamp)
      assert.equal(decoded.maxTimestamp, 1_700_000_000_005n)
      decoded.records.forEach((record, i) => {
        const expected = sample[i]!
        assert.equal(record.offsetDelta, i)
        assert.equal(decoded.firstTimestamp + record.timestampDelta, expected.timestamp)
        assert.deepEqual(record.key ?? null, expected.key === null ? null : expected.key)
        assert.deepEqual(record.value ?? null, expected.value)
        const value = Buffer.alloc(14)
        b('PREFIX').copy(value)
        value.writeBigInt64BE(9000n + BigInt(i), 6)
        const kept = expected.headers.filter(([k]) => k.toString() !== 'kdr-prov')
        assert.deepEqual(
          record.headers.map(([k, v]) => [k, v ?? null]),
          [...kept, [b('kdr-prov'), value]]
        )
      })
    })
  }

  test('timestamps far apart (deltas beyond 32 bits) and before the first record', () => {
    // Built from our own records: the library's encoder writes wrong deltas beyond 2^31 ms.
    const source = decodeAll(libraryBatch(sample.slice(0, 3), 0n))
    const timestamps = [1_700_000_000_000, 1_000, 4_000_000_000_000]
    source.forEach((r, i) => (r.timestamp = timestamps[i]!))
    const out = decodeAll(rewrite(source))
    assert.deepEqual(
      out.map(r => r.timestamp),
      timestamps
    )
    // The delta bytes themselves, against a BigInt reference zig-zag varlong.
    const delta = BigInt(1_000 - 1_700_000_000_000)
    let z = (delta << 1n) ^ (delta >> 63n)
    const expected: number[] = []
    while (z >= 0x80n) {
      expected.push(Number((z & 0x7fn) | 0x80n))
      z >>= 7n
    }
    expected.push(Number(z))
    const written = rewrite(source)
    assert.ok(written.includes(Buffer.from(expected)), 'the second record carries the reference varlong delta')
  })

  test('no header added: records copied as they are', () => {
    const source = decodeAll(libraryBatch(sample, 0n))
    const writer = new RecordBatchWriter()
    writer.begin(0)
    for (const record of source) writer.append(record, null)
    const batch = writer.finish(0, null)
    stampBatch(batch, -1n, -1, -1)
    assert.deepEqual(decodeAll(batch).map(asMessage), sample)
  })

  test('new records: what appendRecord writes reads back the same, in the library too', () => {
    const writer = new RecordBatchWriter(64)
    writer.begin(0)
    for (const m of sample) writer.appendRecord(Number(m.timestamp), m.key, m.value, m.headers)
    const batch = writer.finish(0, null)
    stampBatch(batch, 5n, 0, 0)
    assert.deepEqual(decodeAll(batch).map(asMessage), sample)
    const decoded = readRecordsBatch(Reader.from(batch))
    assert.deepEqual(
      decoded.records.map(r => r.value ?? null),
      sample.map(m => m.value)
    )
  })

  test('the buffer grows for large batches and is reused for the next one', () => {
    const big: Message[] = Array.from({ length: 50 }, (_, i) => ({
      key: null,
      value: Buffer.alloc(10_000, i),
      headers: [],
      timestamp: BigInt(i)
    }))
    const writer = new RecordBatchWriter(128)
    for (const round of [0, 1]) {
      writer.begin(100)
      for (const record of decodeAll(libraryBatch(big, 0n))) writer.append(record, null)
      const batch = writer.finish(0, null)
      stampBatch(batch, 1n, 0, round)
      assert.equal(decodeAll(batch).length, 50)
      assert.deepEqual(decodeAll(batch).at(-1) && recordParts(decodeAll(batch).at(-1)!).value, Buffer.alloc(10_000, 49))
    }
  })

  test('an Int32Patch rewrites the schema ids of key and value in place; everything else is copied as is', () => {
    const wire = (id: number, body: string): Buffer => {
      const buf = Buffer.alloc(5 + body.length)
      buf.writeUInt32BE(id, 1)
      buf.write(body, 5)
      return buf
    }
    const messages: Message[] = [
      { key: wire(3, 'k'), value: wire(7, 'value-1'), headers: [[b('h'), b('v')]], timestamp: 10n },
      { key: null, value: wire(7, ''), headers: [], timestamp: 11n },
      { key: b('plain'), value: null, headers: [], timestamp: 12n }
    ]
    const source = decodeAll(libraryBatch(messages, 100n))
    const spans: PayloadSpans = { keyAt: 0, keyLength: 0, valueAt: 0, valueLength: 0 }
    payloadSpans(source[0]!, spans)
    assert.deepEqual(source[0]!.data.subarray(spans.keyAt, spans.keyAt + spans.keyLength), messages[0]!.key)
    assert.deepEqual(source[0]!.data.subarray(spans.valueAt, spans.valueAt + spans.valueLength), messages[0]!.value)
    payloadSpans(source[2]!, spans)
    assert.equal(spans.valueLength, -1)

    const writer = new RecordBatchWriter()
    writer.begin(0)
    const patch: Int32Patch = { keyIdAt: -1, keyId: 0, valueIdAt: -1, valueId: 0 }
    for (const record of source) {
      payloadSpans(record, spans)
      patch.keyIdAt = record.data[spans.keyAt] === 0 && spans.keyLength >= 5 ? spans.keyAt + 1 - record.keyAt : -1
      patch.keyId = 30_000
      patch.valueIdAt = spans.valueLength >= 5 ? spans.valueAt + 1 - record.keyAt : -1
      patch.valueId = 70_000
      writer.append(record, null, patch)
    }
    const batch = writer.finish(0, null)
    stampBatch(batch, -1n, -1, -1)
    assert.deepEqual(decodeAll(batch).map(asMessage), [
      { ...messages[0]!, key: wire(30_000, 'k'), value: wire(70_000, 'value-1') },
      { ...messages[1]!, value: wire(70_000, '') },
      messages[2]
    ])
  })
})
