import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, describe, test } from 'node:test'
import kafkajs from 'kafkajs'
import { bootstrapOf } from '../../tools/harness/harness.ts'
import { clusterConnection, uniqueTopic } from '../support/clusters.ts'
import { type CliResult, runCli, writeConfig } from '../support/process.ts'
import { admins, configYaml, startReplicator, waitFor } from '../support/replication.ts'
import { SequenceWriter } from '../support/sequence-writer.ts'
import { progressOf } from '../support/state.ts'

/**
 * `verify` cannot be fooled by a second copy: a record written into the target with the real
 * provenance header of a copied record (source offset 10) and another value is reported as altered,
 * exit 1, naming topic, partition, source and target offsets. A record of another writer (no
 * provenance) is reported and passes, except with --strict (a write to an active-passive standby).
 * The target is read and written with kafkajs, never with kafka-dr's own client.
 */

function verifyCli(config: string, link: string, topic: string, extra: string[] = []): Promise<CliResult> {
  return runCli('verify', '--config', config, '--link', link, '--topics', topic, '--quiet', ...extra)
}
interface JsonPartition {
  partition: number
  ok: boolean
  matched: number
  altered: { count: number; offsets: number[]; targetOffsets: number[] }
  duplicates: { count: number }
  foreign: number
  foreignOffsets: number[]
}

const kafka = new kafkajs.Kafka({ brokers: [bootstrapOf(2)], logLevel: kafkajs.logLevel.NOTHING })

/** The target record at `offset` of partition 0, as kafkajs reads it (headers as raw bytes). */
async function readTargetRecord(topic: string, offset: number): Promise<kafkajs.KafkaMessage> {
  const consumer = kafka.consumer({ groupId: `verify-strict-${randomUUID()}` })
  await consumer.connect()
  try {
    await consumer.subscribe({ topic, fromBeginning: true })
    return await new Promise<kafkajs.KafkaMessage>((resolve, reject) => {
      consumer
        .run({
          eachMessage: ({ partition, message }) => {
            if (partition === 0 && Number(message.offset) === offset) resolve(message)
            return Promise.resolve()
          }
        })
        .catch(reject)
    })
  } finally {
    await consumer.disconnect()
  }
}

async function produceToTarget(topic: string, message: kafkajs.Message): Promise<void> {
  const producer = kafka.producer()
  await producer.connect()
  try {
    await producer.send({ topic, messages: [{ ...message, partition: 0 }] })
  } finally {
    await producer.disconnect()
  }
}

