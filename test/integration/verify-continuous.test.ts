import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { after, describe, test } from 'node:test'
import kafkajs from 'kafkajs'
import { PROVENANCE_HEADER, ProvenanceEncoder } from '../../src/core/provenance.ts'
import { bootstrapOf, status } from '../../tools/harness/harness.ts'
import { clusterConnection, uniqueTopic } from '../support/clusters.ts'
import { spawnReplicator, stopProcess, waitForOutput, writeConfig } from '../support/process.ts'
import { type MetricFamily, parsePrometheus } from '../support/prometheus.ts'
import { admins, configYaml, waitFor } from '../support/replication.ts'
import { SequenceWriter } from '../support/sequence-writer.ts'
import { progressOf } from '../support/state.ts'

/**
 * Continuous verification inside `kafka-dr replicate` (verify: on the link), as an operator runs it:
 * a spawned replicator checks the newest replicated records of each partition against their copies
 * every second and reports through /metrics (parsed by an independent Prometheus parser) and
 * /api/dashboard. Given an exact copy, windows are checked with matches and nothing missing or
 * altered; when a copy of a replicated source record with other content appears on the target
 * (written with kafkajs carrying the provenance of source offset 150, as a buggy writer would leave
 * it), the next passes report it as altered, on the partition it is on; SIGTERM stops it cleanly.
 * Then `kafka-dr verify --watch` runs the full check every second until SIGINT, exit code of the last run.
 */

const PER_PARTITION = 200
const WINDOW = 100

