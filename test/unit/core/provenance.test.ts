import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { prng } from '../../support/prng.ts'
import {
  PROVENANCE_HEADER,
  PROVENANCE_HEADER_KEY,
  PROVENANCE_VERSION,
  type Provenance,
  ProvenanceEncoder,
  decodeProvenance,
  findProvenance
} from '../../../src/core/provenance.ts'

const INT64_MAX = 2n ** 63n - 1n

/** Independent encoder written from the layout table in the module header. */
function referenceEncode(p: Omit<Provenance, 'version'>, version = 1): Buffer {
  const origin = Buffer.from(p.originClusterId, 'utf8')
  const topic = Buffer.from(p.topic, 'utf8')
  const topicLength = Buffer.alloc(2)
  topicLength.writeUInt16BE(topic.length)
  const tail = Buffer.alloc(12)
  tail.writeInt32BE(p.partition, 0)
  tail.writeBigInt64BE(p.offset, 4)
  return Buffer.concat([Buffer.from([version, p.hops, origin.length]), origin, topicLength, topic, tail])
}

function roundTrip(p: Omit<Provenance, 'version'>): Provenance | null {
  return decodeProvenance(new ProvenanceEncoder(p.topic, p.partition).encode(p.originClusterId, p.hops, p.offset))
}

describe('provenance header constants', () => {
  test('the header key is "kdr-prov" and the format version is 1', () => {
    assert.equal(PROVENANCE_HEADER, 'kdr-prov')
    assert.deepEqual(PROVENANCE_HEADER_KEY, Buffer.from('kdr-prov'))
    assert.equal(PROVENANCE_VERSION, 1)
  })
})

describe('ProvenanceEncoder layout', () => {
  test('writes version, hops, origin length, origin, topic length, topic, int32 partition, int64 offset big-endian', () => {
    const value = new ProvenanceEncoder('orders', 7).encode('abc', 2, 0x0102030405060708n)
    const expected = Buffer.from(
      [
        '01', // version
        '02', // hops
        '03', // origin length
        '616263', // "abc"
        '0006', // topic length
        '6f7264657273', // "orders"
        '00000007', // partition
        '0102030405060708' // offset
      ].join(''),
      'hex'
    )
    assert.deepEqual(value, expected)
    assert.equal(value.length, 1 + 1 + 1 + 3 + 2 + 6 + 4 + 8)
  })

  test('lengths are byte counts of the UTF-8 encoding, not character counts', () => {
    const origin = 'clüster-Ω'
    const topic = 'zamówienia-注文'
    const value = new ProvenanceEncoder(topic, 1).encode(origin, 1, 5n)
    const originBytes = Buffer.byteLength(origin)
    const topicBytes = Buffer.byteLength(topic)
    assert.notEqual(originBytes, origin.length)
    assert.notEqual(topicBytes, topic.length)
    assert.equal(value[2], originBytes)
    assert.equal(value.readUInt16BE(3 + originBytes), topicBytes)
    assert.equal(value.length, 3 + originBytes + 2 + topicBytes + 12)
    assert.deepEqual(value, referenceEncode({ originClusterId: origin, hops: 1, topic, partition: 1, offset: 5n }))
  })

  test('an empty origin id is encoded with length 0', () => {
    const value = new ProvenanceEncoder('t', 0).encode('', 1, 0n)
    assert.deepEqual(value, Buffer.from('010100' + '0001' + '74' + '00000000' + '0000000000000000', 'hex'))
  })
})

