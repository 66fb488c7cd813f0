import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  type AclBinding,
  type AclScope,
  aclChanges,
  aclId,
  aclKey,
  planTargetAcls,
  targetPrefix
} from '../../../src/core/acl-transform.ts'
import { TopicNaming } from '../../../src/core/naming.ts'
import { TopicFilter, isInternalGroup } from '../../../src/core/topic-filter.ts'

const topicAcl = (name: string, operation: AclBinding['operation'], more: Partial<AclBinding> = {}): AclBinding => ({
  resourceType: 'TOPIC',
  patternType: 'LITERAL',
  name,
  principal: 'User:reader',
  host: '*',
  operation,
  permission: 'ALLOW',
  ...more
})

function scope(naming: TopicNaming, topics: string[], groups: AclScope['groups'] = null): AclScope {
  return { topics, targetTopic: t => naming.targetTopic(t), groups }
}

const identity = new TopicNaming({ kind: 'identity' }, 'dc1')
const prefixed = new TopicNaming({ kind: 'prefix', separator: '.' }, 'dc1')

describe('planTargetAcls: what a link copies and holds back', () => {
  test('READ and DESCRIBE of a replicated topic are copied, renamed by the naming policy', () => {
    const plan = planTargetAcls(
      [topicAcl('orders', 'READ'), topicAcl('orders', 'DESCRIBE')],
      scope(prefixed, ['orders'])
    )
    assert.deepEqual(
      plan.copy.map(b => [b.name, b.operation]),
      [
        ['dc1.orders', 'DESCRIBE'],
        ['dc1.orders', 'READ']
      ]
    )
    assert.deepEqual(plan.heldBack, [])
  })

  test('ALLOW WRITE and the other write operations are held back, never copied', () => {
    const ops = ['WRITE', 'CREATE', 'DELETE', 'ALTER', 'ALTER_CONFIGS', 'IDEMPOTENT_WRITE'] as const
    const plan = planTargetAcls(
      ops.map(op => topicAcl('orders', op)),
      scope(identity, ['orders'])
    )
    assert.deepEqual(plan.copy, [])
    assert.deepEqual(plan.heldBack.map(b => b.operation).sort(), [...ops].sort())
  })

  test('ALLOW ALL becomes ALLOW READ on the target; the ALL is held back', () => {
    const plan = planTargetAcls([topicAcl('orders', 'ALL')], scope(prefixed, ['orders']))
    assert.deepEqual(plan.copy, [topicAcl('dc1.orders', 'READ')])
    assert.deepEqual(plan.heldBack, [topicAcl('dc1.orders', 'ALL')])
  })

  test('DENY entries are copied as they are, write operations included', () => {
    const deny = [
      topicAcl('orders', 'WRITE', { permission: 'DENY' }),
      topicAcl('orders', 'ALL', { permission: 'DENY' })
    ]
    const plan = planTargetAcls(deny, scope(identity, ['orders']))
    assert.deepEqual(plan.copy.length, 2)
    assert.ok(plan.copy.every(b => b.permission === 'DENY'))
    assert.deepEqual(plan.heldBack, [])
  })

  test('topics the link does not replicate, the wildcard and other resource types are left alone', () => {
    const plan = planTargetAcls(
      [
        topicAcl('payments', 'READ'),
        topicAcl('*', 'READ'),
        topicAcl('*', 'ALL', { permission: 'DENY' }),
        topicAcl('kafka-dr.', 'WRITE', { resourceType: 'TRANSACTIONAL_ID', patternType: 'PREFIXED' }),
        topicAcl('kafka-cluster', 'ALTER', { resourceType: 'CLUSTER' }),
        topicAcl('g1', 'READ', { resourceType: 'GROUP' })
      ],
      scope(identity, ['orders'])
    )
    assert.deepEqual(plan, { copy: [], heldBack: [] })
  })

  test('a PREFIXED pattern is copied when a replicated topic starts with it, with its prefix mapped', () => {
    const acls = [
      topicAcl('ord', 'READ', { patternType: 'PREFIXED' }),
      topicAcl('pay', 'READ', { patternType: 'PREFIXED' }),
      topicAcl('ord', 'WRITE', { patternType: 'PREFIXED' })
    ]
    const plan = planTargetAcls(acls, scope(prefixed, ['orders', 'shipments']))
    assert.deepEqual(plan.copy, [topicAcl('dc1.ord', 'READ', { patternType: 'PREFIXED' })])
    assert.deepEqual(plan.heldBack, [topicAcl('dc1.ord', 'WRITE', { patternType: 'PREFIXED' })])
  })

  test('a PREFIXED pattern is not copied when the template cannot map a prefix', () => {
    const suffix = new TopicNaming({ kind: 'template', template: '{topic}.from-{source}' }, 'dc1')
    const plan = planTargetAcls([topicAcl('ord', 'READ', { patternType: 'PREFIXED' })], scope(suffix, ['orders']))
    assert.deepEqual(plan.copy, [])
    // LITERAL names map through any template.
    const literal = planTargetAcls([topicAcl('orders', 'READ')], scope(suffix, ['orders']))
    assert.deepEqual(literal.copy, [topicAcl('orders.from-dc1', 'READ')])
  })

  test('group ACLs only with groups on: LITERAL by the group filter, PREFIXED by a known group', () => {
    const groups = new TopicFilter(['app-.*'], ['app-internal'], isInternalGroup)
    const acls = [
      topicAcl('app-billing', 'READ', { resourceType: 'GROUP' }),
      topicAcl('app-internal', 'READ', { resourceType: 'GROUP' }),
      topicAcl('other', 'READ', { resourceType: 'GROUP' }),
      topicAcl('app-', 'DESCRIBE', { resourceType: 'GROUP', patternType: 'PREFIXED' }),
      topicAcl('zzz', 'DESCRIBE', { resourceType: 'GROUP', patternType: 'PREFIXED' }),
      topicAcl('app-billing', 'DELETE', { resourceType: 'GROUP' }),
      topicAcl('*', 'READ', { resourceType: 'GROUP' })
    ]
    const off = planTargetAcls(acls, scope(prefixed, ['orders']))
    assert.deepEqual(off, { copy: [], heldBack: [] })
    const on = planTargetAcls(
      acls,
      scope(prefixed, ['orders'], { matches: g => groups.matches(g), known: ['app-billing', 'zzz-1'] })
    )
    assert.deepEqual(
      on.copy.map(b => `${b.patternType} ${b.name} ${b.operation}`),
      ['LITERAL app-billing READ', 'PREFIXED app- DESCRIBE']
    )
    assert.deepEqual(
      on.heldBack.map(b => `${b.name} ${b.operation}`),
      ['app-billing DELETE']
    )
  })

  test('duplicates collapse, and the result is sorted (stable between passes)', () => {
    const a = planTargetAcls(
      [topicAcl('orders', 'READ'), topicAcl('orders', 'ALL'), topicAcl('orders', 'DESCRIBE')],
      scope(identity, ['orders'])
    )
    const b = planTargetAcls(
      [topicAcl('orders', 'DESCRIBE'), topicAcl('orders', 'ALL'), topicAcl('orders', 'READ')],
      scope(identity, ['orders'])
    )
    assert.deepEqual(a, b)
    assert.equal(a.copy.length, 2)
  })
})

