import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { crc32c } from '@node-rs/crc32'
// The client library's reader feeds our fetch response parser, as on a live connection.
// eslint-disable-next-line no-restricted-imports
import { Reader } from '@platformatic/kafka'
import { PartitionDecoder } from '../../../src/kafka/batches.ts'
import { decompress } from '../../../src/kafka/compression.ts'
import { parseFetchResponse } from '../../../src/kafka/fetch-response.ts'
import {
  BATCH_HEADER_BYTES,
  BatchFormatError,
  type PayloadSpans,
  type RawRecord,
  RecordBatchWriter,
  payloadSpans,
  readBatches,
  recordParts,
  stampBatch
} from '../../../src/kafka/record-batch.ts'
import { prng } from '../../support/prng.ts'

/**
 * Property: whatever bytes a broker (or a corrupt disk, or a hostile peer) sends, the batch decoder
 * either returns records that lie inside the bytes it was given, or throws a BatchFormatError. It
 * never throws anything else, never loops on a lying count, and never keeps more records than the
 * batch's bytes can hold (a record takes at least 6 bytes: length, attributes, timestamp delta,
 * offset delta, key length, value length; plus the header count).
 *
 * Most mutations recompute the CRC afterwards: otherwise the CRC check would catch nearly every case
 * and the record parser would go untested. KAFKA_DR_FUZZ_ITERATIONS sets the number of cases (the
 * long tier, `npm run test:faults -- --long`, runs 200,000); KAFKA_DR_FUZZ_SEED replays one seed.
 */

const ITERATIONS = Number(process.env.KAFKA_DR_FUZZ_ITERATIONS ?? 3000)
const SEED = Number(process.env.KAFKA_DR_FUZZ_SEED ?? 0x5eed_ba7c)
const PROVENANCE = Buffer.from('kdr-prov')
const MIN_RECORD_BYTES = 7
const CRC_FROM = 21

type Random = () => number

const int = (random: Random, below: number): number => Math.floor(random() * below)

function bytes(random: Random, length: number): Buffer {
  const out = Buffer.allocUnsafe(length)
  for (let i = 0; i < length; i++) out[i] = int(random, 256)
  return out
}

/** A valid uncompressed batch of 1..20 records with random keys, values (some null) and headers. */
function validBatch(random: Random): Buffer {
  const writer = new RecordBatchWriter(1024)
  writer.begin(1024)
  const count = 1 + int(random, 20)
  const base = 1_700_000_000_000 + int(random, 1_000_000)
  for (let i = 0; i < count; i++) {
    const part = (): Buffer | null => (random() < 0.15 ? null : bytes(random, int(random, random() < 0.1 ? 300 : 12)))
    const headers: [Buffer, Buffer | null][] = []
    const headerCount = int(random, 4)
    for (let h = 0; h < headerCount; h++) {
      headers.push([random() < 0.3 ? PROVENANCE : bytes(random, 1 + int(random, 6)), part()])
    }
    writer.appendRecord(base + int(random, 2000) - 1000, part(), part(), headers)
  }
  const batch = Buffer.from(writer.finish(0, null))
  batch.writeBigInt64BE(BigInt(int(random, 1_000_000)), 0)
  stampBatch(batch, 7n, 1, 0)
  return batch
}

function fixCrc(batch: Buffer): void {
  if (batch.length >= BATCH_HEADER_BYTES) batch.writeUInt32BE(crc32c(batch.subarray(CRC_FROM)), 17)
}

/** Values that break length and count fields: zero, negatives, just past the buffer, 2^31-1, -2^31. */
function hostileInt(random: Random, near: number): number {
  const choices = [0, -1, -2, 1, near - 1, near, near + 1, near * 2, 0x7fffffff, -0x80000000, 0x40000000]
  return random() < 0.2 ? int(random, 2 ** 32) | 0 : choices[int(random, choices.length)]!
}

