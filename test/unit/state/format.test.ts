import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { type StateEntry, decodeStateEntry, encodeStateEntry } from '../../../src/state/index.ts'

/**
 * The bytes on disk: state topics written by earlier versions must load, and records written now must
 * be readable by them. Each expected key and value below is what the encoder of the version before
 * src/state (core/state-records.ts and the hand-built documents) wrote for the same entry.
 */

const link = 'dc1->dc2'
const base = { link, topic: 'orders', partition: 3 }

const cases: { name: string; entry: StateEntry; key: string; value: string | null }[] = [
  {
    name: 'progress of an older version (no targetEnd, no lastCopied)',
    entry: {
      kind: 'progress',
      ...base,
      value: { next: 42n, topicId: 'T', sourceClusterId: 'S', updatedAt: 1700000000000 }
    },
    key: '["progress","dc1->dc2","orders",3]',
    value: '{"v":1,"next":"42","topicId":"T","sourceClusterId":"S","updatedAt":1700000000000}'
  },
  {
    name: 'progress with the target end and the last copy',
    entry: {
      kind: 'progress',
      ...base,
      value: {
        next: 9007199254740993n,
        topicId: 'T',
        sourceClusterId: 'S',
        updatedAt: 1700000000000,
        targetEnd: 100n,
        lastCopied: 41n
      }
    },
    key: '["progress","dc1->dc2","orders",3]',
    value:
      '{"v":1,"next":"9007199254740993","topicId":"T","sourceClusterId":"S","updatedAt":1700000000000,"targetEnd":"100","lastCopied":"41"}'
  },
  {
    name: 'progress tombstone',
    entry: { kind: 'progress', ...base, value: null },
    key: '["progress","dc1->dc2","orders",3]',
    value: null
  },
  {
    name: 'segments, closed and open',
    entry: {
      kind: 'segments',
      ...base,
      value: [
        { sourceStart: 0n, targetStart: 5n },
        { sourceStart: 10n, targetStart: 20n, targetEnd: 30n }
      ]
    },
    key: '["segments","dc1->dc2","orders",3]',
    value: '{"v":1,"segments":[["0","5"],["10","20","30"]]}'
  },
  {
    name: 'legacy run',
    entry: { kind: 'run', ...base, sourceStart: 100n, value: { targetStart: 250n, length: 17n } },
    key: '["run","dc1->dc2","orders",3,"100"]',
    value: '{"v":1,"targetStart":"250","length":"17"}'
  },
  {
    name: 'legacy run tombstone',
    entry: { kind: 'run', ...base, sourceStart: 100n, value: null },
    key: '["run","dc1->dc2","orders",3,"100"]',
    value: null
  },
  {
    name: 'gap',
    entry: { kind: 'gap', ...base, from: 10n, value: { to: 20n, reason: 'offset out of range', at: 1700000000001 } },
    key: '["gap","dc1->dc2","orders",3,"10"]',
    value: '{"v":1,"to":"20","reason":"offset out of range","at":1700000000001}'
  },
  {
    name: 'checkpoint',
    entry: {
      kind: 'checkpoint',
      link,
      group: 'g1',
      topic: 'orders',
      partition: 3,
      value: { sourceOffset: 7n, targetOffset: 9n, exact: true, notReplicated: 0n, at: 1700000000002 }
    },
    key: '["checkpoint","dc1->dc2","g1","orders",3]',
    value: '{"v":1,"sourceOffset":"7","targetOffset":"9","exact":true,"notReplicated":"0","at":1700000000002}'
  },
  {
    name: 'heartbeat with schemas and cluster ids',
    entry: {
      kind: 'heartbeat',
      link,
      value: {
        at: 1700000000003,
        host: 'h1',
        pid: 99,
        state: 'running',
        intervalMs: 5000,
        committed: true,
        stopped: [{ topic: 'orders', partition: 1, state: 'errored', reason: 'boom' }],
        schemas: {
          mode: 'keep-ids',
          lastSyncAt: 1700000000000,
          lastError: null,
          totals: { subjects: 1, versions: 2, inSync: 2, pending: 0, failed: 0, softDeleted: 0 },
          ids: 2,
          subjects: []
        },
        clusterIds: { dc1: 'ID1', dc2: 'ID2' },
        worker: 'h1-99',
        generation: 3,
        members: ['h1-99', 'h2-7'],
        slot: 0,
        owned: 12,
        owns: null,
        bytesPerSecond: 1048576
      }
    },
    key: '["heartbeat","dc1->dc2"]',
    value:
      '{"at":1700000000003,"host":"h1","pid":99,"state":"running","intervalMs":5000,"committed":true,"stopped":[{"topic":"orders","partition":1,"state":"errored","reason":"boom"}],"schemas":{"mode":"keep-ids","lastSyncAt":1700000000000,"lastError":null,"totals":{"subjects":1,"versions":2,"inSync":2,"pending":0,"failed":0,"softDeleted":0},"ids":2,"subjects":[]},"clusterIds":{"dc1":"ID1","dc2":"ID2"},"worker":"h1-99","generation":3,"members":["h1-99","h2-7"],"slot":0,"owned":12,"bytesPerSecond":1048576,"v":1}'
  },
  {
    name: "a worker's heartbeat under its writer slot",
    entry: {
      kind: 'worker',
      link,
      slot: 1,
      value: {
        at: 1700000000003,
        host: 'h2',
        pid: 7,
        state: 'stopped',
        intervalMs: 5000,
        committed: true,
        stopped: [],
        schemas: null,
        clusterIds: null,
        worker: 'h2-7',
        generation: 3,
        members: ['h1-99', 'h2-7'],
        slot: 1,
        owned: 2,
        owns: { orders: [0, 3] },
        bytesPerSecond: null
      }
    },
    key: '["worker","dc1->dc2",1]',
    value:
      '{"at":1700000000003,"host":"h2","pid":7,"state":"stopped","intervalMs":5000,"committed":true,"stopped":[],"worker":"h2-7","generation":3,"members":["h1-99","h2-7"],"slot":1,"owned":2,"owns":{"orders":[0,3]},"v":1}'
  },
  {
    name: 'worker record removed',
    entry: { kind: 'worker', link, slot: 1, value: null },
    key: '["worker","dc1->dc2",1]',
    value: null
  },
  {
    name: 'heartbeat of a fenced replicator without schemas or routes',
    entry: {
      kind: 'heartbeat',
      link,
      value: {
        at: 1700000000003,
        host: 'h1',
        pid: 99,
        state: 'fenced',
        intervalMs: 1000,
        committed: false,
        stopped: [],
        schemas: null,
        clusterIds: null,
        worker: 'h1:99',
        generation: -1,
        members: [],
        slot: -1,
        owned: null,
        owns: null,
        bytesPerSecond: null
      }
    },
    key: '["heartbeat","dc1->dc2"]',
    value:
      '{"at":1700000000003,"host":"h1","pid":99,"state":"fenced","intervalMs":1000,"committed":false,"stopped":[],"worker":"h1:99","generation":-1,"members":[],"v":1}'
  },
  {
    name: 'pause of a topic',
    entry: { kind: 'pause', link, topic: 'orders', value: { by: 'alice@h1', at: 1700000000005, reason: 'disk swap' } },
    key: '["pause","dc1->dc2","orders"]',
    value: '{"v":1,"by":"alice@h1","at":1700000000005,"reason":"disk swap"}'
  },
  {
    name: 'pause of the whole link, without a reason',
    entry: { kind: 'pause', link, topic: '*', value: { by: 'http:127.0.0.1', at: 1700000000006, reason: null } },
    key: '["pause","dc1->dc2","*"]',
    value: '{"v":1,"by":"http:127.0.0.1","at":1700000000006,"reason":null}'
  },
  {
    name: 'pause removed (resume)',
    entry: { kind: 'pause', link, topic: 'orders', value: null },
    key: '["pause","dc1->dc2","orders"]',
    value: null
  },
  {
    name: 'ACL binding created by ACL sync',
    entry: {
      kind: 'acl',
      link,
      id: '0123456789abcdef0123456789abcdef',
      value: {
        role: 'created',
        binding: {
          resourceType: 'TOPIC',
          patternType: 'PREFIXED',
          name: 'dc1.orders-',
          principal: 'User:reader',
          host: '*',
          operation: 'READ',
          permission: 'ALLOW'
        }
      }
    },
    key: '["acl","dc1->dc2","0123456789abcdef0123456789abcdef"]',
    value:
      '{"v":1,"role":"created","resourceType":"TOPIC","patternType":"PREFIXED","name":"dc1.orders-","principal":"User:reader","host":"*","operation":"READ","permission":"ALLOW"}'
  },
  {
    name: 'ACL binding held back until failover',
    entry: {
      kind: 'acl',
      link,
      id: 'fedcba9876543210fedcba9876543210',
      value: {
        role: 'held',
        binding: {
          resourceType: 'GROUP',
          patternType: 'LITERAL',
          name: 'billing',
          principal: 'User:app',
          host: '10.0.0.1',
          operation: 'DELETE',
          permission: 'ALLOW'
        }
      }
    },
    key: '["acl","dc1->dc2","fedcba9876543210fedcba9876543210"]',
    value:
      '{"v":1,"role":"held","resourceType":"GROUP","patternType":"LITERAL","name":"billing","principal":"User:app","host":"10.0.0.1","operation":"DELETE","permission":"ALLOW"}'
  },
  {
    name: 'ACL record removed (its binding no longer derives from the source)',
    entry: { kind: 'acl', link, id: '0123456789abcdef0123456789abcdef', value: null },
    key: '["acl","dc1->dc2","0123456789abcdef0123456789abcdef"]',
    value: null
  },
  {
    name: 'fence',
    entry: { kind: 'fence', link, value: { failoverId: 'f-1', at: 1700000000004 } },
    key: '["fence","dc1->dc2"]',
    value: '{"failoverId":"f-1","at":1700000000004,"v":1}'
  },
  {
    name: 'fence removed (failback)',
    entry: { kind: 'fence', link, value: null },
    key: '["fence","dc1->dc2"]',
    value: null
  },
  {
    name: 'failover document',
    entry: {
      kind: 'failover',
      link,
      value: {
        id: 'f-1',
        startedAt: 1700000000000,
        step: 'points-recorded',
        completedAt: null,
        points: [
          { topic: 'orders', partition: 3, targetTopic: 'dc1.orders', sourceNext: 9007199254740993n, targetEnd: 42n }
        ],
        groups: ['g1', 'g2'],
        failedBackAt: null
      }
    },
    key: '["failover","dc1->dc2"]',
    value:
      '{"id":"f-1","startedAt":1700000000000,"step":"points-recorded","completedAt":null,"points":[{"topic":"orders","partition":3,"targetTopic":"dc1.orders","sourceNext":"9007199254740993","targetEnd":"42"}],"groups":["g1","g2"],"failedBackAt":null,"v":1}'
  }
]

