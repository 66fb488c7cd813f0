import { type ChildProcess, spawn } from 'node:child_process'
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type LinkConfig, parseConfig } from '../../src/config/index.ts'
import { DATA_PATH_DEFAULTS } from '../../src/config/schema.ts'
import {
  JVM_PERFORMANCE_OPTS,
  harnessConfigDir,
  javaBinary,
  kafkaVersion,
  libsDir,
  repoRoot
} from '../../tools/harness/paths.ts'

/**
 * The replicators under test, each started as its own process so the kernel's accounting of CPU and
 * memory is about the replicator alone: kafka-dr (`kafka-dr replicate`, Node) with at-least-once
 * and with exactly-once delivery, and MirrorMaker 2 in dedicated mode
 * (`org.apache.kafka.connect.mirror.MirrorMaker`, a JVM), in two configurations.
 */

export type ConfigName = 'mm2-default' | 'mm2-tuned' | 'kafka-dr' | 'kafka-dr-eos'
export const CONFIGS: readonly ConfigName[] = ['mm2-default', 'mm2-tuned', 'kafka-dr', 'kafka-dr-eos']

export function isKafkaDr(config: ConfigName): config is 'kafka-dr' | 'kafka-dr-eos' {
  return config === 'kafka-dr' || config === 'kafka-dr-eos'
}

/**
 * Whether the configuration writes the target in transactions: its records become visible to
 * read_committed readers only when their transaction commits, each commit adds a control record
 * (one offset) to every partition it wrote, and a duplicate on the target is a failure. MirrorMaker
 * 2 in dedicated mode and kafka-dr at-least-once write idempotently, without transactions.
 */
export function isExactlyOnce(config: ConfigName): boolean {
  return config === 'kafka-dr-eos'
}

export interface ReplicatorSpec {
  config: ConfigName
  sourceBootstrap: string
  targetBootstrap: string
  /** One topic, copied under the same name (identity naming for both tools). */
  topic: string
  partitions: number
  /** Compression of what the replicator writes (tuned configurations and kafka-dr). */
  compression: 'none' | 'lz4' | 'zstd'
  /** Folder for the config file and the logs of this trial. */
  dir: string
  /** kafka-dr only: 'cpu' = CPU profile (--cpu-prof) and memory samples into `dir`; 'memory' = the samples only. */
  profile?: 'cpu' | 'memory' | null
  /** kafka-dr only: extra YAML lines for the link (tuning experiments; the report says so). */
  linkExtra?: string[]
  /**
   * kafka-dr only, scale-out: this process's `--worker-id`. A named worker also gets
   * `--http-listen 127.0.0.1:0` (several on one machine; the port it picked is in its log) and logs
   * at info, so its log holds the listening URL and the group's lines (partitions acquired, released).
   */
  worker?: string
}

export interface RunningReplicator {
  config: ConfigName
  pid: number
  /** The command line, for the report. */
  command: string
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>
  /** Its stdout and stderr (kafka-dr: JSON lines). */
  logFile: string
  /** Sends a signal (a worker leaving the group: SIGTERM, its graceful stop). */
  signal(signal: NodeJS.Signals): void
  /** Ends the process after a trial's measurements: SIGKILL, the same for both tools (the target is wiped next). */
  stop(): Promise<void>
}

/**
 * MirrorMaker 2's JVM heap: the defaults configuration gets what the shipped script
 * (bin/connect-mirror-maker.sh) sets; the tuned one 1 GiB, which it never ran out of, while the
 * defaults configuration did on W2 (OutOfMemoryError with 1 GiB: its offset bookkeeping of
 * hundreds of thousands of small records between 60 s offset flushes).
 */
export const MM2_HEAP: Record<'mm2-default' | 'mm2-tuned', string[]> = {
  'mm2-default': ['-Xms256m', '-Xmx2g'],
  'mm2-tuned': ['-Xms256m', '-Xmx1g']
}

