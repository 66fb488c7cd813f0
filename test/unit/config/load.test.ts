import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { KdrError } from '../../../src/errors.ts'
import { ConfigError, configSchema, loadConfig, parseConfig } from '../../../src/config/index.ts'
import { baseConfig, errorOf, issueAt, issuesOf, yaml } from './helpers.ts'

const example = `
clusters:
  dc1: { bootstrap: "127.0.0.1:19092" }
  dc2: { bootstrap: "127.0.0.1:29092" }
links:
  - source: dc1
    target: dc2
    topics:
      include: ["orders", "payments.*"]   # literal names and regular expressions
      exclude: ["payments.internal.*"]
    naming: identity                       # identity | prefix (-> "dc1.orders") | template: "{topic}.replica"
`

const dir = mkdtempSync(join(tmpdir(), 'kdr-config-load-'))
after(() => rmSync(dir, { recursive: true, force: true }))

test('the documented example compiles with every default', () => {
  const config = parseConfig(example)
  assert.equal(config.origin, '<inline>')
  assert.deepEqual(
    [...config.clusters.entries()],
    [
      ['dc1', { alias: 'dc1', bootstrap: ['127.0.0.1:19092'] }],
      ['dc2', { alias: 'dc2', bootstrap: ['127.0.0.1:29092'] }]
    ]
  )
  assert.deepEqual(config.links, [
    {
      name: 'dc1->dc2',
      source: 'dc1',
      target: 'dc2',
      topics: { include: ['orders', 'payments.*'], exclude: ['payments.internal.*'] },
      naming: { kind: 'identity' },
      replicationFactor: null,
      startFrom: 'earliest',
      onDataLoss: 'stop',
      onForeignTarget: 'stop',
      targetIsSource: false,
      onRecordError: 'stop',
      deadLetterTopic: 'kafka-dr.dead-letter.dc1',
      groups: { include: ['.*'], exclude: [] },
      checkpointIntervalMs: 5000,
      syncGroupOffsets: false,
      delivery: 'exactly-once',
      commitIntervalMs: 200,
      transaction: { timeoutMs: 30000, maxRecords: 500000, maxBytes: 67108864 },
      drainTimeoutMs: 30000,
      sync: { topicsIntervalMs: 5000, configsIntervalMs: 15000 },
      producer: {
        compression: 'none',
        maxBatchBytes: 1000000,
        maxBufferedBytesPerPartition: 2097152,
        maxBufferedBytes: 67108864
      },
      fetch: {
        maxWaitMs: 200,
        minBytes: 1,
        maxBytes: 16777216,
        partitionMaxBytes: 1048588,
        maxDecompressedBytes: 67108864,
        concurrency: 1
      },
      schemas: null,
      drill: null
    }
  ])
  assert.deepEqual(config.warnings, [])
  assert.deepEqual(config.secrets, [])
  // Optional connection keys are absent, not undefined (exactOptionalPropertyTypes).
  assert.deepEqual(Object.keys(config.clusters.get('dc1')!), ['alias', 'bootstrap'])
})

test('the whole-file schema accepts the example too', () => {
  const parsed = configSchema.safeParse({
    clusters: { dc1: { bootstrap: '127.0.0.1:19092' }, dc2: { bootstrap: '127.0.0.1:29092' } },
    links: [{ source: 'dc1', target: 'dc2', topics: { include: ['orders'] } }]
  })
  assert.ok(parsed.success)
})

