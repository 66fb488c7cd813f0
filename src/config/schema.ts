import { z } from 'zod'
import { parseBroker, type SaslSettings } from '../kafka/index.ts'
import { quoted } from './secrets.ts'

/**
 * The shape of the user's YAML, after secret references are resolved. Everything that can be judged
 * from one value alone lives here (types, ranges, enums, regular expressions, bootstrap syntax,
 * naming templates); rules that span several places (cluster references, unique names, shared
 * bootstrap addresses, TLS files, SASL without TLS) live in load.ts.
 *
 * Messages say what is wrong and what is allowed. They quote a value only through quoted(), which
 * lets load.ts hide it if it holds a secret.
 */

/** Aliases end up in topic names, metric labels and URLs, so they stay within a safe alphabet. */
export const clusterAliasPattern = /^[A-Za-z0-9_-]{1,64}$/

const topicCharacters = /^[A-Za-z0-9._-]+$/
const topicCharactersText = 'A-Z a-z 0-9 . _ -'

/** Kafka's own rule for topic names. */
export function isLegalTopicName(name: string): boolean {
  return name.length <= 249 && topicCharacters.test(name) && name !== '.' && name !== '..'
}

/**
 * A topic selection entry made only of legal topic-name characters names one topic literally (so a
 * dot in "orders.v1" is a dot, not a wildcard); any other entry is a regular expression.
 */
export function isLiteralTopicEntry(entry: string): boolean {
  return topicCharacters.test(entry)
}

/** Regular-expression entries match the whole topic name, never a substring. */
export function topicEntryRegExp(entry: string): RegExp {
  return new RegExp(`^(?:${entry})$`)
}

type Shape = Record<string, z.ZodType>

/** Unknown keys are errors everywhere: a misspelt key must never silently fall back to a default. */
function strict<S extends Shape>(shape: S) {
  const keys = Object.keys(shape).join(', ')
  return z.strictObject(shape, {
    error: issue => {
      if (issue.code === 'unrecognized_keys') return `unknown key (allowed: ${keys})`
      if (issue.code === 'invalid_type') {
        return issue.input === undefined
          ? `required: expected a mapping with keys ${keys}`
          : `expected a mapping with keys ${keys}, got ${describeInput(issue.input)}`
      }
      return undefined
    }
  })
}

function int(min: number, max?: number) {
  const error = expected(max === undefined ? `an integer >= ${min}` : `an integer from ${min} to ${max}`)
  const schema = z.number({ error }).int({ error }).min(min, { error })
  return max === undefined ? schema : schema.max(max, { error })
}

/** An error function for a schema whose every failure is best explained by one sentence. */
function expected(what: string) {
  return (issue: z.core.$ZodRawIssue): string =>
    issue.input === undefined ? `required: expected ${what}` : `expected ${what}`
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: expected(`one of ${values.join(', ')}`) })
}

const nonEmptyString = z.string({ error: expected('a non-empty string') }).min(1)

const bootstrapText = '"host:port", "host:port,host:port" or a list of "host:port"'

function checkBroker(address: string, ctx: z.RefinementCtx<string>): void {
  try {
    parseBroker(address)
  } catch {
    // parseBroker's own message embeds the raw address; the same sentence, with the value marked.
    ctx.addIssue({ code: 'custom', message: `bootstrap address ${quoted(address)} is not host:port`, input: address })
  }
}

/** Splits the comma form; whitespace around commas is tolerated, empty entries are not. */
export function splitBootstrap(text: string): string[] {
  return text.split(',').map(part => part.trim())
}

const bootstrapSchema = z
  .union(
    [
      z.string().superRefine((text, ctx) => {
        for (const address of splitBootstrap(text)) checkBroker(address, ctx)
      }),
      z.array(z.string().superRefine(checkBroker)).min(1, { error: 'expected at least one "host:port"' })
    ],
    { error: expected(bootstrapText) }
  )
  .transform(value => (typeof value === 'string' ? splitBootstrap(value) : value))