/** A zig-zag varint of `value`, or (overflow) six or more bytes with the continuation bit set. */
function varintBytes(random: Random, value: number, overflow: boolean): Buffer {
  if (overflow) {
    const out = Buffer.alloc(6 + int(random, 6), 0xff)
    out[out.length - 1] = random() < 0.5 ? 0xff : 0x01
    return out
  }
  const out: number[] = []
  let z = ((value << 1) ^ (value >> 31)) >>> 0
  while (z > 0x7f) {
    out.push((z & 0x7f) | 0x80)
    z >>>= 7
  }
  out.push(z)
  return Buffer.from(out)
}

/** Splices `insert` over `remove` bytes at `pos` of the record region, keeping batchLength right. */
function splice(batch: Buffer, pos: number, remove: number, insert: Buffer): Buffer {
  const out = Buffer.concat([batch.subarray(0, pos), insert, batch.subarray(Math.min(batch.length, pos + remove))])
  out.writeInt32BE(out.length - 12, 8)
  return out
}

interface Mutation {
  name: string
  apply: (random: Random, batch: Buffer) => Buffer
  crc: boolean
  /** When the mutated batch can only be reported as corrupt (a lie that no valid batch tells). */
  mustFail?: (original: Buffer, mutated: Buffer) => boolean
}

const mutations: Mutation[] = [
  {
    name: 'truncated record region (length and CRC made consistent)',
    crc: true,
    mustFail: (original, mutated) => mutated.length < original.length,
    apply: (random, batch) => {
      const cut = BATCH_HEADER_BYTES + int(random, batch.length - BATCH_HEADER_BYTES)
      const out = Buffer.from(batch.subarray(0, cut))
      out.writeInt32BE(out.length - 12, 8)
      return out
    }
  },
  {
    name: 'bit flips',
    crc: true,
    apply: (random, batch) => {
      const out = Buffer.from(batch)
      const flips = 1 + int(random, 4)
      for (let i = 0; i < flips; i++) {
        const pos = BATCH_HEADER_BYTES + int(random, out.length - BATCH_HEADER_BYTES)
        out[pos]! ^= 1 << int(random, 8)
      }
      return out
    }
  },
  {
    name: 'bit flips anywhere, CRC left as is',
    crc: false,
    apply: (random, batch) => {
      const out = Buffer.from(batch)
      out[int(random, out.length)]! ^= 1 << int(random, 8)
      return out
    }
  },
  {
    name: 'varint overflow',
    crc: true,
    apply: (random, batch) => {
      const pos = BATCH_HEADER_BYTES + int(random, batch.length - BATCH_HEADER_BYTES)
      return splice(batch, pos, 1 + int(random, 3), varintBytes(random, 0, true))
    }
  },
  {
    name: 'a hostile varint (length, count or delta) in the records',
    crc: true,
    apply: (random, batch) => {
      const pos = BATCH_HEADER_BYTES + int(random, batch.length - BATCH_HEADER_BYTES)
      const value = hostileInt(random, batch.length - pos)
      return splice(batch, pos, 1 + int(random, 2), varintBytes(random, value, false))
    }
  },
  {
    name: 'record count that lies',
    crc: true,
    mustFail: (original, mutated) => original.readInt32BE(57) !== mutated.readInt32BE(57),
    apply: (random, batch) => {
      const out = Buffer.from(batch)
      const count = out.readInt32BE(57)
      out.writeInt32BE(random() < 0.5 ? hostileInt(random, count) : count + int(random, 5) - 2, 57)
      return out
    }
  },
  {
    name: 'batch length that lies',
    crc: true,
    apply: (random, batch) => {
      const out = Buffer.from(batch)
      out.writeInt32BE(hostileInt(random, out.length - 12), 8)
      return out
    }
  },
  {
    name: 'last offset delta that lies',
    crc: true,
    // Larger is valid (compaction keeps a batch's last offset delta); smaller hides records.
    mustFail: (original, mutated) => mutated.readInt32BE(23) < original.readInt32BE(23),
    apply: (random, batch) => {
      const out = Buffer.from(batch)
      out.writeInt32BE(hostileInt(random, out.readInt32BE(23)), 23)
      return out
    }
  },
  {
    name: 'random bytes after a valid header',
    crc: true,
    apply: (random, batch) => {
      const region = bytes(random, int(random, 200))
      const out = Buffer.concat([batch.subarray(0, BATCH_HEADER_BYTES), region])
      out.writeInt32BE(out.length - 12, 8)
      return out
    }
  }
]

