import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { ownedPid } from '../../tools/harness/harness.ts'
import { clusterConnection, uniqueTopic } from '../support/clusters.ts'
import { stopProcess, writeConfig } from '../support/process.ts'
import { admins, configYaml, waitFor } from '../support/replication.ts'
import { SequenceWriter } from '../support/sequence-writer.ts'
import { type Worker, auditTarget, balanced, keepWriting, startWorker, view } from '../support/workers.ts'

/**
 * Scale-out when the target cluster, which holds the worker group's coordinator, the state topic and
 * the copies, stops answering (docs/scale-out.md, "One writer per partition"). The broker is frozen
 * (SIGSTOP): requests hang as on a network partition, rather than fail fast as on a refused
 * connection. Briefly (less than the session timeout less two heartbeat intervals), the workers keep
 * their partitions: same generation, same owners. Long (past the session timeout), they give
 * everything up and form the group again once the cluster answers. Either way: under exactly-once,
 * every record on the target once (kcat, read_committed): never two writers.
 */

const SESSION_MS = 6000
const HEARTBEAT_MS = 1000
const link = `outage-${process.pid}`
const topic = uniqueTopic('scale-outage')
const PARTITIONS = 8
let writer: SequenceWriter
let configFile = ''
const workers: Worker[] = []

before(async () => {
  const { dc1, close } = admins()
  try {
    await dc1.createTopics([{ name: topic, partitions: PARTITIONS }])
  } finally {
    await close()
  }
  writer = new SequenceWriter(clusterConnection(1), topic, PARTITIONS, 'out')
  configFile = writeConfig(
    configYaml(
      `  - name: ${link}\n    source: dc1\n    target: dc2\n    delivery: exactly-once\n    commitIntervalMs: 200\n    topics: { include: ["${topic}"] }\n`
    ).concat(
      `\nworkers: { sessionTimeoutMs: ${SESSION_MS}, heartbeatIntervalMs: ${HEARTBEAT_MS}, balanceIntervalMs: 600000 }\n`
    )
  )
})

after(async () => {
  const broker = ownedPid(2)
  if (broker !== null) process.kill(broker, 'SIGCONT') // never leave the target frozen for the next file
  await Promise.all(workers.map(w => stopProcess(w.proc)))
  await writer.close()
})

/** Freezes the target broker for `ms` (SIGSTOP, then SIGCONT). */
async function freezeTarget(ms: number): Promise<void> {
  const broker = ownedPid(2)
  assert.ok(broker !== null, 'the target broker runs')
  process.kill(broker, 'SIGSTOP')
  try {
    await sleep(ms)
  } finally {
    process.kill(broker, 'SIGCONT')
  }
}

test('the target frozen briefly: every worker keeps its partitions in the same generation; nothing lost or doubled', async () => {
  workers.push(await startWorker(configFile, 'o1'), await startWorker(configFile, 'o2'))
  const writing = keepWriting([writer])
  try {
    const before = await balanced(workers, PARTITIONS)
    const generation = (await view(workers[0]!))!.generation
    // Less than session - 2 x heartbeat: no worker gives up, and the coordinator expels nobody.
    await freezeTarget(SESSION_MS - 2 * HEARTBEAT_MS - 1500)
    await sleep(3 * HEARTBEAT_MS)
    const afterFreeze = await balanced(workers, PARTITIONS, 30_000)
    assert.deepEqual(afterFreeze, before, 'the same partitions on the same workers')
    for (const worker of workers) {
      const seen = await view(worker)
      assert.equal(seen?.generation, generation, `${worker.id} is still in generation ${generation}`)
      assert.doesNotMatch(worker.proc.output(), /releasing every partition/, `${worker.id} gave nothing up`)
    }
  } finally {
    await writing.stop()
  }
  await auditTarget([writer])
})

test('the target frozen past the session timeout: the workers give their partitions up, then share them again; nothing lost or doubled', async () => {
  const writing = keepWriting([writer])
  try {
    await balanced(workers, PARTITIONS)
    const marks = workers.map(w => w.proc.output().length)
    await freezeTarget(SESSION_MS + 6000)
    const thawedAt = performance.now()
    // Both gave everything up, then a new generation shares the partitions. Its number says nothing:
    // with every member expelled the coordinator may drop the empty group and count from 1 again.
    const again = await waitFor(
      'every worker releasing, then acquiring again, all partitions shared',
      120_000,
      async () => {
        const regrouped = workers.every((w, i) => {
          const since = w.proc.output().slice(marks[i])
          const released = since.indexOf('worker group: partitions released')
          return released >= 0 && since.indexOf('worker group: partitions acquired', released) >= 0
        })
        return regrouped ? balanced(workers, PARTITIONS, 1000).catch(() => undefined) : undefined
      }
    ).catch(async (error: unknown) => {
      // What each worker saw and said, for the failure report.
      for (const [i, w] of workers.entries()) {
        console.log(`[scale-out-outage] ${w.id} view: ${JSON.stringify(await view(w))}`)
        const lines = w.proc.output().slice(marks[i]).split('\n')
        console.log(`[scale-out-outage] ${w.id} log since the freeze:\n${lines.map(l => l.slice(0, 400)).join('\n')}`)
      }
      throw error
    })
    const backMs = performance.now() - thawedAt
    console.log(
      `[scale-out-outage] shared again ${Math.round(backMs)} ms after the target answered: ${[...again].map(([id, ps]) => `${id} ${ps.length}`).join(', ')}`
    )
    // Each worker stopped writing: it released its partitions (no heartbeat answered for the session
    // less two intervals, or expelled) before the coordinator could hand them to the other one.
    workers.forEach((w, i) => {
      const since = w.proc.output().slice(marks[i])
      const said = since.split('\n').filter(l => /worker group|link stopped|restarting/.test(l))
      console.log(`[scale-out-outage] ${w.id}:\n${said.map(l => l.slice(0, 300)).join('\n')}`)
      assert.match(since, /releasing every partition/, `${w.id} gave its partitions up`)
      // ... while it still held its membership, so that the release committed (no restart of the link).
      assert.match(since, /partitions released/, `${w.id} released (drained and committed)`)
      assert.doesNotMatch(since, /lost its membership/, `${w.id} released in time`)
    })
  } finally {
    await writing.stop()
  }
  await auditTarget([writer])
})
