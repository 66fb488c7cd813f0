import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { type ConfigValue, configChanges, timestampTypeCorrection } from '../../../src/core/topic-configs.ts'

/**
 * The decision for an existing target topic with LogAppendTime (docs/replication.md, Timestamps): it
 * is changed to CreateTime, with a warning naming the topic, because record timestamps must be
 * preserved; a topic that already keeps them is left alone.
 */
const config = (value: string | null, topicLevel: boolean): Map<string, ConfigValue> =>
  new Map([['message.timestamp.type', { value, topicLevel }]])

describe('LogAppendTime on a target topic', () => {
  test('is changed to CreateTime, with a message that names the topic and both values', () => {
    for (const topicLevel of [true, false]) {
      const fix = timestampTypeCorrection('orders', config('LogAppendTime', topicLevel))
      assert.ok(fix !== null)
      assert.deepEqual(fix.changes, { 'message.timestamp.type': 'CreateTime' })
      assert.equal(
        fix.message,
        'target topic orders had message.timestamp.type=LogAppendTime: changed to CreateTime so that replicated records keep their source timestamps'
      )
    }
  })

  test('a CreateTime target, or one that does not report the key, is not changed', () => {
    assert.equal(timestampTypeCorrection('orders', config('CreateTime', true)), null)
    assert.equal(timestampTypeCorrection('orders', config('CreateTime', false)), null)
    assert.equal(timestampTypeCorrection('orders', new Map()), null)
  })

  test('config sync makes the same decision as the adoption check', () => {
    const target = config('LogAppendTime', true)
    assert.deepEqual(configChanges(new Map(), target), timestampTypeCorrection('orders', target)?.changes)
  })
})
