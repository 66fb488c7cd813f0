import assert from 'node:assert/strict'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { createServer, type Server } from 'node:http'
import { type AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { KafkaAdmin } from '../../src/kafka/index.ts'
import { bootstrapOf, clusterTls, down, up } from '../../tools/harness/harness.ts'
import { type ClientCertificate, type ClusterTls, createClientCertificate } from '../../tools/harness/tls.ts'
import { clusterConnection, uniqueTopic } from '../support/clusters.ts'
import { kcatAuditSequences, kcatCounts } from '../support/kcat.ts'
import { startReplicator, waitFor, type RunningReplicator } from '../support/replication.ts'
import { SequenceWriter } from '../support/sequence-writer.ts'

/**
 * Authentication end to end on harness cluster 3, started fresh with three listeners beside its
 * PLAINTEXT one (the tests' own setup and independent reads go there):
 * - OAUTH: SASL_SSL with OAUTHBEARER, checked by Kafka's default unsecured validator (unsigned JWTs,
 *   `sub` = principal, `exp` enforced), tokens from a token endpoint in this test;
 * - MTLS: SSL with ssl.client.auth=required, client certificates signed by the cluster's CA;
 * - PASSWORD: SASL_SSL with PLAIN and SCRAM-SHA-256.
 * connections.max.reauth.ms makes the broker end every SASL session after 5 s (or when its token
 * expires, if sooner) unless the client re-authenticates (KIP-368), so a replicator that only
 * authenticated once would lose its connections within seconds.
 */

const CLUSTER = 3
const OAUTH_PORT = 39094
const MTLS_PORT = 39095
const PASSWORD_PORT = 39096
const CLIENT_ID = 'kafka-dr'
const CLIENT_SECRET = 'oauth-secret-canary-41c9'
const PLAIN_PASSWORD = 'plain-secret-canary-77d2'
const SCRAM_PASSWORD = 'scram-secret-canary-0b5e'
const KEY_PASSPHRASE = 'key-passphrase-canary-9e11'
const TOKEN_LIFETIME_S = 8
const SESSION_MS = 5000

/** A client-credentials token endpoint issuing unsigned JWTs (alg none) that live TOKEN_LIFETIME_S. */
interface TokenEndpoint {
  url: string
  /** Token requests answered with a token. */
  issued: string[]
  /** Requests refused (wrong grant or client credentials). */
  refused: number
  close(): Promise<void>
}

async function startTokenEndpoint(): Promise<TokenEndpoint> {
  const endpoint: TokenEndpoint = {
    url: '',
    issued: [],
    refused: 0,
    close: () => new Promise(resolve => server.close(() => resolve()))
  }
  const expected = `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`
  const server: Server = createServer((request, response) => {
    let body = ''
    request.on('data', (chunk: Buffer) => (body += chunk.toString()))
    request.on('end', () => {
      const form = new URLSearchParams(body)
      if (request.headers.authorization !== expected || form.get('grant_type') !== 'client_credentials') {
        endpoint.refused++
        response.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid_client"}')
        return
      }
      const now = Math.floor(Date.now() / 1000)
      const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url')
      const token = `${part({ alg: 'none' })}.${part({ sub: CLIENT_ID, iat: now, exp: now + TOKEN_LIFETIME_S })}.`
      endpoint.issued.push(token)
      response
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: TOKEN_LIFETIME_S }))
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  endpoint.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth2/token`
  return endpoint
}

/**
 * Counts, from the client library's own diagnostics channel, SaslAuthenticate requests per connection
 * to `port`: a connection that sent more than one has re-authenticated (KIP-368) instead of being
 * replaced. Observes the library, not kafka-dr's code.
 */
function watchAuthentications(port: number): { reauthenticated(): number; stop(): void } {
  const perConnection = new Map<object, number>()
  const name = 'tracing:plt:kafka:connections:api:start'
  const onStart = (message: unknown): void => {
    const context = message as { connection?: { port?: number }; apiKey?: number }
    // 36: SaslAuthenticate.
    if (context.apiKey !== 36 || context.connection?.port !== port) return
    perConnection.set(context.connection, (perConnection.get(context.connection) ?? 0) + 1)
  }
  subscribe(name, onStart)
  return {
    reauthenticated: () => [...perConnection.values()].filter(n => n > 1).length,
    stop: () => void unsubscribe(name, onStart)
  }
}

function secureCluster(alias: string, port: number, extra: string): string {
  return `  ${alias}:\n    bootstrap: "127.0.0.1:${port}"\n${extra}`
}

function linkYaml(name: string, source: string, target: string, topic: string, delivery = 'at-least-once'): string {
  return [
    `  - name: ${name}`,
    `    source: ${source}`,
    `    target: ${target}`,
    '    commitIntervalMs: 200',
    `    delivery: ${delivery}`,
    `    topics: { include: ["${topic}"] }`,
    ''
  ].join('\n')
}

function configYaml(clusters: string[], links: string[]): string {
  return ['clusters:', ...clusters.map(c => c.trimEnd()), 'links:', ...links.map(l => l.trimEnd()), ''].join('\n')
}

const plainCluster = (index: number): string => `  dc${index}: { bootstrap: "${bootstrapOf(index)}" }\n`

async function createTopic(index: number, topic: string, partitions: number): Promise<void> {
  const admin = new KafkaAdmin(
    index === CLUSTER ? { alias: 'c3-plain', bootstrap: [bootstrapOf(CLUSTER)] } : clusterConnection(index)
  )
  try {
    await admin.createTopics([{ name: topic, partitions }])
  } finally {
    await admin.close()
  }
}

/** Writes `perPartition` sequence records to each partition of `topic` on plaintext cluster `index`. */
async function writeSequence(index: number, topic: string, partitions: number, tag: string, n: number): Promise<void> {
  const connection =
    index === CLUSTER ? { alias: 'c3-plain', bootstrap: [bootstrapOf(CLUSTER)] } : clusterConnection(index)
  const writer = new SequenceWriter(connection, topic, partitions, tag)
  try {
    await writer.write(n)
  } finally {
    await writer.close()
  }
}

/** Waits until kcat (read_committed) counts `n` records in each partition; the replicator's logs on failure. */
async function waitCopied(running: RunningReplicator, index: number, topic: string, counts: number[]): Promise<void> {
  await waitFor(`${topic} copied to cluster ${index}`, 60_000, async () => {
    const found = await kcatCounts(bootstrapOf(index), topic, counts.length)
    return found.every((c, p) => c === counts[p])
  }).catch((error: unknown) => {
    const status = JSON.stringify(running.replicator.status().map(s => s.error))
    throw new Error(`${String(error)}; errors ${status}; last log lines:\n${running.logs.slice(-20).join('\n')}`)
  })
}

function assertNoSecretsIn(logs: string[], secrets: string[]): void {
  for (const secret of secrets) assert.ok(!logs.some(l => l.includes(secret)), 'no secret or token in the logs')
}

describe('authentication: OAUTHBEARER, mutual TLS, PLAIN and SCRAM-SHA-256', () => {
  let tls: ClusterTls
  let client: ClientCertificate
  let tokens: TokenEndpoint

  before(async () => {
    await down({ indexes: [CLUSTER], log: () => {} })
    await up({
      indexes: [CLUSTER],
      clusterListeners: {
        [CLUSTER]: [
          { name: 'OAUTH', port: OAUTH_PORT, protocol: 'SASL_SSL', mechanisms: ['OAUTHBEARER'] },
          { name: 'MTLS', port: MTLS_PORT, protocol: 'SSL', clientAuth: 'required' },
          { name: 'PASSWORD', port: PASSWORD_PORT, protocol: 'SASL_SSL', mechanisms: ['PLAIN', 'SCRAM-SHA-256'] }
        ]
      },
      clusterSecurity: {
        [CLUSTER]: {
          scramUsers: [{ name: 'dr', password: SCRAM_PASSWORD }],
          plainUsers: [{ name: 'dr', password: PLAIN_PASSWORD }]
        }
      },
      clusterOverrides: { [CLUSTER]: { 'connections.max.reauth.ms': String(SESSION_MS) } },
      log: () => {}
    })
    tls = clusterTls(CLUSTER)!
    client = createClientCertificate(tls, 'kafka-dr', KEY_PASSPHRASE)
    tokens = await startTokenEndpoint()
    process.env.KDR_TEST_OAUTH_SECRET = CLIENT_SECRET
    process.env.KDR_TEST_KEY_PASSPHRASE = KEY_PASSPHRASE
    process.env.KDR_TEST_PLAIN_PASSWORD = PLAIN_PASSWORD
    process.env.KDR_TEST_SCRAM_PASSWORD = SCRAM_PASSWORD
  })
  after(async () => {
    await tokens?.close()
    await down({ indexes: [CLUSTER], log: () => {} })
  })

  test('OAUTHBEARER: tokens from the client-credentials grant, refreshed before expiry while records flow both ways', async () => {
    const inbound = uniqueTopic('auth.oauth.in')
    const outbound = uniqueTopic('auth.oauth.out')
    await createTopic(1, inbound, 2)
    await createTopic(CLUSTER, outbound, 2)
    const oauth = secureCluster(
      'oauth',
      OAUTH_PORT,
      [
        `    tls: { ca: "${tls.caFile}" }`,
        '    sasl:',
        '      mechanism: OAUTHBEARER',
        `      tokenEndpoint: "${tokens.url}"`,
        `      clientId: ${CLIENT_ID}`,
        '      clientSecret: "${env:KDR_TEST_OAUTH_SECRET}"',
        ''
      ].join('\n')
    )
    // Both directions: the target side (producers, transactions, state, worker group) and the source
    // side (long-poll fetches) of a link each keep connections open across many sessions.
    const yaml = configYaml(
      [plainCluster(1), plainCluster(2), oauth],
      [linkYaml('oauth-in', 'dc1', 'oauth', inbound, 'exactly-once'), linkYaml('oauth-out', 'oauth', 'dc2', outbound)]
    )
    const watch = watchAuthentications(OAUTH_PORT)
    const before = tokens.issued.length
    const started = Date.now()
    const running = await startReplicator(yaml)
    const perPartition = 1100 // 2 partitions at 100 records/s: 22 s, more than two token lifetimes
    const inWriter = new SequenceWriter(clusterConnection(1), inbound, 2, 'i')
    const outWriter = new SequenceWriter({ alias: 'c3-plain', bootstrap: [bootstrapOf(CLUSTER)] }, outbound, 2, 'o')
    try {
      await Promise.all([inWriter.writeAtRate(perPartition, 100), outWriter.writeAtRate(perPartition, 100)])
      await waitCopied(running, CLUSTER, inbound, [perPartition, perPartition])
      await waitCopied(running, 2, outbound, [perPartition, perPartition])
      const seconds = (Date.now() - started) / 1000
      assert.ok(seconds > 2 * TOKEN_LIFETIME_S, `ran ${seconds} s, more than two token lifetimes`)
      assert.deepEqual(
        running.replicator.status().map(s => s.error),
        [null, null]
      )
      const fetched = tokens.issued.length - before
      // A token is refreshed at 80 % of its lifetime: at least one per 6.4 s of the run, plus the first.
      assert.ok(fetched >= Math.floor(seconds / (0.8 * TOKEN_LIFETIME_S)), `${fetched} tokens in ${seconds} s`)
      assert.equal(tokens.refused, 0, 'every request carried the client credentials')
      assert.ok(watch.reauthenticated() > 0, 'long-lived connections re-authenticated (KIP-368)')
      assertNoSecretsIn(running.logs, [CLIENT_SECRET, ...tokens.issued])
    } finally {
      watch.stop()
      await Promise.all([inWriter.close(), outWriter.close()])
      await running.stop()
    }
    const audits = await Promise.all([
      kcatAuditSequences(bootstrapOf(CLUSTER), inbound, 'i', [perPartition, perPartition]),
      kcatAuditSequences(bootstrapOf(2), outbound, 'o', [perPartition, perPartition])
    ])
    for (const audit of audits) {
      assert.equal(audit.missing, 0)
      assert.equal(audit.misplaced, 0)
    }
    assert.equal(audits[0]!.duplicates, 0, 'exactly-once across re-authentications')
  })

  test('OAUTHBEARER: a refused grant fails the start, naming the cluster and the endpoint, not the secret', async () => {
    const refusedBefore = tokens.refused
    const oauth = secureCluster(
      'oauth',
      OAUTH_PORT,
      `    tls: { ca: "${tls.caFile}" }\n    sasl: { mechanism: OAUTHBEARER, tokenEndpoint: "${tokens.url}", clientId: ${CLIENT_ID}, clientSecret: not-the-secret-3f1 }\n`
    )
    const running = await startReplicator(
      configYaml([plainCluster(1), oauth], [linkYaml('oauth-bad', 'dc1', 'oauth', uniqueTopic('auth.oauth.bad'))])
    )
    try {
      const error = running.replicator.status()[0]?.error ?? ''
      assert.match(error, /cannot get an OAUTHBEARER token from http:\/\/127\.0\.0\.1:\d+\/oauth2\/token/)
      assert.match(error, /HTTP 401 \(invalid_client\)/)
      assert.match(error, /cluster oauth/)
      assert.ok(!error.includes('not-the-secret-3f1'))
      // The token source does not retry a refused grant; each of the library's connection attempts asks once.
      assert.ok(tokens.refused - refusedBefore <= 4, `${tokens.refused - refusedBefore} refused requests`)
    } finally {
      await running.stop()
    }
  })

  test('mutual TLS: a client certificate (encrypted key) replicates; without one the broker refuses, naming the cluster', async () => {
    const topic = uniqueTopic('auth.mtls')
    await createTopic(1, topic, 2)
    await writeSequence(1, topic, 2, 'm', 300)
    const withCert = secureCluster(
      'mtls',
      MTLS_PORT,
      `    tls: { ca: "${tls.caFile}", cert: "${client.certFile}", key: "${client.keyFile}", passphrase: "\${env:KDR_TEST_KEY_PASSPHRASE}" }\n`
    )
    const running = await startReplicator(
      configYaml([plainCluster(1), withCert], [linkYaml('mtls', 'dc1', 'mtls', topic)])
    )
    try {
      await waitCopied(running, CLUSTER, topic, [300, 300])
      assert.equal(running.replicator.status()[0]?.error, null)
      assertNoSecretsIn(running.logs, [KEY_PASSPHRASE])
    } finally {
      await running.stop()
    }
    const audit = await kcatAuditSequences(bootstrapOf(CLUSTER), topic, 'm', [300, 300])
    assert.equal(audit.missing, 0)

    const withoutCert = secureCluster('mtls', MTLS_PORT, `    tls: { ca: "${tls.caFile}" }\n`)
    const refused = await startReplicator(
      configYaml([plainCluster(1), withoutCert], [linkYaml('mtls-none', 'dc1', 'mtls', uniqueTopic('auth.mtls.none'))])
    )
    try {
      const error = refused.replicator.status()[0]?.error ?? ''
      assert.match(error, /cluster mtls/)
      assert.match(error, /the broker ended the TLS session with alert "(bad certificate|certificate required)"/)
      assert.match(error, /needs tls\.cert and tls\.key/)
    } finally {
      await refused.stop()
    }
  })

  test('SASL PLAIN: a source on the password listener replicates to dc2', async () => {
    const topic = uniqueTopic('auth.plain')
    await createTopic(CLUSTER, topic, 2)
    await writeSequence(CLUSTER, topic, 2, 'p', 300)
    const plain = secureCluster(
      'secure',
      PASSWORD_PORT,
      `    tls: { ca: "${tls.caFile}" }\n    sasl: { mechanism: PLAIN, username: dr, password: "\${env:KDR_TEST_PLAIN_PASSWORD}" }\n`
    )
    const running = await startReplicator(
      configYaml([plain, plainCluster(2)], [linkYaml('plain', 'secure', 'dc2', topic)])
    )
    try {
      await waitCopied(running, 2, topic, [300, 300])
      assert.equal(running.replicator.status()[0]?.error, null)
      assertNoSecretsIn(running.logs, [PLAIN_PASSWORD])
    } finally {
      await running.stop()
    }
    assert.equal((await kcatAuditSequences(bootstrapOf(2), topic, 'p', [300, 300])).missing, 0)
  })

  test('SASL SCRAM-SHA-256: dc1 replicates to a target on the password listener', async () => {
    const topic = uniqueTopic('auth.scram256')
    await createTopic(1, topic, 2)
    await writeSequence(1, topic, 2, 's', 300)
    const scram = secureCluster(
      'secure',
      PASSWORD_PORT,
      `    tls: { ca: "${tls.caFile}" }\n    sasl: { mechanism: SCRAM-SHA-256, username: dr, password: "\${env:KDR_TEST_SCRAM_PASSWORD}" }\n`
    )
    const running = await startReplicator(
      configYaml([plainCluster(1), scram], [linkYaml('scram', 'dc1', 'secure', topic, 'exactly-once')])
    )
    try {
      await waitCopied(running, CLUSTER, topic, [300, 300])
      assert.equal(running.replicator.status()[0]?.error, null)
      assertNoSecretsIn(running.logs, [SCRAM_PASSWORD])
    } finally {
      await running.stop()
    }
    const audit = await kcatAuditSequences(bootstrapOf(CLUSTER), topic, 's', [300, 300])
    assert.equal(audit.missing, 0)
    assert.equal(audit.duplicates, 0)
  })
})
