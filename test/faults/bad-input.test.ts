import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { bootstrapOf } from '../../tools/harness/harness.ts'
import { RecordProducer } from '../../src/kafka/index.ts'
import { clusterConnection, uniqueTopic } from '../support/clusters.ts'
import { report, verifyYaml } from '../support/faults.ts'
import { kcatAuditSequences } from '../support/kcat.ts'
import { spawnReplicator, waitForOutput, writeConfig } from '../support/process.ts'
import { admins, configYaml, endOffsets, namedLinkYaml, waitFor } from '../support/replication.ts'
import { SequenceWriter } from '../support/sequence-writer.ts'
import { progressOf } from '../support/state.ts'

/**
 * Fault 6: bad input. Each case gets its documented error (docs/replication.md, "Nothing silent")
 * and loses nothing: an oversized record, a malformed config, a topic in the include list that does
 * not exist yet, a target topic that exists with fewer partitions than the source.
 */

describe('faults: bad input', () => {
  const { dc1, dc2, close } = admins()
  after(close)

  test('an oversized record stops its partition at its offset; everything before it is on the target', async () => {
    const topic = uniqueTopic('faults.oversize')
    await dc1.createTopics([{ name: topic, partitions: 1 }])
    await dc2.createTopics([{ name: topic, partitions: 1, configs: { 'max.message.bytes': '100000' } }])
    const link = 'oversize'
    const writer = new SequenceWriter(clusterConnection(1), topic, 1, 'b')
    await writer.write(300)
    await writer.close()
    const producer = new RecordProducer(clusterConnection(1))
    await producer.send(topic, [
      { partition: 0, timestamp: BigInt(Date.now()), key: null, value: Buffer.alloc(300_000, 1), headers: [] }
    ])
    await producer.close()
    const replicator = spawnReplicator(writeConfig(namedLinkYaml(link, topic)))
    try {
      await waitForOutput(replicator, 'partition stopped', 60_000)
      assert.match(
        replicator.output(),
        /target refused the record \(MESSAGE_TOO_LARGE, 300000 bytes of key and value\).*Policy onRecordError=stop.*partition 0, offset 300/
      )
      assert.deepEqual(await endOffsets(dc2, topic, 1), [300n])
      await waitFor(
        'progress just before the refused record',
        20_000,
        async () => (await progressOf(link, topic, 1))[0] === 300n
      )
    } finally {
      replicator.child.kill('SIGTERM')
      await replicator.exited
    }
    const audit = await kcatAuditSequences(bootstrapOf(2), topic, 'b', [300])
    assert.equal(audit.missing, 0)
    report('oversized-record', { stoppedAt: 300, copiedBefore: 300 })
  })

  test('a malformed config exits 2 naming every bad key, before connecting anywhere', async () => {
    const bad = configYaml(
      '  - source: dc1\n    target: dcX\n    topics: { include: ["(unclosed"] }\n    commitIntervalMs: -5\n'
    )
    const replicator = spawnReplicator(writeConfig(bad))
    assert.equal(await replicator.exited, 2)
    const out = replicator.output()
    assert.match(out, /links\[0\]\.target: unknown cluster "dcX"/)
    assert.match(out, /links\[0\]\.topics\.include\[0\]: invalid regular expression/)
    assert.match(out, /links\[0\]\.commitIntervalMs: expected an integer >= 50/)
  })

  test('a topic in the include list that does not exist: warned, then copied from its first record once created', async () => {
    const topic = uniqueTopic('faults.later')
    const link = 'later'
    const yaml = namedLinkYaml(link, topic)
    const replicator = spawnReplicator(writeConfig(yaml))
    try {
      await waitForOutput(
        replicator,
        `topic ${topic} is in the include list but does not exist on dc1; waiting for it`,
        30_000
      )
      await dc1.createTopics([{ name: topic, partitions: 2 }])
      const writer = new SequenceWriter(clusterConnection(1), topic, 2, 'l')
      await writer.write(500)
      await writer.close()
      await waitFor('copied', 60_000, async () => (await progressOf(link, topic, 2)).every(p => p === 500n))
    } finally {
      replicator.child.kill('SIGTERM')
      await replicator.exited
    }
    const verified = await verifyYaml(yaml, link, [topic])
    assert.equal(verified.ok, true)
    assert.equal(verified.totals.matched, 1000)
  })

  test('a target topic with fewer partitions than the source is grown (with a warning); no record lands elsewhere', async () => {
    const topic = uniqueTopic('faults.fewer')
    await dc1.createTopics([{ name: topic, partitions: 4 }])
    await dc2.createTopics([{ name: topic, partitions: 2 }])
    const writer = new SequenceWriter(clusterConnection(1), topic, 4, 'f')
    await writer.write(250)
    await writer.close()
    const link = 'fewer'
    const yaml = namedLinkYaml(link, topic)
    const replicator = spawnReplicator(writeConfig(yaml))
    try {
      await waitForOutput(
        replicator,
        `existing target topic ${topic} had 2 partitions, the source 4: partitions added`,
        30_000
      )
      await waitFor('copied', 60_000, async () => (await progressOf(link, topic, 4)).every(p => p === 250n))
    } finally {
      replicator.child.kill('SIGTERM')
      await replicator.exited
    }
    const audit = await kcatAuditSequences(bootstrapOf(2), topic, 'f', [250, 250, 250, 250])
    assert.equal(audit.missing, 0)
    assert.equal(audit.misplaced, 0, 'every record in the partition it came from')
    assert.equal((await verifyYaml(yaml, link, [topic])).ok, true)
  })
})
