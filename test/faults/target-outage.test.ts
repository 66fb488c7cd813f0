import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { bootstrapOf, start, stop } from '../../tools/harness/harness.ts'
import { clusterConnection, uniqueTopic } from '../support/clusters.ts'
import { LONG, memory, report, verifyYaml } from '../support/faults.ts'
import { kcatAuditSequences } from '../support/kcat.ts'
import { spawnReplicator, waitForOutput, writeConfig } from '../support/process.ts'
import { admins, namedLinkYaml, waitFor } from '../support/replication.ts'
import { SequenceWriter } from '../support/sequence-writer.ts'
import { progressOf } from '../support/state.ts'

/**
 * Fault 2: the target cluster is stopped for 60 s (long tier: 5 minutes) while 1 KiB records keep
 * arriving on the source. The replicator must not lose anything, keep its memory bounded while the
 * backlog grows, and catch up once the target is back.
 */

const PARTITIONS = 8
const OUTAGE_MS = LONG ? 300_000 : 60_000
const RATE = 2_000 // 2 MB/s of 1 KiB records: the backlog during the outage outgrows the buffers many times
const RSS_LIMIT_MIB = 512

test(`target cluster stopped for ${OUTAGE_MS / 1000} s mid-stream: none lost, memory bounded, catches up`, async () => {
  const { dc1, close } = admins()
  const topic = uniqueTopic('faults.outage')
  await dc1.createTopics([{ name: topic, partitions: PARTITIONS }])
  const link = 'target-outage'
  const yaml = namedLinkYaml(link, topic)
  const writer = new SequenceWriter(clusterConnection(1), topic, PARTITIONS, 'o', 1024)
  const replicator = spawnReplicator(writeConfig(yaml))
  const pid = replicator.child.pid!
  let stopped = false
  try {
    await waitForOutput(replicator, 'partition replication started', 30_000)
    const seconds = (OUTAGE_MS + 30_000) / 1000
    const perPartition = Math.round((RATE * seconds) / PARTITIONS)
    const producing = writer.writeAtRate(perPartition, RATE)
    await sleep(10_000)
    await stop(2)
    stopped = true
    const outageStart = Date.now()
    const samples: number[] = []
    while (Date.now() - outageStart < OUTAGE_MS) {
      const m = memory(pid)
      if (m !== null) samples.push(m.rssMiB)
      await sleep(1000)
    }
    await start(2)
    stopped = false
    const backAt = Date.now()
    await producing
    const producedAt = Date.now()
    await waitFor('progress at the source end', 300_000, async () =>
      (await progressOf(link, topic, PARTITIONS)).every(p => p === BigInt(perPartition))
    )
    const caughtUpMs = Date.now() - Math.max(backAt, producedAt)
    const peak = memory(pid)?.peakRssMiB ?? NaN
    replicator.child.kill('SIGTERM')
    assert.equal(await replicator.exited, 0)

    const verified = await verifyYaml(yaml, link, [topic])
    const audit = await kcatAuditSequences(bootstrapOf(2), topic, 'o', new Array<number>(PARTITIONS).fill(perPartition))
    const firstHalf = samples.slice(0, Math.max(1, samples.length >> 1))
    report('target-outage', {
      records: perPartition * PARTITIONS,
      outageMs: OUTAGE_MS,
      backlogDuringOutageMiB: Math.round((RATE * OUTAGE_MS) / 1000 / 1024),
      rssDuringOutageMiB: { first: Math.round(samples[0] ?? NaN), max: Math.round(Math.max(...samples)) },
      peakRssMiB: Math.round(peak),
      lost: audit.missing,
      duplicates: audit.duplicates,
      caughtUpMsAfterTargetAndProducerDone: caughtUpMs
    })
    assert.equal(verified.ok, true, `verify: ${JSON.stringify(verified.totals)}`)
    assert.equal(verified.totals.matched, perPartition * PARTITIONS)
    assert.equal(audit.missing, 0, 'kcat: nothing lost')
    assert.equal(audit.forwardJumps, 0)
    assert.ok(peak < RSS_LIMIT_MIB, `peak RSS ${peak.toFixed(0)} MiB is over ${RSS_LIMIT_MIB} MiB`)
    // Bounded: memory at the end of the outage is not the backlog's size above memory early in it.
    const growth = Math.max(...samples) - Math.max(...firstHalf)
    assert.ok(growth < 64, `RSS grew by ${growth.toFixed(0)} MiB during the second half of the outage`)
  } finally {
    if (stopped) await start(2)
    replicator.child.kill('SIGKILL')
    await writer.close()
    await close()
  }
})
