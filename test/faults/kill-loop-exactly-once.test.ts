import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { bootstrapOf } from '../../tools/harness/harness.ts'
import { clusterConnection, uniqueTopic } from '../support/clusters.ts'
import { waitForCommittedCopies } from '../support/exactly-once.ts'
import { LONG, report } from '../support/faults.ts'
import { kcatAuditSequences } from '../support/kcat.ts'
import { prng } from '../support/prng.ts'
import { type ReplicatorProcess, spawnReplicator, waitForOutput, writeConfig } from '../support/process.ts'
import { admins, namedLinkYaml } from '../support/replication.ts'
import { SequenceWriter } from '../support/sequence-writer.ts'

/**
 * Fault 1, exactly-once: `kill -9` of the replicator every 2-3 s while records are produced across 8
 * partitions (CI tier 56,000 records, long tier 400,000). A kill lands in the middle of a transaction
 * (records of a commit interval and their progress commit together); the next replicator's
 * InitProducerId aborts it and resumes from the committed progress. A read_committed reader of the
 * target (kcat) must see every source record exactly once, in order: unlike the at-least-once
 * kill loop, no replay is allowed.
 */

const PARTITIONS = 8
const TOTAL = LONG ? 400_000 : 56_000
const RATE = LONG ? 8_000 : 2_000
const MIN_KILLS = LONG ? 15 : 5

test(`exactly-once: kill -9 every 2-3 s while ${TOTAL} records are produced: each record once, in order`, async () => {
  const { dc1, close } = admins()
  const topic = uniqueTopic('faults.kill-eos')
  await dc1.createTopics([{ name: topic, partitions: PARTITIONS }])
  const link = `${topic}-link`
  const config = writeConfig(namedLinkYaml(link, topic, undefined, { delivery: 'exactly-once' }))
  const writer = new SequenceWriter(clusterConnection(1), topic, PARTITIONS, 'x', 100)
  const random = prng(0x0e05)
  let replicator: ReplicatorProcess | null = null
  let kills = 0
  const perPartition = TOTAL / PARTITIONS
  try {
    let done = false
    const producing = writer.writeAtRate(perPartition, RATE).then(() => (done = true))
    while (!done) {
      replicator = spawnReplicator(config)
      await waitForOutput(replicator, 'partition replication started', 30_000)
      // The fault schedule, not a wait for evidence: the kill lands wherever the replicator is.
      await Promise.race([sleep(2_000 + Math.floor(random() * 1_000)), producing])
      if (done) break
      replicator.child.kill('SIGKILL')
      await replicator.exited
      replicator = null
      kills++
    }
    await producing
    const finishedAt = Date.now()
    replicator ??= spawnReplicator(config)
    await waitForCommittedCopies({
      link,
      topic,
      sourceEnds: new Array<bigint>(PARTITIONS).fill(BigInt(perPartition)),
      records: new Array<number>(PARTITIONS).fill(perPartition),
      timeoutMs: 120_000
    })
    const catchUpMs = Date.now() - finishedAt
    replicator.child.kill('SIGTERM')
    assert.equal(await replicator.exited, 0, 'a stopped replicator exits 0')
    replicator = null

    const expected = new Array<number>(PARTITIONS).fill(perPartition)
    const committed = await kcatAuditSequences(bootstrapOf(2), topic, 'x', expected, 'read_committed')
    // What the kills left behind: copies in transactions that were aborted (a read_uncommitted reader sees them).
    const everything = await kcatAuditSequences(bootstrapOf(2), topic, 'x', expected, 'read_uncommitted')
    report('kill-loop-exactly-once', {
      records: TOTAL,
      kills,
      committedRecords: committed.records,
      abortedCopies: everything.records - committed.records,
      duplicates: committed.duplicates,
      catchUpMs
    })
    assert.ok(kills >= MIN_KILLS, `only ${kills} kills happened`)
    assert.equal(committed.missing, 0, 'read_committed: nothing lost')
    assert.equal(committed.duplicates, 0, 'read_committed: no record twice')
    // With nothing missing and nothing twice, no forward jump means every partition is in source order.
    assert.equal(committed.forwardJumps, 0, 'read_committed: order kept per partition')
    assert.equal(committed.misplaced, 0, 'read_committed: every record in its own partition')
    assert.equal(committed.otherTags, 0, 'read_committed: nothing but the source records')
    assert.equal(committed.records, TOTAL, 'read_committed: exactly the source records')
  } finally {
    replicator?.child.kill('SIGKILL')
    await writer.close()
    await close()
  }
})
