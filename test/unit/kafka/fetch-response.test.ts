import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
// The library's Reader is what the client hands the parser; the bytes are built here by hand.
// eslint-disable-next-line no-restricted-imports
import { Reader } from '@platformatic/kafka'
import { parseFetchResponse } from '../../../src/kafka/fetch-response.ts'

/** Fetch response bytes (v13+, flexible versions), built field by field from the protocol spec. */
class Bytes {
  readonly parts: Buffer[] = []
  int16(v: number): this {
    const b = Buffer.alloc(2)
    b.writeInt16BE(v)
    return this.push(b)
  }
  int32(v: number): this {
    const b = Buffer.alloc(4)
    b.writeInt32BE(v)
    return this.push(b)
  }
  int64(v: bigint): this {
    const b = Buffer.alloc(8)
    b.writeBigInt64BE(v)
    return this.push(b)
  }
  uvarint(v: number): this {
    const out: number[] = []
    while (v > 0x7f) {
      out.push((v & 0x7f) | 0x80)
      v >>>= 7
    }
    out.push(v)
    return this.push(Buffer.from(out))
  }
  push(b: Buffer): this {
    this.parts.push(b)
    return this
  }
  get buffer(): Buffer {
    return Buffer.concat(this.parts)
  }
}

const TOPIC_ID = Buffer.from('0123456789abcdef0123456789abcdef', 'hex')

/** One topic with one partition; `tags` are the partition's tagged fields as [tag, bytes]. */
function response(errorCode: number, records: Buffer | null, tags: [number, Buffer][]): Buffer {
  const b = new Bytes().int32(0).int16(0).int32(0) // throttle, error, session
  b.uvarint(2).push(TOPIC_ID) // one topic
  b.uvarint(2) // one partition
  b.int32(3).int16(errorCode).int64(100n).int64(100n).int64(5n) // index, error, hw, lso, log start
  b.uvarint(0) // aborted transactions: null
  b.int32(-1) // preferred read replica
  if (records === null) b.uvarint(0)
  else b.uvarint(records.length + 1).push(records)
  b.uvarint(tags.length)
  for (const [tag, bytes] of tags) b.uvarint(tag).uvarint(bytes.length).push(bytes)
  b.uvarint(0) // topic tagged fields
  b.uvarint(0) // response tagged fields
  return b.buffer
}

function divergingEpoch(epoch: number, endOffset: bigint): Buffer {
  return new Bytes().int32(epoch).int64(endOffset).uvarint(0).buffer
}

describe('Fetch response parser', () => {
  test('a diverging epoch in the partition tagged fields is read (KIP-320)', () => {
    const parsed = parseFetchResponse(0, 1, 17, Reader.from(response(0, null, [[0, divergingEpoch(4, 42n)]])))
    const partition = parsed.responses[0]!.partitions[0]!
    assert.equal(partition.partitionIndex, 3)
    assert.deepEqual(partition.divergingEpoch, { epoch: 4, endOffset: 42n })
    assert.equal(partition.records, null)
  })

  test('other tagged fields (current leader) are passed over, before and after the diverging epoch', () => {
    const currentLeader = new Bytes().int32(1).int32(7).uvarint(0).buffer
    const records = Buffer.from('not-a-batch')
    const parsed = parseFetchResponse(
      0,
      1,
      17,
      Reader.from(
        response(0, records, [
          [1, currentLeader],
          [0, divergingEpoch(2, 9n)]
        ])
      )
    )
    const partition = parsed.responses[0]!.partitions[0]!
    assert.deepEqual(partition.divergingEpoch, { epoch: 2, endOffset: 9n })
    assert.deepEqual(partition.records, records)
    assert.equal(parsed.responses[0]!.topicId.replaceAll('-', ''), TOPIC_ID.toString('hex'))
  })

  test('without the tag there is no divergence, and error codes come through', () => {
    const parsed = parseFetchResponse(0, 1, 17, Reader.from(response(29, null, [])))
    const partition = parsed.responses[0]!.partitions[0]!
    assert.equal(partition.divergingEpoch, null)
    assert.equal(partition.errorCode, 29)
    assert.equal(partition.logStartOffset, 5n)
  })
})