const tlsObjectSchema = strict({
  ca: nonEmptyString.optional(),
  cert: nonEmptyString.optional(),
  key: nonEmptyString.optional(),
  passphrase: z.string().optional(),
  rejectUnauthorized: z.boolean().default(true),
  serverName: nonEmptyString.optional()
})

const tlsSchema = z.union([z.boolean(), tlsObjectSchema], {
  error: expected('true, false or a mapping with keys ca, cert, key, passphrase, rejectUnauthorized, serverName')
})

export const saslMechanisms = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'] as const

const tokenEndpointSchema = z.string({ error: expected('an https:// URL') }).superRefine((text, ctx) => {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    ctx.addIssue({ code: 'custom', message: 'expected an https:// URL', input: text })
    return
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    ctx.addIssue({ code: 'custom', message: 'expected an https:// URL', input: text })
  }
  if (url.username !== '' || url.password !== '') {
    ctx.addIssue({
      code: 'custom',
      message: 'credentials do not belong in the URL: use clientId and clientSecret',
      input: text
    })
  }
})

/** The keys each kind of mechanism takes; the other kind's keys are refused, so a mix-up is caught. */
const passwordSaslKeys = ['username', 'password'] as const
const oauthSaslKeys = ['tokenEndpoint', 'clientId', 'clientSecret', 'scope', 'clientAuthMethod'] as const
const oauthRequiredKeys = ['tokenEndpoint', 'clientId', 'clientSecret'] as const

/**
 * PLAIN and SCRAM take username and password; OAUTHBEARER takes the client-credentials grant's
 * endpoint, client id and secret (docs/security.md). Checked per mechanism after the keys parse.
 */
const saslSchema = strict({
  mechanism: z
    .string({ error: expected(`one of ${saslMechanisms.join(', ')} (any case)`) })
    .transform(value => value.toUpperCase())
    .pipe(z.enum(saslMechanisms, { error: expected(`one of ${saslMechanisms.join(', ')} (any case)`) })),
  username: nonEmptyString.optional(),
  password: nonEmptyString.optional(),
  tokenEndpoint: tokenEndpointSchema.optional(),
  clientId: nonEmptyString.optional(),
  clientSecret: nonEmptyString.optional(),
  scope: nonEmptyString.optional(),
  clientAuthMethod: oneOf(['basic', 'post']).optional()
})
  .superRefine((sasl, ctx) => {
    const oauth = sasl.mechanism === 'OAUTHBEARER'
    const [required, allowed] = oauth ? [oauthRequiredKeys, oauthSaslKeys] : [passwordSaslKeys, passwordSaslKeys]
    for (const key of required) {
      if (sasl[key] === undefined) {
        ctx.addIssue({ code: 'custom', path: [key], message: `required with mechanism ${sasl.mechanism}` })
      }
    }
    for (const key of [...passwordSaslKeys, ...oauthSaslKeys]) {
      if (sasl[key] !== undefined && !(allowed as readonly string[]).includes(key)) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `not used with mechanism ${sasl.mechanism} (its keys: ${allowed.join(', ')})`
        })
      }
    }
  })
  .transform((sasl): SaslSettings => {
    // The refinement above guarantees the keys of the mechanism's kind are present.
    if (sasl.mechanism !== 'OAUTHBEARER') {
      return { mechanism: sasl.mechanism, username: sasl.username!, password: sasl.password! }
    }
    return {
      mechanism: 'OAUTHBEARER',
      tokenEndpoint: sasl.tokenEndpoint!,
      clientId: sasl.clientId!,
      clientSecret: sasl.clientSecret!,
      ...(sasl.scope === undefined ? {} : { scope: sasl.scope }),
      clientAuthMethod: sasl.clientAuthMethod ?? 'basic'
    }
  })

