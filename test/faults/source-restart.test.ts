import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { bootstrapOf, restart } from '../../tools/harness/harness.ts'
import { clusterConnection, uniqueTopic } from '../support/clusters.ts'
import { LONG, report, verifyYaml } from '../support/faults.ts'
import { kcatAuditSequences } from '../support/kcat.ts'
import { spawnReplicator, waitForOutput, writeConfig } from '../support/process.ts'
import { admins, namedLinkYaml, waitFor } from '../support/replication.ts'
import { SequenceWriter } from '../support/sequence-writer.ts'
import { progressOf } from '../support/state.ts'

/**
 * Fault 3: the source broker is restarted (controlled shutdown, then started from its data) while
 * records are produced and replicated; the long tier does it three times. Nothing may be lost.
 */

const PARTITIONS = 8
const RESTARTS = LONG ? 3 : 1

test(`source broker restarted ${RESTARTS} time(s) mid-stream: none lost`, async () => {
  const { dc1, close } = admins()
  const topic = uniqueTopic('faults.source-restart')
  await dc1.createTopics([{ name: topic, partitions: PARTITIONS }])
  const link = 'source-restart'
  const yaml = namedLinkYaml(link, topic)
  const writer = new SequenceWriter(clusterConnection(1), topic, PARTITIONS, 's', 200)
  const replicator = spawnReplicator(writeConfig(yaml))
  try {
    await waitForOutput(replicator, 'partition replication started', 30_000)
    const perPartition = LONG ? 30_000 : 10_000
    const producing = writer.writeAtRate(perPartition, 3_000)
    const restartsMs: number[] = []
    for (let i = 0; i < RESTARTS; i++) {
      await sleep(5_000)
      const t = Date.now()
      await restart(1)
      restartsMs.push(Date.now() - t)
    }
    await producing
    const doneAt = Date.now()
    await waitFor('progress at the source end', 180_000, async () =>
      (await progressOf(link, topic, PARTITIONS)).every(p => p === BigInt(perPartition))
    )
    const catchUpMs = Date.now() - doneAt
    replicator.child.kill('SIGTERM')
    assert.equal(await replicator.exited, 0)

    const verified = await verifyYaml(yaml, link, [topic])
    const audit = await kcatAuditSequences(bootstrapOf(2), topic, 's', new Array<number>(PARTITIONS).fill(perPartition))
    report('source-restart', {
      records: perPartition * PARTITIONS,
      restarts: RESTARTS,
      restartMs: restartsMs,
      writerRetries: writer.retries,
      lost: audit.missing,
      duplicates: audit.duplicates,
      catchUpMs
    })
    assert.equal(verified.ok, true, `verify: ${JSON.stringify(verified.totals)}`)
    assert.equal(verified.totals.matched, perPartition * PARTITIONS)
    assert.equal(audit.missing, 0, 'kcat: nothing lost')
    assert.equal(audit.forwardJumps, 0)
  } finally {
    replicator.child.kill('SIGKILL')
    await writer.close()
    await close()
  }
})
