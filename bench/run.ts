import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdirSync, statfsSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { KafkaAdmin } from '../src/kafka/index.ts'
import { bootstrapOf, brokerPort, down, up } from '../tools/harness/harness.ts'
import { ensureJars } from '../tools/harness/jars.ts'
import { kafkaVersion, libsDir, repoRoot } from '../tools/harness/paths.ts'
import { type Calibration, calibrate } from './lib/calibrate.ts'
import { loadBacklog, sourceOf } from './lib/load.ts'
import { CONFIGS, type ConfigName, isKafkaDr, kafkaDrLink } from './lib/replicators.ts'
import { type BenchRun, writeReport } from './lib/report.ts'
import { describeScaleOut } from './lib/report-scale-out.ts'
import { catchUpTrial } from './lib/catch-up-trial.ts'
import { steadyTrial } from './lib/steady-trial.ts'
import { type BenchClusters, type TrialResult, trialDir, waitForLeaders } from './lib/trial.ts'
import { type CatchUpWorkload, type Workload, backlogOf, isScaleOut, workloads } from './lib/workloads.ts'
import { machineDescription } from './lib/machine.ts'

/**
 * `npm run bench`: kafka-dr against MirrorMaker 2 on the same machine, in one run. Starts its own
 * source and target clusters (harness clusters 3 and 4, so a developer's clusters 1 and 2 are left
 * alone), loads each source backlog once, calibrates the brokers' ceiling, then runs trials of each
 * configuration alternately (never two replicators at once), wiping the target before each trial.
 *
 *   npm run bench                      full run (about 40 minutes), report in docs/benchmarks.md
 *   npm run bench -- --quick           sizes / 32, 1 trial each, no MM2 defaults (under 5 minutes), report in bench/out/
 *   npm run bench -- --workloads W1,W3 --trials 2
 *   npm run bench -- --workloads W1,W3 --configs kafka-dr,kafka-dr-eos   exactly-once against at-least-once
 *   npm run bench -- --workloads W1 --configs kafka-dr --profile   CPU profile + memory samples per trial
 *   npm run bench -- --workloads W3 --configs kafka-dr --probe     memory and event-loop samples only
 *   npm run bench -- --configs kafka-dr --kafka-dr-link 'fetch: { partitionMaxBytes: 1048576 }'   tuning experiments
 *   npm run bench -- --workloads W3 --steady-rate 13000   steady workloads at a fixed records/s instead of their share of the ceiling
 */
const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    workloads: { type: 'string' },
    configs: { type: 'string' },
    trials: { type: 'string' },
    out: { type: 'string' },
    'keep-clusters': { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    probe: { type: 'boolean', default: false },
    'data-dir': { type: 'string' },
    'kafka-dr-link': { type: 'string', multiple: true },
    'steady-rate': { type: 'string' }
  }
})
const quick = values.quick === true
const steadyRate = values['steady-rate'] === undefined ? null : Number(values['steady-rate'])
if (steadyRate !== null && !(Number.isInteger(steadyRate) && steadyRate > 0)) {
  console.error(`--steady-rate takes a positive whole number of records per second, not ${values['steady-rate']}`)
  process.exit(2)
}
const trials = Number(values.trials ?? (quick ? 1 : 3))
const wanted = values.workloads?.split(',').map(w => w.trim().toUpperCase())
// Quick mode leaves out MirrorMaker 2's out-of-the-box configuration (the slowest) to stay short.
const asked = values.configs?.split(',').map(c => c.trim())
const unknown = asked?.filter(c => !(CONFIGS as readonly string[]).includes(c)) ?? []
if (unknown.length > 0) {
  console.error(`unknown configuration ${unknown.join(', ')}: --configs takes ${CONFIGS.join(', ')}`)
  process.exit(2)
}
const configs: readonly ConfigName[] =
  asked === undefined
    ? quick
      ? CONFIGS.filter(c => c !== 'mm2-default')
      : CONFIGS
    : CONFIGS.filter(c => asked.includes(c))
const every = workloads(quick)
const selected = every.filter(w => wanted === undefined || wanted.includes(w.id))
// The source topics to load: each catch-up workload's own, or the one it copies (W6, W7 copy W1's,
// which is loaded even when W1 itself is not selected).
const backlogs = [
  ...new Map(
    selected.flatMap(w => (w.kind === 'catch-up' ? [backlogOf(w, every)] : [])).map(b => [b.id, b] as const)
  ).values()
]
if (selected.length === 0 || !(trials >= 1) || configs.length === 0) {
  console.error('nothing to run: check --workloads, --configs and --trials')
  process.exit(2)
}
const runId = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-')
const runDir = join(repoRoot, 'bench', 'out', runId)
const outFile =
  values.out ??
  (quick || wanted !== undefined ? join(runDir, 'benchmarks.md') : join(repoRoot, 'docs', 'benchmarks.md'))