const registryUrlSchema = z.string({ error: expected('an http:// or https:// URL') }).superRefine((text, ctx) => {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    ctx.addIssue({ code: 'custom', message: 'expected an http:// or https:// URL', input: text })
    return
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    ctx.addIssue({ code: 'custom', message: 'expected an http:// or https:// URL', input: text })
  }
  if (url.username !== '' || url.password !== '') {
    // A password in a URL ends up in logs and error messages; auth keeps it out of them.
    ctx.addIssue({
      code: 'custom',
      message: 'credentials do not belong in the URL: use schemaRegistry.auth',
      input: text
    })
  }
})

const registryAuthSchema = z.union(
  [strict({ username: nonEmptyString, password: nonEmptyString }), strict({ bearerToken: nonEmptyString })],
  { error: expected('a mapping with username and password, or with bearerToken') }
)

/** A Confluent-compatible Schema Registry beside the cluster (Confluent, Apicurio's ccompat API, Karapace, Redpanda). */
export const schemaRegistrySchema = strict({
  url: registryUrlSchema,
  auth: registryAuthSchema.optional(),
  timeoutMs: int(100, 600_000).default(10_000),
  /** auth over a plain http:// URL to a host other than loopback is refused unless this is true. */
  allowPlaintextCredentials: z.boolean({ error: expected('true or false') }).default(false)
})

export const clusterSchema = strict({
  bootstrap: bootstrapSchema,
  schemaRegistry: schemaRegistrySchema.optional(),
  clientId: nonEmptyString.optional(),
  tls: tlsSchema.optional(),
  sasl: saslSchema.optional(),
  allowInsecureSasl: z.boolean().default(false)
})

const topicEntrySchema = nonEmptyString.superRefine((entry, ctx) => {
  if (isLiteralTopicEntry(entry)) return
  try {
    topicEntryRegExp(entry)
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `invalid regular expression: ${regExpReason(error)}`, input: entry })
  }
})

/** V8 quotes the whole pattern in its message; keep only the reason, the pattern may be a secret. */
function regExpReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  const colon = message.lastIndexOf(': ')
  return colon === -1 ? message : message.slice(colon + 2)
}

const placeholders = ['topic', 'source']

const templateSchema = z.string({ error: expected('a string containing {topic}') }).superRefine((template, ctx) => {
  const found = [...template.matchAll(/\{([^{}]*)\}/g)].map(match => match[1] ?? '')
  for (const name of new Set(found.filter(name => !placeholders.includes(name)))) {
    ctx.addIssue({
      code: 'custom',
      message: `unknown placeholder ${quoted(`{${name}}`)}: allowed are {topic} and {source}`,
      input: template
    })
  }
  if (!found.includes('topic')) {
    ctx.addIssue({ code: 'custom', message: 'must contain the placeholder {topic}', input: template })
  }
  // Placeholders expand to legal names, so the literal rest decides whether every result is legal.
  const rest = template.replaceAll(/\{[^{}]*\}/g, '')
  if (rest !== '' && !topicCharacters.test(rest)) {
    ctx.addIssue({
      code: 'custom',
      message: `outside placeholders only topic-name characters are allowed (${topicCharactersText})`,
      input: template
    })
  }
})

const separatorSchema = z
  .string({ error: expected(`a string of topic-name characters (${topicCharactersText})`) })
  .regex(/^[A-Za-z0-9._-]+$/, { error: `expected one or more topic-name characters (${topicCharactersText})` })

export type NamingPolicy =
  { kind: 'identity' } | { kind: 'prefix'; separator: string } | { kind: 'template'; template: string }