/** Decodes as the fetcher does; returns the records, or the error it threw. */
function decode(input: Buffer, provenance: boolean): RawRecord[] | Error {
  try {
    const batches = readBatches(input, decompress)
    const decoder = new PartitionDecoder(true)
    const { records } = decoder.decode(batches, 0n, [], provenance ? PROVENANCE : null)
    const spans: PayloadSpans = { keyAt: 0, keyLength: 0, valueAt: 0, valueLength: 0 }
    let regionBytes = 0
    for (const batch of batches) regionBytes += batch.records.length
    assert.ok(records.length <= regionBytes / MIN_RECORD_BYTES, `${records.length} records from ${regionBytes} bytes`)
    for (const record of records) {
      assert.ok(0 <= record.keyAt && record.keyAt <= record.headerCountAt, 'keyAt')
      assert.ok(record.headerCountAt <= record.headersAt && record.headersAt <= record.end, 'headersAt')
      assert.ok(record.end <= record.data.length, 'end inside the data')
      payloadSpans(record, spans)
      assert.ok(spans.keyAt + Math.max(0, spans.keyLength) <= record.headerCountAt, 'key inside the record')
      assert.ok(spans.valueAt + Math.max(0, spans.valueLength) <= record.headerCountAt, 'value inside the record')
      if (record.provAt >= 0) assert.ok(record.provAt < record.provEnd && record.provEnd <= record.end, 'provenance')
      if (provenance) recordParts(record)
    }
    return records
  } catch (error) {
    if (error instanceof assert.AssertionError) throw error
    return error as Error
  }
}

function run(iterations: number, seed: number): Map<string, { cases: number; errors: number }> {
  const random = prng(seed)
  const stats = new Map<string, { cases: number; errors: number }>()
  for (let i = 0; i < iterations; i++) {
    const mutation = mutations[i % mutations.length]!
    const original = validBatch(random)
    const mutated = mutation.apply(random, original)
    if (mutation.crc) fixCrc(mutated)
    const provenance = random() < 0.5
    const outcome = decode(mutated, provenance)
    const where = `case ${i} (seed ${seed}, ${mutation.name}, provenance ${provenance})`
    if (outcome instanceof Error) {
      assert.ok(outcome instanceof BatchFormatError, `${where}: ${outcome.name}: ${outcome.message}`)
    } else if (mutation.mustFail?.(original, mutated) === true) {
      assert.fail(`${where}: a batch that lies decoded into ${outcome.length} records`)
    }
    const entry = stats.get(mutation.name) ?? { cases: 0, errors: 0 }
    entry.cases++
    if (outcome instanceof Error) entry.errors++
    stats.set(mutation.name, entry)
  }
  return stats
}