test('every link key can be set explicitly', () => {
  const allSchemaKeys = {
    subjects: { include: ['orders-.*'], exclude: ['orders-tmp-value'] },
    mode: 'keep-ids',
    onError: 'pass-through',
    keys: false,
    keySubjects: ['com\\.acme\\..*Key'],
    values: true,
    intervalMs: 5000
  }
  const input = baseConfig()
  input.links[0] = {
    name: 'orders-dr',
    source: 'dc1',
    target: 'dc2',
    topics: { include: ['orders'], exclude: ['orders-tmp'] },
    naming: 'prefix',
    replicationFactor: 3,
    startFrom: 'latest',
    onDataLoss: 'skip',
    onForeignTarget: 'append',
    onRecordError: 'dead-letter',
    deadLetterTopic: 'dlq.orders',
    groups: { include: ['app-.*'], exclude: ['app-test'] },
    checkpointIntervalMs: 2000,
    syncGroupOffsets: true,
    delivery: 'exactly-once',
    commitIntervalMs: 100,
    transaction: { timeoutMs: 60000, maxRecords: 1000, maxBytes: 1048576 },
    drainTimeoutMs: 5000,
    sync: { topicsIntervalMs: 1000, configsIntervalMs: 60000 },
    producer: {
      compression: 'zstd',
      maxBatchBytes: 16777216,
      maxBufferedBytesPerPartition: 33554432,
      maxBufferedBytes: 134217728
    },
    fetch: {
      maxWaitMs: 0,
      minBytes: 4096,
      maxBytes: 1024,
      partitionMaxBytes: 1024,
      maxDecompressedBytes: 1048576,
      concurrency: 8
    },
    schemas: allSchemaKeys
  }
  input.clusters.dc1!.schemaRegistry = { url: 'http://registry.dc1:8081' }
  input.clusters.dc2!.schemaRegistry = { url: 'http://registry.dc2:8081' }
  const [link] = parseConfig(yaml(input)).links
  assert.deepEqual(link, {
    name: 'orders-dr',
    source: 'dc1',
    target: 'dc2',
    topics: { include: ['orders'], exclude: ['orders-tmp'] },
    naming: { kind: 'prefix', separator: '.' },
    replicationFactor: 3,
    startFrom: 'latest',
    onDataLoss: 'skip',
    onForeignTarget: 'append',
    targetIsSource: false,
    onRecordError: 'dead-letter',
    deadLetterTopic: 'dlq.orders',
    groups: { include: ['app-.*'], exclude: ['app-test'] },
    checkpointIntervalMs: 2000,
    syncGroupOffsets: true,
    delivery: 'exactly-once',
    commitIntervalMs: 100,
    transaction: { timeoutMs: 60000, maxRecords: 1000, maxBytes: 1048576 },
    drainTimeoutMs: 5000,
    sync: { topicsIntervalMs: 1000, configsIntervalMs: 60000 },
    producer: {
      compression: 'zstd',
      maxBatchBytes: 16777216,
      maxBufferedBytesPerPartition: 33554432,
      maxBufferedBytes: 134217728
    },
    fetch: {
      maxWaitMs: 0,
      minBytes: 4096,
      maxBytes: 1024,
      partitionMaxBytes: 1024,
      maxDecompressedBytes: 1048576,
      concurrency: 8
    },
    schemas: allSchemaKeys,
    drill: null
  })
})

test('delivery: exactly-once by default, committing every 200 ms (at-least-once: 1000 ms); its transaction timeout must cover 4 intervals', () => {
  const input = baseConfig()
  const [defaults] = parseConfig(yaml(input)).links
  assert.equal(defaults?.delivery, 'exactly-once')
  assert.equal(defaults?.commitIntervalMs, 200)
  Object.assign(input.links[0]!, { delivery: 'at-least-once' })
  assert.equal(parseConfig(yaml(input)).links[0]?.commitIntervalMs, 1000)
  Object.assign(input.links[0]!, { delivery: 'exactly-once' })
  Object.assign(input.links[0]!, { commitIntervalMs: 1000, transaction: { timeoutMs: 3000 } })
  const issues = issuesOf(yaml(input))
  assert.match(
    issueAt(issues, 'links[0].transaction.timeoutMs').message,
    /^\(3000\) must be at least 4 x commitIntervalMs \(1000\) with delivery: exactly-once/
  )
  // The same timeout is fine for an at-least-once link (no transaction).
  Object.assign(input.links[0]!, { delivery: 'at-least-once' })
  assert.equal(parseConfig(yaml(input)).links[0]?.transaction.timeoutMs, 3000)
})

test('partly given nested sections keep the defaults of the keys left out', () => {
  const input = baseConfig()
  Object.assign(input.links[0]!, { sync: { topicsIntervalMs: 2000 }, producer: { compression: 'lz4' }, fetch: {} })
  const [link] = parseConfig(yaml(input)).links
  assert.deepEqual(link?.sync, { topicsIntervalMs: 2000, configsIntervalMs: 15000 })
  assert.deepEqual(link?.producer, {
    compression: 'lz4',
    maxBatchBytes: 1000000,
    maxBufferedBytesPerPartition: 2097152,
    maxBufferedBytes: 67108864
  })
  assert.deepEqual(link?.fetch, {
    maxWaitMs: 200,
    minBytes: 1,
    maxBytes: 16777216,
    partitionMaxBytes: 1048588,
    maxDecompressedBytes: 67108864,
    concurrency: 1
  })
})

