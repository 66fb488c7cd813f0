import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseConfig } from '../../src/config/index.ts'
import { failover } from '../../src/failover/failover.ts'
import { status } from '../../src/failover/status.ts'
import { clusterConnection, uniqueTopic } from '../support/clusters.ts'
import { stopProcess, waitForOutput, writeConfig } from '../support/process.ts'
import { admins, configYaml, waitFor } from '../support/replication.ts'
import { SequenceWriter } from '../support/sequence-writer.ts'
import {
  type Worker,
  auditTarget,
  balanced,
  keepWriting,
  progressWorkers,
  startWorker,
  view
} from '../support/workers.ts'

/**
 * Scale-out (docs/scale-out.md): several `kafka-dr replicate` processes, started with one config,
 * share a link's partitions through a worker group on the target cluster. Every check reads what the
 * workers report over HTTP (their own view) or the target with kcat (independent); never the code
 * under test in this process.
 */

const SESSION_MS = 6000
/** What the issue allows for partitions of a worker that died or restarts to run again. */
const RESUME_BOUND_MS = SESSION_MS + 10_000

const t0 = performance.now()
/** Progress of the scenario on the test output, with the time since the file started. */
function step(what: string): void {
  console.log(`[scale-out] ${Math.round(performance.now() - t0)} ms: ${what}`)
}

const link = `scale-${process.pid}`
const topics = [uniqueTopic('scale-a'), uniqueTopic('scale-b')]
let configFile = ''
let writers: SequenceWriter[] = []
const workers = new Map<string, Worker>()

function scaledConfig(extra = ''): string {
  return configYaml(
    `  - name: ${link}\n    source: dc1\n    target: dc2\n    delivery: exactly-once\n    commitIntervalMs: 200\n    topics: { include: [${topics.map(t => `"${t}"`).join(', ')}] }\n${extra}`
  ).concat(`\nworkers: { sessionTimeoutMs: ${SESSION_MS}, heartbeatIntervalMs: 1000, balanceIntervalMs: 600000 }\n`)
}

before(async () => {
  const { dc1, close } = admins()
  try {
    await dc1.createTopics(topics.map(name => ({ name, partitions: 12 })))
  } finally {
    await close()
  }
  writers = topics.map((topic, i) => new SequenceWriter(clusterConnection(1), topic, 12, `s${i}`))
  configFile = writeConfig(scaledConfig())
})

after(async () => {
  await Promise.all([...workers.values()].map(w => stopProcess(w.proc)))
  await Promise.all(writers.map(w => w.close()))
})