/** The sum over every series of `name` whose labels include `labels` (each worker exports its own). */
function total(families: Map<string, MetricFamily>, name: string, labels: Record<string, string>): number {
  const family = families.get(name)
  if (family === undefined) return 0
  return family.metrics
    .filter(m => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
    .reduce((n, m) => n + Number(m.value), 0)
}

interface DashboardVerification {
  lastPassAt: number | null
  lastSuccessAt: number | null
  totals: { windows: number; matched: number; missing: number; altered: number; errors: number }
  problems: { topic: string; partition: number; altered: number; missing: number; from: number; to: number }[]
}

describe('continuous verification in replicate', () => {
  const { dc1, close } = admins()
  after(close)

  test('exact copy: windows match; a forged copy on the target is reported as altered; SIGTERM stops it', async () => {
    const topic = uniqueTopic('verify.continuous')
    const link = 'verify-continuous'
    await dc1.createTopics([{ name: topic, partitions: 2 }])
    const writer = new SequenceWriter(clusterConnection(1), topic, 2, 'vc', 64)
    await writer.write(PER_PARTITION)
    await writer.close()
    const config = writeConfig(
      configYaml(
        `  - name: ${link}\n    source: dc1\n    target: dc2\n    delivery: exactly-once\n    commitIntervalMs: 200\n    topics: { include: ["${topic}"] }\n    verify: { intervalMs: 1000, recordsPerPartition: ${WINDOW} }\n`
      )
    )
    const replicator = spawnReplicator(config)
    let code: number | string
    try {
      await waitForOutput(replicator, '"msg":"starting"', 20_000)
      const url = /"http":"(http:\/\/[^"]+)"/.exec(replicator.output())?.[1]
      assert.ok(url !== undefined, replicator.output())
      const metrics = async (): Promise<Map<string, MetricFamily>> =>
        parsePrometheus(await (await fetch(`${url}/metrics`)).text())
      const verification = async (): Promise<DashboardVerification> => {
        const body = (await (await fetch(`${url}/api/dashboard`)).json()) as {
          links: { link: string; verification: DashboardVerification | null }[]
        }
        const found = body.links.find(l => l.link === link)?.verification
        assert.ok(found !== undefined && found !== null, JSON.stringify(body))
        return found
      }
      await waitFor(`${PER_PARTITION} per partition committed`, 30_000, async () =>
        (await progressOf(link, topic, 2)).every(p => p === BigInt(PER_PARTITION))
      )

      // Given an exact copy: every pass after the commit checks both partitions' windows of 100.
      const labels = { link, topic }
      const checked = await waitFor('two full windows verified', 20_000, async () => {
        const families = await metrics()
        const windows = total(families, 'kafka_dr_verify_windows_total', labels)
        const matched = total(families, 'kafka_dr_verify_records_matched_total', labels)
        return windows >= 2 && matched >= 2 * WINDOW && { families, windows, matched }
      })
      assert.equal(total(checked.families, 'kafka_dr_verify_records_missing_total', labels), 0)
      assert.equal(total(checked.families, 'kafka_dr_verify_records_altered_total', labels), 0)
      assert.equal(total(checked.families, 'kafka_dr_verify_window_errors_total', labels), 0)
      // Windows hold exactly the committed records: matched grows by 100 per window, never more.
      assert.ok(checked.matched % WINDOW === 0, `matched ${checked.matched} is whole windows of ${WINDOW}`)
      const lastSuccess = total(checked.families, 'kafka_dr_verify_last_success_timestamp_seconds', { link })
      assert.ok(Math.abs(lastSuccess - Date.now() / 1000) < 60, `last success ${lastSuccess}`)
      const clean = await verification()
      assert.ok(clean.totals.windows >= 2 && clean.lastSuccessAt !== null, JSON.stringify(clean))
      assert.deepEqual([clean.totals.missing, clean.totals.altered, clean.totals.errors], [0, 0, 0])

      // When a record carrying the provenance of source offset 150 of partition 0, with other content,
      // lands on the target (inside the window [100, 200)):
      const origin = status().find(s => s.index === 1)?.clusterId
      assert.ok(origin !== undefined)
      const kafka = new kafkajs.Kafka({ brokers: [bootstrapOf(2)], logLevel: kafkajs.logLevel.NOTHING })
      const producer = kafka.producer()
      await producer.connect()
      await producer.send({
        topic,
        messages: [
          {
            partition: 0,
            key: 'forged',
            value: 'forged copy of 150',
            headers: { [PROVENANCE_HEADER]: new ProvenanceEncoder(topic, 0).encode(origin, 1, 150n) }
          }
        ]
      })
      await producer.disconnect()

      // Then the next pass reports it: altered, on partition 0, nothing missing.
      await waitFor('the forged copy reported as altered', 20_000, async () => {
        const families = await metrics()
        return total(families, 'kafka_dr_verify_records_altered_total', labels) >= 1
      })
      const families = await metrics()
      assert.equal(total(families, 'kafka_dr_verify_records_missing_total', labels), 0)
      const found = await waitFor('the dashboard to list partition 0', 10_000, async () => {
        const v = await verification()
        return v.problems.length > 0 && v
      })
      assert.deepEqual(
        found.problems.map(p => [p.topic, p.partition, p.altered, p.missing, p.from, p.to]),
        [[topic, 0, 1, 0, 100, 200]]
      )
      await waitForOutput(replicator, 'continuous verification: the target does not match the source', 10_000)
    } finally {
      code = await stopProcess(replicator)
    }
    assert.equal(code, 0, replicator.output().slice(-3000))

    // verify --watch: the full check every second, one JSON line per run, until SIGINT; the exit code
    // is the last run's (1: the forged copy is altered).
    const watch = spawn(
      process.execPath,
      [
        'src/cli/main.ts',
        'verify',
        '--config',
        config,
        '--link',
        link,
        '--topics',
        topic,
        '--json',
        '--quiet',
        '--watch',
        '1s'
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] }
    )
    let out = ''
    let err = ''
    watch.stdout.on('data', (d: Buffer) => (out += d.toString()))
    watch.stderr.on('data', (d: Buffer) => (err += d.toString()))
    const exited = once(watch, 'exit')
    try {
      await waitFor('two runs printed', 30_000, async () => out.split('\n').filter(l => l !== '').length >= 2)
    } finally {
      watch.kill('SIGINT')
    }
    const [exitCode] = await exited
    assert.equal(exitCode, 1, err)
    const runs = out
      .split('\n')
      .filter(l => l !== '')
      .map(l => JSON.parse(l) as { ok: boolean; totals: { altered: number; matched: number } })
    for (const run of runs.slice(0, 2)) {
      assert.equal(run.ok, false)
      assert.equal(run.totals.altered, 1)
      assert.equal(run.totals.matched, 2 * PER_PARTITION)
    }
    assert.match(err, /verify --watch: SIGINT: stopping/)
  })
})