describe('record-batch decoder under hostile input (seeded fuzz)', () => {
  test('valid batches decode in full (the generator is sound)', () => {
    const random = prng(SEED)
    for (let i = 0; i < 200; i++) {
      const batch = validBatch(random)
      const records = decode(batch, i % 2 === 0)
      assert.ok(Array.isArray(records), `case ${i}: ${String(records)}`)
      assert.equal(records.length, batch.readInt32BE(57))
    }
  })

  test(`${ITERATIONS} mutated batches: records inside the bytes, or a BatchFormatError; nothing else`, () => {
    const stats = run(ITERATIONS, SEED)
    // Every mutation kind ran, and the ones that always break a batch were always reported.
    assert.equal(stats.size, mutations.length)
    const random = stats.get('random bytes after a valid header')!
    assert.ok(random.errors > random.cases * 0.9, `random regions mostly rejected: ${random.errors}/${random.cases}`)
  })

  test('a record count of 2^31-1 ends in a BatchFormatError, with no array of that size', () => {
    const batch = validBatch(prng(7))
    batch.writeInt32BE(0x7fffffff, 57)
    fixCrc(batch)
    const outcome = decode(batch, true)
    assert.ok(outcome instanceof BatchFormatError, String(outcome))
    assert.match(outcome.message, /record count 2147483647 but only \d+ records/)
  })

  test('fewer records claimed than present: the rest is not silently dropped', () => {
    const batch = validBatch(prng(11))
    const count = batch.readInt32BE(57)
    batch.writeInt32BE(count - 1, 57)
    fixCrc(batch)
    const outcome = decode(batch, false)
    if (count > 1) {
      assert.ok(outcome instanceof BatchFormatError, String(outcome))
      assert.match(outcome.message, /bytes after its \d+ records/)
    }
  })

  test('a varint of six bytes and a batch length shorter than its header are BatchFormatErrors', () => {
    const batch = validBatch(prng(13))
    const overflow = splice(batch, BATCH_HEADER_BYTES, 1, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))
    fixCrc(overflow)
    const outcome = decode(overflow, false)
    assert.ok(
      outcome instanceof BatchFormatError && /varint longer than 5 bytes/.test(outcome.message),
      String(outcome)
    )
    const short = Buffer.from(batch)
    short.writeInt32BE(-5, 8)
    const shortOutcome = decode(short, false)
    assert.ok(shortOutcome instanceof BatchFormatError && /less than its header/.test(shortOutcome.message))
  })

  test('fetch responses: a records length past the response is a BatchFormatError; truncated or flipped responses never yield bytes outside them', () => {
    const random = prng(SEED ^ 0xfe7c)
    const uvarint = (n: number): number[] => {
      const out: number[] = []
      while (n > 0x7f) {
        out.push((n & 0x7f) | 0x80)
        n >>>= 7
      }
      out.push(n)
      return out
    }
    const be = (n: number, bytes: number): number[] => {
      const b = Buffer.alloc(bytes)
      b.writeIntBE(n, 0, Math.min(bytes, 6))
      return [...b]
    }
    /** Fetch response v13+ body: one topic, one partition holding `records` (claiming `claimed` bytes). */
    const response = (records: Buffer, claimed = records.length): Buffer =>
      Buffer.from([
        ...be(0, 4), // throttle
        ...be(0, 2), // error
        ...be(0, 4), // session
        ...uvarint(2), // one topic
        ...new Array<number>(16).fill(7), // topic id
        ...uvarint(2), // one partition
        ...be(3, 4),
        ...be(0, 2),
        ...be(100, 8),
        ...be(100, 8),
        ...be(0, 8),
        0, // aborted transactions: null
        ...be(-1, 4), // preferred read replica
        ...uvarint(claimed + 1),
        ...records,
        0, // partition tags
        0, // topic tags
        0 // response tags
      ])
    const parse = (body: Buffer): ReturnType<typeof parseFetchResponse> =>
      parseFetchResponse(0, 1, 13, Reader.from(body))

    const batch = validBatch(random)
    const ok = parse(response(batch))
    assert.ok(ok.responses[0]!.partitions[0]!.records!.equals(batch))
    const lying = response(batch, batch.length + 1000).subarray(0, -3)
    assert.throws(
      () => parse(lying),
      (e: Error) => e instanceof BatchFormatError && /records field of/.test(e.message)
    )

    for (let i = 0; i < Math.max(300, ITERATIONS / 10); i++) {
      const body = Buffer.from(response(validBatch(random)))
      const mutated =
        i % 2 === 0
          ? body.subarray(0, int(random, body.length))
          : (() => {
              body[int(random, body.length)]! ^= 1 << int(random, 8)
              return body
            })()
      let parsed: ReturnType<typeof parseFetchResponse>
      try {
        parsed = parse(mutated)
      } catch {
        continue // any error: the fetch fails and is retried, nothing is decoded
      }
      for (const topic of parsed.responses) {
        for (const partition of topic.partitions) {
          const records = partition.records
          if (records !== null) {
            assert.ok(records.length <= mutated.length, 'records inside the response')
            const outcome = decode(records, true)
            if (outcome instanceof Error)
              assert.ok(outcome instanceof BatchFormatError, `case ${i}: ${outcome.message}`)
          }
        }
      }
    }
  })
})