const log = (line: string): void => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`)
mkdirSync(runDir, { recursive: true })

/**
 * Where the benchmark brokers keep their logs. On these machines the disk's write-back comes in
 * bursts that stall every process writing for up to seconds (seen in vmstat during W3), which would
 * measure the disk, not the replicators; so broker data goes to tmpfs when it has room.
 */
function brokerDataDir(): { dir: string; kind: string } {
  if (values['data-dir'] !== undefined) return { dir: values['data-dir'], kind: 'as given by --data-dir' }
  const needGiB = quick ? 2 : 12
  try {
    const fs = statfsSync('/dev/shm')
    if ((fs.bavail * fs.bsize) / 2 ** 30 >= needGiB) return { dir: '/dev/shm/kafka-dr-bench', kind: 'tmpfs (/dev/shm)' }
  } catch {
    // no /dev/shm
  }
  return { dir: join(repoRoot, '.kafka', 'bench-run'), kind: 'disk (too little room on /dev/shm)' }
}
const dataDir = brokerDataDir()
process.env.KAFKA_DR_RUN_DIR = dataDir.dir

const SOURCE = 3
const TARGET = 4
const DELAYED_PORT = brokerPort(SOURCE) + 2
const PROXY_PORT = brokerPort(SOURCE) + 3
const clusters: BenchClusters = {
  sourceIndex: SOURCE,
  sourceBootstrap: bootstrapOf(SOURCE),
  delayedSourceBootstrap: `127.0.0.1:${PROXY_PORT}`,
  targetIndex: TARGET,
  targetBootstrap: bootstrapOf(TARGET)
}

let proxy: ChildProcess | null = null
async function cleanup(): Promise<void> {
  proxy?.kill('SIGTERM')
  if (values['keep-clusters'] !== true) await down({ indexes: [SOURCE, TARGET], log: () => {} })
}
process.once('SIGINT', () => {
  void cleanup().then(() => process.exit(130))
})

function ensureTools(): void {
  try {
    execFileSync('kcat', ['-V'], { stdio: 'ignore' })
  } catch {
    log('kcat is missing: running scripts/install-deps.sh')
    execFileSync(join(repoRoot, 'scripts', 'install-deps.sh'), { stdio: 'inherit' })
  }
  ensureJars(kafkaVersion(), log)
  log('building kafka-dr (npm run build): trials run dist/cli/main.js, as an installed package does')
  execFileSync('npm', ['run', '-s', 'build'], { cwd: repoRoot, stdio: 'inherit' })
  const hasMirror = execFileSync('ls', [libsDir(kafkaVersion())], { encoding: 'utf8' }).includes('connect-mirror-')
  if (!hasMirror) throw new Error(`MirrorMaker 2 (connect-mirror ${kafkaVersion()}) is not among the gathered jars`)
}

async function startProxy(delayMs: number): Promise<void> {
  if (proxy !== null) return
  const child = spawn(
    process.execPath,
    [
      join(repoRoot, 'tools', 'harness', 'cli.ts'),
      'delay-proxy',
      '--listen',
      String(PROXY_PORT),
      '--to',
      `127.0.0.1:${DELAYED_PORT}`,
      '--delay-ms',
      String(delayMs)
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] }
  )
  proxy = child
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve())
    child.once('exit', code => reject(new Error(`delay proxy exited with code ${code}`)))
  })
}

/** Round trip through the proxy as a client sees it: the median of a few metadata calls. */
async function measureRoundTrip(bootstrap: string): Promise<number> {
  const admin = new KafkaAdmin({ alias: 'bench-rtt', bootstrap: [bootstrap] })
  try {
    await admin.describeCluster()
    const times: number[] = []
    for (let i = 0; i < 7; i++) {
      const t = performance.now()
      await admin.describeCluster()
      times.push(performance.now() - t)
    }
    return times.sort((a, b) => a - b)[3]!
  } finally {
    await admin.close()
  }
}

const trialOptions = {
  profile: values.profile === true ? ('cpu' as const) : values.probe === true ? ('memory' as const) : null,
  linkExtra: values['kafka-dr-link'] ?? []
}
const topicFor = (workload: Workload): string => `bench-${workload.id.toLowerCase()}-${runId}`

/**
 * The kafka-dr links of this run through kafka-dr's own config loader (so a bad --kafka-dr-link
 * fails now, not in the first trial); returns the exactly-once commit interval, or null.
 */
function checkKafkaDrConfigs(): number | null {
  let eosInterval: number | null = null
  for (const config of configs.filter(isKafkaDr)) {
    const link = kafkaDrLink({
      config,
      sourceBootstrap: clusters.sourceBootstrap,
      targetBootstrap: clusters.targetBootstrap,
      topic: 'bench-config-check',
      partitions: 8,
      compression: 'none',
      dir: '',
      linkExtra: trialOptions.linkExtra
    })
    log(`${config}: delivery ${link.delivery}, commit interval ${link.commitIntervalMs} ms`)
    if (config === 'kafka-dr-eos') {
      if (link.delivery !== 'exactly-once') throw new Error(`kafka-dr-eos runs with delivery ${link.delivery}`)
      eosInterval = link.commitIntervalMs
    }
  }
  return eosInterval
}

async function main(): Promise<void> {
  const eosCommitIntervalMs = checkKafkaDrConfigs()
  ensureTools()
  const machine = { ...machineDescription(), brokerData: dataDir.kind }
  log(`machine: ${machine.cpu}, ${machine.memoryGiB} GiB; Kafka ${kafkaVersion()}; Node ${process.versions.node}`)
  await down({ indexes: [SOURCE, TARGET], log: () => {} })
  await up({
    indexes: [SOURCE, TARGET],
    clusterListeners: { [SOURCE]: [{ name: 'DELAYED', port: DELAYED_PORT, advertisedPort: PROXY_PORT }] },
    log
  })
  const source = new KafkaAdmin({ alias: 'bench-source', bootstrap: [clusters.sourceBootstrap] })
  const target = new KafkaAdmin({ alias: 'bench-target', bootstrap: [clusters.targetBootstrap] })
  const timestampBase = Date.now() - 3_600_000
  const run: BenchRun = {
    runId,
    quick,
    trialsPerConfig: trials,
    command: `npm run bench${process.argv.slice(2).length > 0 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    started: new Date().toISOString(),
    finished: null,
    machine,
    calibration: null,
    roundTripMs: null,
    workloads: selected,
    eosCommitIntervalMs,
    results: []
  }
  const save = (): void => writeFileSync(join(runDir, 'results.json'), `${JSON.stringify(run, null, 2)}\n`)

  // Sources, loaded once.
  for (const workload of backlogs) {
    const topic = topicFor(workload)
    await source.createTopics([{ name: topic, partitions: workload.partitions }])
    await waitForLeaders(source, topic, workload.partitions)
    const t = performance.now()
    await loadBacklog(sourceOf(clusters.sourceBootstrap, topic, workload), workload.recordsPerPartition, timestampBase)
    const total = workload.recordsPerPartition * workload.partitions
    log(`${workload.id}: loaded ${total} records into ${topic} in ${((performance.now() - t) / 1000).toFixed(1)} s`)
  }

  // Calibration on a 1 KiB backlog: W1's (or one loaded for it).
  const needsCeiling =
    selected.some(w => w.kind === 'steady' && 'ofCeiling' in w.rate) || selected.some(w => w.kind === 'catch-up')
  if (needsCeiling) run.calibration = await runCalibration(source, target, timestampBase)
  save()

  for (const workload of selected) {
    let rate = 0
    if (workload.kind === 'steady') {
      rate =
        steadyRate ??
        ('perSecond' in workload.rate
          ? workload.rate.perSecond
          : Math.round(workload.rate.ofCeiling * run.calibration!.ceilingRecordsPerSecond))
      log(
        `${workload.id}: ${rate} records/s for ${workload.durationMs / 1000} s per trial${steadyRate === null ? '' : ' (--steady-rate)'}`
      )
    }
    if (workload.sourceDelayMs > 0) {
      await startProxy(workload.sourceDelayMs)
      run.roundTripMs = {
        direct: await measureRoundTrip(clusters.sourceBootstrap),
        proxied: await measureRoundTrip(clusters.delayedSourceBootstrap)
      }
      log(
        `${workload.id}: metadata round trip ${run.roundTripMs.direct.toFixed(1)} ms direct, ${run.roundTripMs.proxied.toFixed(1)} ms through the delay proxy`
      )
    }
    // Scale-out workloads run kafka-dr workers only; each round runs every worker count of the workload.
    const variants = configs
      .filter(config => !isScaleOut(workload) || isKafkaDr(config))
      .flatMap(config => workload.workers.map(workers => ({ config, workers })))
    const skipped = configs.filter(config => !variants.some(v => v.config === config))
    if (skipped.length > 0) log(`${workload.id}: runs kafka-dr workers only; not run with ${skipped.join(', ')}`)
    for (let round = 0; round < trials; round++) {
      // Alternate the order (A B C, C B A, ...) so drift on the machine does not favour one tool.
      const order = round % 2 === 0 ? variants : [...variants].reverse()
      for (const { config, workers } of order) {
        const scaleOut = isScaleOut(workload)
        const trial = {
          config,
          workers,
          round,
          dir: trialDir(runDir, workload.id, config, round, scaleOut ? workers : null)
        }
        const result =
          workload.kind === 'catch-up'
            ? await catchUpTrial(
                clusters,
                workload,
                topicFor(backlogOf(workload, every)),
                timestampBase,
                trial,
                trialOptions
              )
            : await steadyTrial(
                clusters,
                workload,
                rate,
                `${topicFor(workload)}-${config}-${scaleOut ? `${workers}w-` : ''}${round}`,
                trial,
                trialOptions
              )
        run.results.push(result)
        save()
        log(`${workload.id} ${config}${scaleOut ? ` ${workers} worker(s)` : ''} #${round + 1}: ${describe(result)}`)
      }
    }
  }
  await Promise.all([source.close(), target.close()])
  run.finished = new Date().toISOString()
  save()
  const written = await writeReport(run, outFile)
  log(
    `report: ${written.map(f => relative(repoRoot, f)).join(', ')}; raw results: ${relative(repoRoot, join(runDir, 'results.json'))}`
  )
}