const namingSchema = z
  .union(
    [
      z.enum(['identity', 'prefix']),
      strict({ prefix: strict({ separator: separatorSchema.default('.') }) }),
      strict({ template: templateSchema })
    ],
    { error: expected('identity, prefix, { prefix: { separator } } or { template: "...{topic}..." }') }
  )
  .default('identity')
  .transform((naming): NamingPolicy => {
    if (naming === 'identity') return { kind: 'identity' }
    if (naming === 'prefix') return { kind: 'prefix', separator: '.' }
    if ('prefix' in naming) return { kind: 'prefix', separator: naming.prefix.separator }
    return { kind: 'template', template: naming.template }
  })

const topicNameSchema = z
  .string({ error: expected(`a topic name (1 to 249 characters from ${topicCharactersText})`) })
  .refine(isLegalTopicName, { error: `expected a topic name (1 to 249 characters from ${topicCharactersText})` })

/**
 * The data path's defaults, measured on the benchmark (docs/benchmarks.md): small buffers keep memory
 * low without costing throughput (larger ones were slower: more garbage for the collector, burstier
 * writes). On a long round trip to the source the fetch and buffer sizes grow with it
 * (core/fetch-sizing.ts); fetch.concurrency adds fetches in flight, each on its own connection.
 */
export const DATA_PATH_DEFAULTS = {
  maxBatchBytes: 1_000_000,
  maxBufferedBytesPerPartition: 2 * 1024 * 1024,
  maxBufferedBytes: 64 * 1024 * 1024,
  fetchMaxWaitMs: 200,
  fetchMinBytes: 1,
  fetchMaxBytes: 16 * 1024 * 1024,
  // The broker's default message.max.bytes (1048588): one batch of a default topic fits.
  fetchPartitionMaxBytes: 1_048_588,
  fetchMaxDecompressedBytes: 64 * 1024 * 1024,
  fetchConcurrency: 1
} as const

