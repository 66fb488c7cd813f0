import { execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import {
  closeSync,
  cpSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync
} from 'node:fs'
import { createConnection } from 'node:net'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { KafkaAdmin } from '../../src/kafka/index.ts'
import { ensureJars } from './jars.ts'
import { type ClusterTls, ensureClusterTls } from './tls.ts'
import { ownedPidFrom, terminateOwned } from './pids.ts'
import { registryIndexes, startRegistry, stopRegistry } from './registry.ts'
import { JVM_PERFORMANCE_OPTS, harnessConfigDir, javaBinary, kafkaVersion, runDir, usesLegacyLogging } from './paths.ts'

/**
 * Independent single-node KRaft clusters on 127.0.0.1, started from Maven Central jars.
 * Cluster n listens on n*10000+9092 (broker) and n*10000+9093 (controller): 19092, 29092, 39092...
 * Each cluster folder under the run dir holds server.properties, data/, logs/, broker.pid and
 * cluster.json; a stopped cluster keeps its data and starts again from it.
 */

export const MAX_CLUSTERS = 5

const runFile = promisify(execFile)

/**
 * A further broker listener beside PLAINTEXT (e.g. one reached through a delay proxy). Clients that
 * connect to it are told `advertisedPort`, so a proxy in front of `port` stays on their path.
 */
export interface ExtraListener {
  /** Listener name, upper case (e.g. DELAYED). */
  name: string
  port: number
  /** The port clients are told to use; defaults to `port`. */
  advertisedPort?: number
  /**
   * PLAINTEXT (default); SASL_SSL: SASL (`mechanisms`) over TLS with the harness's certificates; SSL:
   * TLS without SASL (with `clientAuth: 'required'`, mutual TLS).
   */
  protocol?: 'PLAINTEXT' | 'SASL_SSL' | 'SSL'
  /**
   * SASL_SSL only: the mechanisms the listener enables (default SCRAM-SHA-512 and SCRAM-SHA-256).
   * PLAIN users come from ClusterSecurity.plainUsers; OAUTHBEARER uses Kafka's default unsecured
   * validator (OAuthBearerUnsecuredValidatorCallbackHandler): unsigned JWTs (`alg: none`) whose `sub`
   * is the principal and whose `exp` lies in the future.
   */
  mechanisms?: HarnessSaslMechanism[]
  /** SSL and SASL_SSL: 'required' makes clients present a certificate signed by the cluster's CA (tls.ts). */
  clientAuth?: 'required'
}

export type HarnessSaslMechanism = 'SCRAM-SHA-512' | 'SCRAM-SHA-256' | 'PLAIN' | 'OAUTHBEARER'

const DEFAULT_MECHANISMS: HarnessSaslMechanism[] = ['SCRAM-SHA-512', 'SCRAM-SHA-256']

/** Authentication and authorization of a cluster (for security tests). */
export interface ClusterSecurity {
  /** SCRAM credentials (SHA-256 and SHA-512) created when the cluster is formatted. */
  scramUsers?: { name: string; password: string }[]
  /** Users of SASL PLAIN listeners (the broker's JAAS `user_<name>` entries). */
  plainUsers?: { name: string; password: string }[]
  /**
   * Turn on Kafka's StandardAuthorizer: nothing is allowed without an ACL, except for super users
   * (User:admin, and User:ANONYMOUS, the principal of the PLAINTEXT listeners the harness itself,
   * the controller and the tests' setup use).
   */
  authorizer?: boolean
}

export interface ClusterInfo {
  index: number
  clusterId: string
  kafkaVersion: string
  brokerPort: number
  controllerPort: number
  bootstrap: string
  overrides: Record<string, string>
  heap: string
  listeners?: ExtraListener[]
  security?: ClusterSecurity
}

export interface UpOptions {
  /** Starts clusters 1..clusters, or exactly the `indexes` given. */
  clusters?: number
  indexes?: number[]
  /** Extra listeners per cluster index (clusters started fresh only). */
  clusterListeners?: Record<number, ExtraListener[]>
  /** SCRAM users and authorizer per cluster index (clusters started fresh only). */
  clusterSecurity?: Record<number, ClusterSecurity>
  /** Broker config for every cluster started fresh. */
  overrides?: Record<string, string>
  /** Broker config per cluster index, on top of `overrides`. */
  clusterOverrides?: Record<number, Record<string, string>>
  heap?: string
  readyTimeoutMs?: number
  log?: (line: string) => void
  /** Also start a Schema Registry beside each cluster (tools/harness/registry.ts). */
  schemaRegistry?: boolean
}

export interface ClusterStatus extends ClusterInfo {
  pid: number | null
  running: boolean
  rssKiB: number | null
}

export function brokerPort(index: number): number {
  return index * 10_000 + 9092
}

export function bootstrapOf(index: number): string {
  return `127.0.0.1:${brokerPort(index)}`
}

function clusterDir(index: number): string {
  return join(runDir(), `cluster-${index}`)
}

function checkIndex(index: number): void {
  if (!Number.isInteger(index) || index < 1 || index > MAX_CLUSTERS) {
    throw new Error(`cluster index must be 1..${MAX_CLUSTERS}, got ${index}`)
  }
}

/** A Kafka Uuid: 16 random bytes, URL-safe base64 without padding; never starting with '-'. */
export function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url')
    if (!id.startsWith('-')) return id
  }
}

