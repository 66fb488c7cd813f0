import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { type ConnectionOptions as TlsOptions } from 'node:tls'
import { LineCounter, parseDocument } from 'yaml'
import { type z } from 'zod'
import { RoutePlan } from '../core/routes.ts'
import { collisionFindings } from './collisions.ts'
import { KdrError } from '../errors.ts'
import { parseBroker, type ClusterConnection } from '../kafka/index.ts'
import { type RegistryConnection } from '../schemas/registry-client.ts'
import {
  clusterAliasPattern,
  clusterSchema,
  configErrorMap,
  httpSchema,
  workersSchema,
  linkSchema,
  rootSchema,
  splitBootstrap,
  type ClusterInput,
  type LinkInput,
  type NamingPolicy
} from './schema.ts'
import { describeReadError, quoted, redactQuoted, resolveReferences, scrubSecrets, type ValuePath } from './secrets.ts'

export { type NamingPolicy } from './schema.ts'

export interface TopicSelection {
  include: string[]
  exclude: string[]
}

export interface LinkConfig {
  name: string
  source: string
  target: string
  topics: TopicSelection
  naming: NamingPolicy
  replicationFactor: number | null
  startFrom: 'earliest' | 'latest'
  onDataLoss: 'stop' | 'skip'
  /**
   * A target partition the link has no stored progress for that holds records without kafka-dr's
   * provenance (written by someone else): `stop` the partition (default) or `append` after them
   * (engine/foreign-target.ts). Not checked where the target is also a source of the config (its
   * own producers write there: active-active, hub and mesh topologies).
   */
  onForeignTarget: 'stop' | 'append'
  /** Whether a link of the config reads from this link's target (set once every link is compiled). */
  targetIsSource: boolean
  onRecordError: 'stop' | 'dead-letter'
  deadLetterTopic: string
  /** Consumer groups whose offsets are translated (same literal/regex rules as topics). */
  groups: { include: string[]; exclude: string[] }
  checkpointIntervalMs: number
  /** Write translated offsets into the target's __consumer_offsets for groups empty there. */
  syncGroupOffsets: boolean
  /**
   * at-least-once: idempotent writes, progress stored after they are acknowledged (a crash replays up
   * to a commit interval). exactly-once: the records of a commit interval and the progress that
   * covers them are committed in one transaction on the target (engine/delivery.ts).
   */
  delivery: 'at-least-once' | 'exactly-once'
  commitIntervalMs: number
  /** exactly-once only: a transaction's timeout on the coordinator, and its size bounds. */
  transaction: { timeoutMs: number; maxRecords: number; maxBytes: number }
  /** On stop (SIGTERM): how long in-flight writes may take before they are given up; the stop is bounded by it. */
  drainTimeoutMs: number
  sync: { topicsIntervalMs: number; configsIntervalMs: number }
  producer: {
    compression: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd'
    maxBatchBytes: number
    maxBufferedBytesPerPartition: number
    /** All partitions of the link together; fetching pauses above it. */
    maxBufferedBytes: number
  }
  fetch: {
    maxWaitMs: number
    minBytes: number
    maxBytes: number
    partitionMaxBytes: number
    /** The most one compressed source batch may decompress to (and a response's batches together, about). */
    maxDecompressedBytes: number
    concurrency: number
  }
  /** Schema Registry replication; null when the link copies records only. */
  schemas: SchemasConfig | null
  /** Continuous verification in `replicate` (verify/continuous.ts); absent when the link has none. */
  verify?: { intervalMs: number; recordsPerPartition: number }
  /** Scheduled DR drills run by `replicate` (failover/drill.ts); null when none are configured. */
  drill: { intervalMs: number; groups: string[]; records: number } | null
  /** ACL sync (sync/acl-sync.ts); absent unless `acls.sync` is true. groups: GROUP ACLs of the link's groups too. */
  acls?: { groups: boolean; intervalMs: number }
}

