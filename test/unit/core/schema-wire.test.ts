import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { registrationOrder, wireSchemaId, withSchemaId, type SchemaRef } from '../../../src/core/schema-wire.ts'

const wire = (id: number, payload = 'abc'): Buffer => {
  const buf = Buffer.alloc(5 + payload.length)
  buf.writeUInt32BE(id, 1)
  buf.write(payload, 5)
  return buf
}

describe('wire format', () => {
  test('reads the id of a wire-format payload, anywhere in a buffer', () => {
    assert.equal(wireSchemaId(wire(42), 0, 8), 42)
    const framed = Buffer.concat([Buffer.from('xx'), wire(4_000_000_000)])
    assert.equal(wireSchemaId(framed, 2, framed.length - 2), 4_000_000_000)
  })

  test('anything else is not wire format: other magic byte, too short, null or empty', () => {
    assert.equal(wireSchemaId(Buffer.from([1, 0, 0, 0, 7]), 0, 5), -1)
    assert.equal(wireSchemaId(Buffer.from([0, 0, 0, 7]), 0, 4), -1)
    assert.equal(wireSchemaId(Buffer.alloc(10), 0, -1), -1)
    assert.equal(wireSchemaId(Buffer.alloc(0), 0, 0), -1)
    // Id 0 is never assigned by a registry: zero-filled bytes are not a schema reference.
    assert.equal(wireSchemaId(Buffer.alloc(100), 0, 100), -1)
    // A 5-byte payload with magic 0 is an id with an empty body (e.g. an Avro empty record).
    assert.equal(wireSchemaId(Buffer.from([0, 0, 0, 0, 9]), 0, 5), 9)
  })

  test('withSchemaId changes the 4 id bytes only, in a copy', () => {
    const original = wire(7, 'payload')
    const copy = withSchemaId(original, 70_000)
    assert.equal(wireSchemaId(copy, 0, copy.length), 70_000)
    assert.equal(copy.subarray(5).toString(), 'payload')
    assert.equal(wireSchemaId(original, 0, original.length), 7)
  })
})

describe('registration order', () => {
  const refs = new Map<string, SchemaRef[]>([
    [
      'order\u00002',
      [
        { subject: 'address', version: 1 },
        { subject: 'money', version: 3 }
      ]
    ],
    ['money\u00003', [{ subject: 'currency', version: 1 }]]
  ])
  const referencesOf = (r: SchemaRef): SchemaRef[] => refs.get(`${r.subject}\u0000${r.version}`) ?? []
  const names = (order: SchemaRef[]): string[] => order.map(r => `${r.subject} v${r.version}`)

  test('references come first (depth first), versions of a subject ascend', () => {
    const order = registrationOrder(
      [
        { subject: 'order', version: 2 },
        { subject: 'order', version: 1 }
      ],
      referencesOf
    )
    assert.deepEqual(names(order), ['order v1', 'address v1', 'currency v1', 'money v3', 'order v2'])
  })

  test('a schema referenced twice is registered once', () => {
    const order = registrationOrder(
      [
        { subject: 'money', version: 3 },
        { subject: 'order', version: 2 }
      ],
      referencesOf
    )
    assert.deepEqual(names(order), ['currency v1', 'money v3', 'address v1', 'order v2'])
  })

  test('a reference cycle is refused with the path', () => {
    const cyclic = (r: SchemaRef): SchemaRef[] =>
      r.subject === 'a' ? [{ subject: 'b', version: 1 }] : [{ subject: 'a', version: 1 }]
    assert.throws(
      () => registrationOrder([{ subject: 'a', version: 1 }], cyclic),
      /schema references form a cycle: a v1 -> b v1 -> a v1/
    )
  })
})
