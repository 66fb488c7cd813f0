import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  type FailoverDocument,
  type FenceDocument,
  type HeartbeatDocument,
  LINK_DOCUMENT_KINDS,
  type LinkDocumentKind,
  type LinkDocuments,
  STATE_FORMAT_VERSION,
  StateFormatError,
  StoredDocuments,
  decodeDocument,
  decodeFailover,
  decodeFence,
  decodeHeartbeat,
  encodeDocument
} from '../../../src/state/index.ts'

const heartbeat: HeartbeatDocument = {
  at: 1700000000000,
  host: 'replicator-1',
  pid: 4242,
  state: 'running',
  intervalMs: 2000,
  committed: true,
  stopped: [
    { topic: 'orders', partition: 2, state: 'errored', reason: 'record too large' },
    { topic: 'orders', partition: 5, state: 'source-deleted', reason: null }
  ],
  schemas: {
    mode: 'translate-ids',
    lastSyncAt: null,
    lastError: 'registry down',
    totals: { subjects: 3, versions: 4, inSync: 2, pending: 1, failed: 1, softDeleted: 0 },
    ids: 7,
    subjects: [
      {
        subject: 'orders-value',
        versions: 2,
        inSync: 1,
        pending: 1,
        failed: 'HTTP 500',
        softDeleted: [3],
        compatibility: 'BACKWARD'
      }
    ]
  },
  clusterIds: { dc1: 'MkU3OEVBNTcwNTJENDM2Qk', dc3: 'XyZ' },
  worker: 'replicator-1-4242',
  generation: 2,
  members: ['replicator-1-4242'],
  slot: 0,
  owned: 16,
  owns: { orders: [0, 2, 5] },
  bytesPerSecond: 2500000.5
}

const fence: FenceDocument = { failoverId: '1b7f2c4e-0000-4000-8000-000000000001', at: 1700000000500 }

const failover: FailoverDocument = {
  id: '1b7f2c4e-0000-4000-8000-000000000001',
  startedAt: 1700000000400,
  step: 'completed',
  completedAt: 1700000009000,
  points: [
    { topic: 'orders', partition: 0, targetTopic: 'orders', sourceNext: 0n, targetEnd: 0n },
    { topic: 'orders', partition: 1, targetTopic: 'orders', sourceNext: 2n ** 63n - 1n, targetEnd: 2n ** 53n + 1n }
  ],
  groups: ['billing', 'shipping'],
  failedBackAt: 1700000099000
}

const samples: { [K in LinkDocumentKind]: LinkDocuments[K] } = { heartbeat, fence, failover }

/** What a document looks like once stored and read back as JSON. */
function stored<K extends LinkDocumentKind>(kind: K, doc: LinkDocuments[K]): Record<string, unknown> {
  return JSON.parse(JSON.stringify(encodeDocument(kind, doc))) as Record<string, unknown>
}

function rejects(decode: (value: unknown) => unknown, value: unknown, message: RegExp, newer = false): void {
  assert.throws(
    () => decode(value),
    (error: unknown) => {
      assert.ok(error instanceof StateFormatError, `a StateFormatError, got ${String(error)}`)
      assert.equal(error.code, 'KDR_ERR_STATE')
      assert.equal(error.newer, newer, 'newer')
      assert.match(error.message, message)
      return true
    }
  )
}

describe('link documents: round trip', () => {
  for (const kind of LINK_DOCUMENT_KINDS) {
    test(`${kind}: encode, store as JSON, decode gives the same document`, () => {
      assert.deepEqual(decodeDocument(kind, stored(kind, samples[kind])), samples[kind])
    })

    test(`${kind}: the stored JSON carries the format version`, () => {
      assert.equal(stored(kind, samples[kind]).v, STATE_FORMAT_VERSION)
    })
  }

  test('every document kind has a sample here (a new kind needs its tests)', () => {
    assert.deepEqual([...LINK_DOCUMENT_KINDS].sort(), Object.keys(samples).sort())
  })

  test('offsets of failover points are decimal strings on disk, exact to 2^63-1', () => {
    const points = stored('failover', failover).points as Record<string, unknown>[]
    assert.equal(points[1]!.sourceNext, '9223372036854775807')
    assert.equal(points[1]!.targetEnd, '9007199254740993')
    assert.equal(decodeFailover(stored('failover', failover)).points[1]!.sourceNext, 2n ** 63n - 1n)
  })

  test('a heartbeat without schemas or cluster ids stores neither field and reads them back as null', () => {
    const plain: HeartbeatDocument = { ...heartbeat, schemas: null, clusterIds: null }
    const json = stored('heartbeat', plain)
    assert.equal('schemas' in json, false)
    assert.equal('clusterIds' in json, false)
    assert.deepEqual(decodeHeartbeat(json), plain)
  })
})