describe('ProvenanceEncoder / decodeProvenance round trip', () => {
  const cases: Omit<Provenance, 'version'>[] = [
    { originClusterId: 'MkU3OEVBNTcwNTJENDM2Qk', hops: 1, topic: 'orders', partition: 0, offset: 0n },
    { originClusterId: 'cluster-a', hops: 255, topic: 'payments.eu', partition: 2147483647, offset: INT64_MAX },
    { originClusterId: 'c', hops: 2, topic: 'a', partition: 12, offset: 2n ** 53n + 1n },
    { originClusterId: 'clüster-Ω', hops: 3, topic: 'zamówienia-注文-🚚', partition: 1000, offset: 42n },
    { originClusterId: 'x'.repeat(255), hops: 17, topic: 't'.repeat(249), partition: 5, offset: 2n ** 32n },
    { originClusterId: '', hops: 1, topic: 'orders', partition: 3, offset: 9n }
  ]

  for (const c of cases) {
    test(`decodes what was encoded: ${c.topic.slice(0, 20)}/${c.partition}@${c.offset} hops ${c.hops}`, () => {
      assert.deepEqual(roundTrip(c), { version: 1, ...c })
    })
  }

  test('decodes a header that sits inside a larger buffer (non-zero byteOffset)', () => {
    const value = new ProvenanceEncoder('orders', 4).encode('origin', 3, 77n)
    const framed = Buffer.concat([Buffer.from('garbage-before'), value, Buffer.from('garbage-after')])
    const slice = framed.subarray(14, 14 + value.length)
    assert.deepEqual(decodeProvenance(slice), {
      version: 1,
      hops: 3,
      originClusterId: 'origin',
      topic: 'orders',
      partition: 4,
      offset: 77n
    })
  })

  test('a randomized round trip matches the documented layout byte for byte', () => {
    const random = prng(0x6b6472)
    const int = (n: number): number => Math.floor(random() * n)
    const legal = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-'
    const exotic = ['é', 'Ω', '注', '🚚', '\u0000']
    const text = (max: number): string => {
      let s = ''
      const length = int(max + 1)
      for (let i = 0; i < length; i++) s += random() < 0.05 ? exotic[int(exotic.length)]! : legal[int(legal.length)]!
      return s
    }
    const fitting = (max: number, bytes: number): string => {
      let s = text(max)
      while (Buffer.byteLength(s) > bytes) s = s.slice(0, -1)
      return s
    }
    const origins = Array.from({ length: 8 }, () => fitting(80, 255))
    origins.push('o'.repeat(255))
    const encoders = Array.from({ length: 40 }, () => {
      const topic = fitting(249, 0xffff) || 't'
      const partition = random() < 0.1 ? 0 : random() < 0.1 ? 2147483647 : int(2 ** 31)
      return { topic, partition, encoder: new ProvenanceEncoder(topic, partition) }
    })
    for (let i = 0; i < 5000; i++) {
      const { topic, partition, encoder } = encoders[int(encoders.length)]!
      // Small pools of origins and hop counts: consecutive calls both hit and miss the cached prefix.
      const originClusterId = origins[int(origins.length)]!
      const hops = random() < 0.5 ? 1 : 1 + int(255)
      const r = random()
      const offset = r < 0.05 ? 0n : r < 0.1 ? INT64_MAX : (BigInt(int(2 ** 31)) << 32n) | BigInt(int(2 ** 32))
      const expected = { originClusterId, hops, topic, partition, offset }
      const value = encoder.encode(originClusterId, hops, offset)
      assert.deepEqual(value, referenceEncode(expected), `case ${i}`)
      assert.deepEqual(decodeProvenance(value), { version: 1, ...expected }, `case ${i}`)
    }
  })
})

describe('ProvenanceEncoder prefix cache', () => {
  test('a change of origin or hop count between calls is reflected in the next header', () => {
    const encoder = new ProvenanceEncoder('orders', 1)
    const steps: [string, number, bigint][] = [
      ['A', 1, 10n],
      ['A', 1, 11n],
      ['B', 1, 12n],
      ['B', 2, 13n],
      ['A', 2, 14n],
      ['A', 1, 15n],
      ['', 1, 16n],
      ['A', 1, 17n]
    ]
    for (const [origin, hops, offset] of steps) {
      const decoded = decodeProvenance(encoder.encode(origin, hops, offset))
      assert.deepEqual(decoded, { version: 1, hops, originClusterId: origin, topic: 'orders', partition: 1, offset })
    }
  })

  test('headers already returned are not changed by later calls', () => {
    const encoder = new ProvenanceEncoder('orders', 1)
    const first = encoder.encode('A', 1, 1n)
    const copy = Buffer.from(first)
    encoder.encode('A', 1, 2n)
    encoder.encode('B', 9, 3n)
    encoder.encode('A', 1, 4n)
    assert.deepEqual(first, copy)
  })

  test('a rejected call leaves the encoder usable with the previous and with new settings', () => {
    const encoder = new ProvenanceEncoder('orders', 1)
    encoder.encode('A', 1, 1n)
    assert.throws(() => encoder.encode('B', 0, 2n), RangeError)
    assert.equal(decodeProvenance(encoder.encode('A', 1, 3n))?.originClusterId, 'A')
    assert.throws(() => encoder.encode('x'.repeat(256), 1, 4n), RangeError)
    const after = decodeProvenance(encoder.encode('B', 1, 5n))
    assert.deepEqual(after, { version: 1, hops: 1, originClusterId: 'B', topic: 'orders', partition: 1, offset: 5n })
  })
})