export const linkSchema = strict({
  name: nonEmptyString.optional(),
  source: nonEmptyString,
  target: nonEmptyString,
  topics: strict({
    include: z.array(topicEntrySchema, { error: expected('a list of topic names or regular expressions') }).min(1, {
      error: 'expected at least one topic name or regular expression'
    }),
    exclude: z.array(topicEntrySchema, { error: expected('a list of topic names or regular expressions') }).default([])
  }),
  naming: namingSchema,
  groups: strict({
    include: z
      .array(topicEntrySchema, { error: expected('a list of group ids or regular expressions') })
      .default(['.*']),
    exclude: z.array(topicEntrySchema, { error: expected('a list of group ids or regular expressions') }).default([])
  }).prefault({}),
  checkpointIntervalMs: int(1000).default(5000),
  syncGroupOffsets: z.boolean({ error: expected('true or false') }).default(false),
  /** Scheduled DR drills of these groups (failover/drill.ts), run by `replicate` every intervalMs. */
  drill: strict({
    intervalMs: int(1000),
    groups: z
      .array(nonEmptyString, { error: expected('a list of consumer group ids') })
      .min(1, { error: 'expected at least one consumer group id' }),
    records: int(1, 100_000).default(100)
  }).optional(),
  /**
   * Continuous verification (verify/continuous.ts): every intervalMs, the newest recordsPerPartition
   * replicated records of each partition are compared with their copies on the target.
   */
  verify: strict({
    intervalMs: int(1000, 86_400_000).default(60_000),
    recordsPerPartition: int(1, 1_000_000).default(1000)
  }).optional(),
  /**
   * ACL sync (sync/acl-sync.ts, docs/security.md): every intervalMs the TOPIC ACLs of replicated topics
   * (and with groups: true the GROUP ACLs of the link's groups) are copied to the target, write
   * permissions held back until `failover --grant-writes`.
   */
  acls: strict({
    sync: z.boolean({ error: expected('true or false') }),
    groups: z.boolean({ error: expected('true or false') }).default(false),
    intervalMs: int(1000, 86_400_000).default(60_000)
  }).optional(),
  replicationFactor: int(1, 32767).nullable().default(null),
  startFrom: oneOf(['earliest', 'latest']).default('earliest'),
  onDataLoss: oneOf(['stop', 'skip']).default('stop'),
  /** A target partition with records kafka-dr did not write and no stored progress: stop it, or append after them. */
  onForeignTarget: oneOf(['stop', 'append']).default('stop'),
  onRecordError: oneOf(['stop', 'dead-letter']).default('stop'),
  deadLetterTopic: topicNameSchema.optional(),
  /** at-least-once: idempotent writes, progress committed after; exactly-once: records and progress in one transaction. */
  delivery: oneOf(['at-least-once', 'exactly-once']).default('exactly-once'),
  /** Default depends on delivery (config/load.ts): exactly-once 200 ms, at-least-once 1000 ms. */
  commitIntervalMs: int(50).optional(),
  transaction: strict({
    // The broker refuses a timeout above its transaction.max.timeout.ms (15 min by default).
    timeoutMs: int(1000, 900_000).default(30_000),
    maxRecords: int(1).default(500_000),
    maxBytes: int(65536).default(64 * 1024 * 1024)
  }).prefault({}),
  drainTimeoutMs: int(1000, 600_000).default(30_000),
  sync: strict({
    topicsIntervalMs: int(1000).default(5000),
    configsIntervalMs: int(1000).default(15000)
  }).prefault({}),
  producer: strict({
    compression: oneOf(['none', 'gzip', 'snappy', 'lz4', 'zstd']).default('none'),
    maxBatchBytes: int(1024, 16777216).default(DATA_PATH_DEFAULTS.maxBatchBytes),
    maxBufferedBytesPerPartition: int(65536).default(DATA_PATH_DEFAULTS.maxBufferedBytesPerPartition),
    maxBufferedBytes: int(65536).default(DATA_PATH_DEFAULTS.maxBufferedBytes)
  }).prefault({}),
  schemas: strict({
    subjects: strict({
      include: z
        .array(topicEntrySchema, { error: expected('a list of subject names or regular expressions') })
        .default(['.*']),
      exclude: z
        .array(topicEntrySchema, { error: expected('a list of subject names or regular expressions') })
        .default([])
    }).prefault({}),
    mode: oneOf(['translate-ids', 'keep-ids']).default('translate-ids'),
    onError: oneOf(['stop', 'pass-through']).default('stop'),
    keys: z.boolean({ error: expected('true or false') }).default(true),
    keySubjects: z
      .array(topicEntrySchema, { error: expected('a list of subject names or regular expressions') })
      .default([]),
    values: z.boolean({ error: expected('true or false') }).default(true),
    intervalMs: int(1000).default(30_000)
  }).optional(),
  fetch: strict({
    maxWaitMs: int(0, 30000).default(DATA_PATH_DEFAULTS.fetchMaxWaitMs),
    minBytes: int(1).default(DATA_PATH_DEFAULTS.fetchMinBytes),
    maxBytes: int(1024).default(DATA_PATH_DEFAULTS.fetchMaxBytes),
    partitionMaxBytes: int(1024).default(DATA_PATH_DEFAULTS.fetchPartitionMaxBytes),
    maxDecompressedBytes: int(1024 * 1024).default(DATA_PATH_DEFAULTS.fetchMaxDecompressedBytes),
    concurrency: int(1, 64).default(DATA_PATH_DEFAULTS.fetchConcurrency)
  }).prefault({})
})

/** The HTTP server inside `kafka-dr replicate`: metrics, health, status API and dashboard. */
export const httpSchema = strict({
  enabled: z.boolean({ error: expected('true or false') }).default(true),
  listen: z
    .string({ error: expected('"host:port"') })
    .superRefine((text, ctx) => {
      const match = /^(.+):(\d+)$/.exec(text)
      const port = Number(match?.[2])
      if (match === null || !Number.isInteger(port) || port < 0 || port > 65535) {
        ctx.addIssue({
          code: 'custom',
          message: 'expected "host:port" (port 0 to 65535; 0 picks a free port)',
          input: text
        })
      }
    })
    .default('127.0.0.1:9644'),
  token: nonEmptyString.optional()
})

