import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { RecordProducer } from '../../src/kafka/index.ts'
import { bootstrapOf } from '../../tools/harness/harness.ts'
import { clusterConnection, uniqueTopic } from '../support/clusters.ts'
import { kcatReadAll } from '../support/kcat.ts'
import { spawnReplicator, waitForOutput, writeConfig } from '../support/process.ts'
import { admins, configYaml, endOffsets, produceSequence, waitFor } from '../support/replication.ts'
import { progressOf } from '../support/state.ts'

/**
 * The replicator as a separate process, stopped gracefully (SIGTERM) and killed (SIGKILL) while
 * records are being produced. Checked with kcat on the target: no record missing, order kept, and
 * duplicates only where a kill forced a replay of the last uncommitted window.
 */

const PARTITIONS = 4

interface Audit {
  missing: number
  duplicates: number
  forwardJumps: number
}

/** Values are "<tag>:<partition>:<seq>" with seq = source offset; audits the target's sequence per partition. */
async function audit(topic: string, perPartition: number): Promise<Audit> {
  const target = await kcatReadAll(bootstrapOf(2), topic)
  const result: Audit = { missing: 0, duplicates: 0, forwardJumps: 0 }
  for (let p = 0; p < PARTITIONS; p++) {
    const seqs = target
      .filter(r => r.partition === p)
      .sort((a, b) => a.offset - b.offset)
      .map(r => Number(r.payload!.split(':')[2]))
    const seen = new Set<number>()
    let previous = -1
    for (const seq of seqs) {
      if (seen.has(seq)) result.duplicates++
      seen.add(seq)
      // A replay goes back; going forward past an unseen record would be a gap.
      if (seq > previous + 1 && !allSeen(seen, previous + 1, seq)) result.forwardJumps++
      previous = Math.max(previous, seq)
    }
    for (let s = 0; s < perPartition; s++) if (!seen.has(s)) result.missing++
  }
  return result
}

function allSeen(seen: Set<number>, from: number, to: number): boolean {
  for (let s = from; s < to; s++) if (!seen.has(s)) return false
  return true
}

describe('replicator process: restarts', () => {
  const { dc1, close } = admins()
  const producer = new RecordProducer(clusterConnection(1))
  after(async () => {
    await producer.close()
    await close()
  })

  async function run(kind: 'SIGTERM' | 'SIGKILL', cycles: number): Promise<{ audit: Audit; perPartition: number }> {
    const topic = uniqueTopic(`restart.${kind.toLowerCase()}`)
    await dc1.createTopics([{ name: topic, partitions: PARTITIONS }])
    const config = writeConfig(
      configYaml(`  - source: dc1
    target: dc2
    commitIntervalMs: 500
    topics:
      include: ["${topic}"]
`)
    )
    let produced = 0
    let producing = true
    // About 4,000 records/s in all: enough to keep every partition busy across the restarts.
    const perChunk = 100
    const load = (async () => {
      while (producing) {
        await produceSequence(producer, topic, PARTITIONS, perChunk, 'r', produced)
        produced += perChunk
        await sleep(100)
      }
    })()

    for (let cycle = 0; cycle < cycles; cycle++) {
      const t0 = Date.now()
      const p = spawnReplicator(config)
      await waitForOutput(p, 'partition replication started', 30_000)
      const t1 = Date.now()
      await sleep(1500 + cycle * 300)
      p.child.kill(kind)
      const code = await p.exited
      console.error(
        `[restart] ${kind} cycle ${cycle}: started in ${t1 - t0} ms, exited ${Date.now() - t1 - 1500 - cycle * 300} ms after the signal`
      )
      if (kind === 'SIGTERM') assert.equal(code, 0, `graceful stop exits 0:\n${p.output().slice(-2000)}`)
      else assert.equal(code, 'SIGKILL')
    }
    producing = false
    await load
    const final = spawnReplicator(config)
    try {
      await waitForOutput(final, 'partition replication started', 30_000)
      // Stored progress at the source end offsets: everything copied and committed. (Target end
      // offsets alone would not do: duplicates can push them past the source's while records are missing.)
      const sourceEnd = await endOffsets(dc1, topic, PARTITIONS)
      await waitFor('stored progress to reach the source end offsets', 90_000, async () => {
        const progress = await progressOf('dc1->dc2', topic, PARTITIONS)
        return progress.every((o, i) => o === sourceEnd[i])
      })
    } finally {
      final.child.kill('SIGTERM')
      assert.equal(await final.exited, 0)
    }
    return { audit: await audit(topic, produced), perPartition: produced }
  }

  test('SIGTERM three times mid-stream: nothing missing, nothing duplicated, exit code 0', async () => {
    const { audit: a, perPartition } = await run('SIGTERM', 3)
    console.error(`[restart] SIGTERM x3: ${perPartition * PARTITIONS} records, ${JSON.stringify(a)}`)
    assert.deepEqual(a, { missing: 0, duplicates: 0, forwardJumps: 0 })
  })

  test('kill -9 three times mid-stream: nothing missing, duplicates only as replays', async () => {
    const { audit: a, perPartition } = await run('SIGKILL', 3)
    console.error(`[restart] SIGKILL x3: ${perPartition * PARTITIONS} records, ${JSON.stringify(a)}`)
    assert.equal(a.missing, 0)
    assert.equal(a.forwardJumps, 0)
    // Each kill can replay at most what was copied since the last commit (500 ms here) per partition.
    // Load is ~4,000 records/s and commits every 500 ms: a kill replays well under one second of traffic.
    assert.ok(a.duplicates <= 3 * 4000, `duplicates ${a.duplicates}`)
  })
})
