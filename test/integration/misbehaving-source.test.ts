import assert from 'node:assert/strict'
import { once } from 'node:events'
import { after, before, describe, test } from 'node:test'
import { createZstdCompress } from 'node:zlib'
import kafkajs from 'kafkajs'
import { parseConfig } from '../../src/config/index.ts'
import { pinAtLeastOnce } from '../support/delivery-pin.ts'
import { Replicator } from '../../src/engine/replicator.ts'
import { BatchProducer, CODEC_IDS, KafkaAdmin, PartitionFetcher, RecordBatchWriter } from '../../src/kafka/index.ts'
import { createLogger } from '../../src/observability/logger.ts'
import { Metrics } from '../../src/observability/metrics.ts'
import { bootstrapOf, clusterTls, down, up } from '../../tools/harness/harness.ts'
import { clusterConnection, uniqueTopic } from '../support/clusters.ts'
import { headerPairs, kcatAuditSequences, kcatReadAll } from '../support/kcat.ts'
import { startReplicator, waitFor } from '../support/replication.ts'
import { SequenceWriter } from '../support/sequence-writer.ts'

/**
 * A source that refuses one topic: cluster 5 (SASL_SSL, SCRAM users, Kafka's StandardAuthorizer)
 * replicated to dc2 by a principal with read-only ACLs on two topics. Revoking READ on one of them
 * must stop only that topic's partitions, with the broker's error in status, metric and one log
 * line per partition, while the other topic keeps flowing; restoring the ACL resumes it without a
 * restart, and nothing is missing on the target.
 */

const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, Kafka, ResourcePatternTypes, logLevel } = kafkajs
type AclEntry = Parameters<ReturnType<kafkajs.Kafka['admin']>['createAcls']>[0]['acl'][number]

const SOURCE = 5
const SOURCE_PORT = 59094
const PASSWORD = 'dr-misbehaving-source-5e1b'
const PARTITIONS = 2

function kafka(index: number): kafkajs.Kafka {
  // Cluster 5's PLAINTEXT listener principal (ANONYMOUS) is a super user: the test's own path.
  return new Kafka({ brokers: [bootstrapOf(index)], logLevel: logLevel.NOTHING })
}

function acl(resourceType: kafkajs.AclResourceTypes, name: string, operation: kafkajs.AclOperationTypes): AclEntry {
  return {
    resourceType,
    resourceName: name,
    resourcePatternType: ResourcePatternTypes.LITERAL,
    principal: 'User:dr',
    host: '*',
    operation,
    permissionType: AclPermissionTypes.ALLOW
  }
}

const readAcl = (topic: string): AclEntry => acl(AclResourceTypes.TOPIC, topic, AclOperationTypes.READ)

/** End offsets of a dc2 topic read by kafkajs (an independent client). */
async function targetEnds(admin: kafkajs.Admin, topic: string): Promise<number[]> {
  const offsets = await admin.fetchTopicOffsets(topic)
  return offsets.sort((a, b) => a.partition - b.partition).map(o => Number(o.offset))
}

/** Zig-zag varint, as record fields are encoded. */
function varint(value: number): Buffer {
  let z = value >= 0 ? value * 2 : -value * 2 - 1
  const out: number[] = []
  while (z >= 0x80) {
    out.push((z % 0x80) | 0x80)
    z = Math.floor(z / 0x80)
  }
  out.push(z)
  return Buffer.from(out)
}

/**
 * A valid zstd batch of one record whose value is `valueBytes` zero bytes: a few tens of kilobytes
 * that inflate to `valueBytes`. Compressed as a stream, so the test never holds the inflated bytes.
 */
async function zstdBombBatch(valueBytes: number): Promise<Buffer> {
  const body = Buffer.concat([Buffer.from([0]), varint(0), varint(0), varint(-1), varint(valueBytes)])
  const zstd = createZstdCompress()
  const out: Buffer[] = []
  zstd.on('data', (d: Buffer) => out.push(d))
  zstd.write(Buffer.concat([varint(body.length + valueBytes + 1), body]))
  const zeros = Buffer.alloc(1024 * 1024)
  for (let left = valueBytes; left > 0; left -= zeros.length) {
    if (!zstd.write(left >= zeros.length ? zeros : zeros.subarray(0, left))) await once(zstd, 'drain')
  }
  zstd.end(Buffer.from([0])) // header count
  await once(zstd, 'end')
  const region = Buffer.concat(out)
  const writer = new RecordBatchWriter()
  writer.begin(64)
  writer.appendRecord(Date.now(), null, null) // one record: the header's count and timestamps
  return writer.finish(CODEC_IDS.zstd, () => region)
}

