import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  STATE_TOPIC,
  type StateEntry,
  decodeStateEntry,
  encodeStateEntry,
  readStateRecord
} from '../../../src/state/index.ts'

const BEYOND_2_53 = 2n ** 53n + 1n // 9007199254740993: not representable as a JSON number
const INT64_MAX = 2n ** 63n - 1n

const b = (s: string): Buffer => Buffer.from(s)

function roundTrip(entry: StateEntry): StateEntry | null {
  const { key, value } = encodeStateEntry(entry)
  return decodeStateEntry(key, value)
}

const progress: StateEntry = {
  kind: 'progress',
  link: 'dc1-to-dc2',
  topic: 'orders',
  partition: 3,
  value: {
    next: 42n,
    topicId: 'AAAAAAAAAAAAAAAAAAAAAA',
    sourceClusterId: 'MkU3OEVBNTcwNTJENDM2Qk',
    updatedAt: 1700000000000
  }
}

const runEntry: StateEntry = {
  kind: 'run',
  link: 'dc1-to-dc2',
  topic: 'orders',
  partition: 3,
  sourceStart: 100n,
  value: { targetStart: 250n, length: 17n }
}

const gap: StateEntry = {
  kind: 'gap',
  link: 'dc1-to-dc2',
  topic: 'orders',
  partition: 3,
  from: 10n,
  value: { to: 20n, reason: 'offset out of range', at: 1700000000001 }
}

describe('state record keys', () => {
  test('the state topic is __kdr_state', () => {
    assert.equal(STATE_TOPIC, '__kdr_state')
  })

  test('keys are JSON arrays of kind, link, topic, partition and, for runs and gaps, a decimal offset string', () => {
    assert.equal(encodeStateEntry(progress).key.toString(), '["progress","dc1-to-dc2","orders",3]')
    assert.equal(encodeStateEntry(runEntry).key.toString(), '["run","dc1-to-dc2","orders",3,"100"]')
    assert.equal(encodeStateEntry(gap).key.toString(), '["gap","dc1-to-dc2","orders",3,"10"]')
  })

  test('a tombstone has the same key as the record it deletes', () => {
    for (const entry of [progress, runEntry, gap]) {
      assert.deepEqual(encodeStateEntry({ ...entry, value: null }).key, encodeStateEntry(entry).key, entry.kind)
    }
  })

  test('the key does not depend on the value, so compaction keeps only the latest', () => {
    const older = encodeStateEntry({ ...runEntry, value: { targetStart: 1n, length: 1n } })
    assert.deepEqual(older.key, encodeStateEntry(runEntry).key)
    assert.notDeepEqual(older.value, encodeStateEntry(runEntry).value)
  })

  test('offsets in keys are decimal strings, exact beyond 2^53', () => {
    const key = encodeStateEntry({ ...runEntry, sourceStart: BEYOND_2_53 }).key.toString()
    assert.equal(key, '["run","dc1-to-dc2","orders",3,"9007199254740993"]')
  })
})

describe('state record values', () => {
  test('values are JSON objects with v:1 and offsets as decimal strings', () => {
    assert.deepEqual(JSON.parse(encodeStateEntry(progress).value!.toString()), {
      v: 1,
      next: '42',
      topicId: 'AAAAAAAAAAAAAAAAAAAAAA',
      sourceClusterId: 'MkU3OEVBNTcwNTJENDM2Qk',
      updatedAt: 1700000000000
    })
    assert.deepEqual(JSON.parse(encodeStateEntry(runEntry).value!.toString()), {
      v: 1,
      targetStart: '250',
      length: '17'
    })
    assert.deepEqual(JSON.parse(encodeStateEntry(gap).value!.toString()), {
      v: 1,
      to: '20',
      reason: 'offset out of range',
      at: 1700000000001
    })
  })

  test('offsets beyond 2^53 are written as exact decimal strings', () => {
    const { value } = encodeStateEntry({
      ...runEntry,
      value: { targetStart: BEYOND_2_53, length: INT64_MAX }
    })
    assert.equal(value!.toString(), '{"v":1,"targetStart":"9007199254740993","length":"9223372036854775807"}')
  })

  test('a null value encodes as a null record value (a compaction tombstone)', () => {
    for (const entry of [progress, runEntry, gap]) {
      assert.equal(encodeStateEntry({ ...entry, value: null }).value, null, entry.kind)
    }
  })
})

