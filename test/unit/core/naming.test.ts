import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { type NamingPolicy, TopicNaming } from '../../../src/core/naming.ts'

const identity: NamingPolicy = { kind: 'identity' }
const prefix = (separator: string): NamingPolicy => ({ kind: 'prefix', separator })
const template = (text: string): NamingPolicy => ({ kind: 'template', template: text })

describe('TopicNaming.targetTopic', () => {
  test('identity keeps the source name', () => {
    const naming = new TopicNaming(identity, 'dc1')
    assert.equal(naming.targetTopic('orders'), 'orders')
    assert.equal(naming.targetTopic('dc2.orders'), 'dc2.orders')
  })

  test('prefix puts the source alias and the separator in front', () => {
    assert.equal(new TopicNaming(prefix('.'), 'dc1').targetTopic('orders'), 'dc1.orders')
    assert.equal(new TopicNaming(prefix('_'), 'dc1').targetTopic('orders'), 'dc1_orders')
    assert.equal(new TopicNaming(prefix('--'), 'east').targetTopic('a.b'), 'east--a.b')
    assert.equal(new TopicNaming(prefix(''), 'dc1').targetTopic('orders'), 'dc1orders')
  })

  test('a template renders {topic} and {source}, every occurrence', () => {
    assert.equal(new TopicNaming(template('{topic}.replica'), 'dc1').targetTopic('orders'), 'orders.replica')
    assert.equal(new TopicNaming(template('{topic}.from.{source}'), 'dc1').targetTopic('orders'), 'orders.from.dc1')
    assert.equal(new TopicNaming(template('{source}.{topic}'), 'dc1').targetTopic('orders'), 'dc1.orders')
    assert.equal(
      new TopicNaming(template('{source}-{topic}-{source}-{topic}'), 'dc1').targetTopic('orders'),
      'dc1-orders-dc1-orders'
    )
  })

  test('the policy is exposed unchanged', () => {
    const policy = template('{topic}.x')
    assert.equal(new TopicNaming(policy, 'dc1').policy, policy)
  })
})