export function serverProperties(info: ClusterInfo, dataDir: string, tls?: ClusterTls): string {
  const { index, brokerPort: bp, controllerPort: cp } = info
  const extra = info.listeners ?? []
  const secure = extra.filter(l => l.protocol === 'SASL_SSL' || l.protocol === 'SSL')
  if (secure.length > 0 && tls === undefined) throw new Error('a SASL_SSL or SSL listener needs the cluster TLS files')
  const base: Record<string, string> = {
    'process.roles': 'broker,controller',
    'node.id': '1',
    // Static voters: the one form that works on both 3.9.x and 4.x.
    'controller.quorum.voters': `1@127.0.0.1:${cp}`,
    listeners: [
      `PLAINTEXT://127.0.0.1:${bp}`,
      `CONTROLLER://127.0.0.1:${cp}`,
      ...extra.map(l => `${l.name}://127.0.0.1:${l.port}`)
    ].join(','),
    'advertised.listeners': [
      `PLAINTEXT://127.0.0.1:${bp}`,
      ...extra.map(l => `${l.name}://127.0.0.1:${l.advertisedPort ?? l.port}`)
    ].join(','),
    'inter.broker.listener.name': 'PLAINTEXT',
    'controller.listener.names': 'CONTROLLER',
    'listener.security.protocol.map': [
      'CONTROLLER:PLAINTEXT',
      'PLAINTEXT:PLAINTEXT',
      ...extra.map(l => `${l.name}:${l.protocol ?? 'PLAINTEXT'}`)
    ].join(','),
    'log.dirs': dataDir,
    'num.partitions': '1',
    'default.replication.factor': '1',
    'offsets.topic.replication.factor': '1',
    // 1 partition: the first consumer group in a test joins fast.
    'offsets.topic.num.partitions': '1',
    'transaction.state.log.replication.factor': '1',
    'transaction.state.log.min.isr': '1',
    'share.coordinator.state.topic.replication.factor': '1',
    'share.coordinator.state.topic.min.isr': '1',
    'group.initial.rebalance.delay.ms': '0',
    'auto.create.topics.enable': 'false',
    'num.network.threads': '2',
    'num.io.threads': '4'
  }
  const security: Record<string, string> = {}
  for (const l of secure) Object.assign(security, listenerSecurity(l, tls!, info.security?.plainUsers ?? []))
  if (info.security?.authorizer === true) {
    security['authorizer.class.name'] = 'org.apache.kafka.metadata.authorizer.StandardAuthorizer'
    security['super.users'] = 'User:ANONYMOUS;User:admin'
    security['allow.everyone.if.no.acl.found'] = 'false'
  }
  const merged = { ...base, ...security, ...info.overrides }
  const lines = [`# kafka-dr harness, cluster ${index} (generated; edit the overrides, not this file)`]
  for (const [key, value] of Object.entries(merged)) lines.push(`${key}=${value}`)
  return `${lines.join('\n')}\n`
}

