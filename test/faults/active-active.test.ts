import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { bootstrapOf, restart } from '../../tools/harness/harness.ts'
import { clusterConnection, uniqueTopic } from '../support/clusters.ts'
import { LONG, report, verifyYaml } from '../support/faults.ts'
import { kcatAuditSequences } from '../support/kcat.ts'
import { spawnReplicator, waitForOutput, writeConfig } from '../support/process.ts'
import { admins, configYaml, endOffsets, waitFor } from '../support/replication.ts'
import { SequenceWriter } from '../support/sequence-writer.ts'
import { progressOf } from '../support/state.ts'

/**
 * Fault 7: active-active with identical topic names, both directions under load, and one side's
 * broker restarted mid-stream. Each record must reach the other side and none may come back: on
 * each cluster, its own records exactly once (a cycle would show as a second copy of one of them)
 * and every record of the other side.
 */

const PARTITIONS = 4

test('active-active under load with dc2 restarted: no record cycles, none lost', async () => {
  const { dc1, dc2, close } = admins()
  const topic = uniqueTopic('faults.aa')
  await Promise.all([dc1, dc2].map(a => a.createTopics([{ name: topic, partitions: PARTITIONS }])))
  const links = ['dc1->dc2', 'dc2->dc1'] as const
  const yaml = configYaml(
    links
      .map((name, i) => {
        const [source, target] = i === 0 ? ['dc1', 'dc2'] : ['dc2', 'dc1']
        return `  - name: ${name}\n    source: ${source}\n    target: ${target}\n    commitIntervalMs: 200\n    topics: { include: ["${topic}"] }\n`
      })
      .join('')
  )
  const one = new SequenceWriter(clusterConnection(1), topic, PARTITIONS, 'a')
  const two = new SequenceWriter(clusterConnection(2), topic, PARTITIONS, 'b')
  const replicator = spawnReplicator(writeConfig(yaml))
  try {
    await waitForOutput(replicator, 'partition replication started', 30_000)
    const perPartition = LONG ? 20_000 : 5_000
    const writing = Promise.all([one.writeAtRate(perPartition, 1_500), two.writeAtRate(perPartition, 1_500)])
    await sleep(4_000)
    await restart(2)
    await writing
    // Each log holds its own records and the other side's copies; each direction is done when its
    // progress reaches its source's end (copies going back are passed over, not copied).
    await waitFor('both directions caught up', 180_000, async () => {
      const [a, b, endA, endB] = await Promise.all([
        progressOf('dc1->dc2', topic, PARTITIONS, 2),
        progressOf('dc2->dc1', topic, PARTITIONS, 1),
        endOffsets(dc1, topic, PARTITIONS),
        endOffsets(dc2, topic, PARTITIONS)
      ])
      const settled = (progress: (bigint | null)[], end: bigint[]): boolean =>
        progress.every((p, i) => p === end[i] && p === BigInt(perPartition * 2))
      return settled(a, endA) && settled(b, endB)
    })
    // No pause needed before the audit: both directions committed progress at their source's end, and
    // each end is exactly both sides' records, so no copy is left to arrive (a cycle would have raised one).
    replicator.child.kill('SIGTERM')
    assert.equal(await replicator.exited, 0)

    const expected = new Array<number>(PARTITIONS).fill(perPartition)
    const [ownOn1, otherOn1, ownOn2, otherOn2] = await Promise.all([
      kcatAuditSequences(bootstrapOf(1), topic, 'a', expected),
      kcatAuditSequences(bootstrapOf(1), topic, 'b', expected),
      kcatAuditSequences(bootstrapOf(2), topic, 'b', expected),
      kcatAuditSequences(bootstrapOf(2), topic, 'a', expected)
    ])
    const [forward, backward] = await Promise.all([
      verifyYaml(yaml, 'dc1->dc2', [topic]),
      verifyYaml(yaml, 'dc2->dc1', [topic])
    ])
    report('active-active', {
      recordsPerSide: perPartition * PARTITIONS,
      dc1: { own: ownOn1.records, fromDc2: otherOn1.records, lost: otherOn1.missing, replays: otherOn1.duplicates },
      dc2: { own: ownOn2.records, fromDc1: otherOn2.records, lost: otherOn2.missing, replays: otherOn2.duplicates },
      cycled: ownOn1.duplicates + ownOn2.duplicates
    })
    for (const [name, audit] of [
      ['dc1 own', ownOn1],
      ['dc2 own', ownOn2]
    ] as const) {
      assert.equal(audit.duplicates, 0, `${name}: a record came back (cycle)`)
      assert.equal(audit.missing, 0)
    }
    for (const [name, audit] of [
      ['dc1 from dc2', otherOn1],
      ['dc2 from dc1', otherOn2]
    ] as const) {
      assert.equal(audit.missing, 0, `${name}: records lost`)
      assert.equal(audit.forwardJumps, 0)
    }
    assert.equal(forward.ok, true, `verify dc1->dc2: ${JSON.stringify(forward.totals)}`)
    assert.equal(backward.ok, true, `verify dc2->dc1: ${JSON.stringify(backward.totals)}`)
    assert.equal(forward.totals.matched, perPartition * PARTITIONS)
    assert.equal(backward.totals.matched, perPartition * PARTITIONS)
  } finally {
    replicator.child.kill('SIGKILL')
    await Promise.all([one.close(), two.close()])
    await close()
  }
})