export interface SchemasConfig {
  subjects: { include: string[]; exclude: string[] }
  /** keep-ids: the target registry gets the source's ids (IMPORT mode); translate-ids: records are rewritten. */
  mode: 'keep-ids' | 'translate-ids'
  /** A record whose schema cannot be made available on the target: stop the partition, or copy it untouched. */
  onError: 'stop' | 'pass-through'
  /** Which parts of a record may carry a schema id in the Confluent wire format. */
  keys: boolean
  /**
   * Subjects besides `<topic>-key` whose ids mark a key as wire format (RecordNameStrategy keys); a
   * key whose id is under none of them is copied byte-identical (schemas/key-ids.ts).
   */
  keySubjects: string[]
  values: boolean
  intervalMs: number
}

export interface KafkaDrConfig {
  /** file the config came from, for messages; '<inline>' when parsed from text */
  origin: string
  /** alias -> connection; bootstrap is always a list of host:port strings */
  clusters: Map<string, ClusterConnection>
  /** alias -> its Schema Registry, for clusters that have one */
  registries: Map<string, RegistryConnection>
  links: LinkConfig[]
  /** non-fatal findings, e.g. 'clusters.dc1.tls.rejectUnauthorized is false: certificates are not verified' */
  warnings: string[]
  /** every resolved secret value, for log scrubbing; never print this */
  secrets: string[]
  /** The HTTP server of `replicate` (metrics, health, status, dashboard); null when disabled. */
  http: HttpConfig | null
  /** How the processes running this config share its links (docs/scale-out.md). */
  workers: WorkersConfig
}

/** Prefix of the worker group ids when `workers.group` is not set. */
const DEFAULT_WORKER_GROUP = 'kafka-dr'

/** The workers section with every default (a config without one; engine users that build no config). */
export function defaultWorkersConfig(): WorkersConfig {
  return { ...workersSchema.parse({}), group: DEFAULT_WORKER_GROUP }
}

export interface WorkersConfig {
  /** Prefix of the group ids: one group per link, `<group>.<link>`. */
  group: string
  maxWorkers: number
  sessionTimeoutMs: number
  heartbeatIntervalMs: number
  rebalanceTimeoutMs: number
  balanceIntervalMs: number
}

export interface HttpConfig {
  host: string
  port: number
  /** Bearer token every request must carry; required when host is not a loopback address. A secret. */
  token: string | null
}

export interface ConfigIssue {
  /** dotted keys with [index] for lists, e.g. links[0].topics.include[1]; '(root)' for the document */
  path: string
  message: string
}

/** Every problem found in one config, reported together. Messages never contain secret values. */
export class ConfigError extends KdrError {
  readonly origin: string
  readonly issues: ConfigIssue[]

  constructor(origin: string, issues: ConfigIssue[]) {
    super('KDR_ERR_CONFIG', `invalid config ${origin}:\n${issues.map(i => `  ${i.path}: ${i.message}`).join('\n')}`)
    this.name = 'ConfigError'
    this.origin = origin
    this.issues = issues
  }
}

/** Reads and compiles a config file; relative paths inside it are relative to its directory. */
export function loadConfig(path: string): KafkaDrConfig {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    const message = `cannot read config file "${resolve(path)}" (${describeReadError(error)})`
    throw new ConfigError(path, [{ path: '(root)', message }])
  }
  return parseConfig(text, path, dirname(resolve(path)))
}

/** Parses YAML text, resolves secret references, validates and compiles; throws ConfigError. */
export function parseConfig(text: string, origin = '<inline>', baseDir = process.cwd()): KafkaDrConfig {
  const raw = parseYaml(text, origin)
  const resolved = resolveReferences(raw, { baseDir })
  const context = new Compilation(baseDir, resolved.secrets)
  for (const problem of resolved.problems) context.issue(problem.path, problem.message, true)
  context.collectLiteralSecrets(resolved.value)
  const config = context.compile(resolved.value, origin)
  context.throwIfInvalid(origin)
  return config
}

