import assert from 'node:assert/strict'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import kafkajs from 'kafkajs'
import { ConfigError, parseConfig } from '../../src/config/index.ts'
import { bootstrapOf, clusterTls, down, up } from '../../tools/harness/harness.ts'
import { ensureClusterTls } from '../../tools/harness/tls.ts'
import { clusterConnection, uniqueTopic } from '../support/clusters.ts'
import { verifyYaml } from '../support/faults.ts'
import { kcatAuditSequences, kcatCounts } from '../support/kcat.ts'
import { endOffsets, startReplicator, waitFor } from '../support/replication.ts'
import { SequenceWriter } from '../support/sequence-writer.ts'

/**
 * TLS and SASL end to end: a harness cluster (5) with a SASL_SSL listener (SCRAM-SHA-512 users,
 * certificates from its own CA) and Kafka's StandardAuthorizer, replicated to and from a plaintext
 * cluster with credentials from `${env:...}` references. The user kafka-dr runs as holds exactly the
 * ACLs docs/security.md lists, so a missing one fails this test.
 */

const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, Kafka, ResourcePatternTypes, logLevel } = kafkajs
type Kafka = kafkajs.Kafka
type AclResourceTypes = kafkajs.AclResourceTypes
type AclOperationTypes = kafkajs.AclOperationTypes

const SECURE = 5
const SECURE_PORT = 59094
const PASSWORD = 'dr-secret-canary-7f3a'

function adminKafka(): ReturnType<Kafka['admin']> {
  // The PLAINTEXT listener's principal (ANONYMOUS) is a super user: the test's own setup path.
  return new Kafka({ brokers: [bootstrapOf(SECURE)], logLevel: logLevel.NOTHING }).admin()
}

const acl = (
  resourceType: AclResourceTypes,
  resourceName: string,
  operation: AclOperationTypes,
  resourcePatternType = ResourcePatternTypes.LITERAL
): Parameters<ReturnType<Kafka['admin']>['createAcls']>[0]['acl'][number] => ({
  resourceType,
  resourceName,
  resourcePatternType,
  principal: 'User:dr',
  host: '*',
  operation,
  permissionType: AclPermissionTypes.ALLOW
})

/** The minimum ACLs on a source cluster (docs/security.md): read-only. */
function sourceAcls(topic: string): ReturnType<typeof acl>[] {
  return [
    acl(AclResourceTypes.TOPIC, topic, AclOperationTypes.DESCRIBE),
    acl(AclResourceTypes.TOPIC, topic, AclOperationTypes.READ),
    acl(AclResourceTypes.TOPIC, topic, AclOperationTypes.DESCRIBE_CONFIGS),
    acl(AclResourceTypes.GROUP, '*', AclOperationTypes.DESCRIBE)
  ]
}

/** The minimum ACLs on a target cluster (docs/security.md). */
function targetAcls(topic: string): ReturnType<typeof acl>[] {
  const ops = [
    AclOperationTypes.CREATE,
    AclOperationTypes.DESCRIBE,
    AclOperationTypes.DESCRIBE_CONFIGS,
    AclOperationTypes.ALTER_CONFIGS,
    AclOperationTypes.ALTER,
    AclOperationTypes.WRITE
  ]
  const state = [
    AclOperationTypes.CREATE,
    AclOperationTypes.DESCRIBE,
    AclOperationTypes.DESCRIBE_CONFIGS,
    AclOperationTypes.READ,
    AclOperationTypes.WRITE
  ]
  return [
    ...ops.map(op => acl(AclResourceTypes.TOPIC, topic, op)),
    ...state.map(op => acl(AclResourceTypes.TOPIC, '__kdr_state', op)),
    // delivery: exactly-once (the default): the link's transactional ids.
    ...[AclOperationTypes.DESCRIBE, AclOperationTypes.WRITE].map(op =>
      acl(AclResourceTypes.TRANSACTIONAL_ID, 'kafka-dr.', op, ResourcePatternTypes.PREFIXED)
    ),
    // The link's worker group (docs/scale-out.md): join, heartbeat, leave (Read); list members (Describe).
    ...[AclOperationTypes.DESCRIBE, AclOperationTypes.READ].map(op =>
      acl(AclResourceTypes.GROUP, 'kafka-dr.', op, ResourcePatternTypes.PREFIXED)
    )
  ]
}

function secureCluster(password: string, ca: string | null): string {
  const tls = ca === null ? 'true' : `{ ca: "${ca}" }`
  return `  secure:\n    bootstrap: "127.0.0.1:${SECURE_PORT}"\n    tls: ${tls}\n    sasl: { mechanism: scram-sha-512, username: dr, password: "${password}" }\n`
}

function yaml(direction: 'to-secure' | 'from-secure', topic: string, secure: string): string {
  const plain = direction === 'to-secure' ? 'dc1' : 'dc2'
  const [source, target] = direction === 'to-secure' ? [plain, 'secure'] : ['secure', plain]
  return [
    'clusters:',
    `  ${plain}: { bootstrap: "${bootstrapOf(direction === 'to-secure' ? 1 : 2)}" }`,
    secure.trimEnd(),
    'links:',
    `  - name: ${direction}`,
    `    source: ${source}`,
    `    target: ${target}`,
    '    commitIntervalMs: 200',
    // exactly-once under the minimum ACLs (its transactional ids included).
    '    delivery: exactly-once',
    `    topics: { include: ["${topic}"] }`,
    ''
  ].join('\n')
}

