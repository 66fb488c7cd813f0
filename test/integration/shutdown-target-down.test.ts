import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { KafkaAdmin, RecordProducer } from '../../src/kafka/index.ts'
import { bootstrapOf, down, start, stop, up } from '../../tools/harness/harness.ts'
import { clusterConnection, uniqueTopic } from '../support/clusters.ts'
import { kcatReadAll } from '../support/kcat.ts'
import { type ReplicatorProcess, spawnReplicator, writeConfig } from '../support/process.ts'
import { produceSequence, waitFor } from '../support/replication.ts'
import { progressOf } from '../support/state.ts'

/**
 * SIGTERM while the target is down: `kafka-dr replicate` must exit within its drain timeout plus a
 * few seconds (it used to retry "producer is closed" forever), say per partition which source
 * offsets it left uncommitted, exit 1, and never commit progress the target did not acknowledge.
 * Cluster 3 is this test's own target: started here, stopped mid-stream, removed at the end.
 */

const TARGET = 3
const PARTITIONS = 3
const DRAIN_TIMEOUT_MS = 3000
/** What the brief allows beyond the drain timeout: final commit attempt, closing, process exit. */
const EXIT_SLACK_MS = 5000
const LINK = 'dc1->dc3'

interface LogLine {
  msg?: string
  level?: string
  uncommitted?: { topic: string; partition: number; from: string; to: string }[]
}

/**
 * Starts the target broker; tried again a few times because on a shared machine a client of
 * another cluster may hold the target's port for a moment as its ephemeral source port.
 */
async function startTarget(begin: () => Promise<unknown>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await begin()
      return
    } catch (error) {
      if (attempt >= 3 || !String((error as Error).message).includes('exited during start-up')) throw error
      await new Promise(resolve => setTimeout(resolve, 3000))
    }
  }
}

function logLines(p: ReplicatorProcess): LogLine[] {
  return p
    .output()
    .split('\n')
    .filter(line => line.startsWith('{'))
    .map(line => JSON.parse(line) as LogLine)
}

describe('SIGTERM with the target down', () => {
  const source = new KafkaAdmin(clusterConnection(1))
  const producer = new RecordProducer(clusterConnection(1))
  before(async () => {
    await down({ indexes: [TARGET], log: () => {} })
    await startTarget(() => up({ indexes: [TARGET], log: () => {} }))
  })
  after(async () => {
    await producer.close()
    await source.close()
    await down({ indexes: [TARGET], log: () => {} })
  })

  test('exits within the drain timeout, naming the source offsets left uncommitted per partition', async () => {
    const topic = uniqueTopic('shutdown.down')
    await source.createTopics([{ name: topic, partitions: PARTITIONS }])
    const config = writeConfig(
      [
        'clusters:',
        `  dc1: { bootstrap: "${bootstrapOf(1)}" }`,
        `  dc3: { bootstrap: "${bootstrapOf(TARGET)}" }`,
        'links:',
        '  - source: dc1',
        '    target: dc3',
        '    commitIntervalMs: 200',
        `    drainTimeoutMs: ${DRAIN_TIMEOUT_MS}`,
        `    topics: { include: ["${topic}"] }`,
        ''
      ].join('\n')
    )
    const replicator = spawnReplicator(config)
    let produced = 0
    let flowing = true
    let feeding: Promise<void> = Promise.resolve()
    try {
      await produceSequence(producer, topic, PARTITIONS, 500, 'v')
      produced = 500
      await waitFor('the first records copied and committed', 60_000, async () =>
        (await progressOf(LINK, topic, PARTITIONS, TARGET)).every(o => o === 500n)
      )
      // Records keep flowing on the source for the rest of the test.
      feeding = (async () => {
        while (flowing) {
          await produceSequence(producer, topic, PARTITIONS, 50, 'v', produced)
          produced += 50
          await new Promise(resolve => setTimeout(resolve, 100))
        }
      })()

      await stop(TARGET)
      const downAt = replicator.output().length
      // Positive evidence that the replicator is retrying writes to the stopped target.
      await waitFor('a produce retry after the target stopped', 60_000, () =>
        Promise.resolve(replicator.output().slice(downAt).includes('produce to target failed; retrying'))
      )

      const signalledAt = performance.now()
      replicator.child.kill('SIGTERM')
      const code = await Promise.race([
        replicator.exited,
        new Promise<'still running'>(resolve =>
          setTimeout(() => resolve('still running'), DRAIN_TIMEOUT_MS + EXIT_SLACK_MS).unref()
        )
      ])
      const tookMs = performance.now() - signalledAt
      assert.notEqual(code, 'still running', `no exit within ${DRAIN_TIMEOUT_MS + EXIT_SLACK_MS} ms of SIGTERM`)
      console.error(`[shutdown] exited ${code} ${Math.round(tookMs)} ms after SIGTERM`)
      assert.equal(code, 1, 'a stop that left progress uncommitted exits 1')

      const lines = logLines(replicator)
      const report = lines.find(l => l.msg?.startsWith('stopped with progress left uncommitted') === true)
      assert.ok(report !== undefined, `the uncommitted report:\n${replicator.output().slice(-3000)}`)
      assert.equal(report.level, 'error')
      console.error(`[shutdown] ${report.msg}`)
      assert.ok(lines.some(l => l.msg?.startsWith('drain timeout passed') === true))
      // Every partition was retrying a write when the drain timeout passed: each is named, with its range.
      assert.deepEqual(report.uncommitted?.map(u => [u.topic, u.partition]).sort(), [
        [topic, 0],
        [topic, 1],
        [topic, 2]
      ])
      for (let p = 0; p < PARTITIONS; p++) assert.ok(report.msg!.includes(`${topic}/${p} offsets `), `${topic}/${p}`)
    } finally {
      flowing = false
      await feeding
      if (replicator.child.exitCode === null) replicator.child.kill('SIGKILL')
    }

    // Nothing was committed that the target had not acknowledged: every source offset below the
    // committed progress is on the target (read back by kcat).
    await startTarget(() => start(TARGET))
    const progress = await progressOf(LINK, topic, PARTITIONS, TARGET)
    const copied = await kcatReadAll(bootstrapOf(TARGET), topic)
    for (let p = 0; p < PARTITIONS; p++) {
      const next = Number(progress[p] ?? 0n)
      assert.ok(next >= 500, `partition ${p}: progress ${next} keeps what was committed before the outage`)
      const seqs = new Set(copied.filter(r => r.partition === p).map(r => Number(r.payload!.split(':')[2])))
      for (let s = 0; s < next; s++) assert.ok(seqs.has(s), `partition ${p}: committed offset ${s} is on the target`)
    }
  })
})