describe('the stored format of every state record kind', () => {
  for (const c of cases) {
    test(`${c.name}: written byte for byte as before`, () => {
      const { key, value } = encodeStateEntry(c.entry)
      assert.equal(key.toString(), c.key)
      assert.equal(value?.toString() ?? null, c.value)
    })

    test(`${c.name}: the stored bytes read back as the entry`, () => {
      const decoded = decodeStateEntry(Buffer.from(c.key), c.value === null ? null : Buffer.from(c.value))
      assert.deepEqual(decoded, c.entry)
    })
  }

  test('an ACL record with an operation this version has no name for is unreadable, not guessed', () => {
    const raw =
      '{"v":1,"role":"held","resourceType":"TOPIC","patternType":"LITERAL","name":"t","principal":"User:a","host":"*","operation":"TELEPORT","permission":"ALLOW"}'
    assert.equal(decodeStateEntry(Buffer.from('["acl","dc1->dc2","x"]'), Buffer.from(raw)), null)
  })

  test('a failover document written with its fields in another order (a resumed failover) reads the same', () => {
    // Failover before src/state re-wrote a parsed document with `points` last.
    const reordered =
      '{"id":"f-1","startedAt":1700000000000,"step":"points-recorded","completedAt":null,"groups":["g1","g2"],"failedBackAt":null,"points":[{"topic":"orders","partition":3,"targetTopic":"dc1.orders","sourceNext":"9007199254740993","targetEnd":"42"}],"v":1}'
    const expected = cases.find(c => c.name === 'failover document')!
    assert.deepEqual(decodeStateEntry(Buffer.from(expected.key), Buffer.from(reordered)), expected.entry)
  })
})
