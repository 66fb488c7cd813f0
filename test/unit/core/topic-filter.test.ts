import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { TopicFilter, isInternalTopic, isLiteralEntry } from '../../../src/core/topic-filter.ts'

const selected = (filter: TopicFilter, topics: readonly string[]): string[] => topics.filter(t => filter.matches(t))

describe('isLiteralEntry', () => {
  test('entries made only of topic-name characters are literal', () => {
    for (const entry of ['orders', 'my.topic', 'a_b-c.d', 'ORDERS', '0', 'a..b', '-', '.', '__consumer_offsets']) {
      assert.equal(isLiteralEntry(entry), true, entry)
    }
  })

  test('entries with any other character are regular expressions', () => {
    for (const entry of [
      'payments.*',
      '.*',
      'orders|payments',
      'a+',
      '[ab]',
      'a?',
      '^orders$',
      '(x)',
      'a b',
      'a/b',
      ''
    ]) {
      assert.equal(isLiteralEntry(entry), false, JSON.stringify(entry))
    }
  })
})

describe('isInternalTopic', () => {
  test('Kafka, kafka-dr, Schema Registry, Confluent, MirrorMaker 2 and Connect bookkeeping topics are internal', () => {
    for (const topic of [
      '__consumer_offsets',
      '__transaction_state',
      '__kdr_state',
      '__anything',
      '_schemas',
      '_confluent-metrics',
      '_confluent-command',
      'mm2-offsets.dc1.internal',
      'mm2-configs.dc1.internal',
      'mm2-status.dc1.internal',
      'mm2-offset-syncs.dc2.internal',
      'dc1.checkpoints.internal',
      'dc1.heartbeats.internal',
      'connect-offsets',
      'connect-configs',
      'connect-status'
    ]) {
      assert.equal(isInternalTopic(topic), true, topic)
    }
  })

  test('ordinary topics that merely resemble internal names are not internal', () => {
    for (const topic of [
      'orders',
      '_orders',
      'schemas',
      '_schemas2',
      'my_schemas',
      'confluent-data',
      'x__y',
      'mm2-offsets',
      'mm2-other.dc1.internal',
      'checkpoints.internal.backup',
      'dc1.checkpoints',
      'connect-offsets-backup',
      'my-connect-offsets',
      'heartbeats'
    ]) {
      assert.equal(isInternalTopic(topic), false, topic)
    }
  })
})

