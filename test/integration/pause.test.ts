import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { bootstrapOf } from '../../tools/harness/harness.ts'
import { clusterConnection, uniqueTopic } from '../support/clusters.ts'
import { kcatAuditSequences, kcatCounts } from '../support/kcat.ts'
import { parsePrometheus, value } from '../support/prometheus.ts'
import { runCli, stopProcess, writeConfig } from '../support/process.ts'
import { admins, configYaml, waitFor } from '../support/replication.ts'
import { SequenceWriter } from '../support/sequence-writer.ts'
import { type Worker, balanced, startWorker } from '../support/workers.ts'

/**
 * Pause and resume (docs/replication.md "Pause and resume"): a topic paused with `kafka-dr pause` stops
 * on every worker of a scaled-out link while another topic flows, stays paused across a restart, and
 * resumed over the HTTP API catches up with nothing missing. The target is checked with kcat, the
 * workers' state through their own HTTP API and metrics.
 */

const TOKEN = 'pause-test-token-0123456789'
const PARTITIONS = 4
const link = `pause-${process.pid}`
const pausedTopic = uniqueTopic('paused')
const flowingTopic = uniqueTopic('flowing')
let configFile = ''
let writers: SequenceWriter[] = []
const workers = new Map<string, Worker>()

before(async () => {
  const { dc1, close } = admins()
  try {
    await dc1.createTopics([pausedTopic, flowingTopic].map(name => ({ name, partitions: PARTITIONS })))
  } finally {
    await close()
  }
  writers = [pausedTopic, flowingTopic].map((t, i) => new SequenceWriter(clusterConnection(1), t, PARTITIONS, `p${i}`))
  configFile = writeConfig(
    configYaml(
      `  - name: ${link}\n    source: dc1\n    target: dc2\n    commitIntervalMs: 300\n    checkpointIntervalMs: 1000\n    topics: { include: ["${pausedTopic}", "${flowingTopic}"] }\n`
    ).concat(
      `\nworkers: { sessionTimeoutMs: 6000, heartbeatIntervalMs: 1000 }\nhttp: { listen: "127.0.0.1:0", token: "${TOKEN}" }\n`
    )
  )
})

after(async () => {
  await Promise.all([...workers.values()].map(w => stopProcess(w.proc)))
  await Promise.all(writers.map(w => w.close()))
})

async function cli(...args: string[]): Promise<{ code: number; out: string }> {
  const { code, stdout, stderr } = await runCli(...args, '--config', configFile)
  return { code, out: stdout + stderr }
}

/** The state and lag of the paused topic's partitions, as each worker reports them (its own view). */
async function pausedRows(
  worker: Worker
): Promise<{ partition: number; state: string; reason: string | null; lagRecords: number }[]> {
  const response = await fetch(`${worker.url}/api/dashboard`, { headers: { authorization: `Bearer ${TOKEN}` } })
  const body = (await response.json()) as {
    links: {
      partitions: { topic: string; partition: number; state: string; reason: string | null; lagRecords: number }[]
    }[]
  }
  return body.links[0]!.partitions.filter(p => p.topic === pausedTopic)
}

const counts = (topic: string): Promise<number[]> => kcatCounts(bootstrapOf(2), topic, PARTITIONS, 'read_uncommitted')

