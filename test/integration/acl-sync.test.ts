import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { promisify } from 'node:util'
import kafkajs from 'kafkajs'
import { bootstrapOf, clusterTls, down, up } from '../../tools/harness/harness.ts'
import { configYaml, startReplicator, waitFor } from '../support/replication.ts'
import { writeConfig } from '../support/process.ts'
import { uniqueTopic } from '../support/clusters.ts'

/**
 * ACL sync end to end (docs/security.md, "ACL sync"): harness clusters 4 (source) and 5 (target), both
 * with Kafka's StandardAuthorizer; 5 also has a SASL_SSL listener where the SCRAM user `reader` logs
 * in. The replicator runs over the PLAINTEXT listeners (their principal, ANONYMOUS, is a super user);
 * every check of the target's ACLs and of what `reader` may do uses kafkajs, an independent client.
 */

const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, Kafka, ResourcePatternTypes, logLevel } = kafkajs
type Admin = ReturnType<kafkajs.Kafka['admin']>
type AclEntry = Parameters<Admin['createAcls']>[0]['acl'][number]

const SOURCE = 4
const TARGET = 5
const TARGET_SECURE_PORT = 59094
const READER_PASSWORD = 'reader-secret-acl-5c1e'
const run = promisify(execFile)

const s = randomBytes(3).toString('hex')
const ORDERS = `orders-${s}`
const PAY = `pay-${s}.v1`
const GROUP = `g-${s}`
/** Target names under `naming: prefix` (source alias `src`). */
const T_ORDERS = `src.${ORDERS}`

const name = <T extends Record<string, unknown>>(values: T, v: unknown): string =>
  Object.entries(values).find(([, x]) => x === v)?.[0] ?? String(v)

function acl(
  resourceName: string,
  operation: number,
  more: { principal?: string; permission?: number; type?: number; pattern?: number } = {}
): AclEntry {
  return {
    resourceType: (more.type ?? AclResourceTypes.TOPIC) as AclEntry['resourceType'],
    resourceName,
    resourcePatternType: (more.pattern ?? ResourcePatternTypes.LITERAL) as AclEntry['resourcePatternType'],
    principal: more.principal ?? 'User:reader',
    host: '*',
    operation: operation as AclEntry['operation'],
    permissionType: (more.permission ?? AclPermissionTypes.ALLOW) as AclEntry['permissionType']
  }
}

/** Every ACL of a cluster as `PERMISSION principal OPERATION TYPE PATTERN name` lines, read by kafkajs. */
async function aclLines(admin: Admin): Promise<string[]> {
  const described = await admin.describeAcls({
    resourceType: AclResourceTypes.ANY,
    resourcePatternType: ResourcePatternTypes.ANY,
    operation: AclOperationTypes.ANY,
    permissionType: AclPermissionTypes.ANY
  })
  return described.resources
    .flatMap(r =>
      r.acls.map(
        a =>
          `${name(AclPermissionTypes, a.permissionType)} ${a.principal} ${name(AclOperationTypes, a.operation)} ${name(AclResourceTypes, r.resourceType)} ${name(ResourcePatternTypes, r.resourcePatternType)} ${r.resourceName}`
      )
    )
    .sort()
}

function plainAdmin(index: number): Admin {
  return new Kafka({ brokers: [bootstrapOf(index)], logLevel: logLevel.NOTHING }).admin()
}

function readerKafka(ca: string): kafkajs.Kafka {
  return new Kafka({
    clientId: 'acl-sync-reader',
    brokers: [`127.0.0.1:${TARGET_SECURE_PORT}`],
    ssl: { ca: [readFileSync(ca, 'utf8')] },
    sasl: { mechanism: 'scram-sha-512', username: 'reader', password: READER_PASSWORD },
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 }
  })
}

async function produceAsReader(ca: string, topic: string): Promise<void> {
  const producer = readerKafka(ca).producer({ allowAutoTopicCreation: false })
  await producer.connect()
  try {
    await producer.send({ topic, messages: [{ value: 'from reader' }] })
  } finally {
    await producer.disconnect()
  }
}

function yaml(): string {
  return [
    'clusters:',
    `  src: { bootstrap: "${bootstrapOf(SOURCE)}" }`,
    `  dst: { bootstrap: "${bootstrapOf(TARGET)}" }`,
    'links:',
    '  - name: acl-link',
    '    source: src',
    '    target: dst',
    '    naming: prefix',
    '    commitIntervalMs: 200',
    `    topics: { include: ["${ORDERS}", "${PAY}"] }`,
    `    groups: { include: ["${GROUP}"] }`,
    '    acls: { sync: true, groups: true, intervalMs: 1000 }',
    ''
  ].join('\n')
}