function parseYaml(text: string, origin: string): unknown {
  const lineCounter = new LineCounter()
  const document = parseDocument(text, { lineCounter, prettyErrors: false })
  if (document.errors.length > 0) {
    // One slip usually cascades into many errors; the first few locate it.
    const shown = document.errors.slice(0, maxYamlErrors).map(error => {
      const { line, col } = lineCounter.linePos(error.pos[0])
      return { path: '(root)', message: `YAML syntax error at line ${line}:${col}: ${yamlReason(error.message)}` }
    })
    const hidden = document.errors.length - shown.length
    if (hidden > 0) shown.push({ path: '(root)', message: `${hidden} more YAML syntax errors not shown` })
    throw new ConfigError(origin, shown)
  }
  if (document.contents === null) {
    throw new ConfigError(origin, [
      { path: '(root)', message: 'the config is empty: expected a mapping with keys clusters, links' }
    ])
  }
  try {
    return document.toJS()
  } catch (error) {
    // toJS fails only on alias abuse (e.g. exponential alias expansion); the message holds no value.
    throw new ConfigError(origin, [
      { path: '(root)', message: `YAML error: ${yamlReason(error instanceof Error ? error.message : String(error))}` }
    ])
  }
}

const maxYamlErrors = 5

/** Commit interval when the config names none: a crash replays up to one (at-least-once). */
export const AT_LEAST_ONCE_COMMIT_INTERVAL_MS = 1000
/**
 * exactly-once: records become visible to read_committed readers when their transaction commits, so
 * the interval is the added latency; each commit costs a state write and an EndTxn round trip
 * (docs/benchmarks.md measures the trade-off).
 */
export const EXACTLY_ONCE_COMMIT_INTERVAL_MS = 200

/** The parser quotes source text after ": " (any token, a password included); keep only the reason. */
function yamlReason(message: string): string {
  const line = message.split('\n', 1)[0] ?? ''
  const colon = line.indexOf(': ')
  return colon === -1 ? line : line.slice(0, colon)
}

/** Renders a value path as config keys: clusters.dc1.bootstrap, links[0].topics.include[1]. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`
    else {
      const key = String(segment)
      out += /^[A-Za-z0-9_-]+$/.test(key) ? (out === '' ? key : `.${key}`) : `[${JSON.stringify(key)}]`
    }
  }
  return out === '' ? '(root)' : out
}

/** One config being compiled: accumulates issues, warnings and secrets. */
class Compilation {
  private readonly issues: ConfigIssue[] = []
  private readonly warnings: string[] = []
  /** Paths whose secret reference failed; their values are placeholders, so later issues there are noise. */
  private readonly failedPaths: string[] = []
  private readonly baseDir: string
  readonly secrets: string[]

  constructor(baseDir: string, secrets: string[]) {
    this.baseDir = baseDir
    this.secrets = [...secrets]
  }

  issue(path: readonly PropertyKey[], message: string, referenceFailed = false): void {
    const formatted = formatPath(path)
    if (referenceFailed) this.failedPaths.push(formatted)
    else if (this.failedPaths.some(failed => isWithin(formatted, failed))) return
    this.issues.push({ path: formatted, message })
  }

  warn(path: readonly PropertyKey[], message: string): void {
    this.warnings.push(`${formatPath(path)} ${message}`)
  }

  /** Passwords and passphrases are secrets even when written literally in the file. */
  collectLiteralSecrets(root: unknown): void {
    const http = isRecord(root) ? root.http : undefined
    if (isRecord(http) && typeof http.token === 'string') this.addSecret(http.token)
    const clusters = isRecord(root) ? root.clusters : undefined
    if (!isRecord(clusters)) return
    for (const cluster of Object.values(clusters)) {
      if (!isRecord(cluster)) continue
      const sasl = cluster.sasl
      const tls = cluster.tls
      if (isRecord(sasl) && typeof sasl.password === 'string') this.addSecret(sasl.password)
      if (isRecord(sasl) && typeof sasl.clientSecret === 'string') this.addSecret(sasl.clientSecret)
      const auth = isRecord(cluster.schemaRegistry) ? cluster.schemaRegistry.auth : undefined
      if (isRecord(auth) && typeof auth.password === 'string') this.addSecret(auth.password)
      if (isRecord(auth) && typeof auth.bearerToken === 'string') this.addSecret(auth.bearerToken)
      if (isRecord(tls) && typeof tls.passphrase === 'string') this.addSecret(tls.passphrase)
    }
  }

  private addSecret(secret: string): void {
    if (secret !== '' && !this.secrets.includes(secret)) this.secrets.push(secret)
  }

  throwIfInvalid(origin: string): void {
    if (this.issues.length === 0) return
    const issues = this.issues.map(issue => ({ path: issue.path, message: redactQuoted(issue.message, this.secrets) }))
    throw new ConfigError(origin, issues)
  }

