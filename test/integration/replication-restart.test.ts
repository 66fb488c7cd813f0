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

/** Per partition, the source sequences a kill could make the next process copy again: [from, to). */
type ReplayWindows = { from: bigint; to: bigint }[][]

/** The duplicated sequences no kill's replay window accounts for ("partition:seq"). */
async function unexplainedDuplicates(topic: string, windows: ReplayWindows): Promise<string[]> {
  const target = await kcatReadAll(bootstrapOf(2), topic)
  const copies = new Map<string, number>()
  for (const r of target) {
    const key = `${r.partition}:${r.payload!.split(':')[2]}`
    copies.set(key, (copies.get(key) ?? 0) + 1)
  }
  const unexplained: string[] = []
  for (const [key, count] of copies) {
    if (count === 1) continue
    const [p, seq] = key.split(':').map(BigInt) as [bigint, bigint]
    // Each kill whose window holds seq may have copied it once more.
    const replays = windows[Number(p)]!.filter(w => seq >= w.from && seq < w.to).length
    if (count - 1 > replays) unexplained.push(`${key} x${count}`)
  }
  return unexplained
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

  async function run(
    kind: 'SIGTERM' | 'SIGKILL',
    cycles: number
  ): Promise<{ audit: Audit; perPartition: number; topic: string; windows: ReplayWindows }> {
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

    const windows: ReplayWindows = Array.from({ length: PARTITIONS }, () => [])
    // Stored progress, summed over the partitions (a partition never committed counts 0).
    const committedSum = async (): Promise<bigint> =>
      (await progressOf('dc1->dc2', topic, PARTITIONS)).reduce<bigint>((a, b) => a + (b ?? 0n), 0n)
    try {
      for (let cycle = 0; cycle < cycles; cycle++) {
        const t0 = Date.now()
        const before = await committedSum()
        const p = spawnReplicator(config)
        try {
          await waitForOutput(p, 'partition replication started', 30_000)
          const t1 = Date.now()
          // Mid-stream by evidence, not by a pause: this process has copied and committed records
          // (more each cycle, so the signal lands at different points) while the load goes on.
          const committed = before + BigInt(2000 + cycle * 1000)
          await waitFor('this process to commit progress', 60_000, async () => (await committedSum()) >= committed)
          const t2 = Date.now()
          p.child.kill(kind)
          const code = await p.exited
          console.error(
            `[restart] ${kind} cycle ${cycle}: started in ${t1 - t0} ms, committing ${t2 - t1} ms later, exited ${Date.now() - t2} ms after the signal`
          )
          if (kind === 'SIGTERM') assert.equal(code, 0, `graceful stop exits 0:\n${p.output().slice(-2000)}`)
          else assert.equal(code, 'SIGKILL')
        } finally {
          if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL')
        }
        // What the next process may copy again: from the stored progress (read after the exit; a
        // commit still in flight would only raise it) up to the source's end (nothing past it was copied).
        const [committed, sourceEnd] = await Promise.all([
          progressOf('dc1->dc2', topic, PARTITIONS),
          endOffsets(dc1, topic, PARTITIONS)
        ])
        for (let i = 0; i < PARTITIONS; i++) windows[i]!.push({ from: committed[i] ?? 0n, to: sourceEnd[i]! })
      }
    } finally {
      producing = false
      await load
    }
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
    return { audit: await audit(topic, produced), perPartition: produced, topic, windows }
  }

  test('SIGTERM three times mid-stream: nothing missing, nothing duplicated, exit code 0', async () => {
    const { audit: a, perPartition } = await run('SIGTERM', 3)
    console.error(`[restart] SIGTERM x3: ${perPartition * PARTITIONS} records, ${JSON.stringify(a)}`)
    assert.deepEqual(a, { missing: 0, duplicates: 0, forwardJumps: 0 })
  })

  test('kill -9 three times mid-stream: nothing missing, duplicates only as replays', async () => {
    const { audit: a, perPartition, topic, windows } = await run('SIGKILL', 3)
    console.error(`[restart] SIGKILL x3: ${perPartition * PARTITIONS} records, ${JSON.stringify(a)}`)
    assert.equal(a.missing, 0)
    assert.equal(a.forwardJumps, 0)
    // A kill can only replay what was copied after the last stored commit: every duplicate lies in the
    // replay window of a kill (stored progress at the kill .. source end at the kill), once per kill.
    const replayable = windows.flat().reduce((n, w) => n + Number(w.to - w.from), 0)
    console.error(`[restart] SIGKILL x3: replay windows hold ${replayable} records in all`)
    assert.deepEqual(await unexplainedDuplicates(topic, windows), [], 'duplicates outside any kill replay window')
  })
})
