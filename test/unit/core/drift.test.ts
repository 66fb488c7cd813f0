import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { type AclBinding, aclChanges } from '../../../src/core/acl-transform.ts'
import {
  type TopicFacts,
  aclDrift,
  driftExitCode,
  schemaDrift,
  sharedTargetDrift,
  topicDrift
} from '../../../src/core/drift.ts'
import { type ConfigValue } from '../../../src/core/topic-configs.ts'

const configs = (entries: Record<string, string | [string, boolean]>): Map<string, ConfigValue> =>
  new Map(
    Object.entries(entries).map(([k, v]) => [
      k,
      typeof v === 'string' ? { value: v, topicLevel: true } : { value: v[0], topicLevel: v[1] }
    ])
  )

/** A replica in line with its source: same partitions, the synced configs, CreateTime. */
function facts(overrides: Partial<TopicFacts> = {}): TopicFacts {
  return {
    topic: 'orders',
    targetTopic: 'orders',
    targetCluster: 'dc2',
    sourcePartitions: 3,
    targetPartitions: 3,
    sourceConfigs: configs({ 'retention.ms': '86400000', 'min.insync.replicas': '2' }),
    targetConfigs: configs({ 'retention.ms': '86400000', 'message.timestamp.type': 'CreateTime' }),
    targetRecords: null,
    onForeignTarget: 'stop',
    written: true,
    ...overrides
  }
}

const kinds = (f: { kind: string; action: string }[]): string[] => f.map(x => `${x.kind}:${x.action}`)

describe('topicDrift', () => {
  test('a replica in line with its source: no findings (configs never copied are not drift)', () => {
    assert.deepEqual(topicDrift(facts()), [])
    assert.equal(driftExitCode(topicDrift(facts())), 0)
  })

  test('a missing target topic is the link’s to create; nothing else is judged', () => {
    const found = topicDrift(facts({ targetPartitions: null, targetConfigs: null }))
    assert.deepEqual(kinds(found), ['target-missing:link-fixes'])
    assert.match(found[0]!.message, /does not exist on dc2: the link creates it \(3 partitions\)/)
  })

  test('fewer target partitions are grown by the link; more cannot be fixed', () => {
    assert.deepEqual(kinds(topicDrift(facts({ targetPartitions: 2 }))), ['partitions-fewer:link-fixes'])
    const more = topicDrift(facts({ targetPartitions: 5 }))
    assert.deepEqual(kinds(more), ['partitions-more:cannot-fix'])
    assert.match(more[0]!.message, /partitions 3\.\.4 receive nothing/)
    assert.equal(driftExitCode(more), 1)
  })

  test('a synced config that differs is set by the config sync; one set on the target alone is left alone', () => {
    const found = topicDrift(
      facts({
        targetConfigs: configs({
          'retention.ms': '1000',
          'message.timestamp.type': 'LogAppendTime',
          'segment.bytes': '1048576',
          'min.insync.replicas': ['1', false]
        })
      })
    )
    assert.deepEqual(
      found.map(f => [f.kind, f.action, f.key, f.source, f.target]),
      [
        ['config-differs', 'link-fixes', 'message.timestamp.type', 'CreateTime', 'LogAppendTime'],
        ['config-differs', 'link-fixes', 'retention.ms', '86400000', '1000'],
        ['config-target-only', 'left-alone', 'segment.bytes', null, '1048576']
      ]
    )
    assert.equal(driftExitCode(found), 0)
  })

  test('a target topic with records kafka-dr has no record of writing is foreign: cannot fix, unless the link appends', () => {
    const found = topicDrift(facts({ written: false, targetRecords: 12n }))
    assert.deepEqual(kinds(found), ['foreign-target:cannot-fix'])
    assert.match(
      found[0]!.message,
      /holds records kafka-dr did not write \(12 offsets.*the link stops those partitions/
    )
    const appended = topicDrift(facts({ written: false, targetRecords: 12n, onForeignTarget: 'append' }))
    assert.deepEqual(kinds(appended), ['foreign-target:left-alone'])
    assert.match(appended[0]!.message, /onForeignTarget: append copies after them/)
    // Empty, or written by kafka-dr: not foreign.
    assert.deepEqual(topicDrift(facts({ written: false, targetRecords: 0n })), [])
    assert.deepEqual(topicDrift(facts({ written: true, targetRecords: 12n })), [])
  })
})

describe('sharedTargetDrift and schemaDrift', () => {
  test('a target topic two links write names the other link', () => {
    const f = sharedTargetDrift(
      'dc3',
      'dc1.orders',
      [
        { link: 'a', topic: 'orders' },
        { link: 'b', topic: 'dc1.orders' }
      ],
      'a'
    )
    assert.equal(f.action, 'cannot-fix')
    assert.equal(f.topic, 'orders')
    assert.match(f.message, /dc1\.orders on dc3 is also written by link b \(from dc1\.orders\)/)
  })

  test('missing versions and compatibility levels are the schema sync’s; registries not compared fail the report', () => {
    const found = schemaDrift(
      {
        error: null,
        globalSource: 'BACKWARD',
        globalTarget: 'NONE',
        subjects: [
          { subject: 'orders-value', versions: 3, pending: 1, sourceCompatibility: 'FULL', targetCompatibility: null },
          { subject: 'in-sync-value', versions: 2, pending: 0, sourceCompatibility: null, targetCompatibility: 'NONE' }
        ]
      },
      'dc2'
    )
    assert.deepEqual(
      found.map(f => [f.kind, f.action, f.subject]),
      [
        ['schema-compatibility', 'link-fixes', null],
        ['schema-versions-missing', 'link-fixes', 'orders-value'],
        ['schema-compatibility', 'link-fixes', 'orders-value']
      ]
    )
    const unchecked = schemaDrift(
      { error: 'connect ECONNREFUSED', globalSource: null, globalTarget: null, subjects: [] },
      'dc2'
    )
    assert.deepEqual(kinds(unchecked), ['schema-unchecked:cannot-fix'])
  })
})

describe('aclDrift', () => {
  const reader = (name: string, operation: AclBinding['operation']): AclBinding => ({
    resourceType: 'TOPIC',
    patternType: 'LITERAL',
    name,
    principal: 'User:reader',
    host: '*',
    operation,
    permission: 'ALLOW'
  })

  test('what the sync would create or delete is drift the link fixes; hand-made target ACLs are not reported', () => {
    const desired = [reader('orders', 'READ'), reader('orders', 'DESCRIBE')]
    const handMade = reader('orders', 'DESCRIBE_CONFIGS')
    const stale = reader('payments', 'READ')
    const changes = aclChanges(desired, [reader('orders', 'READ'), handMade, stale], [reader('orders', 'READ'), stale])
    const findings = aclDrift('dc2', changes)
    assert.deepEqual(
      findings.map(f => [f.kind, f.action]),
      [
        ['acl-missing', 'link-fixes'],
        ['acl-stale', 'link-fixes']
      ]
    )
    assert.match(findings[0]!.message, /ALLOW User:reader DESCRIBE on TOPIC LITERAL orders .* missing on dc2/)
    assert.match(findings[1]!.message, /payments \(host \*\) on dc2 was created by kafka-dr and no longer derives/)
    assert.equal(driftExitCode(findings), 0)
  })

  test('ACLs that cannot be compared are drift nobody fixes', () => {
    const [finding] = aclDrift('dc2', { error: 'a cluster of the link has no authorizer (SECURITY_DISABLED)' })
    assert.equal(finding?.kind, 'acl-unchecked')
    assert.equal(driftExitCode([finding!]), 1)
  })
})