describe('ProvenanceEncoder validation', () => {
  test('hop counts outside 1..255 are a RangeError', () => {
    const encoder = new ProvenanceEncoder('orders', 0)
    assert.throws(() => encoder.encode('A', 0, 0n), RangeError)
    assert.throws(() => encoder.encode('A', 256, 0n), RangeError)
    assert.throws(() => encoder.encode('A', -1, 0n), RangeError)
    assert.equal(decodeProvenance(encoder.encode('A', 1, 0n))?.hops, 1)
    assert.equal(decodeProvenance(encoder.encode('A', 255, 0n))?.hops, 255)
  })

  test('hop counts that are not integers are a RangeError rather than being written truncated', () => {
    const encoder = new ProvenanceEncoder('orders', 0)
    assert.throws(() => encoder.encode('A', Number.NaN, 0n), RangeError)
    assert.throws(() => encoder.encode('A', 1.5, 0n), RangeError)
  })

  test('an origin id longer than 255 UTF-8 bytes is a RangeError', () => {
    const encoder = new ProvenanceEncoder('orders', 0)
    assert.throws(() => encoder.encode('x'.repeat(256), 1, 0n), RangeError)
    assert.throws(() => encoder.encode('é'.repeat(128), 1, 0n), RangeError, '128 characters but 256 bytes')
    assert.equal(decodeProvenance(encoder.encode('é'.repeat(127) + 'x', 1, 0n))?.originClusterId, 'é'.repeat(127) + 'x')
  })

  test('a topic name longer than 65535 UTF-8 bytes is a RangeError at construction', () => {
    assert.throws(() => new ProvenanceEncoder('t'.repeat(0x10000), 0), RangeError)
    assert.throws(() => new ProvenanceEncoder('注'.repeat(0x5556), 0), RangeError)
    const longest = 't'.repeat(0xffff)
    assert.equal(decodeProvenance(new ProvenanceEncoder(longest, 0).encode('A', 1, 0n))?.topic, longest)
  })

  test('offsets outside int64 are rejected', () => {
    const encoder = new ProvenanceEncoder('orders', 0)
    assert.throws(() => encoder.encode('A', 1, 2n ** 63n), RangeError)
  })
})

describe('decodeProvenance on invalid input', () => {
  const valid = new ProvenanceEncoder('orders', 3).encode('origin-cluster', 2, 123456789n)

  test('null is not a provenance header', () => {
    assert.equal(decodeProvenance(null), null)
  })

  test('empty and too-short buffers decode to null', () => {
    assert.equal(decodeProvenance(Buffer.alloc(0)), null)
    assert.equal(decodeProvenance(Buffer.from([1])), null)
    assert.equal(decodeProvenance(Buffer.from([1, 1])), null)
  })

  test('every truncation of a valid header decodes to null', () => {
    for (let length = 0; length < valid.length; length++) {
      assert.equal(decodeProvenance(valid.subarray(0, length)), null, `length ${length}`)
    }
    assert.notEqual(decodeProvenance(valid), null)
  })

  test('an origin length pointing past the end decodes to null', () => {
    const bad = Buffer.from(valid)
    bad[2] = 250
    assert.equal(decodeProvenance(bad), null)
  })

  test('a topic length pointing past the end decodes to null', () => {
    const bad = Buffer.from(valid)
    bad.writeUInt16BE(0xffff, 3 + 'origin-cluster'.length)
    assert.equal(decodeProvenance(bad), null)
  })

  test('format version 0 decodes to null', () => {
    const v0 = Buffer.from(valid)
    v0[0] = 0
    assert.equal(decodeProvenance(v0), null)
  })

  test('a later format version with appended fields still yields the version 1 fields', () => {
    const fields = { originClusterId: 'origin-cluster', hops: 2, topic: 'orders', partition: 3, offset: INT64_MAX }
    const v2 = Buffer.concat([referenceEncode(fields, 2), Buffer.from('future fields: 0123456789abcdef')])
    assert.deepEqual(decodeProvenance(v2), { version: 2, ...fields })
    const v255 = Buffer.concat([referenceEncode(fields, 255), Buffer.alloc(1)])
    assert.deepEqual(decodeProvenance(v255), { version: 255, ...fields })
  })

  test('a version 2 header without its appended fields still yields the version 1 fields', () => {
    const fields = { originClusterId: 'o', hops: 1, topic: 't', partition: 0, offset: 1n }
    assert.deepEqual(decodeProvenance(referenceEncode(fields, 2)), { version: 2, ...fields })
  })
})

describe('findProvenance', () => {
  const value = new ProvenanceEncoder('orders', 0).encode('A', 1, 0n)

  test('finds the provenance header among other headers', () => {
    const headers: [Buffer, Buffer | null][] = [
      [Buffer.from('trace-id'), Buffer.from('abc')],
      [Buffer.from('empty'), null],
      [Buffer.from('kdr-prov'), value],
      [Buffer.from('other'), Buffer.from('x')]
    ]
    assert.equal(findProvenance(headers), 2)
    assert.equal(findProvenance([[Buffer.from('kdr-prov'), value]]), 0)
  })

  test('returns the first one when the header occurs twice', () => {
    const headers: [Buffer, Buffer | null][] = [
      [Buffer.from('a'), null],
      [Buffer.from('kdr-prov'), value],
      [Buffer.from('kdr-prov'), null]
    ]
    assert.equal(findProvenance(headers), 1)
  })

  test('returns -1 when absent, including for keys that only resemble it', () => {
    assert.equal(findProvenance([]), -1)
    const headers: [Buffer, Buffer | null][] = [
      [Buffer.from('kdr-prov2'), value],
      [Buffer.from('KDR-PROV'), value],
      [Buffer.from('kdr-pro'), value],
      [Buffer.from(''), value],
      [Buffer.from('x'), Buffer.from('kdr-prov')]
    ]
    assert.equal(findProvenance(headers), -1)
  })
})