/** The per-listener TLS and SASL settings of one SASL_SSL or SSL listener. */
function listenerSecurity(
  listener: ExtraListener,
  tls: ClusterTls,
  plainUsers: { name: string; password: string }[]
): Record<string, string> {
  const prefix = `listener.name.${listener.name.toLowerCase()}`
  const settings: Record<string, string> = {
    [`${prefix}.ssl.keystore.type`]: 'PEM',
    [`${prefix}.ssl.keystore.location`]: tls.keystoreFile
  }
  if (listener.clientAuth === 'required') {
    settings[`${prefix}.ssl.client.auth`] = 'required'
    settings[`${prefix}.ssl.truststore.type`] = 'PEM'
    settings[`${prefix}.ssl.truststore.location`] = tls.caFile
  }
  if (listener.protocol !== 'SASL_SSL') return settings
  const mechanisms = listener.mechanisms ?? DEFAULT_MECHANISMS
  settings[`${prefix}.sasl.enabled.mechanisms`] = mechanisms.join(',')
  for (const mechanism of mechanisms) {
    settings[`${prefix}.${mechanism.toLowerCase()}.sasl.jaas.config`] = jaasConfig(mechanism, plainUsers)
  }
  return settings
}

function jaasConfig(mechanism: HarnessSaslMechanism, plainUsers: { name: string; password: string }[]): string {
  switch (mechanism) {
    case 'PLAIN':
      return `org.apache.kafka.common.security.plain.PlainLoginModule required ${plainUsers.map(u => `user_${u.name}="${u.password}"`).join(' ')};`
    case 'OAUTHBEARER':
      // No server callback handler configured: the broker validates with the unsecured validator.
      // The login claim is the broker's own (unused) token for this listener.
      return 'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="admin";'
    default:
      return 'org.apache.kafka.common.security.scram.ScramLoginModule required;'
  }
}

function readInfo(index: number): ClusterInfo | null {
  const file = join(clusterDir(index), 'cluster.json')
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as ClusterInfo) : null
}

/** The certificates of a cluster with a SASL_SSL or SSL listener (clients trust `caFile`), or null. */
export function clusterTls(index: number): ClusterTls | null {
  const dir = join(clusterDir(index), 'tls')
  return existsSync(join(dir, 'ca.crt')) ? ensureClusterTls(dir, `cluster ${index}`) : null
}

/** The pid from the pid file, only if that process is alive AND is the broker of this cluster folder. */
export function ownedPid(index: number): number | null {
  // The command line must name this cluster's own properties file.
  return ownedPidFrom(join(clusterDir(index), 'broker.pid'), join(clusterDir(index), 'server.properties'))
}

function rssKiB(pid: number): number | null {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match?.[1] === undefined ? null : Number(match[1])
  } catch {
    return null
  }
}