/**
 * Scale-out (docs/scale-out.md): every process started with the config joins one worker group per
 * link on the link's target cluster, and the members share the link's partitions.
 */
export const workersSchema = strict({
  /** Prefix of the group ids (one group per link: `<group>.<link>`); default kafka-dr. */
  group: nonEmptyString.optional(),
  /** Writer slots per link: at most this many workers share a link (failover fences two ids per slot). */
  maxWorkers: int(1, 256).default(16),
  /** A worker silent this long leaves the group; its partitions move to the others. */
  sessionTimeoutMs: int(6000, 300_000).default(10_000),
  heartbeatIntervalMs: int(500, 60_000).default(3000),
  /** How long members may take to rejoin a rebalance (release what moved, commit). */
  rebalanceTimeoutMs: int(5000, 600_000).default(60_000),
  /** How often the leader rebalances by measured bytes/s (only what is out of balance moves). */
  balanceIntervalMs: int(1000).default(60_000)
})

/** The top level only; clusters and links are validated one by one so every problem is reported. */
export const rootSchema = strict({
  clusters: z.record(z.string(), z.unknown(), { error: expected('a mapping from cluster alias to cluster') }),
  links: z.array(z.unknown(), { error: expected('a list of links') }).min(1, { error: 'expected at least one link' }),
  http: z.unknown().optional(),
  workers: z.unknown().optional()
})

/** The whole file in one schema, for tooling (e.g. z.toJSONSchema); load.ts uses the parts above. */
export const configSchema = strict({
  clusters: z.record(
    z
      .string()
      .regex(clusterAliasPattern, { error: 'expected a cluster alias of 1 to 64 characters from A-Z a-z 0-9 _ -' }),
    clusterSchema
  ),
  links: z.array(linkSchema).min(1),
  http: httpSchema.optional(),
  workers: workersSchema.optional()
})

export type ClusterInput = z.output<typeof clusterSchema>
export type LinkInput = z.output<typeof linkSchema>

/** Words for the parse-wide error map: what kind of value was expected and what was found. */
const kinds: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
  null: 'null'
}

/** Names the kind of a value, never the value itself: it may be a secret. */
export function describeInput(input: unknown): string {
  if (input === null) return 'null'
  if (Array.isArray(input)) return 'a list'
  if (typeof input === 'object') return 'a mapping'
  if (typeof input === 'number' && !Number.isInteger(input)) return 'a fractional number'
  return kinds[typeof input] ?? typeof input
}

/** Fallback messages for issues no schema above explained itself. */
export const configErrorMap: z.core.$ZodErrorMap = issue => {
  switch (issue.code) {
    case 'invalid_type': {
      const want = kinds[issue.expected] ?? issue.expected
      return issue.input === undefined
        ? `required: expected ${want}`
        : `expected ${want}, got ${describeInput(issue.input)}`
    }
    case 'invalid_value':
      return `expected one of ${issue.values.map(String).join(', ')}`
    case 'too_small':
      if (issue.origin === 'array')
        return issue.minimum === 1 ? 'expected at least one entry' : `expected at least ${issue.minimum} entries`
      if (issue.origin === 'string') return 'must not be empty'
      return `expected a number ${issue.inclusive === false ? '>' : '>='} ${issue.minimum}`
    case 'too_big':
      if (issue.origin === 'array') return `expected at most ${issue.maximum} entries`
      if (issue.origin === 'string') return `expected at most ${issue.maximum} characters`
      return `expected a number ${issue.inclusive === false ? '<' : '<='} ${issue.maximum}`
    case 'unrecognized_keys':
      return 'unknown key'
    case 'invalid_union':
      return 'does not match any allowed form'
    default:
      return undefined
  }
}