test("three workers share 2 topics x 12 partitions; a killed worker's partitions resume on the others; it comes back", async () => {
  for (const id of ['w1', 'w2', 'w3']) workers.set(id, await startWorker(configFile, id))
  const writing = keepWriting(writers)
  try {
    const first = await balanced([...workers.values()], 24)
    step(`balanced: ${[...first].map(([id, ps]) => `${id} ${ps.length}`).join(', ')}`)
    for (const [id, partitions] of first) assert.equal(partitions.length, 8, `${id} copies 8 of 24 partitions`)
    // Every worker copies part of the data: the progress it commits names it.
    await waitFor('progress committed by every worker', 30_000, async () => {
      const owners = await progressWorkers(link)
      return new Set(owners.values()).size === 3 || undefined
    })

    step('every worker committed progress')
    // `kafka-dr status` (read from the state topic, engine or not) lists each worker under its slot,
    // with what the workers' own views say they copy, and a copy rate once two heartbeats were written.
    const rows = await waitFor('status showing three workers with their rates', 30_000, async () => {
      const [linkStatus] = await status(parseConfig(scaledConfig(), '<test>'), link)
      const running = linkStatus!.workers.filter(w => w.state === 'running')
      return running.length === 3 && running.every(w => (w.bytesPerSecond ?? 0) > 0) ? running : undefined
    })
    assert.deepEqual(rows.map(w => w.worker).sort(), ['w1', 'w2', 'w3'])
    for (const row of rows) assert.equal(row.partitions, first.get(row.worker)!.length, `${row.worker}'s partitions`)
    const killed = workers.get('w2')!
    const orphaned = first.get('w2')!
    killed.proc.child.kill('SIGKILL')
    await killed.proc.exited
    const killedAt = performance.now()
    const survivors = [workers.get('w1')!, workers.get('w3')!]
    const after = await balanced(survivors, 24, RESUME_BOUND_MS + 10_000)
    const resumedMs = performance.now() - killedAt
    step(`w2 killed; its partitions run again after ${Math.round(resumedMs)} ms`)
    assert.ok(resumedMs <= RESUME_BOUND_MS, `w2's partitions run again after ${Math.round(resumedMs)} ms`)
    assert.ok(orphaned.every(p => [...after.values()].some(ps => ps.includes(p))))
    // Copying goes on there: their progress is committed by a survivor.
    await waitFor("w2's partitions committed by survivors", 30_000, async () => {
      const owners = await progressWorkers(link)
      return orphaned.every(p => owners.get(p) !== 'w2') || undefined
    })

    step('survivors committed progress of the partitions w2 had')
    workers.set('w2', await startWorker(configFile, 'w2'))
    const back = await balanced([...workers.values()], 24)
    step(`w2 back: ${[...back].map(([id, ps]) => `${id} ${ps.length}`).join(', ')}`)
    assert.ok(back.get('w2')!.length >= 7, `w2 gets work again (${back.get('w2')!.length} partitions)`)
  } finally {
    await writing.stop()
  }
  step(`writers stopped at ${writers.map(w => w.total).join(' + ')} records`)
  await auditTarget(writers)
  step('target audited')
})

test('a fourth worker joins: at most a quarter of the partitions move', async () => {
  // Equal rates: every partition written at the same pace for long enough that the rates the workers
  // measure (a moving average over about 30 s) agree again after the pause of the audit above.
  const writing = keepWriting(writers)
  try {
    await sleep(20_000)
    const before = await balanced([...workers.values()], 24)
    workers.set('w4', await startWorker(configFile, 'w4'))
    const after = await balanced([...workers.values()], 24)
    const ownerBefore = new Map([...before].flatMap(([id, ps]) => ps.map(p => [p, id] as const)))
    let moved = 0
    for (const [id, partitions] of after) for (const p of partitions) if (ownerBefore.get(p) !== id) moved++
    step(`w4 joined: ${moved} partitions moved; ${[...after].map(([id, ps]) => `${id} ${ps.length}`).join(', ')}`)
    assert.ok(moved <= 6, `${moved} of 24 partitions moved`)
    for (const [id, partitions] of after) assert.equal(partitions.length, 6, `${id} copies 6`)
  } finally {
    await writing.stop()
  }
  await auditTarget(writers)
})

test('rolling restart (SIGTERM, start, next): no partition idle past the session timeout + 10 s, nothing missing', async () => {
  const writing = keepWriting(writers)
  try {
    for (const id of ['w1', 'w2', 'w3', 'w4']) {
      const worker = workers.get(id)!
      const stoppedAt = performance.now()
      assert.equal(await stopProcess(worker.proc), 0, `${id} stops cleanly`)
      workers.set(id, await startWorker(configFile, id))
      await balanced([...workers.values()], 24, RESUME_BOUND_MS + 10_000)
      const idleMs = performance.now() - stoppedAt
      assert.ok(idleMs <= RESUME_BOUND_MS, `${id}'s partitions run again ${Math.round(idleMs)} ms after its SIGTERM`)
    }
  } finally {
    await writing.stop()
  }
  await auditTarget(writers)
})