function portInUse(port: number): Promise<boolean> {
  return new Promise(resolve => {
    const socket = createConnection({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

function javaArgs(info: ClusterInfo, libs: string, main: string, heap: string, forTool: boolean): string[] {
  const legacy = usesLegacyLogging(info.kafkaVersion)
  const logConfig = legacy
    ? `-Dlog4j.configuration=file:${join(harnessConfigDir, forTool ? 'log4j-tools.properties' : 'log4j-server.properties')}`
    : `-Dlog4j2.configurationFile=${join(harnessConfigDir, forTool ? 'log4j2-tools.properties' : 'log4j2-server.properties')}`
  return [
    `-Xms${forTool ? '64m' : heap}`,
    `-Xmx${forTool ? '256m' : heap}`,
    ...JVM_PERFORMANCE_OPTS,
    `-Dkafka.logs.dir=${join(clusterDir(info.index), 'logs')}`,
    logConfig,
    '-cp',
    `${libs}/*`,
    main
  ]
}

/** Formats the cluster's log dir (a no-op when already formatted); one short-lived JVM. */
async function format(info: ClusterInfo, libs: string): Promise<void> {
  const dir = clusterDir(info.index)
  const args = [
    ...javaArgs(info, libs, 'kafka.tools.StorageTool', info.heap, true),
    'format',
    '-t',
    info.clusterId,
    '-c',
    join(dir, 'server.properties'),
    '--ignore-formatted',
    ...(info.security?.scramUsers ?? []).flatMap(u =>
      ['SCRAM-SHA-512', 'SCRAM-SHA-256'].flatMap(m => ['--add-scram', `${m}=[name=${u.name},password=${u.password}]`])
    )
  ]
  try {
    await runFile(javaBinary(), args, { encoding: 'utf8' })
  } catch (error) {
    const { stderr = '', stdout = '' } = error as { stderr?: string; stdout?: string }
    throw new Error(`formatting cluster ${info.index} failed: ${stderr}${stdout}`, { cause: error })
  }
}

function launch(info: ClusterInfo, libs: string): number {
  const dir = clusterDir(info.index)
  mkdirSync(join(dir, 'logs'), { recursive: true })
  const out = openSync(join(dir, 'logs', 'stdout.log'), 'a')
  const child = spawn(
    javaBinary(),
    [...javaArgs(info, libs, 'kafka.Kafka', info.heap, false), join(dir, 'server.properties')],
    { detached: true, stdio: ['ignore', out, out] }
  )
  closeSync(out)
  if (child.pid === undefined) throw new Error(`could not start the broker JVM of cluster ${info.index}`)
  child.unref()
  writeFileSync(join(dir, 'broker.pid'), `${child.pid}\n`)
  return child.pid
}

function tail(file: string, lines: number): string {
  if (!existsSync(file)) return ''
  return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n')
}

async function waitReady(info: ClusterInfo, pid: number, timeoutMs: number): Promise<string> {
  const admin = new KafkaAdmin({
    alias: `harness-${info.index}`,
    bootstrap: [info.bootstrap],
    connectTimeoutMs: 1000,
    requestTimeoutMs: 2000
  })
  const deadline = Date.now() + timeoutMs
  try {
    for (;;) {
      try {
        const description = await admin.describeCluster()
        if (description.brokers.length > 0) return description.clusterId
      } catch (error) {
        if (ownedPid(info.index) !== pid) {
          const logs = join(clusterDir(info.index), 'logs')
          throw new Error(
            `broker of cluster ${info.index} exited during start-up.\n--- stdout.log ---\n${tail(join(logs, 'stdout.log'), 30)}\n--- server.log ---\n${tail(join(logs, 'server.log'), 30)}`,
            { cause: error }
          )
        }
        if (Date.now() > deadline) {
          throw new Error(`cluster ${info.index} did not answer an admin call within ${timeoutMs} ms`, { cause: error })
        }
      }
      await sleep(200)
    }
  } finally {
    await admin.close()
  }
}

/** Starts (or leaves running) clusters 1..n. Idempotent: running clusters are left alone. */
export async function up(options: UpOptions): Promise<ClusterStatus[]> {
  const log = options.log ?? console.log
  const indexes = options.indexes ?? Array.from({ length: options.clusters ?? 1 }, (_, i) => i + 1)
  if (indexes.length === 0 || indexes.some(i => !Number.isInteger(i) || i < 1 || i > MAX_CLUSTERS)) {
    throw new Error(`cluster numbers must be 1..${MAX_CLUSTERS}, got ${indexes.join(', ') || 'none'}`)
  }
  const version = kafkaVersion()
  const libs = ensureJars(version, log)
  const starting: ClusterInfo[] = []
  /** Clusters formatted for the first time here: only their data folders are pristine copies. */
  const fresh = new Set<number>()

  for (const index of indexes) {
    const running = ownedPid(index)
    if (running !== null) {
      log(`cluster ${index}: already running (pid ${running}) at ${bootstrapOf(index)}`)
      continue
    }
    let info = readInfo(index)
    if (info === null) {
      const overrides = { ...options.overrides, ...options.clusterOverrides?.[index] }
      const listeners = options.clusterListeners?.[index]
      const security = options.clusterSecurity?.[index]
      info = {
        index,
        clusterId: newClusterId(),
        kafkaVersion: version,
        brokerPort: brokerPort(index),
        controllerPort: brokerPort(index) + 1,
        bootstrap: bootstrapOf(index),
        overrides,
        heap: options.heap ?? '512m',
        ...(listeners === undefined ? {} : { listeners }),
        ...(security === undefined ? {} : { security })
      }
      fresh.add(index)
      rmSync(join(clusterDir(index), 'formatted-data'), { recursive: true, force: true })
    } else if (info.kafkaVersion !== version) {
      throw new Error(
        `cluster ${index} was formatted with Kafka ${info.kafkaVersion}, not ${version}: run 'down' first (its data is not portable)`
      )
    }
    for (const port of [info.brokerPort, info.controllerPort, ...(info.listeners ?? []).map(l => l.port)]) {
      if (await portInUse(port)) {
        throw new Error(`port ${port} for cluster ${index} is in use by a process this harness did not start`)
      }
    }
    const dir = clusterDir(index)
    mkdirSync(join(dir, 'data'), { recursive: true })
    const tls = (info.listeners ?? []).some(l => l.protocol === 'SASL_SSL' || l.protocol === 'SSL')
      ? ensureClusterTls(join(dir, 'tls'), `cluster ${index}`)
      : undefined
    writeFileSync(join(dir, 'server.properties'), serverProperties(info, join(dir, 'data'), tls))
    writeFileSync(join(dir, 'cluster.json'), `${JSON.stringify(info, null, 2)}\n`)
    starting.push(info)
  }

  // Clusters are independent: format and start them side by side.
  await Promise.all(
    starting.map(async info => {
      const startedAt = Date.now()
      await format(info, libs)
      if (fresh.has(info.index)) keepFormattedCopy(info.index)
      const pid = launch(info, libs)
      const clusterId = await waitReady(info, pid, options.readyTimeoutMs ?? 90_000)
      if (clusterId !== info.clusterId)
        throw new Error(`cluster ${info.index} answered with id ${clusterId}, expected ${info.clusterId}`)
      log(
        `cluster ${info.index}: up at ${info.bootstrap} (id ${clusterId}, pid ${pid}, ready in ${Date.now() - startedAt} ms)`
      )
    })
  )
  // One registry JVM at a time: side by side they only fight over the two cores.
  if (options.schemaRegistry === true) for (const index of indexes) await startRegistry(index, log)
  return status().filter(s => indexes.includes(s.index))
}

/**
 * The data folder as the format tool left it (cluster id and bootstrap metadata, no records), kept
 * so that `wipe` can reset a cluster without another format JVM.
 */
function keepFormattedCopy(index: number): void {
  const dir = clusterDir(index)
  const copy = join(dir, 'formatted-data')
  if (existsSync(copy)) return
  cpSync(join(dir, 'data'), copy, { recursive: true })
}

/**
 * Resets one cluster to empty: the broker is killed (its data is discarded anyway), the data folder
 * is replaced by the freshly formatted copy, and the broker starts again with the same cluster id,
 * ports and config. For benchmarks that need an empty target between trials.
 */
export async function wipe(index: number, readyTimeoutMs = 90_000): Promise<ClusterStatus> {
  checkIndex(index)
  const info = readInfo(index)
  if (info === null) throw new Error(`cluster ${index} was never created: use 'up' first`)
  await terminate(index, 'SIGKILL')
  const dir = clusterDir(index)
  const libs = ensureJars(info.kafkaVersion)
  rmSync(join(dir, 'data'), { recursive: true, force: true })
  if (existsSync(join(dir, 'formatted-data'))) {
    cpSync(join(dir, 'formatted-data'), join(dir, 'data'), { recursive: true })
  } else {
    mkdirSync(join(dir, 'data'), { recursive: true })
    await format(info, libs)
    keepFormattedCopy(index)
  }
  const pid = launch(info, libs)
  await waitReady(info, pid, readyTimeoutMs)
  return status().find(s => s.index === index)!
}

/** Signals the broker of one cluster and waits for it to exit; SIGKILL after the grace period. */
function terminate(index: number, signal: 'SIGTERM' | 'SIGKILL', graceMs = 30_000): Promise<boolean> {
  return terminateOwned(
    join(clusterDir(index), 'broker.pid'),
    join(clusterDir(index), 'server.properties'),
    signal,
    graceMs
  )
}

/** Controlled shutdown of one cluster; its data stays for `start`. */
export async function stop(index: number): Promise<boolean> {
  checkIndex(index)
  return terminate(index, 'SIGTERM')
}

/** Crash one cluster (SIGKILL), as a power loss would; its data stays. */
export async function kill(index: number): Promise<boolean> {
  checkIndex(index)
  return terminate(index, 'SIGKILL')
}

/** Starts a stopped cluster from its existing data and config. */
export async function start(index: number, readyTimeoutMs = 90_000): Promise<ClusterStatus> {
  checkIndex(index)
  const info = readInfo(index)
  if (info === null) throw new Error(`cluster ${index} was never created: use 'up' first`)
  const existing = ownedPid(index)
  if (existing === null) {
    const libs = ensureJars(info.kafkaVersion)
    const pid = launch(info, libs)
    await waitReady(info, pid, readyTimeoutMs)
  }
  return status().find(s => s.index === index)!
}

export async function restart(index: number): Promise<ClusterStatus> {
  await stop(index)
  return start(index)
}

/**
 * Stops every cluster this harness started (by pid file only) and, unless keepData, deletes the run
 * folder; with `indexes`, only those clusters (and only their folders).
 */
export async function down(
  options: { keepData?: boolean; indexes?: number[]; log?: (line: string) => void } = {}
): Promise<void> {
  const log = options.log ?? console.log
  const present = existsSync(runDir())
    ? readdirSync(runDir())
        .map(name => /^cluster-(\d+)$/.exec(name)?.[1])
        .filter((n): n is string => n !== undefined)
        .map(Number)
    : []
  const indexes = options.indexes === undefined ? present : present.filter(i => options.indexes!.includes(i))
  const registries = registryIndexes().filter(i => options.indexes === undefined || options.indexes.includes(i))
  for (const index of registries) if (await stopRegistry(index)) log(`registry ${index}: stopped`)
  await Promise.all(
    indexes.map(async index => {
      if (await terminate(index, 'SIGTERM')) log(`cluster ${index}: stopped`)
    })
  )
  if (options.keepData) return
  if (options.indexes === undefined) rmSync(runDir(), { recursive: true, force: true })
  else for (const index of indexes) rmSync(clusterDir(index), { recursive: true, force: true })
}

export function status(): ClusterStatus[] {
  const result: ClusterStatus[] = []
  for (let index = 1; index <= MAX_CLUSTERS; index++) {
    const info = readInfo(index)
    if (info === null) continue
    const pid = ownedPid(index)
    result.push({ ...info, pid, running: pid !== null, rssKiB: pid === null ? null : rssKiB(pid) })
  }
  return result
}