test('replicationFactor null means the target default', () => {
  const input = baseConfig()
  input.links[0]!.replicationFactor = null
  assert.equal(parseConfig(yaml(input)).links[0]?.replicationFactor, null)
})

test('bootstrap accepts a string, a comma list and a list', () => {
  const input = baseConfig()
  input.clusters.dc1!.bootstrap = 'a.example:9092, b.example:9092,[::1]:9093'
  input.clusters.dc2!.bootstrap = ['c.example:9092', 'd.example:9092']
  const config = parseConfig(yaml(input))
  assert.deepEqual(config.clusters.get('dc1')?.bootstrap, ['a.example:9092', 'b.example:9092', '[::1]:9093'])
  assert.deepEqual(config.clusters.get('dc2')?.bootstrap, ['c.example:9092', 'd.example:9092'])
})

test('bad bootstrap addresses are reported at their key path', () => {
  const input = baseConfig()
  input.clusters.dc1!.bootstrap = 'a.example:9092,nohost'
  input.clusters.dc2!.bootstrap = ['c.example:9092', 'c.example:99999']
  input.clusters.dc3 = { bootstrap: [] }
  input.clusters.dc4 = { bootstrap: 9092 }
  input.clusters.dc5 = {}
  const issues = issuesOf(yaml(input))
  assert.equal(issueAt(issues, 'clusters.dc1.bootstrap').message, 'bootstrap address "nohost" is not host:port')
  assert.equal(
    issueAt(issues, 'clusters.dc2.bootstrap[1]').message,
    'bootstrap address "c.example:99999" is not host:port'
  )
  assert.equal(issueAt(issues, 'clusters.dc3.bootstrap').message, 'expected at least one "host:port"')
  assert.match(issueAt(issues, 'clusters.dc4.bootstrap').message, /expected .*host:port/)
  assert.match(issueAt(issues, 'clusters.dc5.bootstrap').message, /^required: expected .*host:port/)
})

test('cluster aliases are restricted and at least one cluster is required', () => {
  const input = baseConfig()
  input.clusters['dc 3'] = { bootstrap: '127.0.0.1:39092' }
  input.clusters['a'.repeat(65)] = { bootstrap: '127.0.0.1:49092' }
  const issues = issuesOf(yaml(input))
  assert.match(issueAt(issues, 'clusters["dc 3"]').message, /invalid cluster alias: expected 1 to 64 characters/)
  assert.ok(issueAt(issues, `clusters.${'a'.repeat(65)}`))
  assert.match(issueAt(issuesOf(yaml({ clusters: {}, links: [] })), 'clusters').message, /at least one cluster/)
})

test('naming: identity, prefix, prefix with separator and template', () => {
  const cases: [unknown, unknown][] = [
    ['identity', { kind: 'identity' }],
    ['prefix', { kind: 'prefix', separator: '.' }],
    [{ prefix: {} }, { kind: 'prefix', separator: '.' }],
    [{ prefix: { separator: '_' } }, { kind: 'prefix', separator: '_' }],
    [{ template: '{topic}.replica' }, { kind: 'template', template: '{topic}.replica' }],
    [{ template: '{source}-{topic}' }, { kind: 'template', template: '{source}-{topic}' }]
  ]
  for (const [naming, expected] of cases) {
    const input = baseConfig()
    input.links[0]!.naming = naming
    assert.deepEqual(parseConfig(yaml(input)).links[0]?.naming, expected, JSON.stringify(naming))
  }
})