/** Settings both MM2 configurations need on single-node clusters, and nothing more. */
function mm2Base(spec: ReplicatorSpec): Record<string, string> {
  return {
    clusters: 'A, B',
    'A.bootstrap.servers': spec.sourceBootstrap,
    'B.bootstrap.servers': spec.targetBootstrap,
    'A->B.enabled': 'true',
    'A->B.topics': spec.topic,
    'B->A.enabled': 'false',
    'B->A.emit.heartbeats.enabled': 'false',
    // Same topic names on the target as kafka-dr's identity naming.
    'replication.policy.class': 'org.apache.kafka.connect.mirror.IdentityReplicationPolicy',
    // Single-node clusters: every replication factor 1 (MM2's defaults are 2 and 3).
    'replication.factor': '1',
    'checkpoints.topic.replication.factor': '1',
    'heartbeats.topic.replication.factor': '1',
    'offset-syncs.topic.replication.factor': '1',
    'offset.storage.replication.factor': '1',
    'status.storage.replication.factor': '1',
    'config.storage.replication.factor': '1',
    // The benchmark clusters run no authorizer.
    'sync.topic.acls.enabled': 'false'
  }
}

/**
 * The producer and consumer settings kafka-dr uses by default (its batch size, fetch sizes and fetch
 * wait; no linger: a partition's next batch goes as soon as the last is acknowledged), with
 * idempotence keeping order while several requests are in flight.
 */
export function mm2TunedSettings(spec: ReplicatorSpec): Record<string, string> {
  const d = DATA_PATH_DEFAULTS
  return {
    'tasks.max': String(Math.min(spec.partitions, 8)),
    'A.consumer.max.partition.fetch.bytes': String(d.fetchPartitionMaxBytes),
    'A.consumer.fetch.max.bytes': String(d.fetchMaxBytes),
    'A.consumer.fetch.max.wait.ms': String(d.fetchMaxWaitMs),
    'A.consumer.max.poll.records': '5000',
    'B.producer.batch.size': String(d.maxBatchBytes),
    'B.producer.linger.ms': '0',
    'B.producer.buffer.memory': '67108864',
    'B.producer.max.in.flight.requests.per.connection': '5',
    'B.producer.enable.idempotence': 'true',
    'B.producer.compression.type': spec.compression,
    'offset.flush.interval.ms': '10000',
    // What MM2 itself recommends at start-up ("All plugins have ServiceLoader manifests"); start-up only.
    'plugin.discovery': 'service_load'
  }
}

export function mm2Properties(spec: ReplicatorSpec): Record<string, string> {
  const base = mm2Base(spec)
  if (spec.config === 'mm2-default') return { ...base, 'tasks.max': String(spec.partitions) }
  return { ...base, ...mm2TunedSettings(spec) }
}

export function kafkaDrYaml(spec: ReplicatorSpec): string {
  return [
    'clusters:',
    `  src: { bootstrap: "${spec.sourceBootstrap}" }`,
    `  dst: { bootstrap: "${spec.targetBootstrap}" }`,
    'links:',
    '  - source: src',
    '    target: dst',
    `    topics: { include: ["${spec.topic}"] }`,
    // Both named: the default must not decide what either configuration measures.
    `    delivery: ${isExactlyOnce(spec.config) ? 'exactly-once' : 'at-least-once'}`,
    ...(spec.compression === 'none' ? [] : [`    producer: { compression: ${spec.compression} }`]),
    ...(spec.linkExtra ?? []).map(line => `    ${line}`),
    ''
  ].join('\n')
}

/**
 * The link as kafka-dr will run it (the trial's YAML through kafka-dr's own config loader, defaults
 * applied): the bench reads the commit interval from it, and a bad --kafka-dr-link fails before the run.
 */
export function kafkaDrLink(spec: ReplicatorSpec): LinkConfig {
  const link = parseConfig(kafkaDrYaml(spec), `${spec.config} trial config`).links[0]
  if (link === undefined) throw new Error(`the ${spec.config} trial config has no link`)
  return link
}