async function runCalibration(source: KafkaAdmin, target: KafkaAdmin, timestampBase: number): Promise<Calibration> {
  let backlog: CatchUpWorkload | undefined = backlogs.find(w => w.recordBytes === 1024 && w.payload === 'random')
  let topic: string
  let records: number
  if (backlog !== undefined) {
    topic = topicFor(backlog)
    records = backlog.recordsPerPartition * backlog.partitions
  } else {
    // No 1 KiB backlog among the chosen workloads: load W1's for the ceiling alone.
    const w1 = every.find(w => w.id === 'W1')
    if (w1?.kind !== 'catch-up') throw new Error('W1 must be a catch-up workload')
    backlog = w1
    topic = `bench-calibration-${runId}`
    records = backlog.recordsPerPartition * backlog.partitions
    await source.createTopics([{ name: topic, partitions: 8 }])
    await loadBacklog(sourceOf(clusters.sourceBootstrap, topic, backlog), backlog.recordsPerPartition, timestampBase)
  }
  const produceTopic = `bench-calibration-produce-${runId}`
  await source.createTopics([{ name: produceTopic, partitions: 8 }])
  await target.createTopics([{ name: produceTopic, partitions: 8 }])
  const calibration = await calibrate({
    sourceBootstrap: clusters.sourceBootstrap,
    targetBootstrap: clusters.targetBootstrap,
    backlogTopic: topic,
    produceTopicSource: produceTopic,
    produceTopicTarget: produceTopic,
    records,
    recordBytes: 1024
  })
  await source.deleteTopics([produceTopic])
  log(
    `calibration: produce ${calibration.produce.mbPerSecond.toFixed(1)} MB/s, consume ${calibration.consume.mbPerSecond.toFixed(1)} MB/s, both at once ${calibration.together.consume.mbPerSecond.toFixed(1)} / ${calibration.together.produce.mbPerSecond.toFixed(1)} MB/s: ceiling ${calibration.ceilingMbPerSecond.toFixed(1)} MB/s`
  )
  return calibration
}

function describe(r: TrialResult): string {
  const parts = [
    r.valid ? 'valid' : `INVALID (${r.error})`,
    `${r.mbPerSecond.toFixed(1)} MB/s`,
    `${Math.round(r.recordsPerSecond)} rec/s`,
    `${r.cpuSecondsPerGiB.toFixed(1)} CPU-s/GiB`,
    `peak RSS ${Math.round(r.peakRssMiB)} MiB`,
    `start-up ${r.startupSeconds.toFixed(1)} s`
  ]
  if (r.latency !== null) parts.push(`latency p50 ${r.latency.p50} ms p99 ${r.latency.p99} ms`)
  if (r.drainMs !== null) parts.push(`drained ${Math.round(r.drainMs)} ms after the last record`)
  parts.push(...describeScaleOut(r), `host CPU ${Math.round(r.hostBusyPercent)} % busy`)
  if (r.check !== null && r.check.duplicates > 0) parts.push(`${r.check.duplicates} duplicates`)
  return parts.join(', ')
}

try {
  await main()
} catch (error) {
  console.error(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
  process.exitCode = 1
} finally {
  await cleanup()
}
// Sleep a moment so child processes' exits are reaped before Node exits.
await sleep(100)