  private parse<T extends z.ZodType>(schema: T, value: unknown, path: ValuePath): z.output<T> | undefined {
    const result = schema.safeParse(value, { error: configErrorMap })
    if (result.success) return result.data
    for (const issue of result.error.issues) {
      const at = [...path, ...issue.path]
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) this.issue([...at, key], issue.message)
      } else {
        this.issue(at, issue.message)
      }
    }
    return undefined
  }

  compile(value: unknown, origin: string): KafkaDrConfig {
    this.parse(rootSchema, value, [])
    // Whatever parts are readable are still checked, so one run reports as much as possible.
    const rawClusters = isRecord(value) && isRecord(value.clusters) ? value.clusters : undefined
    const rawLinks = isRecord(value) && Array.isArray(value.links) ? (value.links as unknown[]) : []
    if (rawClusters !== undefined && Object.keys(rawClusters).length === 0) {
      this.issue(['clusters'], 'expected at least one cluster')
    }

    const clusters = new Map<string, ClusterConnection>()
    const registries = new Map<string, RegistryConnection>()
    const owners = new Map<string, string>()
    for (const [alias, rawCluster] of Object.entries(rawClusters ?? {})) {
      const path = ['clusters', alias]
      if (!clusterAliasPattern.test(alias)) {
        this.issue(path, 'invalid cluster alias: expected 1 to 64 characters from A-Z a-z 0-9 _ -')
      }
      const input = this.parse(clusterSchema, rawCluster, path)
      if (!isRecord(rawCluster)) continue
      const connection = this.compileCluster(alias, input, rawCluster, path)
      if (connection !== undefined) clusters.set(alias, connection)
      if (input?.schemaRegistry !== undefined) {
        const { url, auth, timeoutMs, allowPlaintextCredentials } = input.schemaRegistry
        this.checkRegistryTransport([...path, 'schemaRegistry'], url, auth !== undefined, allowPlaintextCredentials)
        registries.set(alias, { alias, url, timeoutMs, ...(auth === undefined ? {} : { auth }) })
      }
      for (const { address, at } of readableAddresses(rawCluster.bootstrap, [...path, 'bootstrap'])) {
        const { host, port } = parseBroker(address)
        const key = `${host.toLowerCase()}:${port}`
        const owner = owners.get(key)
        if (owner === undefined) owners.set(key, alias)
        else if (owner !== alias) {
          this.issue(
            at,
            `${quoted(address)} is also a bootstrap address of cluster ${owner}: a link between them would copy a cluster onto itself`
          )
        }
      }
    }

    const aliases = Object.keys(rawClusters ?? {})
    const links: LinkConfig[] = []
    const names = new Map<string, number>()
    for (const [index, rawLink] of rawLinks.entries()) {
      const path = ['links', index]
      const input = this.parse(linkSchema, rawLink, path)
      if (!isRecord(rawLink)) continue
      const name = this.checkLinkReferences(rawLink, path, aliases)
      if (name !== undefined) {
        const first = names.get(name)
        if (first === undefined) names.set(name, index)
        else {
          this.issue(
            rawLink.name === undefined ? path : [...path, 'name'],
            `duplicate link name ${quoted(name)} (also links[${first}]): give each link a distinct name`
          )
        }
      }
      if (input !== undefined) links.push(this.compileLink(input))
      if (input?.schemas !== undefined) {
        for (const role of ['source', 'target'] as const) {
          const alias = input[role]
          const cluster = rawClusters?.[alias]
          if (isRecord(cluster) && cluster.schemaRegistry === undefined) {
            this.issue(
              [...path, 'schemas'],
              `schema replication needs a registry on both clusters: clusters.${alias}.schemaRegistry is not set (${role})`
            )
          }
        }
      }
    }

    this.planRoutes(aliases, links)
    for (const link of links) link.targetIsSource = links.some(other => other.source === link.target)
    // Link indices are paths only when every link compiled (otherwise the config is refused anyway).
    if (links.length === rawLinks.length) {
      const { issues, warnings } = collisionFindings(links)
      for (const { path, message } of issues) this.issue(path, message)
      for (const { path, message } of warnings) this.warn(path, message)
    }
    const http = this.compileHttp(isRecord(value) ? value.http : undefined)
    const workers = this.compileWorkers(isRecord(value) ? value.workers : undefined)
    return { origin, clusters, registries, links, warnings: this.warnings, secrets: this.secrets, http, workers }
  }

  /**
   * Warns where a route of more than one link (core/routes.ts; the engine plans the same routes)
   * crosses links that select different topics or names: a topic the first link does not carry, or
   * names differently, is not what the next link reads.
   */
  private planRoutes(aliases: string[], links: LinkConfig[]): void {
    const plan = RoutePlan.of(aliases, links)
    const warned = new Set<string>()
    for (const route of plan.multiHop()) {
      for (let hop = 1; hop + 1 < route.path.length; hop++) {
        const before = links.filter(l => l.source === route.path[hop - 1] && l.target === route.path[hop])
        const after = links.filter(l => l.source === route.path[hop] && l.target === route.path[hop + 1])
        for (const first of before) {
          for (const second of after) {
            const pair = `${first.name}\u0000${second.name}`
            if (warned.has(pair) || (sameSelection(first, second) && first.naming.kind === 'identity')) continue
            warned.add(pair)
            this.warn(
              ['links', links.indexOf(second)],
              `(${second.name}) relays records of ${route.origin} to ${route.path.at(-1)!} (route ${route.path.join(' -> ')}), but link ${first.name} renames topics or selects other topics: a topic reaches ${route.path.at(-1)!} from ${route.origin} only if every link of the route selects it under the name it has there`
            )
          }
        }
      }
    }
  }

  private compileWorkers(raw: unknown): WorkersConfig {
    // Invalid: the issue is recorded (the config is refused) and the defaults stand in meanwhile.
    const input = this.parse(workersSchema, raw ?? {}, ['workers'])
    if (input === undefined) return defaultWorkersConfig()
    if (input.heartbeatIntervalMs * 3 > input.sessionTimeoutMs) {
      this.issue(
        ['workers', 'heartbeatIntervalMs'],
        `must be at most a third of workers.sessionTimeoutMs (${input.sessionTimeoutMs}), so a worker misses two heartbeats before it counts as gone`
      )
    }
    return { ...input, group: input.group ?? DEFAULT_WORKER_GROUP }
  }

  private compileHttp(raw: unknown): HttpConfig | null {
    if (raw === undefined) return { host: '127.0.0.1', port: 9644, token: null }
    const input = this.parse(httpSchema, raw, ['http'])
    if (input === undefined || !input.enabled) return null
    const colon = input.listen.lastIndexOf(':')
    const host = input.listen.slice(0, colon).replace(/^\[(.*)\]$/, '$1')
    const port = Number(input.listen.slice(colon + 1))
    if (!isLoopbackHost(host) && input.token === undefined) {
      this.issue(
        ['http', 'token'],
        `required when http.listen is not a loopback address (${quoted(host)}): every request must then carry "Authorization: Bearer <token>"`
      )
    }
    return { host, port, token: input.token ?? null }
  }

  /**
   * Checks that need only some of the cluster's keys; runs even when other keys are invalid. Returns
   * the connection only when the whole cluster is valid.
   */
  /**
   * Registry credentials (a password or bearer token, sent with every request) never cross the
   * network in clear text unless the operator says so: auth with an http:// URL is refused, except
   * to a loopback host (the credentials never leave the machine) or with allowPlaintextCredentials.
   */
  private checkRegistryTransport(path: ValuePath, url: string, hasAuth: boolean, allowed: boolean): void {
    if (!hasAuth || !url.startsWith('http://')) return
    const host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1')
    if (isLoopbackHost(host)) return
    const key = formatPath([...path, 'allowPlaintextCredentials'])
    if (allowed) {
      this.warn(path, `sends registry credentials unencrypted to ${url} (${key} is true)`)
      return
    }
    this.issue(
      [...path, 'auth'],
      `credentials would be sent unencrypted over ${quoted(url)}: use an https:// URL, or set ${key}: true to accept that`
    )
  }

  private compileCluster(
    alias: string,
    input: ClusterInput | undefined,
    raw: Record<string, unknown>,
    path: ValuePath
  ): ClusterConnection | undefined {
    const { shape } = clusterSchema
    const tlsResult = shape.tls.safeParse(raw.tls)
    const tlsInput = tlsResult.success && tlsResult.data !== false ? tlsResult.data : undefined
    const tls = tlsInput === undefined ? undefined : this.compileTls(tlsInput, [...path, 'tls'])
    if (isRecord(raw.sasl) && tlsResult.success && tlsInput === undefined) {
      const allowInsecureSasl = quietParse(shape.allowInsecureSasl, raw.allowInsecureSasl)
      if (allowInsecureSasl === true) {
        this.warn([...path, 'allowInsecureSasl'], 'is true: SASL credentials and data travel without TLS')
      } else if (allowInsecureSasl === false) {
        this.issue(
          [...path, 'sasl'],
          'SASL over a connection without TLS exposes credentials and data: configure tls (e.g. tls: true) or set allowInsecureSasl: true'
        )
      }
    }
    if (input === undefined || (tlsInput !== undefined && tls === undefined)) return undefined
    const connection: ClusterConnection = { alias, bootstrap: input.bootstrap }
    if (input.clientId !== undefined) connection.clientId = input.clientId
    if (tls !== undefined) connection.tls = tls
    if (input.sasl !== undefined) connection.sasl = { ...input.sasl }
    if (input.sasl?.mechanism === 'OAUTHBEARER') {
      this.checkTokenEndpoint([...path, 'sasl', 'tokenEndpoint'], input.sasl.tokenEndpoint)
    }
    return connection
  }

  /** The client secret never crosses the network in clear text: http:// only to a loopback host. */
  private checkTokenEndpoint(path: ValuePath, url: string): void {
    if (!url.startsWith('http://')) return
    if (isLoopbackHost(new URL(url).hostname.replace(/^\[(.*)\]$/, '$1'))) return
    this.issue(path, `the client secret would be sent unencrypted over ${quoted(url)}: use an https:// URL`)
  }

  private compileTls(input: true | Exclude<ClusterInput['tls'], boolean | undefined>, path: ValuePath) {
    if (input === true) return { rejectUnauthorized: true } satisfies TlsOptions
    const options: TlsOptions = { rejectUnauthorized: input.rejectUnauthorized }
    let valid = true
    for (const key of ['ca', 'cert', 'key'] as const) {
      const file = input[key]
      if (file === undefined) continue
      const absolute = resolve(this.baseDir, file)
      try {
        options[key] = readFileSync(absolute)
      } catch (error) {
        this.issue([...path, key], `cannot read file ${quoted(absolute)} (${describeReadError(error)})`)
        valid = false
      }
    }
    if ((input.cert === undefined) !== (input.key === undefined)) {
      const [missing, given] = input.cert === undefined ? ['cert', 'key'] : ['key', 'cert']
      this.issue([...path, missing], `required when ${given} is given: a client certificate needs its key`)
      valid = false
    }
    if (input.passphrase !== undefined) {
      if (input.key === undefined) {
        this.issue([...path, 'passphrase'], 'a passphrase needs a key')
        valid = false
      }
      options.passphrase = input.passphrase
    }
    if (input.serverName !== undefined) options.servername = input.serverName
    if (!input.rejectUnauthorized) {
      this.warn([...path, 'rejectUnauthorized'], 'is false: certificates are not verified')
    }
    return valid ? options : undefined
  }

  /** Cross-references of one link, checked from its raw keys; returns the link's name if known. */
  private checkLinkReferences(raw: Record<string, unknown>, path: ValuePath, aliases: string[]): string | undefined {
    const { shape } = linkSchema
    const source = quietParse(shape.source, raw.source)
    const target = quietParse(shape.target, raw.target)
    const known = aliases.length === 0 ? 'no clusters are defined' : `expected one of ${aliases.join(', ')}`
    for (const [role, alias] of [['source', source] as const, ['target', target] as const]) {
      if (alias !== undefined && !aliases.includes(alias)) {
        this.issue([...path, role], `unknown cluster ${quoted(alias)}: ${known}`)
      }
    }
    if (source !== undefined && source === target) {
      this.issue([...path, 'target'], 'same cluster as source: a link must connect two different clusters')
    }
    const producer = quietParse(shape.producer, raw.producer)
    if (producer !== undefined && producer.maxBufferedBytesPerPartition < producer.maxBatchBytes) {
      // Legal, but fetching pauses before a full batch can queue up, so batches stay smaller.
      this.warn(
        [...path, 'producer', 'maxBufferedBytesPerPartition'],
        `(${producer.maxBufferedBytesPerPartition}) is below producer.maxBatchBytes (${producer.maxBatchBytes}): batches stay smaller than maxBatchBytes`
      )
    }
    if (producer !== undefined && producer.maxBufferedBytes < producer.maxBufferedBytesPerPartition) {
      this.warn(
        [...path, 'producer', 'maxBufferedBytes'],
        `(${producer.maxBufferedBytes}) is below producer.maxBufferedBytesPerPartition (${producer.maxBufferedBytesPerPartition}): the link-wide limit applies first`
      )
    }
    this.checkTransaction(path, raw)
    if (raw.name !== undefined) return quietParse(shape.name, raw.name)
    return source === undefined || target === undefined ? undefined : defaultLinkName(source, target)
  }

  /**
   * exactly-once: the transaction of a commit interval must end well within its timeout, or the
   * coordinator aborts it while the replicator is still writing (every interval would be lost).
   */
  private checkTransaction(path: ValuePath, raw: Record<string, unknown>): void {
    const { shape } = linkSchema
    if (quietParse(shape.delivery, raw.delivery) !== 'exactly-once') return
    const interval = quietParse(shape.commitIntervalMs, raw.commitIntervalMs) ?? EXACTLY_ONCE_COMMIT_INTERVAL_MS
    const timeout = quietParse(shape.transaction, raw.transaction)?.timeoutMs
    if (timeout !== undefined && timeout < interval * 4) {
      this.issue(
        [...path, 'transaction', 'timeoutMs'],
        `(${timeout}) must be at least 4 x commitIntervalMs (${interval}) with delivery: exactly-once, so a transaction commits well before the coordinator aborts it`
      )
    }
  }

  private compileLink(input: LinkInput): LinkConfig {
    return {
      name: input.name ?? defaultLinkName(input.source, input.target),
      source: input.source,
      target: input.target,
      topics: { include: input.topics.include, exclude: input.topics.exclude },
      naming: input.naming,
      replicationFactor: input.replicationFactor,
      startFrom: input.startFrom,
      onDataLoss: input.onDataLoss,
      onForeignTarget: input.onForeignTarget,
      targetIsSource: false,
      onRecordError: input.onRecordError,
      deadLetterTopic: input.deadLetterTopic ?? `kafka-dr.dead-letter.${input.source}`,
      groups: { include: input.groups.include, exclude: input.groups.exclude },
      checkpointIntervalMs: input.checkpointIntervalMs,
      syncGroupOffsets: input.syncGroupOffsets,
      delivery: input.delivery,
      commitIntervalMs:
        input.commitIntervalMs ??
        (input.delivery === 'exactly-once' ? EXACTLY_ONCE_COMMIT_INTERVAL_MS : AT_LEAST_ONCE_COMMIT_INTERVAL_MS),
      transaction: { ...input.transaction },
      drainTimeoutMs: input.drainTimeoutMs,
      sync: { ...input.sync },
      producer: { ...input.producer },
      fetch: { ...input.fetch },
      schemas:
        input.schemas === undefined
          ? null
          : {
              ...input.schemas,
              subjects: { include: input.schemas.subjects.include, exclude: input.schemas.subjects.exclude }
            },
      drill: input.drill === undefined ? null : { ...input.drill, groups: [...input.drill.groups] },
      ...(input.verify === undefined ? {} : { verify: { ...input.verify } }),
      ...(input.acls?.sync === true ? { acls: { groups: input.acls.groups, intervalMs: input.acls.intervalMs } } : {})
    }
  }
}