function track(child: ChildProcess): Promise<number | null> {
  return new Promise(resolve => child.once('exit', code => resolve(code)))
}

/** How long a profiled kafka-dr gets to stop and write its CPU profile before it is killed. */
const PROFILE_STOP_MS = 30_000

/**
 * SIGKILL, the same for both tools. A CPU-profiled kafka-dr (--profile) is stopped with SIGTERM
 * first: V8 writes the profile (--cpu-prof) only when the process exits by itself.
 */
async function stopChild(child: ChildProcess, exited: Promise<number | null>, graceful: boolean): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  if (graceful) {
    child.kill('SIGTERM')
    const timer = new Promise(resolve => setTimeout(resolve, PROFILE_STOP_MS).unref())
    await Promise.race([exited, timer])
    if (child.exitCode !== null || child.signalCode !== null) return
  }
  child.kill('SIGKILL')
  await exited
}

/** kafka-dr's command-line flags beyond the config: a named worker of a scale-out trial, or the plain process. */
function kafkaDrFlags(spec: ReplicatorSpec): string[] {
  if (spec.worker === undefined) return ['--log-level', 'warn']
  return ['--worker-id', spec.worker, '--http-listen', '127.0.0.1:0', '--log-level', 'info']
}

export function startReplicator(spec: ReplicatorSpec): RunningReplicator {
  mkdirSync(spec.dir, { recursive: true })
  const logFile = join(spec.dir, 'stdout.log')
  const out = openSync(logFile, 'a')
  let file: string
  let args: string[]
  let binary: string
  if (isKafkaDr(spec.config)) {
    file = join(spec.dir, 'kafka-dr.yaml')
    writeFileSync(file, kafkaDrYaml(spec))
    binary = process.execPath
    const profiling =
      spec.profile === 'cpu'
        ? ['--cpu-prof', `--cpu-prof-dir=${spec.dir}`, '--import', join(repoRoot, 'bench', 'lib', 'memory-probe.js')]
        : spec.profile === 'memory'
          ? ['--import', join(repoRoot, 'bench', 'lib', 'memory-probe.js')]
          : []
    // The built package, as users run it (sources run through type stripping, which costs memory).
    args = [
      ...profiling,
      join(repoRoot, 'dist', 'cli', 'main.js'),
      'replicate',
      '--config',
      file,
      ...kafkaDrFlags(spec)
    ]
  } else {
    file = join(spec.dir, 'mm2.properties')
    const properties = mm2Properties(spec)
    writeFileSync(
      file,
      `${Object.entries(properties)
        .map(([k, v]) => `${k} = ${v}`)
        .join('\n')}\n`
    )
    binary = javaBinary()
    args = [
      ...MM2_HEAP[spec.config],
      ...JVM_PERFORMANCE_OPTS,
      `-Dkafka.logs.dir=${spec.dir}`,
      `-Dlog4j2.configurationFile=${join(harnessConfigDir, 'log4j2-server.properties')}`,
      '-cp',
      `${libsDir(kafkaVersion())}/*`,
      'org.apache.kafka.connect.mirror.MirrorMaker',
      file,
      '--clusters',
      'B'
    ]
  }
  const env =
    spec.profile != null ? { ...process.env, KAFKA_DR_MEMORY_PROBE: join(spec.dir, 'memory.jsonl') } : process.env
  const child = spawn(binary, args, { stdio: ['ignore', out, out], cwd: repoRoot, env })
  closeSync(out)
  if (child.pid === undefined) throw new Error(`could not start ${spec.config}`)
  const exited = track(child)
  return {
    config: spec.config,
    pid: child.pid,
    command: [binary === process.execPath ? 'node' : 'java', ...args.map(a => a.replace(repoRoot + '/', ''))].join(' '),
    exited,
    logFile,
    signal: signal => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
    },
    stop: () => stopChild(child, exited, spec.profile === 'cpu')
  }
}
