import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { type NamingPolicy, TopicNaming } from '../../../src/core/naming.ts'
import { type CollisionLink, liveTopicCollisions, staticTopicCollisions } from '../../../src/core/topic-collisions.ts'

const identity: NamingPolicy = { kind: 'identity' }
const prefix: NamingPolicy = { kind: 'prefix', separator: '.' }
const template = (text: string): NamingPolicy => ({ kind: 'template', template: text })

function link(name: string, source: string, target: string, include: string[], naming = identity): CollisionLink {
  return { name, source, target, topics: { include, exclude: [] }, naming }
}

describe('TopicNaming.sourceTopic (inverse of targetTopic)', () => {
  test('identity, prefix and templates give back the source name, or null when they cannot produce the name', () => {
    assert.equal(new TopicNaming(identity, 'dc1').sourceTopic('orders'), 'orders')
    assert.equal(new TopicNaming(prefix, 'dc1').sourceTopic('dc1.orders'), 'orders')
    assert.equal(new TopicNaming(prefix, 'dc1').sourceTopic('dc2.orders'), null)
    assert.equal(new TopicNaming(prefix, 'dc1').sourceTopic('dc1.'), null)
    const t = new TopicNaming(template('{source}-{topic}-{source}-{topic}'), 'dc1')
    assert.equal(t.sourceTopic('dc1-a.b-dc1-a.b'), 'a.b')
    assert.equal(t.sourceTopic('dc1-a-dc1-b'), null)
    assert.equal(new TopicNaming(template('x.{topic}.y'), 'dc1').sourceTopic('x.orders.y'), 'orders')
    assert.equal(new TopicNaming(template('x.{topic}.y'), 'dc1').sourceTopic('x.orders'), null)
  })

  test('round trip: every name a policy renders is read back to its source name', () => {
    const policies = [
      identity,
      prefix,
      { kind: 'prefix', separator: '-' } as NamingPolicy,
      template('{topic}.from.{source}')
    ]
    for (const policy of policies) {
      const naming = new TopicNaming(policy, 'east')
      for (const topic of ['orders', 'a.b', 'east.x', 'x.from.east', '_-.']) {
        assert.equal(naming.sourceTopic(naming.targetTopic(topic)), topic, `${JSON.stringify(policy)} ${topic}`)
      }
    }
  })
})

describe('staticTopicCollisions', () => {
  test('two links from the same source copying one literal topic into one cluster collide', () => {
    const { collisions } = staticTopicCollisions([
      link('a', 'dc1', 'dc2', ['orders']),
      link('b', 'dc1', 'dc2', ['payments', 'orders'])
    ])
    assert.deepEqual(collisions, [
      {
        targetCluster: 'dc2',
        targetTopic: 'orders',
        first: { link: 0, topic: 'orders', entry: 0 },
        second: { link: 1, topic: 'orders', entry: 1 }
      }
    ])
  })

  test('identity links from different sources share target topics by design (routes): no collision', () => {
    const result = staticTopicCollisions([
      link('a', 'dc1', 'dc3', ['orders']),
      link('b', 'dc2', 'dc3', ['orders', '.*'])
    ])
    assert.deepEqual(result, { collisions: [], unchecked: [] })
  })

  test('a prefix link and an identity link whose pattern selects the prefixed name collide', () => {
    const { collisions } = staticTopicCollisions([
      link('a', 'dc1', 'dc3', ['orders'], prefix),
      link('b', 'dc2', 'dc3', ['dc1\\..*'])
    ])
    assert.equal(collisions.length, 1)
    assert.deepEqual(collisions[0]!.second, { link: 1, topic: 'dc1.orders', entry: 0 })
    assert.equal(collisions[0]!.targetTopic, 'dc1.orders')
  })

  test('a template without {source} used by two links maps their topics of one name together', () => {
    const { collisions } = staticTopicCollisions([
      link('a', 'dc1', 'dc3', ['orders'], template('replica.{topic}')),
      link('b', 'dc2', 'dc3', ['orders'], template('replica.{topic}'))
    ])
    assert.equal(collisions.length, 1)
    assert.equal(collisions[0]!.targetTopic, 'replica.orders')
  })

  test('excluded topics, other target clusters and prefixes of different sources do not collide', () => {
    const excluded: CollisionLink = {
      ...link('b', 'dc1', 'dc2', ['.*']),
      topics: { include: ['.*'], exclude: ['orders'] }
    }
    assert.deepEqual(staticTopicCollisions([link('a', 'dc1', 'dc2', ['orders']), excluded]).collisions, [])
    assert.deepEqual(
      staticTopicCollisions([link('a', 'dc1', 'dc2', ['orders']), link('b', 'dc1', 'dc3', ['orders'])]),
      {
        collisions: [],
        unchecked: []
      }
    )
    // dc1.* and dc2.* never meet: nothing to check even with patterns on both sides.
    assert.deepEqual(
      staticTopicCollisions([link('a', 'dc1', 'dc3', ['.*'], prefix), link('b', 'dc2', 'dc3', ['.*'], prefix)]),
      { collisions: [], unchecked: [] }
    )
  })

  test('patterns on both sides with namings that can meet are reported as unchecked, not refused', () => {
    const result = staticTopicCollisions([link('a', 'dc1', 'dc3', ['.*'], prefix), link('b', 'dc2', 'dc3', ['o.*'])])
    assert.deepEqual(result, { collisions: [], unchecked: [{ first: 0, second: 1, targetCluster: 'dc3' }] })
  })
})

describe('liveTopicCollisions', () => {
  test('target names written by two links, except identity links from different sources', () => {
    const found = liveTopicCollisions([
      { ...link('a', 'dc1', 'dc3', ['.*'], prefix), selected: ['orders', 'x'] },
      { ...link('b', 'dc2', 'dc3', ['.*']), selected: ['dc1.orders', 'x'] },
      { ...link('c', 'dc4', 'dc3', ['.*']), selected: ['x'] }
    ])
    assert.deepEqual(found, [
      {
        targetCluster: 'dc3',
        targetTopic: 'dc1.orders',
        writers: [
          { link: 'a', topic: 'orders' },
          { link: 'b', topic: 'dc1.orders' }
        ]
      }
    ])
  })
})