describe('kafka-dr verify cannot be fooled', () => {
  const { dc1, close } = admins()
  after(close)
  const link = 'verify-strict'
  const forgedTopic = uniqueTopic('verify.forged')
  const foreignTopic = uniqueTopic('verify.foreign')
  const txTopic = uniqueTopic('verify.opentx')
  const yaml = configYaml(
    `  - name: ${link}\n    source: dc1\n    target: dc2\n    commitIntervalMs: 200\n    topics: { include: ["${forgedTopic}", "${foreignTopic}", "${txTopic}"] }\n`
  )
  const config = writeConfig(yaml)

  test('three topics replicated, verify --strict exit 0', async () => {
    for (const topic of [forgedTopic, foreignTopic, txTopic]) {
      await dc1.createTopics([{ name: topic, partitions: 1 }])
      const writer = new SequenceWriter(clusterConnection(1), topic, 1, 'v', 32)
      await writer.write(20)
      await writer.close()
    }
    const running = await startReplicator(yaml)
    try {
      await waitFor('20 records of each topic committed', 60_000, async () => {
        const progress = await Promise.all([forgedTopic, foreignTopic, txTopic].map(t => progressOf(link, t, 1)))
        return progress.every(p => p[0] === 20n)
      })
    } finally {
      await running.stop()
    }
    for (const topic of [forgedTopic, foreignTopic, txTopic]) {
      const exact = await verifyCli(config, link, topic, ['--strict'])
      assert.equal(exact.code, 0, exact.stdout + exact.stderr)
    }
  })

  test('a second copy of source offset 10 with its real provenance and another value: altered, exit 1', async () => {
    const copy = await readTargetRecord(forgedTopic, 10)
    const provenance = copy.headers?.['kdr-prov']
    assert.ok(Buffer.isBuffer(provenance), 'the copied record carries kdr-prov')
    // Same key, timestamp and provenance as the real copy; only the value differs.
    await produceToTarget(forgedTopic, {
      key: copy.key,
      value: Buffer.from('not what the source holds'),
      timestamp: copy.timestamp,
      headers: { 'kdr-prov': provenance }
    })

    const json = await verifyCli(config, link, forgedTopic, ['--json'])
    assert.equal(json.code, 1, json.stderr)
    const report = JSON.parse(json.stdout) as { ok: boolean; partitions: JsonPartition[] }
    assert.equal(report.ok, false)
    const p0 = report.partitions[0]!
    assert.equal(p0.ok, false)
    assert.equal(p0.matched, 20)
    assert.deepEqual(p0.altered, { count: 1, offsets: [10], targetOffsets: [20] })
    assert.equal(p0.duplicates.count, 0, 'a copy that differs is never counted as a duplicate')

    const text = await verifyCli(config, link, forgedTopic)
    assert.equal(text.code, 1)
    assert.match(text.stdout, /MISMATCH/)
    assert.match(
      text.stdout,
      new RegExp(
        `FAIL ${forgedTopic.replaceAll('.', '\\.')}/0 .*1 altered \\(offsets 10\\), copies at target offsets 20`
      )
    )
  })

  test('a record of another writer: reported and exit 0; with --strict a failure naming its offset, exit 1', async () => {
    await produceToTarget(foreignTopic, { key: 'local', value: 'written on the standby' })

    const relaxed = await verifyCli(config, link, foreignTopic)
    assert.equal(relaxed.code, 0, relaxed.stdout + relaxed.stderr)
    assert.match(relaxed.stdout, /1 records from other writers \(target offsets 20\)/)

    const strict = await verifyCli(config, link, foreignTopic, ['--strict', '--json'])
    assert.equal(strict.code, 1, strict.stderr)
    const p0 = (JSON.parse(strict.stdout) as { partitions: JsonPartition[] }).partitions[0]!
    assert.equal(p0.ok, false)
    assert.equal(p0.matched, 20)
    assert.equal(p0.foreign, 1)
    assert.deepEqual(p0.foreignOffsets, [20])

    const strictText = await verifyCli(config, link, foreignTopic, ['--strict'])
    assert.equal(strictText.code, 1)
    assert.match(
      strictText.stdout,
      new RegExp(
        `FAIL ${foreignTopic.replaceAll('.', '\\.')}/0 .*1 records from other writers on a standby \\(target offsets 20\\)`
      )
    )
  })

  test('--strict on an active-active pair is a usage error (exit 2)', async () => {
    const both = writeConfig(
      configYaml(
        `  - name: a\n    source: dc1\n    target: dc2\n    topics: { include: ["x"] }\n  - name: b\n    source: dc2\n    target: dc1\n    topics: { include: ["x"] }\n`
      )
    )
    const result = await verifyCli(both, 'a', 'x', ['--strict'])
    assert.equal(result.code, 2)
    assert.match(result.stderr, /--strict is for active-passive links: the config also replicates b/)
  })

  test('an open source transaction: the records it holds back are reported as not checked, never a silent stop', async () => {
    const source = new kafkajs.Kafka({ brokers: [bootstrapOf(1)], logLevel: kafkajs.logLevel.NOTHING })
    const producer = source.producer({
      transactionalId: `verify-open-${randomUUID()}`,
      idempotent: true,
      maxInFlightRequests: 1
    })
    await producer.connect()
    const transaction = await producer.transaction()
    try {
      await transaction.send({ topic: txTopic, messages: [0, 1, 2].map(i => ({ partition: 0, value: `open ${i}` })) })
      const json = await verifyCli(config, link, txTopic, ['--json'])
      assert.equal(json.code, 0, json.stdout + json.stderr)
      const p0 = (JSON.parse(json.stdout) as { partitions: (JsonPartition & { uncheckedOnSource: unknown })[] })
        .partitions[0]!
      assert.equal(p0.matched, 20)
      assert.deepEqual(p0.uncheckedOnSource, {
        from: 20,
        to: 23,
        reason: 'an open transaction holds the last stable offset at 20'
      })
      const text = await verifyCli(config, link, txTopic)
      assert.match(
        text.stdout,
        /source offsets 20\.\.22 not checked: an open transaction holds the last stable offset at 20/
      )
    } finally {
      await transaction.abort()
      await producer.disconnect()
    }
  })
})