test('naming: bad templates, separators and forms are errors', () => {
  const input = baseConfig()
  const namings = [
    { template: '{source}.replica' },
    { template: '{topic}.{target}' },
    { template: '{topic}/x' },
    { prefix: { separator: '/' } },
    'mirror',
    { prefix: {}, template: '{topic}' },
    { prefix: { separator: '.', extra: 1 } },
    // An empty separator would make "dc21orders" look like a replica of dc2's "1orders".
    { prefix: { separator: '' } }
  ]
  input.links = namings.map((naming, index) => ({
    name: `l${index}`,
    source: 'dc1',
    target: 'dc2',
    topics: { include: ['orders'] },
    naming
  }))
  const issues = issuesOf(yaml(input))
  assert.equal(issueAt(issues, 'links[0].naming.template').message, 'must contain the placeholder {topic}')
  assert.equal(
    issueAt(issues, 'links[1].naming.template').message,
    'unknown placeholder "{target}": allowed are {topic} and {source}'
  )
  assert.match(issueAt(issues, 'links[2].naming.template').message, /only topic-name characters/)
  assert.match(issueAt(issues, 'links[3].naming.prefix.separator').message, /topic-name characters/)
  assert.match(issueAt(issues, 'links[4].naming').message, /^expected identity, prefix, /)
  assert.match(issueAt(issues, 'links[5].naming').message, /^expected identity, prefix, /)
  assert.match(issueAt(issues, 'links[6].naming.prefix.extra').message, /^unknown key \(allowed: separator\)/)
  assert.match(issueAt(issues, 'links[7].naming.prefix.separator').message, /one or more topic-name characters/)
})

test('topic selection: include is required and non-empty, bad regular expressions are reported with path', () => {
  const input = baseConfig()
  input.links = [
    { source: 'dc1', target: 'dc2', name: 'a', topics: { include: ['orders', 'pay(ments', 'ok.*'] } },
    { source: 'dc1', target: 'dc2', name: 'b', topics: { include: [] } },
    { source: 'dc1', target: 'dc2', name: 'c', topics: { exclude: ['x'] } },
    { source: 'dc1', target: 'dc2', name: 'd', topics: { include: ['a'], exclude: ['[z-a]', ''] } },
    { source: 'dc1', target: 'dc2', name: 'e' }
  ]
  const issues = issuesOf(yaml(input))
  assert.equal(issueAt(issues, 'links[0].topics.include[1]').message, 'invalid regular expression: Unterminated group')
  assert.equal(issues.filter(issue => issue.path.startsWith('links[0]')).length, 1)
  assert.match(issueAt(issues, 'links[1].topics.include').message, /at least one/)
  assert.match(issueAt(issues, 'links[2].topics.include').message, /^required/)
  assert.match(issueAt(issues, 'links[3].topics.exclude[0]').message, /^invalid regular expression: /)
  assert.match(issueAt(issues, 'links[3].topics.exclude[1]').message, /non-empty/)
  assert.match(issueAt(issues, 'links[4].topics').message, /^required: expected a mapping with keys include, exclude/)
})

test('enums and integer ranges say what is allowed', () => {
  const input = baseConfig()
  Object.assign(input.links[0]!, {
    startFrom: 'beginning',
    onDataLoss: 'drop',
    onRecordError: 'skip',
    commitIntervalMs: 49,
    delivery: 'exactly-twice',
    replicationFactor: 0,
    deadLetterTopic: 'dead letters',
    sync: { topicsIntervalMs: 999, configsIntervalMs: 1.5 },
    producer: { compression: 'brotli', maxBatchBytes: 16777217, maxBufferedBytesPerPartition: 65535 },
    fetch: { maxWaitMs: 30001, maxBytes: '1MB', partitionMaxBytes: 1023, concurrency: 0 }
  })
  const issues = issuesOf(yaml(input))
  const expected: Record<string, string> = {
    'links[0].startFrom': 'expected one of earliest, latest',
    'links[0].onDataLoss': 'expected one of stop, skip',
    'links[0].onRecordError': 'expected one of stop, dead-letter',
    'links[0].commitIntervalMs': 'expected an integer >= 50',
    'links[0].delivery': 'expected one of at-least-once, exactly-once',
    'links[0].replicationFactor': 'expected an integer from 1 to 32767',
    'links[0].deadLetterTopic': 'expected a topic name (1 to 249 characters from A-Z a-z 0-9 . _ -)',
    'links[0].sync.topicsIntervalMs': 'expected an integer >= 1000',
    'links[0].sync.configsIntervalMs': 'expected an integer >= 1000',
    'links[0].producer.compression': 'expected one of none, gzip, snappy, lz4, zstd',
    'links[0].producer.maxBatchBytes': 'expected an integer from 1024 to 16777216',
    'links[0].producer.maxBufferedBytesPerPartition': 'expected an integer >= 65536',
    'links[0].fetch.maxWaitMs': 'expected an integer from 0 to 30000',
    'links[0].fetch.maxBytes': 'expected an integer >= 1024',
    'links[0].fetch.partitionMaxBytes': 'expected an integer >= 1024',
    'links[0].fetch.concurrency': 'expected an integer from 1 to 64'
  }
  for (const [path, message] of Object.entries(expected)) assert.equal(issueAt(issues, path).message, message)
  assert.equal(issues.length, Object.keys(expected).length)
})