describe('encodeStateEntry / decodeStateEntry round trip', () => {
  test('progress, run and gap entries decode to what was encoded', () => {
    assert.deepEqual(roundTrip(progress), progress)
    assert.deepEqual(roundTrip(runEntry), runEntry)
    assert.deepEqual(roundTrip(gap), gap)
  })

  test('tombstones decode with a null value', () => {
    for (const entry of [progress, runEntry, gap]) {
      const tombstone = { ...entry, value: null }
      assert.deepEqual(roundTrip(tombstone), tombstone, entry.kind)
    }
  })

  test('offsets beyond 2^53 and up to 2^63-1 survive exactly', () => {
    const entries: StateEntry[] = [
      { ...progress, value: { ...progress.value!, next: BEYOND_2_53 } },
      { ...progress, value: { ...progress.value!, next: INT64_MAX } },
      { ...runEntry, sourceStart: INT64_MAX - 5n, value: { targetStart: BEYOND_2_53, length: 5n } },
      { ...gap, from: BEYOND_2_53, value: { to: INT64_MAX, reason: 'x', at: 0 } }
    ]
    for (const entry of entries) assert.deepEqual(roundTrip(entry), entry)
  })

  test('offset 0 and partition 0 survive', () => {
    const entries: StateEntry[] = [
      { ...progress, partition: 0, value: { ...progress.value!, next: 0n } },
      { ...runEntry, partition: 0, sourceStart: 0n, value: { targetStart: 0n, length: 1n } },
      { ...gap, partition: 0, from: 0n, value: { to: 0n, reason: '', at: 0 } }
    ]
    for (const entry of entries) assert.deepEqual(roundTrip(entry), entry)
  })

  test('link and topic names with JSON-special and non-ASCII characters survive', () => {
    const odd = { link: 'a "quoted", [bracketed] \\ link', topic: 'zamówienia-注文-🚚' }
    for (const entry of [progress, runEntry, gap]) {
      const named = { ...entry, ...odd }
      assert.deepEqual(roundTrip(named), named, entry.kind)
    }
  })

  test('decodes keys and values regardless of surrounding buffer memory', () => {
    const { key, value } = encodeStateEntry(runEntry)
    const pool = Buffer.concat([b('xx'), key, b('yy'), value!, b('zz')])
    const keySlice = pool.subarray(2, 2 + key.length)
    const valueSlice = pool.subarray(4 + key.length, 4 + key.length + value!.length)
    assert.deepEqual(decodeStateEntry(keySlice, valueSlice), runEntry)
  })
})

