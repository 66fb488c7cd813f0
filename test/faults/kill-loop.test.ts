import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { bootstrapOf } from '../../tools/harness/harness.ts'
import { clusterConnection, uniqueTopic } from '../support/clusters.ts'
import { LONG, report, verifyYaml } from '../support/faults.ts'
import { kcatAuditSequences } from '../support/kcat.ts'
import { type ReplicatorProcess, spawnReplicator, waitForOutput, writeConfig } from '../support/process.ts'
import { admins, endOffsets, namedLinkYaml, waitFor } from '../support/replication.ts'
import { SequenceWriter } from '../support/sequence-writer.ts'
import { progressOf } from '../support/state.ts'

/**
 * Fault 1: `kill -9` of the replicator every 10 s while records are produced across 8 partitions
 * (CI tier 200,000 records, long tier 1,000,000). Nothing may be lost, every partition keeps its
 * order, and duplicates may only be the replay of the last uncommitted window after each kill.
 */

const PARTITIONS = 8
const TOTAL = LONG ? 1_000_000 : 200_000
const RATE = LONG ? 8_000 : 5_000
const KILL_EVERY_MS = 10_000

test(`kill -9 every 10 s while ${TOTAL} records are produced: none lost, order kept, duplicates only as replays`, async () => {
  const { dc1, dc2, close } = admins()
  const topic = uniqueTopic('faults.kill')
  await dc1.createTopics([{ name: topic, partitions: PARTITIONS }])
  const link = 'kill-loop'
  const yaml = namedLinkYaml(link, topic)
  const config = writeConfig(yaml)
  const writer = new SequenceWriter(clusterConnection(1), topic, PARTITIONS, 'k', 100)
  let replicator: ReplicatorProcess | null = null
  let kills = 0
  const perPartition = TOTAL / PARTITIONS
  try {
    let done = false
    const producing = writer.writeAtRate(perPartition, RATE).then(() => (done = true))
    while (!done) {
      replicator = spawnReplicator(config)
      await waitForOutput(replicator, 'partition replication started', 30_000)
      await Promise.race([sleep(KILL_EVERY_MS), producing])
      if (done) break
      replicator.child.kill('SIGKILL')
      await replicator.exited
      replicator = null
      kills++
    }
    await producing
    const finishedAt = Date.now()
    replicator ??= spawnReplicator(config)
    await waitFor('progress at the source end', 180_000, async () => {
      const progress = await progressOf(link, topic, PARTITIONS)
      return progress.every(p => p === BigInt(perPartition))
    })
    const catchUpMs = Date.now() - finishedAt
    replicator.child.kill('SIGTERM')
    await replicator.exited
    replicator = null

    const verified = await verifyYaml(yaml, link, [topic])
    const audit = await kcatAuditSequences(bootstrapOf(2), topic, 'k', new Array<number>(PARTITIONS).fill(perPartition))
    const targetRecords = (await endOffsets(dc2, topic, PARTITIONS)).reduce((a, b) => a + b, 0n)
    report('kill-loop', {
      records: perPartition * PARTITIONS,
      kills,
      targetRecords: Number(targetRecords),
      lost: audit.missing,
      duplicates: audit.duplicates,
      verifyDuplicates: verified.totals.duplicates,
      catchUpMs
    })
    assert.ok(kills >= (LONG ? 10 : 3), `only ${kills} kills happened`)
    assert.equal(verified.ok, true, `verify: ${JSON.stringify(verified.totals)}`)
    assert.equal(verified.totals.missing, 0)
    assert.equal(verified.totals.reordered, 0)
    assert.equal(verified.totals.matched, perPartition * PARTITIONS)
    assert.equal(audit.missing, 0, 'kcat: nothing lost')
    assert.equal(audit.forwardJumps, 0, 'kcat: no partition skipped ahead')
    assert.equal(audit.misplaced, 0, 'kcat: every record in its own partition')
    assert.equal(audit.duplicates, verified.totals.duplicates, 'verify and kcat count the same replays')
  } finally {
    replicator?.child.kill('SIGKILL')
    await writer.close()
    await close()
  }
})