describe('TopicNaming.cameFrom', () => {
  test('identity naming never tells where a topic came from', () => {
    const naming = new TopicNaming(identity, 'dc1')
    for (const topic of ['orders', 'dc2.orders', 'dc2', 'dc1.orders']) {
      assert.equal(naming.cameFrom(topic, 'dc2'), false, topic)
    }
  })

  test('prefix: a topic came from the alias when it starts with alias + separator and has a name after it', () => {
    const naming = new TopicNaming(prefix('.'), 'dc1')
    assert.equal(naming.cameFrom('dc2.orders', 'dc2'), true)
    assert.equal(naming.cameFrom('dc2.a', 'dc2'), true)
    assert.equal(naming.cameFrom('dc2.dc1.orders', 'dc2'), true)
  })

  test('prefix: the bare prefix "dc2." is not a replica of anything', () => {
    assert.equal(new TopicNaming(prefix('.'), 'dc1').cameFrom('dc2.', 'dc2'), false)
    assert.equal(new TopicNaming(prefix('--'), 'dc1').cameFrom('dc2--', 'dc2'), false)
  })

  test('prefix: names that only share a prefix of the alias or lack the separator did not come from it', () => {
    const naming = new TopicNaming(prefix('.'), 'dc1')
    assert.equal(naming.cameFrom('dc21.orders', 'dc2'), false)
    assert.equal(naming.cameFrom('dc2orders', 'dc2'), false)
    assert.equal(naming.cameFrom('dc2_orders', 'dc2'), false)
    assert.equal(naming.cameFrom('xdc2.orders', 'dc2'), false)
    assert.equal(naming.cameFrom('orders.dc2', 'dc2'), false)
    assert.equal(naming.cameFrom('dc2', 'dc2'), false)
    assert.equal(naming.cameFrom('DC2.orders', 'dc2'), false)
  })

  test('prefix: only the outermost prefix counts', () => {
    const naming = new TopicNaming(prefix('.'), 'dc3')
    assert.equal(naming.cameFrom('dc1.dc2.orders', 'dc1'), true)
    assert.equal(naming.cameFrom('dc1.dc2.orders', 'dc2'), false)
  })

  test('prefix: uses the policy separator, not a dot', () => {
    const naming = new TopicNaming(prefix('_'), 'dc1')
    assert.equal(naming.cameFrom('dc2_orders', 'dc2'), true)
    assert.equal(naming.cameFrom('dc2.orders', 'dc2'), false)
  })

  test('template with {source}: a rendered name came from its alias and from no other', () => {
    const naming = new TopicNaming(template('{topic}.from.{source}'), 'dc1')
    assert.equal(naming.cameFrom('orders.from.dc2', 'dc2'), true)
    assert.equal(naming.cameFrom('a.b.from.dc2', 'dc2'), true)
    assert.equal(naming.cameFrom('orders.from.dc21', 'dc2'), false)
    assert.equal(naming.cameFrom('orders.from.dc2.x', 'dc2'), false)
    assert.equal(naming.cameFrom('x.orders.from.dc', 'dc2'), false)
    assert.equal(naming.cameFrom('orders.from.dc1', 'dc2'), false)
    assert.equal(naming.cameFrom('.from.dc2', 'dc2'), false, '{topic} stands for a non-empty name')
  })

  test('template with {source}: literal template text matches literally, dots included', () => {
    const naming = new TopicNaming(template('{topic}.from.{source}'), 'dc1')
    assert.equal(naming.cameFrom('ordersXfromYdc2', 'dc2'), false)
    assert.equal(naming.cameFrom('orders.fromXdc2', 'dc2'), false)
  })

  test('template with {source}: regular-expression characters in the template text are escaped', () => {
    // Config validation only allows topic-name characters around the placeholders; the class itself must
    // still treat any text literally.
    const naming = new TopicNaming(template('x|({source})+[{topic}]*$^?\\'), 'dc1')
    assert.equal(naming.cameFrom('x|(dc2)+[orders]*$^?\\', 'dc2'), true)
    assert.equal(naming.cameFrom('x', 'dc2'), false, 'an unescaped "|" would make "^x" an alternative')
    assert.equal(naming.cameFrom('xyz', 'dc2'), false)
    assert.equal(naming.cameFrom('x|dc2[orders]', 'dc2'), false)
    assert.equal(naming.cameFrom('x|(dc2)+[orders]*$^?', 'dc2'), false)
  })

  test('template with {source}: regular-expression characters in the alias are escaped', () => {
    const naming = new TopicNaming(template('{source}-{topic}'), 'dc1')
    assert.equal(naming.cameFrom('d.c*2-orders', 'd.c*2'), true)
    assert.equal(naming.cameFrom('dXc*2-orders', 'd.c*2'), false)
    assert.equal(naming.cameFrom('d.cc2-orders', 'd.c*2'), false)
    assert.equal(naming.cameFrom('d.2-orders', 'd.c*2'), false)
    assert.equal(naming.cameFrom('dc+1-orders', 'dc+1'), true)
    assert.equal(naming.cameFrom('dcc1-orders', 'dc+1'), false)
  })

  test('template with {source} twice: both occurrences must be the alias', () => {
    const naming = new TopicNaming(template('{source}-{topic}-{source}'), 'dc1')
    assert.equal(naming.cameFrom('dc2-orders-dc2', 'dc2'), true)
    assert.equal(naming.cameFrom('dc2-orders-dc3', 'dc2'), false)
    assert.equal(naming.cameFrom('dc3-orders-dc2', 'dc2'), false)
  })

  test('template without {source} never tells where a topic came from', () => {
    const naming = new TopicNaming(template('{topic}.replica'), 'dc1')
    assert.equal(naming.cameFrom('orders.replica', 'dc1'), false)
    assert.equal(naming.cameFrom('orders.replica', 'dc2'), false)
    assert.equal(naming.cameFrom('dc2.orders', 'dc2'), false)
  })

  test('every name a prefix or {source} template renders came from its source alias and not from another', () => {
    const policies = [
      prefix('.'),
      prefix('_'),
      prefix('--'),
      template('{topic}.from.{source}'),
      template('{source}.{topic}.x')
    ]
    const topics = ['orders', 'a', 'a.b', 'payments-eu', 'dc1.orders', 'x_y']
    for (const policy of policies) {
      for (const alias of ['dc1', 'east-1', 'A_B']) {
        const naming = new TopicNaming(policy, alias)
        for (const topic of topics) {
          const target = naming.targetTopic(topic)
          assert.equal(naming.cameFrom(target, alias), true, `${JSON.stringify(policy)} ${alias} ${target}`)
          assert.equal(naming.cameFrom(target, `${alias}9`), false, `${JSON.stringify(policy)} ${alias}9 ${target}`)
        }
      }
    }
  })
})