describe('link documents: versions', () => {
  test('what older versions wrote is read with the values they meant', () => {
    // The first heartbeats had no committed flag, schemas or cluster ids.
    const old = decodeHeartbeat({ at: 5, host: 'h', pid: 1, state: 'stopped', intervalMs: 1000, stopped: [], v: 1 })
    assert.equal(old.committed, true)
    assert.equal(old.schemas, null)
    assert.equal(old.clusterIds, null)
    const bare = decodeHeartbeat({ at: 5, host: 'h', pid: 1, state: 'running', v: 1 })
    assert.equal(bare.intervalMs, DEFAULT_HEARTBEAT_INTERVAL_MS)
    assert.deepEqual(bare.stopped, [])
    // Before scale-out: no worker, generation, slot, partition count or rate.
    assert.equal(bare.worker, 'h:1')
    assert.deepEqual(
      [bare.generation, bare.slot, bare.owned, bare.owns, bare.bytesPerSecond],
      [-1, -1, null, null, null]
    )
  })

  test('a failover document without points or groups reads them as empty', () => {
    const doc = decodeFailover({ id: 'x', startedAt: 1, step: 'fenced', completedAt: null, failedBackAt: null, v: 1 })
    assert.deepEqual(doc.points, [])
    assert.deepEqual(doc.groups, [])
  })

  test('fields a newer version adds within version 1 are ignored', () => {
    assert.deepEqual(decodeFence({ ...stored('fence', fence), epoch: 7 }), fence)
    assert.deepEqual(decodeHeartbeat({ ...stored('heartbeat', heartbeat), transactional: true }), heartbeat)
  })

  test('a state this version does not know is kept as read (failover must not skip that heartbeat)', () => {
    assert.equal(decodeHeartbeat({ ...stored('heartbeat', heartbeat), state: 'paused' }).state, 'paused')
  })

  test('a higher format version is reported as written by a newer kafka-dr', () => {
    for (const kind of LINK_DOCUMENT_KINDS) {
      rejects(
        value => decodeDocument(kind, value),
        { ...stored(kind, samples[kind]), v: 2 },
        new RegExp(`${kind} document has format version 2, written by a newer kafka-dr; this version reads version 1`),
        true
      )
    }
  })

  test('a missing or invalid version is malformed, not newer', () => {
    for (const v of [undefined, 0, -1, '1', 1.5, null]) {
      rejects(decodeFence, { failoverId: 'f', at: 1, v }, /fence document has no valid format version/)
    }
  })
})

describe('link documents: garbage in', () => {
  test('values that are not JSON objects fail naming the document', () => {
    for (const value of [null, undefined, 42, 'fence', [], [1, 2], true]) {
      rejects(decodeFence, value, /^fence document is not a JSON object/)
      rejects(decodeHeartbeat, value, /^heartbeat document is not a JSON object/)
      rejects(decodeFailover, value, /^failover document is not a JSON object/)
    }
  })

  test('a field of the wrong type fails naming the field and what was found', () => {
    rejects(decodeFence, { failoverId: 7, at: 1, v: 1 }, /fence document: field failoverId must be a string, found 7/)
    rejects(decodeFence, { failoverId: 'f', v: 1 }, /fence document: field at must be a number, found nothing/)
    rejects(
      decodeHeartbeat,
      { ...stored('heartbeat', heartbeat), pid: '4242' },
      /heartbeat document: field pid must be an integer, found "4242"/
    )
    rejects(
      decodeHeartbeat,
      { ...stored('heartbeat', heartbeat), committed: 'yes' },
      /heartbeat document: field committed must be true or false/
    )
    rejects(
      decodeHeartbeat,
      {
        ...stored('heartbeat', heartbeat),
        stopped: [{ topic: 'orders', partition: -0.5, state: 'errored', reason: null }]
      },
      /heartbeat document: stopped\[0\]: field partition must be an integer/
    )
    rejects(
      decodeHeartbeat,
      { ...stored('heartbeat', heartbeat), clusterIds: { dc1: 42 } },
      /heartbeat document: field clusterIds: field dc1 must be a string, found 42/
    )
    rejects(
      decodeHeartbeat,
      { ...stored('heartbeat', heartbeat), schemas: { ...heartbeat.schemas, subjects: [{ subject: 1 }] } },
      /heartbeat document: schemas.subjects\[0\]: field subject must be a string/
    )
  })

  test('failover points need decimal offsets, and the step must be a known one', () => {
    const json = stored('failover', failover)
    const points = json.points as Record<string, unknown>[]
    for (const bad of [12, '1e3', '0x10', '', ' 12', null]) {
      rejects(
        decodeFailover,
        { ...json, points: [{ ...points[0], sourceNext: bad }] },
        /failover document: points\[0\]: field sourceNext must be a decimal string/
      )
    }
    rejects(decodeFailover, { ...json, step: 'rolled-back' }, /failover document: unknown step "rolled-back"/)
    rejects(decodeFailover, { ...json, groups: ['g', 3] }, /failover document: groups\[1\] must be a string/)
  })
})

describe('StoredDocuments', () => {
  test('keeps the latest document per kind, typed by kind; delete removes it', () => {
    const documents = new StoredDocuments()
    assert.equal(documents.get('fence'), undefined)
    documents.set('fence', fence)
    documents.set('fence', { ...fence, at: 9 })
    documents.set('heartbeat', heartbeat)
    assert.equal(documents.get('fence')?.at, 9)
    assert.equal(documents.get('heartbeat')?.host, 'replicator-1')
    documents.delete('fence')
    assert.equal(documents.get('fence'), undefined)
    assert.equal(documents.get('failover'), undefined)
  })
})