test('failover with several workers running fences every one of them', async () => {
  const config = parseConfig(scaledConfig(), '<test>')
  const report = await failover(config, { link, auditFile: join(tmpdir(), `kdr-audit-${process.pid}.jsonl`) })
  assert.ok(report.steps.includes('fence') && report.steps.includes('completed'), report.steps.join(', '))
  for (const worker of workers.values()) {
    await waitFor(`${worker.id} fenced`, 30_000, async () => (await view(worker))?.state === 'fenced' || undefined)
  }
  // Nothing is written after the fence: the target's end offsets stay where they are.
  const { dc2, close } = admins()
  try {
    const ends = async () => Promise.all(topics.map(t => dc2.listOffsets(t, [...Array(12).keys()], 'latest')))
    const first = JSON.stringify((await ends()).map(m => [...m.values()].map(String)))
    await writers[0]!.write(10)
    await sleep(3000)
    assert.equal(JSON.stringify((await ends()).map(m => [...m.values()].map(String))), first)
  } finally {
    await close()
  }
  for (const worker of workers.values()) await stopProcess(worker.proc)
  workers.clear()
})

test('one partition ten times hotter than the rest: the assignment follows bytes, not counts', async () => {
  const hotLink = `scale-hot-${process.pid}`
  const topic = uniqueTopic('scale-hot')
  const { dc1, close } = admins()
  try {
    await dc1.createTopics([{ name: topic, partitions: 8 }])
  } finally {
    await close()
  }
  const file = writeConfig(
    configYaml(
      `  - name: ${hotLink}\n    source: dc1\n    target: dc2\n    delivery: exactly-once\n    commitIntervalMs: 200\n    topics: { include: ["${topic}"] }\n`
    ).concat(`\nworkers: { sessionTimeoutMs: ${SESSION_MS}, heartbeatIntervalMs: 1000, balanceIntervalMs: 3000 }\n`)
  )
  const writer = new SequenceWriter(clusterConnection(1), topic, 8, 'hot', 1000)
  const hot = [await startWorker(file, 'h1'), await startWorker(file, 'h2')]
  for (const w of hot) workers.set(w.id, w)
  let stopping = false
  // Partition 0 gets ten times the bytes of each other partition.
  const writing = (async () => {
    while (!stopping) {
      await writer.write(2, 2)
      for (let i = 0; i < 9; i++) await writer.writePartition(0, 2)
      await sleep(20)
    }
  })()
  try {
    const settled = await waitFor('the hot partition alone on one worker, the rest on the other', 60_000, async () => {
      const views = await Promise.all(hot.map(view))
      if (views.some(v => v === null)) return undefined
      const owner = views.find(v => v!.partitions.includes(`${topic}:0`))
      const other = views.find(v => v !== owner)
      if (owner === undefined || other === undefined) return undefined
      return owner!.partitions.length <= 2 && other!.partitions.length >= 6 ? views : undefined
    })
    assert.ok(settled)
    // A worker with another configuration of the link is refused, the difference named; the others go on.
    const other = writeConfig(
      configYaml(
        `  - name: ${hotLink}\n    source: dc1\n    target: dc2\n    delivery: exactly-once\n    commitIntervalMs: 300\n    topics: { include: ["${topic}"] }\n`
      ).concat(`\nworkers: { sessionTimeoutMs: ${SESSION_MS}, heartbeatIntervalMs: 1000, balanceIntervalMs: 3000 }\n`)
    )
    const odd = await startWorker(other, 'h3')
    workers.set('h3', odd)
    await waitForOutput(odd.proc, 'was refused by the worker group', 30_000)
    assert.match(odd.proc.output(), /differs from the group leader's \(worker h[12]\) in commitIntervalMs/)
    const refused = await view(odd)
    assert.equal(refused?.state, 'failed')
    assert.deepEqual(refused?.partitions, [])
    const readyz = await fetch(`${odd.url}/readyz`)
    assert.equal(readyz.status, 503)
    await balanced(hot, 8)
  } finally {
    stopping = true
    await writing
    await writer.close()
    for (const id of ['h1', 'h2', 'h3']) {
      const w = workers.get(id)
      if (w !== undefined) await stopProcess(w.proc)
      workers.delete(id)
    }
  }
})