/** The well-formed addresses of a raw bootstrap value, each with the path to report it at. */
function readableAddresses(bootstrap: unknown, path: ValuePath): { address: string; at: ValuePath }[] {
  const entries =
    typeof bootstrap === 'string'
      ? splitBootstrap(bootstrap).map(address => ({ address, at: path }))
      : Array.isArray(bootstrap)
        ? bootstrap.map((address: unknown, index) => ({ address, at: [...path, index] }))
        : []
  return entries.filter((entry): entry is { address: string; at: ValuePath } => {
    if (typeof entry.address !== 'string') return false
    try {
      parseBroker(entry.address)
      return true
    } catch {
      return false
    }
  })
}

/** Same topic selection and naming: what the first link writes is what the second reads. */
function sameSelection(a: LinkConfig, b: LinkConfig): boolean {
  return (
    JSON.stringify([a.topics.include, a.topics.exclude, a.naming]) ===
    JSON.stringify([b.topics.include, b.topics.exclude, b.naming])
  )
}

function defaultLinkName(source: string, target: string): string {
  return `${source}->${target}`
}

/** Parses one part again without reporting: its problems were already reported with the whole. */
function quietParse<T extends z.ZodType>(schema: T, value: unknown): z.output<T> | undefined {
  const result = schema.safeParse(value)
  return result.success ? result.data : undefined
}