describe('ACL sync: topic and group ACLs copied safely, deletions followed, writes granted at failover', () => {
  let ca = ''
  before(async () => {
    await down({ indexes: [SOURCE, TARGET], log: () => {} })
    const users = [
      { name: 'admin', password: 'admin-secret' },
      { name: 'reader', password: READER_PASSWORD }
    ]
    await up({
      indexes: [SOURCE, TARGET],
      clusterListeners: { [TARGET]: [{ name: 'SECURE', port: TARGET_SECURE_PORT, protocol: 'SASL_SSL' }] },
      clusterSecurity: {
        [SOURCE]: { authorizer: true, scramUsers: users },
        [TARGET]: { authorizer: true, scramUsers: users }
      },
      log: () => {}
    })
    ca = clusterTls(TARGET)!.caFile
  })
  after(async () => {
    await down({ indexes: [SOURCE, TARGET], log: () => {} })
  })

  test('copied without WRITE, ALL as READ, DENY kept; deletions followed; --grant-writes', async () => {
    // Given: on the source, reader may read orders (LITERAL) and the pay- prefix (PREFIXED) and its
    // group; it may also WRITE orders; ops has ALL on orders; mallory is denied reading it.
    const source = plainAdmin(SOURCE)
    const target = plainAdmin(TARGET)
    await Promise.all([source.connect(), target.connect()])
    await source.createTopics({ topics: [{ topic: ORDERS }, { topic: PAY }, { topic: `other-${s}` }] })
    await source.createAcls({
      acl: [
        acl(ORDERS, AclOperationTypes.READ),
        acl(ORDERS, AclOperationTypes.DESCRIBE),
        acl(`pay-${s}`, AclOperationTypes.READ, { pattern: ResourcePatternTypes.PREFIXED }),
        acl(ORDERS, AclOperationTypes.WRITE),
        acl(ORDERS, AclOperationTypes.ALL, { principal: 'User:ops' }),
        acl(ORDERS, AclOperationTypes.READ, { principal: 'User:mallory', permission: AclPermissionTypes.DENY }),
        acl(GROUP, AclOperationTypes.READ, { type: AclResourceTypes.GROUP }),
        // Not replicated: never copied.
        acl(`other-${s}`, AclOperationTypes.READ)
      ]
    })
    const producer = new Kafka({ brokers: [bootstrapOf(SOURCE)], logLevel: logLevel.NOTHING }).producer()
    await producer.connect()
    await producer.send({ topic: ORDERS, messages: Array.from({ length: 10 }, (_, i) => ({ value: `o${i}` })) })
    await producer.disconnect()
    // And on the target, made by hand: one equal to a binding the sync would copy, one of its own.
    const byHand = [
      acl(T_ORDERS, AclOperationTypes.DESCRIBE),
      acl(T_ORDERS, AclOperationTypes.DESCRIBE, { principal: 'User:auditor' })
    ]
    await target.createAcls({ acl: byHand })

    const running = await startReplicator(yaml())
    const expected = [
      `ALLOW User:auditor DESCRIBE TOPIC LITERAL ${T_ORDERS}`,
      `ALLOW User:ops READ TOPIC LITERAL ${T_ORDERS}`,
      `ALLOW User:reader DESCRIBE TOPIC LITERAL ${T_ORDERS}`,
      `ALLOW User:reader READ GROUP LITERAL ${GROUP}`,
      `ALLOW User:reader READ TOPIC LITERAL ${T_ORDERS}`,
      `ALLOW User:reader READ TOPIC PREFIXED src.pay-${s}`,
      `DENY User:mallory READ TOPIC LITERAL ${T_ORDERS}`
    ].sort()
    try {
      // Then: exactly the safe set is on the target: no WRITE, ALL became READ, the DENY is there.
      await waitFor('the ACLs on the target', 30_000, async () => {
        const lines = await aclLines(target)
        return JSON.stringify(lines) === JSON.stringify(expected) ? lines : undefined
      }).catch(async (error: unknown) => {
        throw new Error(`${String(error)}; target has ${JSON.stringify(await aclLines(target))}`)
      })

      // reader consumes the copy of orders in its group, over SASL_SSL...
      const consumer = readerKafka(ca).consumer({ groupId: GROUP })
      await consumer.connect()
      const seen: string[] = []
      await consumer.subscribe({ topic: T_ORDERS, fromBeginning: true })
      await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value?.toString() ?? '') })
      await waitFor('reader consumes the replicated topic', 30_000, async () => seen.length >= 10)
      await consumer.disconnect()
      // ...and may not write it.
      await assert.rejects(produceAsReader(ca, T_ORDERS), (error: Error & { type?: string }) => {
        assert.match(`${error.type ?? ''} ${error.message}`, /TOPIC_AUTHORIZATION_FAILED|not authorized/i)
        return true
      })

      // When: the source loses reader's DESCRIBE and the prefixed READ.
      await source.deleteAcls({
        filters: [
          acl(ORDERS, AclOperationTypes.DESCRIBE),
          acl(`pay-${s}`, AclOperationTypes.READ, { pattern: ResourcePatternTypes.PREFIXED })
        ]
      })
      // Then: the copy kafka-dr made is deleted; the two made by hand stay (one equals the deleted source ACL).
      await waitFor('the prefixed copy deleted', 30_000, async () => {
        const lines = await aclLines(target)
        return !lines.includes(`ALLOW User:reader READ TOPIC PREFIXED src.pay-${s}`)
      })
      const remaining = await aclLines(target)
      assert.ok(remaining.includes(`ALLOW User:reader DESCRIBE TOPIC LITERAL ${T_ORDERS}`), 'made by hand: kept')
      assert.ok(remaining.includes(`ALLOW User:auditor DESCRIBE TOPIC LITERAL ${T_ORDERS}`), 'made by hand: kept')
      assert.ok(!remaining.some(l => / (WRITE|ALL) /.test(l)), `no write ACL on the target: ${remaining.join(', ')}`)
      assert.ok(running.logs.some(l => l.includes('ACL created on dst') && l.includes(T_ORDERS)))
      // The broker may show the deletion a moment before its answer reaches the replicator (and it logs).
      await waitFor('the deletion logged', 5000, async () =>
        running.logs.some(l => l.includes('ACL deleted on dst') && l.includes(`src.pay-${s}`))
      ).catch((error: unknown) => {
        throw new Error(`${String(error)}; ACL log lines:\n${running.logs.filter(l => l.includes('ACL')).join('\n')}`)
      })
    } finally {
      await running.stop()
    }

    // failover --grant-writes: the dry run lists the held-back WRITE (and ops's ALL), the real run grants them.
    const configFile = writeConfig(yaml())
    const audit = join(mkdtempSync(join(tmpdir(), 'kafka-dr-acl-audit-')), 'audit.jsonl')
    const cli = ['src/cli/main.ts', 'failover', '--config', configFile, '--link', 'acl-link', '--grant-writes']
    const dry = await run(process.execPath, [...cli, '--dry-run', '--audit-file', audit])
    assert.match(
      dry.stdout,
      new RegExp(`would grant: ALLOW User:reader WRITE on TOPIC LITERAL ${T_ORDERS.replaceAll('.', '\\.')}`)
    )
    assert.match(
      dry.stdout,
      new RegExp(`would grant: ALLOW User:ops ALL on TOPIC LITERAL ${T_ORDERS.replaceAll('.', '\\.')}`)
    )
    assert.ok(!(await aclLines(target)).some(l => / (WRITE|ALL) /.test(l)), 'the dry run changed nothing')

    const real = await run(process.execPath, [...cli, '--audit-file', audit])
    assert.match(real.stdout, /granted: ALLOW User:reader WRITE on TOPIC LITERAL/)
    assert.ok((await aclLines(target)).includes(`ALLOW User:reader WRITE TOPIC LITERAL ${T_ORDERS}`))
    await produceAsReader(ca, T_ORDERS)
    await Promise.all([source.disconnect(), target.disconnect()])
  })
})

describe('ACL sync against a cluster without an authorizer', () => {
  test('logs once that it is off and stays off (no error loop)', async () => {
    const topic = uniqueTopic('acl-off')
    const running = await startReplicator(
      configYaml(
        `  - name: acl-off\n    source: dc1\n    target: dc2\n    topics: { include: ["${topic}"] }\n    acls: { sync: true, intervalMs: 1000 }\n`
      )
    )
    try {
      await waitFor('the off notice', 15_000, async () => running.logs.some(l => l.includes('ACL sync is off')))
      await new Promise(resolve => setTimeout(resolve, 3000))
      const off = running.logs.filter(l => l.includes('ACL sync is off'))
      assert.equal(off.length, 1)
      assert.match(off[0]!, /cluster dc1 has no authorizer \(SECURITY_DISABLED\)/)
      assert.ok(!running.logs.some(l => l.includes('ACL sync pass failed')))
    } finally {
      await running.stop()
    }
  })
})