describe('TopicFilter', () => {
  test('a literal entry matches exactly that name, with dots taken literally', () => {
    const filter = new TopicFilter(['my.topic'])
    assert.equal(filter.matches('my.topic'), true)
    assert.equal(filter.matches('myXtopic'), false)
    assert.equal(filter.matches('my.topic2'), false)
    assert.equal(filter.matches('xmy.topic'), false)
    assert.equal(filter.matches('my'), false)
  })

  test('literal entries are case-sensitive', () => {
    const filter = new TopicFilter(['Orders'])
    assert.equal(filter.matches('Orders'), true)
    assert.equal(filter.matches('orders'), false)
  })

  test('a regular expression must match the whole topic name, not a substring', () => {
    const filter = new TopicFilter(['pay.*'])
    assert.equal(filter.matches('payments'), true)
    assert.equal(filter.matches('pay'), true)
    assert.equal(filter.matches('prepayments'), false)

    const suffix = new TopicFilter(['.*ments'])
    assert.equal(suffix.matches('payments'), true)
    assert.equal(suffix.matches('payments-v2'), false)

    const middle = new TopicFilter(['men+'])
    assert.equal(middle.matches('menn'), true)
    assert.equal(middle.matches('payments'), false, 'an unanchored "men+" would find "men" inside "payments"')
  })

  test('an alternation is anchored as a whole, not only its first and last branches', () => {
    const filter = new TopicFilter(['orders|payments'])
    assert.equal(filter.matches('orders'), true)
    assert.equal(filter.matches('payments'), true)
    assert.equal(filter.matches('orders-dlq'), false)
    assert.equal(filter.matches('old-payments'), false)
  })

  test('a regular expression with explicit anchors still works', () => {
    const filter = new TopicFilter(['^orders-[0-9]+$'])
    assert.equal(filter.matches('orders-12'), true)
    assert.equal(filter.matches('orders-x'), false)
  })

  test('a topic is selected when any include entry matches', () => {
    const filter = new TopicFilter(['orders', 'invoices', 'audit-.*'])
    assert.deepEqual(selected(filter, ['orders', 'invoices', 'audit-2024', 'audit', 'shipments']), [
      'orders',
      'invoices',
      'audit-2024'
    ])
  })

  test('no include entries select nothing', () => {
    const filter = new TopicFilter([])
    assert.equal(filter.matches('orders'), false)
  })

  test('exclude wins over include, for literal and regular-expression entries on both sides', () => {
    assert.equal(new TopicFilter(['orders'], ['orders']).matches('orders'), false)
    assert.equal(new TopicFilter(['orders'], ['ord.*']).matches('orders'), false)
    assert.equal(new TopicFilter(['.*'], ['orders']).matches('orders'), false)
    assert.equal(new TopicFilter(['.*'], ['ord.*']).matches('orders'), false)
    assert.equal(new TopicFilter(['.*'], ['orders']).matches('orders2'), true)
  })

  test('a literal exclude entry excludes only that exact name', () => {
    const filter = new TopicFilter(['.*'], ['my.topic'])
    assert.equal(filter.matches('my.topic'), false)
    assert.equal(filter.matches('myXtopic'), true)
  })

  test('a regular-expression exclude entry is anchored too', () => {
    const filter = new TopicFilter(['.*'], ['tmp-.*'])
    assert.equal(filter.matches('tmp-1'), false)
    assert.equal(filter.matches('my-tmp-1'), true)
  })

  test('internal topics never match, even with include [".*"] or when named literally', () => {
    const internal = [
      '__consumer_offsets',
      '__transaction_state',
      '__kdr_state',
      '_schemas',
      '_confluent-metrics',
      'mm2-offsets.x.internal',
      'x.checkpoints.internal',
      'connect-offsets'
    ]
    assert.deepEqual(selected(new TopicFilter(['.*']), internal), [])
    assert.deepEqual(selected(new TopicFilter(internal), internal), [])
    assert.deepEqual(selected(new TopicFilter(['_.*', 'mm2-.*', 'connect-.*', '.*internal']), internal), [])
  })

  test('the documented example: include ["orders", "payments.*"], exclude ["payments.internal.*"]', () => {
    const filter = new TopicFilter(['orders', 'payments.*'], ['payments.internal.*'])
    const topics = [
      'orders',
      'orders2',
      'ordersXpayments',
      'payments',
      'payments.eu',
      'payments-us',
      'payments.internal',
      'payments.internal.audit',
      'paymentsXinternal',
      'old.payments',
      '__consumer_offsets'
    ]
    // The exclude entry is a regular expression, so its dot matches any character: "paymentsXinternal" is excluded.
    assert.deepEqual(selected(filter, topics), ['orders', 'payments', 'payments.eu', 'payments-us'])
    assert.deepEqual(filter.literalIncludes, ['orders'])
  })

  test('literalIncludes lists only literal include entries, once each, in order', () => {
    const filter = new TopicFilter(['b.topic', 'a.*', 'a', 'b.topic', 'c|d'], ['x', 'y.*'])
    assert.deepEqual(filter.literalIncludes, ['b.topic', 'a'])
    assert.deepEqual(new TopicFilter(['.*']).literalIncludes, [])
  })

  test('literalIncludes returns a copy that callers cannot use to change the filter', () => {
    const filter = new TopicFilter(['orders'])
    filter.literalIncludes.push('payments')
    assert.deepEqual(filter.literalIncludes, ['orders'])
    assert.equal(filter.matches('payments'), false)
  })
})