function isWithin(path: string, ancestor: string): boolean {
  if (ancestor === '(root)') return true
  return path === ancestor || path.startsWith(`${ancestor}.`) || path.startsWith(`${ancestor}[`)
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * A JSON-safe view for printing: passwords and passphrases as "***", TLS material as its size, and
 * any string holding a resolved secret scrubbed, wherever it appears.
 */
export function redactedConfig(config: KafkaDrConfig): unknown {
  const view = {
    origin: config.origin,
    clusters: Object.fromEntries(
      [...config.clusters].map(([alias, cluster]) => {
        const registry = config.registries.get(alias)
        const view = redactCluster(cluster)
        if (registry !== undefined) view.schemaRegistry = redactRegistry(registry)
        return [alias, view]
      })
    ),
    links: config.links,
    http: config.http === null ? null : { ...config.http, token: config.http.token === null ? null : '***' },
    workers: config.workers,
    warnings: config.warnings
  }
  return scrubDeep(view, config.secrets)
}

function redactCluster(cluster: ClusterConnection): Record<string, unknown> {
  const view: Record<string, unknown> = { bootstrap: cluster.bootstrap }
  if (cluster.clientId !== undefined) view.clientId = cluster.clientId
  if (cluster.connectTimeoutMs !== undefined) view.connectTimeoutMs = cluster.connectTimeoutMs
  if (cluster.requestTimeoutMs !== undefined) view.requestTimeoutMs = cluster.requestTimeoutMs
  if (cluster.tls !== undefined) view.tls = redactTls(cluster.tls)
  const sasl = cluster.sasl
  if (sasl?.mechanism === 'OAUTHBEARER') view.sasl = { ...sasl, clientSecret: '***' }
  else if (sasl !== undefined) view.sasl = { mechanism: sasl.mechanism, username: sasl.username, password: '***' }
  return view
}

function redactRegistry(registry: RegistryConnection): Record<string, unknown> {
  const auth = registry.auth
  return {
    url: registry.url,
    ...(auth === undefined
      ? {}
      : { auth: 'bearerToken' in auth ? { bearerToken: '***' } : { username: auth.username, password: '***' } })
  }
}

const tlsMaterial = new Set(['ca', 'cert', 'key', 'pfx', 'crl'])
const tlsSecrets = new Set(['passphrase'])

function redactTls(tls: TlsOptions): Record<string, unknown> {
  const view: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(tls)) {
    if (value === undefined) continue
    if (tlsSecrets.has(key)) view[key] = '***'
    else if (tlsMaterial.has(key)) view[key] = describeMaterial(value)
    // Only plain settings are shown; callbacks and key objects have no printable form.
    else if (['string', 'number', 'boolean'].includes(typeof value)) view[key] = value
  }
  return view
}

function describeMaterial(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(describeMaterial)
  if (typeof value === 'string') return `<${Buffer.byteLength(value)} bytes>`
  if (value instanceof Uint8Array) return `<${value.byteLength} bytes>`
  return '<omitted>'
}

function scrubDeep(value: unknown, secrets: readonly string[]): unknown {
  if (typeof value === 'string') return scrubSecrets(value, secrets)
  if (Array.isArray(value)) return value.map(item => scrubDeep(item, secrets))
  if (isRecord(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [scrubSecrets(key, secrets), scrubDeep(item, secrets)])
    )
  }
  return value
}