describe('targetPrefix', () => {
  test('identity, prefix and a template ending with {topic} map a prefix; others do not', () => {
    assert.equal(
      targetPrefix('ord', t => identity.targetTopic(t)),
      'ord'
    )
    assert.equal(
      targetPrefix('ord', t => prefixed.targetTopic(t)),
      'dc1.ord'
    )
    const head = new TopicNaming({ kind: 'template', template: 'mirror.{source}.{topic}' }, 'dc1')
    assert.equal(
      targetPrefix('ord', t => head.targetTopic(t)),
      'mirror.dc1.ord'
    )
    const twice = new TopicNaming({ kind: 'template', template: '{topic}.{topic}' }, 'dc1')
    assert.equal(
      targetPrefix('ord', t => twice.targetTopic(t)),
      null
    )
  })
})

describe('aclChanges: deletions follow the source, only for what kafka-dr created', () => {
  const read = topicAcl('orders', 'READ')
  const describeAcl = topicAcl('orders', 'DESCRIBE')
  const byHand = topicAcl('orders', 'READ', { principal: 'User:ops' })

  test('missing desired bindings are created; present ones are not', () => {
    assert.deepEqual(aclChanges([read, describeAcl], [read], []), { create: [describeAcl], delete: [], forget: [] })
  })

  test('a recorded binding that no longer derives from the source is deleted and forgotten', () => {
    assert.deepEqual(aclChanges([read], [read, describeAcl, byHand], [read, describeAcl]), {
      create: [],
      delete: [describeAcl],
      forget: [describeAcl]
    })
  })

  test('a binding created by hand is never deleted, even when the source no longer has it', () => {
    const changes = aclChanges([], [byHand, read], [])
    assert.deepEqual(changes, { create: [], delete: [], forget: [] })
  })

  test('a recorded binding already gone from the target is only forgotten', () => {
    assert.deepEqual(aclChanges([], [], [read]), { create: [], delete: [], forget: [read] })
  })

  test('ids are stable and distinguish every field', () => {
    assert.equal(aclId(read), aclId({ ...read }))
    assert.match(aclId(read), /^[0-9a-f]{32}$/)
    const fields = ['principal', 'host', 'name'] as const
    for (const f of fields) assert.notEqual(aclId(read), aclId({ ...read, [f]: 'x' }))
    assert.notEqual(aclKey(read), aclKey({ ...read, permission: 'DENY' }))
  })
})
