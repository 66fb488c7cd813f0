import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseConfig } from '../../src/config/index.ts'
import { translateGroup } from '../../src/failover/translate.ts'
import { RecordProducer, type RecordToProduce } from '../../src/kafka/index.ts'
import { bootstrapOf } from '../../tools/harness/harness.ts'
import { clusterConnection, uniqueTopic } from '../support/clusters.ts'
import { consumeAndCommit, consumeRest } from '../support/groups.ts'
import { kcatReadAll } from '../support/kcat.ts'
import { admins, configYaml, endOffsets, startReplicator, waitFor } from '../support/replication.ts'
import { progressOf } from '../support/state.ts'

/**
 * A compacted source topic with real gaps (the broker's log cleaner removed superseded records): a
 * group whose committed offset points into a gap resumes on the target at the next surviving record,
 * with nothing skipped and nothing read twice.
 */
test('compacted topic: a committed offset inside a compaction gap translates to the next record', async () => {
  const { dc1, dc2, close } = admins()
  const producer = new RecordProducer(clusterConnection(1))
  const topic = uniqueTopic('compacted')
  const group = `${topic}.app`
  try {
    await dc1.createTopics([
      {
        name: topic,
        partitions: 1,
        configs: {
          'cleanup.policy': 'compact',
          'segment.ms': '100',
          'min.cleanable.dirty.ratio': '0.01',
          'min.compaction.lag.ms': '0',
          'delete.retention.ms': '100'
        }
      }
    ])
    // 40 rounds over 20 keys, in separate sends with pauses so segments roll and the cleaner can work.
    // `latest` is what a fully compacted log keeps of each key.
    let seq = 0
    const latest = new Map<string, string>()
    const record = (key: string): RecordToProduce => {
      const value = `v${seq++}`
      latest.set(key, value)
      return {
        partition: 0,
        timestamp: BigInt(Date.now()),
        key: Buffer.from(key),
        value: Buffer.from(value),
        headers: []
      }
    }
    for (let round = 0; round < 40; round++) {
      await producer.send(
        topic,
        Array.from({ length: 20 }, (_, k) => record(`key-${k}`))
      )
      await sleep(30)
    }
    // A last round for the even keys only: the odd keys' latest values (previous round) are then
    // interleaved with superseded even ones, so compaction leaves gaps between surviving records.
    await producer.send(
      topic,
      Array.from({ length: 10 }, (_, i) => record(`key-${2 * i}`))
    )
    // Wait for the log's final form rather than for some cleaning: every data key once, with its latest
    // value. Ticks (each a new key, so the cleaner never removes one) roll the active segment so the
    // cleaner can take the rest. Once there, no record is superseded any more, so the cleaner has
    // nothing left to remove: the offsets the test relies on are fixed, however busy the machine.
    let tick = 0
    await waitFor('the log cleaner to compact every key to its latest value', 180_000, async () => {
      await producer.send(topic, [record(`tick-${tick++}`)])
      const data = (await kcatReadAll(bootstrapOf(1), topic)).filter(r => r.key?.startsWith('key-'))
      return data.length === 20 && data.every(r => r.payload === latest.get(r.key!))
    })
    // The target topic is created with the source's policy: plain deletion keeps every copy there.
    await dc1.setTopicConfigs(topic, { 'cleanup.policy': 'delete', 'retention.ms': '-1' })
    const survivors = (await kcatReadAll(bootstrapOf(1), topic)).sort((a, b) => a.offset - b.offset)
    // The first gap: the group stops before the record after it and commits (last read + 1), an offset with no record.
    const index = survivors.findIndex((r, i) => i > 0 && r.offset > survivors[i - 1]!.offset + 1)
    assert.ok(index > 0, 'compaction left a gap')
    const read = await consumeAndCommit(1, group, topic, new Map([[0, BigInt(survivors[index]!.offset)]]))
    assert.equal(read.get(0)?.length, index)

    const yaml = configYaml(`  - source: dc1
    target: dc2
    checkpointIntervalMs: 1000
    syncGroupOffsets: true
    topics: { include: ["${topic}"] }
    groups: { include: ["${group}"] }
`)
    const running = await startReplicator(yaml)
    try {
      const end = await endOffsets(dc1, topic, 1)
      await waitFor('replicated', 30_000, async () => (await progressOf('dc1->dc2', topic, 1))[0] === end[0])
      await waitFor('group offsets synced', 15_000, async () => {
        await running.replicator.links[0]!.checkpoint()
        return (await dc2.groupOffsets(group)).get(topic)?.get(0) !== undefined
      })
    } finally {
      await running.stop()
    }
    const translation = await translateGroup(parseConfig(yaml, '<test>'), 'dc1->dc2', group)
    assert.equal(translation.rows[0]?.exact, true)
    assert.equal(
      translation.rows[0]?.sourceOffset,
      BigInt(survivors[index - 1]!.offset) + 1n,
      'committed inside the gap'
    )

    const expected = survivors.slice(index).map(r => r.payload)
    const rest = await consumeRest(2, group, topic, expected.length)
    assert.deepEqual(rest.get(0), expected, 'exactly the records after the gap: nothing skipped, nothing read twice')
  } finally {
    await producer.close()
    await close()
  }
})
