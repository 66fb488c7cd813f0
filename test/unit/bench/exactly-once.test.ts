import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type BenchRun } from '../../../bench/lib/figures.ts'
import { type ConfigName, kafkaDrLink, kafkaDrYaml } from '../../../bench/lib/replicators.ts'
import { targets } from '../../../bench/lib/targets.ts'
import { type LatencyFigures, type TrialResult } from '../../../bench/lib/trial.ts'
import { workloads } from '../../../bench/lib/workloads.ts'
import { EXACTLY_ONCE_COMMIT_INTERVAL_MS } from '../../../src/config/load.ts'

function latency(p99: number): LatencyFigures {
  return { p50: p99 / 2, p99, p999: p99, max: p99, samples: 100, perSecond: [] }
}

function trial(
  workload: string,
  config: ConfigName,
  figures: { mb?: number; p99?: number; valid?: boolean }
): TrialResult {
  return {
    workload,
    config,
    round: 0,
    valid: figures.valid ?? true,
    error: figures.valid === false ? 'invalid: duplicate of seq 3 at partition 0 offset 4' : null,
    check: null,
    records: 1000,
    bytes: 1024000,
    mbPerSecond: figures.mb ?? NaN,
    recordsPerSecond: NaN,
    cpuSecondsPerGiB: NaN,
    cpuSecondsTotal: NaN,
    peakRssMiB: NaN,
    startupSeconds: NaN,
    totalSeconds: NaN,
    latency: figures.p99 === undefined ? null : latency(figures.p99),
    maxLagRecords: null,
    drainMs: null,
    hostBusyPercent: NaN,
    sourceBrokerCpuPercent: NaN,
    targetBrokerCpuPercent: NaN,
    command: ''
  }
}

function run(results: TrialResult[], eosCommitIntervalMs: number | null = 200): BenchRun {
  return {
    runId: 'test',
    quick: true,
    trialsPerConfig: 1,
    command: 'npm run bench',
    started: '',
    finished: null,
    machine: {
      cpu: '',
      cores: 1,
      memoryGiB: 1,
      kernel: '',
      node: '',
      java: '',
      kafka: '',
      kafkaDr: '',
      commit: '',
      kcat: ''
    },
    calibration: null,
    roundTripMs: null,
    workloads: workloads(true).filter(w => w.id === 'W1' || w.id === 'W3'),
    eosCommitIntervalMs,
    results
  }
}

const eosRows = (r: BenchRun): ReturnType<typeof targets> =>
  targets(r).filter(row => row.target.includes('exactly-once'))

test('exactly-once rows compare the medians of the same run', () => {
  const rows = eosRows(
    run([
      trial('W1', 'kafka-dr', { mb: 100 }),
      trial('W1', 'kafka-dr', { mb: 120 }),
      trial('W1', 'kafka-dr', { mb: 80 }),
      trial('W1', 'kafka-dr-eos', { mb: 90 }),
      trial('W1', 'kafka-dr-eos', { mb: 10 }),
      trial('W1', 'kafka-dr-eos', { mb: 95 }),
      trial('W3', 'kafka-dr', { p99: 20 }),
      trial('W3', 'kafka-dr-eos', { p99: 410 })
    ])
  )
  assert.deepEqual(rows, [
    {
      target: 'W1: exactly-once throughput ≥ 0.85 × at-least-once',
      measured: '0.90 × (90.0 vs 100.0 MB/s)',
      met: true
    },
    {
      target: 'W3: exactly-once latency p99 ≤ 2 × commit interval (200 ms: ≤ 400 ms)',
      measured: '410 ms (at-least-once: 20 ms)',
      met: false
    }
  ])
})

test('no exactly-once row unless both configurations ran on the workload', () => {
  assert.deepEqual(eosRows(run([trial('W1', 'kafka-dr', { mb: 100 }), trial('W3', 'kafka-dr-eos', { p99: 100 })])), [])
})

test('an exactly-once configuration without a valid trial is not judged', () => {
  const rows = eosRows(
    run([trial('W1', 'kafka-dr', { mb: 100 }), trial('W1', 'kafka-dr-eos', { mb: 200, valid: false })])
  )
  assert.equal(rows.length, 1)
  assert.equal(rows[0]!.met, null)
})

test('kafka-dr-eos is kafka-dr with delivery: exactly-once, at the default commit interval', () => {
  const spec = {
    sourceBootstrap: '127.0.0.1:39092',
    targetBootstrap: '127.0.0.1:49092',
    topic: 'bench-w1',
    partitions: 8,
    compression: 'none' as const,
    dir: ''
  }
  const eos = kafkaDrYaml({ ...spec, config: 'kafka-dr-eos' })
  assert.equal(
    eos.replace('    delivery: exactly-once\n', '    delivery: at-least-once\n'),
    kafkaDrYaml({ ...spec, config: 'kafka-dr' })
  )
  const link = kafkaDrLink({ ...spec, config: 'kafka-dr-eos' })
  assert.equal(link.delivery, 'exactly-once')
  assert.equal(link.commitIntervalMs, EXACTLY_ONCE_COMMIT_INTERVAL_MS)
  assert.equal(kafkaDrLink({ ...spec, config: 'kafka-dr' }).delivery, 'at-least-once')
  assert.equal(
    kafkaDrLink({ ...spec, config: 'kafka-dr-eos', linkExtra: ['commitIntervalMs: 100'] }).commitIntervalMs,
    100
  )
})

test('rows against MirrorMaker 2 tuned only when it ran', () => {
  const only = run([trial('W1', 'kafka-dr', { mb: 100 }), trial('W1', 'kafka-dr-eos', { mb: 90 })])
  assert.deepEqual(
    targets(only).map(row => row.target),
    ['W3: replication latency p99 ≤ 50 ms', 'W1: exactly-once throughput ≥ 0.85 × at-least-once']
  )
  const withMm2 = run([trial('W1', 'kafka-dr', { mb: 100 }), trial('W1', 'mm2-tuned', { mb: 50 })])
  assert.equal(targets(withMm2).filter(row => row.target.includes('MirrorMaker 2 tuned')).length, 3)
})