describe('a misbehaving source (cluster 5: SCRAM users, authorizer)', () => {
  before(async () => {
    await down({ indexes: [SOURCE], log: () => {} })
    await up({
      indexes: [SOURCE],
      clusterListeners: { [SOURCE]: [{ name: 'SECURE', port: SOURCE_PORT, protocol: 'SASL_SSL' }] },
      clusterSecurity: {
        [SOURCE]: {
          authorizer: true,
          scramUsers: [
            { name: 'admin', password: 'admin-secret' },
            { name: 'dr', password: PASSWORD }
          ]
        }
      },
      log: () => {}
    })
  })
  after(async () => {
    await down({ indexes: [SOURCE], log: () => {} })
  })

  test('a revoked READ ACL stops only that topic, named and logged once; restoring it resumes without a restart', async () => {
    const blocked = uniqueTopic('misbehaving.blocked')
    const open = uniqueTopic('misbehaving.open')
    const sourceAdmin = kafka(SOURCE).admin()
    const targetAdmin = kafka(2).admin()
    await Promise.all([sourceAdmin.connect(), targetAdmin.connect()])
    await sourceAdmin.createTopics({
      topics: [blocked, open].map(topic => ({ topic, numPartitions: PARTITIONS }))
    })
    await sourceAdmin.createAcls({
      acl: [
        ...[blocked, open].flatMap(topic => [
          acl(AclResourceTypes.TOPIC, topic, AclOperationTypes.DESCRIBE),
          readAcl(topic),
          acl(AclResourceTypes.TOPIC, topic, AclOperationTypes.DESCRIBE_CONFIGS)
        ]),
        acl(AclResourceTypes.GROUP, '*', AclOperationTypes.DESCRIBE)
      ]
    })
    const plain = { alias: 'source-plain', bootstrap: [bootstrapOf(SOURCE)] }
    const blockedWriter = new SequenceWriter(plain, blocked, PARTITIONS, 'b')
    const openWriter = new SequenceWriter(plain, open, PARTITIONS, 'o')
    await Promise.all([blockedWriter.write(300), openWriter.write(300)])

    const yaml = [
      'clusters:',
      '  source:',
      `    bootstrap: "127.0.0.1:${SOURCE_PORT}"`,
      `    tls: { ca: "${clusterTls(SOURCE)!.caFile}" }`,
      `    sasl: { mechanism: scram-sha-512, username: dr, password: "${PASSWORD}" }`,
      `  dc2: { bootstrap: "${bootstrapOf(2)}" }`,
      'links:',
      '  - name: misbehaving',
      '    source: source',
      '    target: dc2',
      '    commitIntervalMs: 200',
      `    topics: { include: ["${blocked}", "${open}"] }`,
      ''
    ].join('\n')
    const config = parseConfig(pinAtLeastOnce(yaml), '<test>')
    const logs: string[] = []
    const log = createLogger({ level: 'info', secrets: config.secrets, write: line => logs.push(line) })
    let replicator: Replicator | null = null
    const metrics = new Metrics(() => replicator?.status() ?? [])
    replicator = new Replicator(config, log, metrics)
    const partitionsOf = (topic: string) => replicator.status()[0]!.partitions.filter(p => p.topic === topic)
    const cannotRead = (): string[] =>
      logs.filter(l => l.includes('partition cannot be read from the source') && l.includes(blocked))
    await replicator.start()
    try {
      await waitFor('both topics copied', 60_000, async () => {
        const [b, o] = await Promise.all([targetEnds(targetAdmin, blocked), targetEnds(targetAdmin, open)])
        return b.every(n => n === 300) && o.every(n => n === 300)
      })

      await sourceAdmin.deleteAcls({
        filters: [
          {
            resourceType: AclResourceTypes.TOPIC,
            resourceName: blocked,
            resourcePatternType: ResourcePatternTypes.LITERAL,
            principal: 'User:dr',
            host: '*',
            operation: AclOperationTypes.READ,
            permissionType: AclPermissionTypes.ALLOW
          }
        ]
      })

      // The blocked topic's partitions say why, with the broker's error name.
      const stuck = await waitFor('the blocked topic shown as retrying', 60_000, async () => {
        const parts = partitionsOf(blocked)
        return parts.length === PARTITIONS && parts.every(p => p.state === 'retrying') ? parts : undefined
      })
      for (const p of stuck) {
        assert.match(p.reason ?? '', /TOPIC_AUTHORIZATION_FAILED/)
        assert.match(p.reason ?? '', new RegExp(`cluster source, topic ${blocked.replaceAll('.', '\\.')}`))
        assert.equal(p.fetchError, 'TOPIC_AUTHORIZATION_FAILED')
      }
      // Written once the refusal is in force: the blocked topic's new records cannot be copied.
      await Promise.all([blockedWriter.write(200), openWriter.write(200)])
      // The other topic keeps flowing: its records written after the revoke are on the target.
      await waitFor('the open topic copied past the revoke', 60_000, async () =>
        (await targetEnds(targetAdmin, open)).every(n => n === 500)
      )
      assert.ok(partitionsOf(open).every(p => p.state === 'running' && p.reason === null))
      // Several refused fetches per blocked partition, yet one log line per partition.
      await waitFor('refused fetches retried', 60_000, async () => {
        const text = await metrics.text()
        const retries = /kafka_dr_retries_total\{link="misbehaving",operation="fetch"\} (\d+)/.exec(text)
        return Number(retries?.[1] ?? 0) >= 3 * PARTITIONS
      })
      assert.equal(cannotRead().length, PARTITIONS, cannotRead().join('\n'))
      assert.match(cannotRead()[0]!, /TOPIC_AUTHORIZATION_FAILED/)
      const text = await metrics.text()
      for (let p = 0; p < PARTITIONS; p++) {
        const labels = `link="misbehaving",topic="${blocked}",partition="${p}"`
        assert.ok(text.includes(`kafka_dr_partition_fetch_error{${labels},error="TOPIC_AUTHORIZATION_FAILED"} 1`))
        assert.ok(text.includes(`kafka_dr_partition_state{${labels},state="retrying"} 1`))
      }
      assert.deepEqual(await targetEnds(targetAdmin, blocked), [300, 300])

      // Restored: the same process resumes the topic.
      await sourceAdmin.createAcls({ acl: [readAcl(blocked)] })
      await waitFor('the blocked topic resumed', 90_000, async () => {
        const running = partitionsOf(blocked).every(p => p.state === 'running' && p.fetchError === null)
        return running && (await targetEnds(targetAdmin, blocked)).every(n => n === 500)
      })
      assert.ok(logs.some(l => l.includes('fetching resumed') && l.includes(blocked)))
      assert.equal(replicator.status()[0]?.error, null)
    } finally {
      await replicator.stop()
      await Promise.all([blockedWriter.close(), openWriter.close(), sourceAdmin.disconnect(), targetAdmin.disconnect()])
    }
    for (const [topic, tag] of [
      [blocked, 'b'],
      [open, 'o']
    ] as const) {
      const audit = await kcatAuditSequences(bootstrapOf(2), topic, tag, [500, 500])
      assert.equal(audit.missing, 0, `${topic}: nothing missing`)
      assert.equal(audit.duplicates, 0, `${topic}: nothing copied twice`)
      assert.equal(audit.misplaced, 0)
    }
  })

  test('a small zstd batch that inflates to 1 GiB: the record error policy applies, no crash, none after a restart', async () => {
    const bomb = await zstdBombBatch(1024 * 1024 * 1024)
    assert.ok(bomb.length < 512 * 1024, `the batch is small (${bomb.length} bytes)`)
    const plain = { alias: 'source-plain', bootstrap: [bootstrapOf(SOURCE)] }
    const sourceAdmin = kafka(SOURCE).admin()
    const targetAdmin = kafka(2).admin()
    await Promise.all([sourceAdmin.connect(), targetAdmin.connect()])
    const stopped = uniqueTopic('misbehaving.bomb-stop')
    const lettered = uniqueTopic('misbehaving.bomb-dlq')
    await sourceAdmin.createTopics({ topics: [stopped, lettered].map(topic => ({ topic, numPartitions: 1 })) })
    // 10 records, the bomb at offset 10, 10 more records.
    const raw = new BatchProducer({ ...plain, clientId: 'kafka-dr-test-bomb' })
    for (const topic of [stopped, lettered]) {
      const writer = new SequenceWriter(plain, topic, 1, 'z')
      await writer.write(10)
      assert.equal(await raw.send(topic, 0, Buffer.from(bomb)), 10n)
      await writer.write(10)
      await writer.close()
    }
    await raw.close()
    const yaml = (topic: string, policy: string): string =>
      [
        'clusters:',
        `  source: { bootstrap: "${bootstrapOf(SOURCE)}" }`,
        `  dc2: { bootstrap: "${bootstrapOf(2)}" }`,
        'links:',
        `  - name: ${topic}`,
        '    source: source',
        '    target: dc2',
        '    commitIntervalMs: 200',
        `    onRecordError: ${policy}`,
        `    deadLetterTopic: ${topic}.dlq`,
        `    topics: { include: ["${topic}"] }`,
        ''
      ].join('\n')
    try {
      // stop: the records before the batch land, the partition stops at it, twice (start and restart).
      for (const run of ['first start', 'restart']) {
        const running = await startReplicator(yaml(stopped, 'stop'))
        try {
          const partition = await waitFor(`the partition stopped at the batch (${run})`, 60_000, async () => {
            const p = running.replicator.status()[0]?.partitions[0]
            return p?.state === 'errored' ? p : undefined
          })
          assert.match(
            partition.reason ?? '',
            /zstd record batch decompresses to more than the limit of 67108864 bytes/
          )
          assert.match(partition.reason ?? '', /Policy onRecordError=stop.*offset 10/)
          assert.equal(partition.replicatedNext, 10n)
        } finally {
          await running.stop()
        }
      }
      const audit = await kcatAuditSequences(bootstrapOf(2), stopped, 'z', [20])
      assert.equal(audit.records, 10)
      assert.equal(audit.forwardJumps, 0)

      // dead-letter: one dead letter names offset 10, every other record is copied.
      const running = await startReplicator(yaml(lettered, 'dead-letter'))
      try {
        await waitFor('the records after the batch copied', 60_000, async () =>
          (await targetAdmin.fetchTopicOffsets(lettered)).every(o => o.offset === '20')
        )
        assert.equal(running.replicator.status()[0]?.partitions[0]?.state, 'running')
        assert.equal(running.replicator.status()[0]?.partitions[0]?.deadLetteredRecords, 1)
      } finally {
        await running.stop()
      }
      const copied = await kcatAuditSequences(bootstrapOf(2), lettered, 'z', [20])
      assert.equal(copied.records, 20)
      assert.equal(copied.missing, 0)
      const [letter, ...others] = await kcatReadAll(bootstrapOf(2), `${lettered}.dlq`)
      assert.equal(others.length, 0)
      const headers = new Map(headerPairs(letter?.headers))
      assert.equal(headers.get('kdr-dlq-source'), `${lettered}/0/10-10`)
      assert.equal(headers.get('kdr-dlq-value-bytes'), String(bomb.length))
    } finally {
      await Promise.all([sourceAdmin.disconnect(), targetAdmin.disconnect()])
    }
  })
})

