import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  type ConfigValue,
  FORCED_TARGET_CONFIGS,
  SYNCED_TOPIC_CONFIGS,
  TIMESTAMP_LIMIT_CONFIGS,
  configChanges,
  configsForNewTarget,
  targetTimestampWarnings
} from '../../../src/core/topic-configs.ts'

const LONG_MAX = '9223372036854775807'

/** Topic-level overrides, as describeConfigs reports them. */
const overrides = (entries: Record<string, string | null>): Map<string, ConfigValue> =>
  new Map(Object.entries(entries).map(([name, value]) => [name, { value, topicLevel: true }]))

/** Broker or cluster defaults as describeConfigs reports them for a topic. */
const defaults = (entries: Record<string, string | null>): Map<string, ConfigValue> =>
  new Map(Object.entries(entries).map(([name, value]) => [name, { value, topicLevel: false }]))

const merged = (...maps: Map<string, ConfigValue>[]): Map<string, ConfigValue> => new Map(maps.flatMap(m => [...m]))

/** Keys that must never reach a target topic, whatever the source says. */
const NEVER_COPIED = [
  'min.insync.replicas',
  'unclean.leader.election.enable',
  'leader.replication.throttled.replicas',
  'follower.replication.throttled.replicas',
  'message.timestamp.before.max.ms',
  'message.timestamp.after.max.ms',
  'message.timestamp.difference.max.ms',
  'message.downconversion.enable',
  'confluent.placement.constraints',
  'remote.storage.enable',
  'some.future.key'
]

describe('configsForNewTarget', () => {
  test('copies allow-listed topic-level overrides and adds message.timestamp.type=CreateTime', () => {
    const source = overrides({
      'cleanup.policy': 'compact',
      'retention.ms': '604800000',
      'max.message.bytes': '2097152',
      'segment.bytes': '536870912',
      'compression.type': 'zstd'
    })
    assert.deepEqual(configsForNewTarget(source), {
      'cleanup.policy': 'compact',
      'retention.ms': '604800000',
      'max.message.bytes': '2097152',
      'segment.bytes': '536870912',
      'compression.type': 'zstd',
      'message.timestamp.type': 'CreateTime'
    })
  })

  test('every allow-listed key is copied when set on the source topic', () => {
    const source = overrides(Object.fromEntries([...SYNCED_TOPIC_CONFIGS].map(name => [name, `v-${name}`])))
    const result = configsForNewTarget(source)
    for (const name of SYNCED_TOPIC_CONFIGS) assert.equal(result[name], `v-${name}`, name)
    assert.equal(Object.keys(result).length, SYNCED_TOPIC_CONFIGS.size + 1)
  })

  test('broker defaults and null values are not copied', () => {
    const source = merged(
      defaults({ 'retention.ms': '604800000', 'cleanup.policy': 'delete', 'segment.bytes': '1073741824' }),
      overrides({ 'retention.bytes': null })
    )
    assert.deepEqual(configsForNewTarget(source), { 'message.timestamp.type': 'CreateTime' })
  })

  test('CreateTime is forced even when the source topic uses LogAppendTime', () => {
    assert.deepEqual(configsForNewTarget(overrides({ 'message.timestamp.type': 'LogAppendTime' })), {
      'message.timestamp.type': 'CreateTime'
    })
    assert.deepEqual(configsForNewTarget(defaults({ 'message.timestamp.type': 'LogAppendTime' })), {
      'message.timestamp.type': 'CreateTime'
    })
    assert.deepEqual(configsForNewTarget(new Map()), { 'message.timestamp.type': 'CreateTime' })
    assert.deepEqual(FORCED_TARGET_CONFIGS, { 'message.timestamp.type': 'CreateTime' })
  })

  test('durability, throttling, timestamp-limit and unknown keys are never copied', () => {
    const source = overrides(Object.fromEntries(NEVER_COPIED.map(name => [name, '1'])))
    assert.deepEqual(configsForNewTarget(source), { 'message.timestamp.type': 'CreateTime' })
    for (const name of NEVER_COPIED) assert.equal(SYNCED_TOPIC_CONFIGS.has(name), false, name)
  })

  test('the allow-list has no timestamp or replication settings', () => {
    for (const name of SYNCED_TOPIC_CONFIGS) {
      assert.doesNotMatch(name, /^message\.timestamp\.|replicas|insync|unclean/, name)
    }
  })
})