describe('TLS and SASL (SCRAM-SHA-512) end to end, with the minimum ACLs', () => {
  let ca = ''
  before(async () => {
    await down({ indexes: [SECURE], log: () => {} })
    await up({
      indexes: [SECURE],
      clusterListeners: { [SECURE]: [{ name: 'SECURE', port: SECURE_PORT, protocol: 'SASL_SSL' }] },
      clusterSecurity: {
        [SECURE]: {
          authorizer: true,
          scramUsers: [
            { name: 'admin', password: 'admin-secret' },
            { name: 'dr', password: PASSWORD }
          ]
        }
      },
      log: () => {}
    })
    ca = clusterTls(SECURE)!.caFile
    process.env.KAFKA_DR_TEST_SECURE_PASSWORD = PASSWORD
  })
  after(async () => {
    await down({ indexes: [SECURE], log: () => {} })
  })

  test('plaintext dc1 -> SASL_SSL target: replicated with the target ACLs only, password from ${env:...}', async () => {
    const topic = uniqueTopic('secure.in')
    const admin = adminKafka()
    await admin.connect()
    await admin.createAcls({ acl: targetAcls(topic) })
    await admin.disconnect()
    const dc1 = new SequenceWriter(clusterConnection(1), topic, 2, 't')
    const { KafkaAdmin } = await import('../../src/kafka/index.ts')
    const plain = new KafkaAdmin(clusterConnection(1))
    await plain.createTopics([{ name: topic, partitions: 2 }])
    await plain.close()
    await dc1.write(500)
    await dc1.close()
    const config = yaml('to-secure', topic, secureCluster('${env:KAFKA_DR_TEST_SECURE_PASSWORD}', ca))
    const running = await startReplicator(config)
    try {
      const secureAdmin = new KafkaAdmin({ alias: 'secure-plain', bootstrap: [bootstrapOf(SECURE)] })
      await waitFor('copied over SASL_SSL', 60_000, async () =>
        (await endOffsets(secureAdmin, topic, 2)).every(o => o === 500n)
      )
      await secureAdmin.close()
      assert.equal(running.replicator.status()[0]?.error, null)
      assert.ok(!running.logs.some(l => l.includes(PASSWORD)), 'the password never appears in the logs')
    } finally {
      await running.stop()
    }
    const audit = await kcatAuditSequences(bootstrapOf(SECURE), topic, 't', [500, 500])
    assert.equal(audit.missing, 0)
    assert.equal(audit.duplicates, 0)
    // verify reads the target as the super user on the plaintext listener.
    const verified = await verifyYaml(
      yaml('to-secure', topic, `  secure: { bootstrap: "${bootstrapOf(SECURE)}" }\n`),
      'to-secure',
      [topic]
    )
    assert.equal(verified.ok, true)
  })

  test('SASL_SSL source -> plaintext dc2: replicated with the read-only source ACLs only', async () => {
    const topic = uniqueTopic('secure.out')
    const admin = adminKafka()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] })
    await admin.createAcls({ acl: sourceAcls(topic) })
    await admin.disconnect()
    const writer = new SequenceWriter({ alias: 'secure-plain', bootstrap: [bootstrapOf(SECURE)] }, topic, 2, 'o')
    await writer.write(400)
    await writer.close()
    const running = await startReplicator(
      yaml('from-secure', topic, secureCluster('${env:KAFKA_DR_TEST_SECURE_PASSWORD}', ca))
    )
    try {
      // Counted by kcat, read_committed: under exactly-once the end offsets also count commit markers
      // (one per partition and transaction, and how many depends on where the commits fell).
      await waitFor('copied from SASL_SSL', 60_000, async () =>
        (await kcatCounts(bootstrapOf(2), topic, 2)).every(n => n === 400)
      ).catch((error: unknown) => {
        throw new Error(`${String(error)}; the replicator's last log lines:\n${running.logs.slice(-30).join('\n')}`)
      })
      assert.equal(running.replicator.status()[0]?.error, null)
    } finally {
      await running.stop()
    }
    assert.equal((await kcatAuditSequences(bootstrapOf(2), topic, 'o', [400, 400])).missing, 0)
  })

  test('a wrong password fails with an authentication error naming the cluster, not the password', async () => {
    const running = await startReplicator(
      yaml('to-secure', uniqueTopic('secure.bad'), secureCluster('not-the-password', ca))
    )
    try {
      const error = running.replicator.status()[0]?.error ?? ''
      assert.match(error, /authentication/i)
      assert.match(error, /cluster secure/)
      assert.ok(!error.includes('not-the-password'))
    } finally {
      await running.stop()
    }
  })

  test('a CA that did not sign the broker certificate fails the TLS handshake, naming the cluster', async () => {
    const other = ensureClusterTls(mkdtempSync(join(tmpdir(), 'kafka-dr-other-ca-')), 'other').caFile
    const running = await startReplicator(yaml('to-secure', uniqueTopic('secure.ca'), secureCluster(PASSWORD, other)))
    try {
      const error = running.replicator.status()[0]?.error ?? ''
      assert.match(error, /cluster secure/)
      assert.match(error, /certificate|self.signed|unable to verify/i)
    } finally {
      await running.stop()
    }
  })

  test('SCRAM without TLS is refused unless allowInsecureSasl is set, and then warned about', () => {
    const plainSasl = `  secure:\n    bootstrap: "127.0.0.1:${SECURE_PORT}"\n    sasl: { mechanism: SCRAM-SHA-512, username: dr, password: x }\n`
    assert.throws(
      () => parseConfig(yaml('to-secure', 't', plainSasl), '<test>'),
      (error: unknown) =>
        error instanceof ConfigError && /clusters\.secure\.sasl: SASL over a connection without TLS/.test(error.message)
    )
    const allowed = parseConfig(yaml('to-secure', 't', `${plainSasl}    allowInsecureSasl: true\n`), '<test>')
    assert.ok(allowed.warnings.some(w => /clusters\.secure\.allowInsecureSasl/.test(w)))
  })
})