describe('no starvation (dc1)', () => {
  test('a batch larger than the partition fetch size is fetched whole even when another partition is first', async () => {
    const topic = uniqueTopic('misbehaving.oversized')
    const admin = new KafkaAdmin(clusterConnection(1))
    await admin.createTopics([{ name: topic, partitions: 2 }])
    await admin.close()
    // Partition 0: five batches of about 200 kB; partition 1: one. Each is larger than the 64 kB
    // partition limit, so only the first partition of a response can receive its batch whole.
    const producer = new BatchProducer({ ...clusterConnection(1), clientId: 'kafka-dr-test-oversized' })
    const writer = new RecordBatchWriter()
    const batchOf = (tag: string): Buffer => {
      writer.begin(210_000)
      for (let i = 0; i < 200; i++) writer.appendRecord(Date.now(), null, Buffer.alloc(1000, tag))
      return Buffer.from(writer.finish(0, null))
    }
    for (let b = 0; b < 5; b++) await producer.send(topic, 0, batchOf('a'))
    await producer.send(topic, 1, batchOf('b'))
    await producer.close()

    const fetcher = new PartitionFetcher(clusterConnection(1), {
      maxWaitMs: 0,
      partitionMaxBytes: 64 * 1024,
      maxBytes: 1024 * 1024
    })
    const next = [0n, 0n]
    let rounds = 0
    try {
      while (next[1] === 0n && rounds < 10) {
        rounds++
        const results = await fetcher.fetch([
          { topic, partition: 0, offset: next[0]! },
          { topic, partition: 1, offset: next[1]! }
        ])
        for (const r of results) {
          assert.equal(r.error, undefined)
          next[r.partition] = r.nextOffset
        }
      }
    } finally {
      await fetcher.close()
    }
    // The first request gives partition 0 its first batch and only the start of partition 1's; the
    // second asks for partition 1 first, with that batch's size.
    assert.equal(next[1], 200n)
    assert.equal(rounds, 2)
    assert.ok(next[0]! < 1000n, 'partition 0 still had batches waiting: partition 1 did not wait for it to drain')
  })
})