describe('configChanges', () => {
  test('returns only keys whose wanted value differs from the target', () => {
    const source = overrides({ 'retention.ms': '1000', 'cleanup.policy': 'compact', 'segment.ms': '60000' })
    const target = overrides({
      'retention.ms': '1000',
      'cleanup.policy': 'delete',
      'message.timestamp.type': 'CreateTime'
    })
    assert.deepEqual(configChanges(source, target), { 'cleanup.policy': 'compact', 'segment.ms': '60000' })
  })

  test('nothing to change when the target already matches', () => {
    const source = overrides({ 'retention.ms': '1000' })
    const target = overrides({ 'retention.ms': '1000', 'message.timestamp.type': 'CreateTime' })
    assert.deepEqual(configChanges(source, target), {})
  })

  test('sets CreateTime on a target that is missing it or uses LogAppendTime', () => {
    assert.deepEqual(configChanges(new Map(), new Map()), { 'message.timestamp.type': 'CreateTime' })
    assert.deepEqual(configChanges(new Map(), overrides({ 'message.timestamp.type': 'LogAppendTime' })), {
      'message.timestamp.type': 'CreateTime'
    })
  })

  test('never removes or resets target-only overrides', () => {
    const source = overrides({ 'retention.ms': '1000' })
    const target = overrides({
      'retention.ms': '1000',
      'message.timestamp.type': 'CreateTime',
      'min.insync.replicas': '2',
      'retention.bytes': '1073741824',
      'unclean.leader.election.enable': 'false'
    })
    assert.deepEqual(configChanges(source, target), {})
  })

  test('a source override of a non-synced key does not change the target', () => {
    const source = overrides({ 'min.insync.replicas': '3', 'message.timestamp.before.max.ms': '1000' })
    const target = overrides({ 'min.insync.replicas': '1', 'message.timestamp.type': 'CreateTime' })
    assert.deepEqual(configChanges(source, target), {})
  })

  test('a source broker default is not pushed onto the target', () => {
    const source = defaults({ 'retention.ms': '604800000' })
    const target = merged(overrides({ 'retention.ms': '1000' }), defaults({ 'message.timestamp.type': 'CreateTime' }))
    assert.deepEqual(configChanges(source, target), {})
  })
})

describe('targetTimestampWarnings', () => {
  test('warns about a finite message.timestamp.before.max.ms, naming topic, key and value', () => {
    const warnings = targetTimestampWarnings('orders', overrides({ 'message.timestamp.before.max.ms': '86400000' }))
    assert.equal(warnings.length, 1)
    assert.match(warnings[0]!, /orders/)
    assert.match(warnings[0]!, /message\.timestamp\.before\.max\.ms=86400000/)
  })

  test('warns about a finite message.timestamp.difference.max.ms, also as a broker default', () => {
    const warnings = targetTimestampWarnings('orders', defaults({ 'message.timestamp.difference.max.ms': '3600000' }))
    assert.equal(warnings.length, 1)
    assert.match(warnings[0]!, /message\.timestamp\.difference\.max\.ms=3600000/)
  })

  test('a limit of 0 is finite and warned about', () => {
    assert.equal(targetTimestampWarnings('t', overrides({ 'message.timestamp.before.max.ms': '0' })).length, 1)
  })

  test('no warning for the Long.MAX_VALUE default, a null value or an absent key', () => {
    const target = merged(
      defaults({ 'message.timestamp.before.max.ms': LONG_MAX }),
      overrides({ 'message.timestamp.difference.max.ms': LONG_MAX, 'message.timestamp.type': 'CreateTime' })
    )
    assert.deepEqual(targetTimestampWarnings('orders', target), [])
    assert.deepEqual(targetTimestampWarnings('orders', overrides({ 'message.timestamp.before.max.ms': null })), [])
    assert.deepEqual(targetTimestampWarnings('orders', new Map()), [])
  })

  test('no warning for message.timestamp.after.max.ms, which only limits future timestamps', () => {
    assert.deepEqual(targetTimestampWarnings('orders', defaults({ 'message.timestamp.after.max.ms': '3600000' })), [])
    assert.deepEqual(TIMESTAMP_LIMIT_CONFIGS, [
      'message.timestamp.before.max.ms',
      'message.timestamp.difference.max.ms'
    ])
  })

  test('does not warn about the timestamp type (LogAppendTime is corrected, see timestampTypeCorrection)', () => {
    assert.deepEqual(targetTimestampWarnings('orders', defaults({ 'message.timestamp.type': 'LogAppendTime' })), [])
    assert.deepEqual(targetTimestampWarnings('orders', defaults({ 'message.timestamp.type': 'CreateTime' })), [])
  })

  test('every problem gets its own warning', () => {
    const target = overrides({
      'message.timestamp.before.max.ms': '1000',
      'message.timestamp.difference.max.ms': '2000',
      'message.timestamp.after.max.ms': '3000',
      'message.timestamp.type': 'LogAppendTime'
    })
    const warnings = targetTimestampWarnings('orders', target)
    assert.equal(warnings.length, 2)
    assert.match(warnings[0]!, /before\.max\.ms=1000/)
    assert.match(warnings[1]!, /difference\.max\.ms=2000/)
  })
})