describe('decodeStateEntry on foreign or future records', () => {
  test('a null key decodes to null', () => {
    assert.equal(decodeStateEntry(null, b('{"v":1}')), null)
    assert.equal(decodeStateEntry(null, null), null)
  })

  test('a key that is not JSON decodes to null', () => {
    for (const key of ['', 'progress', '["progress","l","t",0', '{', '\u0000\u0001']) {
      assert.equal(decodeStateEntry(b(key), null), null, JSON.stringify(key))
    }
  })

  test('a JSON key that is not an array of kind, link, topic and numeric partition decodes to null', () => {
    for (const key of [
      '{"kind":"progress"}',
      '"progress"',
      '42',
      'null',
      '[]',
      '["progress"]',
      '["progress","l"]',
      '["progress","l","t"]',
      '["progress","l","t","0"]',
      '["progress",1,"t",0]',
      '["progress","l",null,0]'
    ]) {
      assert.equal(decodeStateEntry(b(key), null), null, key)
    }
  })

  test('an unknown kind decodes to null', () => {
    assert.equal(decodeStateEntry(b('["checkpoint","l","t",0]'), b('{"v":1,"next":"1"}')), null)
    assert.equal(decodeStateEntry(b('["checkpoint","l","t",0,"5"]'), null), null)
    assert.equal(decodeStateEntry(b('[1,"l","t",0]'), null), null)
  })

  test('an unknown value version decodes to null', () => {
    const { key } = encodeStateEntry(progress)
    for (const value of [
      '{"v":2,"next":"1","topicId":"x","sourceClusterId":"y","updatedAt":0}',
      '{"v":0,"next":"1"}',
      '{"v":"1","next":"1"}',
      '{"next":"1","topicId":"x","sourceClusterId":"y","updatedAt":0}'
    ]) {
      assert.equal(decodeStateEntry(key, b(value)), null, value)
    }
    assert.equal(decodeStateEntry(encodeStateEntry(runEntry).key, b('{"v":2,"targetStart":"1","length":"1"}')), null)
    assert.equal(decodeStateEntry(encodeStateEntry(gap).key, b('{"v":2,"to":"1","reason":"r","at":0}')), null)
  })

  test('unknown extra value fields of version 1 are ignored', () => {
    const { key } = encodeStateEntry(runEntry)
    const value = b('{"v":1,"targetStart":"250","length":"17","hint":"added later"}')
    assert.deepEqual(decodeStateEntry(key, value), runEntry)
  })

  test('a malformed value is never decoded into an entry', () => {
    // Whether this should throw or give null is not documented; it must not produce a plausible entry.
    const { key } = encodeStateEntry(progress)
    let result: StateEntry | null
    try {
      result = decodeStateEntry(key, b('{"v":1,"next":'))
    } catch {
      result = null
    }
    assert.equal(result, null)
  })
})

describe('readStateRecord says why a record cannot be read', () => {
  const problem = (
    key: string | null,
    value: string | null
  ): { link: string | null; newer: boolean; problem: string } => {
    const read = readStateRecord(key === null ? null : b(key), value === null ? null : b(value))
    assert.equal(read.ok, false, 'not readable')
    return read.ok ? { link: null, newer: false, problem: '' } : read
  }

  test('a readable record comes with its entry', () => {
    const { key, value } = encodeStateEntry(progress)
    assert.deepEqual(readStateRecord(key, value), { ok: true, entry: progress })
  })

  test('a higher format version: written by a newer kafka-dr, with the link of its key', () => {
    const read = problem('["progress","dc1-to-dc2","orders",3]', '{"v":2,"next":"1"}')
    assert.equal(read.newer, true)
    assert.equal(read.link, 'dc1-to-dc2')
    assert.match(read.problem, /has format version 2, written by a newer kafka-dr; this version reads version 1/)
  })

  test('a kind this version does not know: reported as newer, with its link', () => {
    const read = problem('["drain","dc1-to-dc2"]', '{"v":1,"until":0}')
    assert.equal(read.newer, true)
    assert.equal(read.link, 'dc1-to-dc2')
    assert.match(read.problem, /unknown kind "drain"/)
  })

  test('a malformed value names the record and the field', () => {
    const read = problem('["gap","dc1-to-dc2","orders",3,"10"]', '{"v":1,"to":20,"reason":"r","at":0}')
    assert.equal(read.newer, false)
    assert.match(
      read.problem,
      /state record \["gap","dc1-to-dc2","orders",3,"10"\]: field to must be a decimal string, found 20/
    )
  })

  test('a key of the wrong shape, a key that is no JSON, a missing key', () => {
    assert.match(problem('["progress","l","t","0"]', null).problem, /is not \[kind, string, string, partition\]/)
    assert.match(problem('["fence","l","extra"]', null).problem, /is not \[kind, string\]/)
    assert.equal(problem('{', null).link, null)
    assert.match(problem('{', null).problem, /state record key is not JSON/)
    assert.match(problem(null, '{"v":1}').problem, /without a key/)
  })

  test('document values are checked by their codec', () => {
    const read = problem('["fence","dc1-to-dc2"]', '{"failoverId":"f","v":1}')
    assert.equal(read.link, 'dc1-to-dc2')
    assert.match(read.problem, /fence document: field at must be a number/)
  })
})