test('a paused topic stops on every worker while another flows, stays paused across a restart, and resumes with nothing missing', async () => {
  await Promise.all(writers.map(w => w.write(100, 100)))
  for (const id of ['w1', 'w2']) workers.set(id, await startWorker(configFile, id, TOKEN))
  await balanced([...workers.values()], 2 * PARTITIONS)
  await waitFor('first records copied', 60_000, async () =>
    (await Promise.all(writers.map(w => counts(w.topic)))).every(c => c.every(n => n === 100))
  )

  // Validation: a topic the link does not replicate is refused, naming it.
  const wrong = await cli('pause', '--link', link, '--topics', 'not-in-this-link')
  assert.equal(wrong.code, 2, wrong.out)
  assert.match(wrong.out, /does not replicate topic "not-in-this-link"/)

  const pausedAt = performance.now()
  const paused = await cli('pause', '--link', link, '--topics', pausedTopic, '--reason', 'disk swap')
  assert.equal(paused.code, 0, paused.out)
  assert.match(paused.out, new RegExp(`paused ${pausedTopic}`))
  // Every worker obeys within about a commit interval (each owns some of the paused partitions).
  await waitFor('every worker reports the topic paused', 15_000, async () => {
    const rows = (await Promise.all([...workers.values()].map(pausedRows))).flat()
    return rows.length === PARTITIONS && rows.every(r => r.state === 'paused')
  })
  const obeyedMs = performance.now() - pausedAt
  console.log(`[pause] every worker paused ${Math.round(obeyedMs)} ms after the command`)
  const rows = (await Promise.all([...workers.values()].map(pausedRows))).flat()
  assert.match(rows[0]!.reason ?? '', /^paused by .+@.+ at \d{4}-.+: disk swap$/)

  await Promise.all(writers.map(w => w.write(100, 100)))
  await waitFor('the flowing topic copied', 60_000, async () => (await counts(flowingTopic)).every(n => n === 200))
  // Evidence the workers fetched past the new records: the flowing topic, written at the same time by
  // the same fetch lanes, is copied completely.
  assert.deepEqual(await counts(pausedTopic), [100, 100, 100, 100], 'nothing of the paused topic copied')

  // Lag keeps being measured while paused: the workers list the source's end offsets.
  await waitFor('lag of the paused partitions reported', 15_000, async () => {
    const lagging = (await Promise.all([...workers.values()].map(pausedRows))).flat()
    return lagging.length === PARTITIONS && lagging.every(r => r.lagRecords === 100)
  })
  const metrics = parsePrometheus(
    await (await fetch(`${workers.get('w1')!.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text()
  )
  const w1Paused = (await pausedRows(workers.get('w1')!))[0]!
  assert.equal(
    value(metrics, 'kafka_dr_partition_state', {
      link,
      topic: pausedTopic,
      partition: String(w1Paused.partition),
      state: 'paused'
    }),
    1
  )
  const status = await cli('status', '--link', link, '--json')
  assert.equal(status.code, 0, status.out)
  const report = JSON.parse(status.out) as [
    {
      pauses: { scope: string; reason: string }[]
      partitions: { topic: string; state: string; records: string }[]
    }
  ]
  assert.deepEqual(
    report[0].pauses.map(p => [p.scope, p.reason]),
    [[pausedTopic, 'disk swap']]
  )
  const statusRows = report[0].partitions.filter(p => p.topic === pausedTopic)
  assert.equal(statusRows.length, PARTITIONS)
  assert.ok(
    statusRows.every(p => p.state === 'paused' && p.records === '100'),
    JSON.stringify(statusRows)
  )

  // Restart: both workers stop, one starts alone and owns every partition: the topic stays paused.
  await Promise.all([...workers.values()].map(w => stopProcess(w.proc)))
  workers.clear()
  workers.set('w1', await startWorker(configFile, 'w1', TOKEN))
  await balanced([...workers.values()], 2 * PARTITIONS)
  await writers[1]!.write(50, 50)
  await waitFor('the flowing topic copied after the restart', 60_000, async () =>
    (await counts(flowingTopic)).every(n => n === 250)
  )
  assert.deepEqual(
    (await pausedRows(workers.get('w1')!)).map(r => r.state),
    Array(PARTITIONS).fill('paused')
  )
  assert.deepEqual(await counts(pausedTopic), [100, 100, 100, 100], 'still paused after the restart')

  // Resume over the HTTP API: the token is required.
  const url = `${workers.get('w1')!.url}/api/links/${encodeURIComponent(link)}/resume`
  assert.equal((await fetch(url, { method: 'POST' })).status, 401)
  const resumed = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ by: 'pause-test' })
  })
  assert.equal(resumed.status, 200, await resumed.clone().text())
  assert.deepEqual(((await resumed.json()) as { changed: string[] }).changed, [pausedTopic])
  await waitFor('the paused topic caught up', 60_000, async () => (await counts(pausedTopic)).every(n => n === 200))
  for (const writer of writers) {
    const audit = await kcatAuditSequences(bootstrapOf(2), writer.topic, writer.tag, writer.next, 'read_uncommitted')
    assert.equal(audit.missing, 0, `${writer.topic}: nothing missing`)
    assert.equal(audit.misplaced, 0, `${writer.topic}: nothing misplaced`)
  }
  assert.deepEqual(
    (await pausedRows(workers.get('w1')!)).map(r => r.state),
    Array(PARTITIONS).fill('running')
  )
})
