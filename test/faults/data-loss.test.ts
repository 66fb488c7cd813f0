import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { bootstrapOf } from '../../tools/harness/harness.ts'
import { clusterConnection, uniqueTopic } from '../support/clusters.ts'
import { report, verifyYaml } from '../support/faults.ts'
import { kcatAuditSequences } from '../support/kcat.ts'
import { type ReplicatorProcess, spawnReplicator, waitForOutput, writeConfig } from '../support/process.ts'
import { admins, endOffsets, namedLinkYaml, waitFor } from '../support/replication.ts'
import { SequenceWriter } from '../support/sequence-writer.ts'
import { progressOf } from '../support/state.ts'

/**
 * Faults 4 and 5: the source loses data the replicator has not copied yet (retention moving the log
 * start, here with DeleteRecords, which is what retention does to a partition), and the source topic
 * is deleted and re-created under the same name. Both must be reported with exact offsets or ids,
 * by the replicator and by verify, and never fill the target with something else.
 */

const PARTITIONS = 4

async function stopGracefully(p: ReplicatorProcess): Promise<void> {
  p.child.kill('SIGTERM')
  await p.exited
}

describe('faults: source data loss', () => {
  const { dc1, dc2, close } = admins()
  after(close)

  test('retention deletes records before they were replicated: the replicator and verify name the exact offsets', async () => {
    const topic = uniqueTopic('faults.retention')
    await dc1.createTopics([{ name: topic, partitions: PARTITIONS }])
    const link = 'retention-loss'
    const yaml = namedLinkYaml(link, topic)
    const config = writeConfig(yaml)
    const writer = new SequenceWriter(clusterConnection(1), topic, PARTITIONS, 'r')
    try {
      await writer.write(1000)
      const first = spawnReplicator(config)
      await waitFor('first 1000 per partition committed', 60_000, async () =>
        (await progressOf(link, topic, PARTITIONS)).every(p => p === 1000n)
      )
      await stopGracefully(first)
      // While replication is down: 1000 more per partition, then the source drops 1000..1499.
      await writer.write(1000)
      await dc1.deleteRecords(topic, new Map([...Array(PARTITIONS).keys()].map(p => [p, 1500n])))

      const verified = await verifyYaml(yaml, link, [topic])
      assert.equal(verified.ok, false, 'verify fails: unreplicated records are gone from the source')
      for (const p of verified.partitions) assert.deepEqual(p.lostOnSource, { from: 1000, to: 1500, count: 500 })

      const second = spawnReplicator(config)
      try {
        // Evidence from every partition, not only from the first to notice: each names its lost offsets.
        const named = (p: number): RegExp =>
          new RegExp(
            `source data lost: offsets 1000\\.\\.1499 \\(500 records\\) were deleted on the source before they were replicated.*partition ${p}\\b`
          )
        await waitFor('every partition to name its lost offsets', 60_000, async () =>
          [...Array(PARTITIONS).keys()].every(p => named(p).test(second.output()))
        )
        // The policy stops the partitions: nothing after the gap is copied, so nothing is mixed up.
        assert.deepEqual(await endOffsets(dc2, topic, PARTITIONS), new Array<bigint>(PARTITIONS).fill(1000n))
      } finally {
        await stopGracefully(second)
      }
      report('retention-loss', {
        partitions: PARTITIONS,
        lostPerPartition: 500,
        reportedBy: ['replicator log KDR_ERR_SOURCE_DATA_LOST', 'verify lostOnSource']
      })
    } finally {
      await writer.close()
    }
  })

  test('source topic deleted and re-created: detected with both ids, the old copy is not mixed with the new topic', async () => {
    const topic = uniqueTopic('faults.recreate')
    await dc1.createTopics([{ name: topic, partitions: PARTITIONS }])
    const link = 'recreate'
    const yaml = namedLinkYaml(link, topic)
    const config = writeConfig(yaml)
    const old = new SequenceWriter(clusterConnection(1), topic, PARTITIONS, 'old')
    await old.write(500)
    await old.close()
    const replicator = spawnReplicator(config)
    try {
      await waitFor('old records committed', 60_000, async () =>
        (await progressOf(link, topic, PARTITIONS)).every(p => p === 500n)
      )
      const [before] = await dc1.describeTopics([topic])
      await dc1.deleteTopics([topic])
      await waitFor('topic re-created', 30_000, async () => {
        await dc1.createTopics([{ name: topic, partitions: PARTITIONS }])
        return true
      })
      // Metadata of the new topic may lag its creation on a busy broker: wait until it has its own id.
      const after = await waitFor('the re-created topic described', 30_000, async () => {
        const [described] = await dc1.describeTopics([topic])
        return described !== undefined && described.topicId !== before!.topicId ? described : undefined
      })
      const fresh = new SequenceWriter(clusterConnection(1), topic, PARTITIONS, 'new')
      await fresh.write(200)
      await fresh.close()
      await waitForOutput(replicator, 'KDR_ERR_SOURCE_TOPIC_RECREATED', 60_000)
      assert.match(replicator.output(), new RegExp(`topic id ${before!.topicId} -> ${after.topicId}`))
      await stopGracefully(replicator)

      assert.deepEqual(
        await endOffsets(dc2, topic, PARTITIONS),
        new Array<bigint>(PARTITIONS).fill(500n),
        'target unchanged'
      )
      const audit = await kcatAuditSequences(bootstrapOf(2), topic, 'old', new Array<number>(PARTITIONS).fill(500))
      assert.equal(audit.missing, 0)
      assert.equal(audit.otherTags, 0, 'no record of the new topic on the target')
      const verified = await verifyYaml(yaml, link, [topic])
      assert.equal(verified.ok, false)
      for (const p of verified.partitions) {
        assert.match(
          p.error ?? '',
          new RegExp(
            `source topic was re-created since it was replicated \\(topic id ${before!.topicId} -> ${after.topicId}\\)`
          )
        )
      }
      report('topic-recreated', {
        oldTopicId: before!.topicId,
        newTopicId: after.topicId,
        targetRecords: 500 * PARTITIONS,
        newRecordsOnTarget: audit.otherTags
      })
    } finally {
      replicator.child.kill('SIGKILL')
    }
  })
})