test('a partition buffer smaller than one batch is allowed with a warning', () => {
  const input = baseConfig()
  input.links[0]!.producer = { maxBatchBytes: 2000000, maxBufferedBytesPerPartition: 1000000 }
  assert.deepEqual(parseConfig(yaml(input)).warnings, [
    'links[0].producer.maxBufferedBytesPerPartition (1000000) is below producer.maxBatchBytes (2000000): batches stay smaller than maxBatchBytes'
  ])
})

test('unknown keys are errors at every depth', () => {
  const input = baseConfig() as Record<string, unknown> & ReturnType<typeof baseConfig>
  input.version = 1
  input.clusters.dc1 = { boostrap: '127.0.0.1:19092' }
  input.clusters.dc2!.tls = { ca_file: 'x' }
  input.links[0]!.topic = 'orders'
  input.links[0]!.topics = { include: ['orders'], exclud: [] }
  input.links[0]!.fetch = { maxWait: 1 }
  const issues = issuesOf(yaml(input))
  assert.match(issueAt(issues, 'version').message, /^unknown key \(allowed: clusters, links, http, workers\)$/)
  assert.match(issueAt(issues, 'clusters.dc1.boostrap').message, /^unknown key \(allowed: bootstrap, /)
  assert.match(issueAt(issues, 'clusters.dc2.tls.ca_file').message, /^unknown key/)
  assert.match(issueAt(issues, 'links[0].topic').message, /^unknown key/)
  assert.match(issueAt(issues, 'links[0].topics.exclud').message, /^unknown key \(allowed: include, exclude\)$/)
  assert.match(issueAt(issues, 'links[0].fetch.maxWait').message, /^unknown key/)
  assert.match(errorOf(yaml(input)).message, /\n {2}clusters\.dc1\.boostrap: unknown key/)
})

test('links must join two different, defined clusters', () => {
  const input = baseConfig()
  input.links = [
    { source: 'dc1', target: 'dc1', topics: { include: ['orders'] } },
    { source: 'dc3', target: 'dc2', topics: { include: ['orders'] } },
    { source: 'dc1', topics: { include: ['orders'] } }
  ]
  const issues = issuesOf(yaml(input))
  assert.match(issueAt(issues, 'links[0].target').message, /same cluster as source/)
  assert.equal(issueAt(issues, 'links[1].source').message, 'unknown cluster "dc3": expected one of dc1, dc2')
  assert.match(issueAt(issues, 'links[2].target').message, /^required/)
  assert.match(issueAt(issuesOf(yaml({ clusters: {}, links: input.links })), 'links[1].source').message, /no clusters/)
})

test('two clusters sharing a bootstrap address are an error', () => {
  const input = baseConfig()
  input.clusters.dc2!.bootstrap = ['127.0.0.2:29092', 'LOCALHOST:19092']
  input.clusters.dc1!.bootstrap = 'localhost:19092'
  const issues = issuesOf(yaml(input))
  assert.equal(issues.length, 1)
  assert.match(
    issueAt(issues, 'clusters.dc2.bootstrap[1]').message,
    /"LOCALHOST:19092" is also a bootstrap address of cluster dc1/
  )
})

test('link names default to source->target and must be unique', () => {
  const input = baseConfig()
  input.links = [
    { source: 'dc1', target: 'dc2', topics: { include: ['a'] } },
    { source: 'dc1', target: 'dc2', topics: { include: ['b'] } },
    { name: 'x', source: 'dc2', target: 'dc1', topics: { include: ['a'] } },
    { name: 'x', source: 'dc2', target: 'dc1', topics: { include: ['b'] } },
    { name: 'y', source: 'dc1', target: 'dc2', topics: { include: ['c'] } }
  ]
  const issues = issuesOf(yaml(input))
  assert.equal(issues.length, 2)
  assert.match(issueAt(issues, 'links[1]').message, /^duplicate link name "dc1->dc2" \(also links\[0\]\)/)
  assert.match(issueAt(issues, 'links[3].name').message, /^duplicate link name "x" \(also links\[2\]\)/)
})

test('many problems are reported together in one ConfigError', () => {
  const input = baseConfig()
  input.clusters.dc1!.bootstrap = 'nohost'
  input.clusters.dc2!.clientId = 5
  Object.assign(input.links[0]!, { onDataLoss: 'drop', source: 'dc9', naming: { template: 'x' } })
  const error = errorOf(yaml(input))
  assert.ok(error instanceof KdrError)
  assert.ok(KdrError.is(error))
  assert.equal(error.name, 'ConfigError')
  assert.equal(error.code, 'KDR_ERR_CONFIG')
  assert.deepEqual(
    error.issues.map(issue => issue.path),
    [
      'clusters.dc1.bootstrap',
      'clusters.dc2.clientId',
      'links[0].naming.template',
      'links[0].onDataLoss',
      'links[0].source'
    ]
  )
  assert.equal(
    error.message,
    [
      'invalid config test.yaml:',
      '  clusters.dc1.bootstrap: bootstrap address "nohost" is not host:port',
      '  clusters.dc2.clientId: expected a non-empty string',
      '  links[0].naming.template: must contain the placeholder {topic}',
      '  links[0].onDataLoss: expected one of stop, skip',
      '  links[0].source: unknown cluster "dc9": expected one of dc1, dc2'
    ].join('\n')
  )
})

test('top-level shape errors', () => {
  assert.deepEqual(issuesOf('[1, 2]'), [
    { path: '(root)', message: 'expected a mapping with keys clusters, links, http, workers, got a list' }
  ])
  assert.deepEqual(issuesOf('clusters: {}'), [
    { path: 'links', message: 'required: expected a list of links' },
    { path: 'clusters', message: 'expected at least one cluster' }
  ])
  assert.match(
    issueAt(issuesOf('clusters: {dc1: {bootstrap: "h:1"}}\nlinks: []'), 'links').message,
    /at least one link/
  )
  assert.match(issueAt(issuesOf('clusters: [a]\nlinks: [3]'), 'clusters').message, /expected a mapping/)
  assert.match(issueAt(issuesOf('clusters: [a]\nlinks: [3]'), 'links[0]').message, /expected a mapping .*got a number/)
})

test('an empty file is a clear error', () => {
  for (const text of ['', '   \n', '# only a comment\n']) {
    assert.deepEqual(issuesOf(text), [
      { path: '(root)', message: 'the config is empty: expected a mapping with keys clusters, links' }
    ])
  }
})

test('YAML syntax errors carry line:column and no source text', () => {
  const error = errorOf('clusters:\n  dc1: { bootstrap: "127.0.0.1:19092"\n  password: "hunter2"\nlinks: []\n')
  assert.match(error.message, /^invalid config test.yaml:\n {2}\(root\): YAML syntax error at line \d+:\d+: /)
  assert.doesNotMatch(error.message, /hunter2/)
  const duplicate = errorOf('clusters: {}\nlinks: []\nclusters: {}\n')
  assert.deepEqual(duplicate.issues, [
    { path: '(root)', message: 'YAML syntax error at line 3:1: Map keys must be unique' }
  ])
})

test('a cascade of YAML errors is cut short', () => {
  const issues = issuesOf('a: [\n' + 'b: "x", c: {\n'.repeat(20))
  assert.ok(issues.length <= 6)
  assert.ok(issues.every(issue => issue.path === '(root)'))
})

test('loadConfig reads the file and resolves paths against its directory', () => {
  const path = join(dir, 'kafka-dr.yaml')
  writeFileSync(path, example)
  const config = loadConfig(path)
  assert.equal(config.origin, path)
  assert.equal(config.links.length, 1)
})

test('loadConfig names a missing file', () => {
  const path = join(dir, 'missing.yaml')
  assert.throws(
    () => loadConfig(path),
    (error: unknown) =>
      error instanceof ConfigError &&
      error.message === `invalid config ${path}:\n  (root): cannot read config file "${path}" (no such file)`
  )
})
