import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { Kafka, logLevel } from 'kafkajs'
import { decodeProvenance } from '../../src/core/provenance.ts'
import { RecordProducer, type RecordToProduce } from '../../src/kafka/index.ts'
import { bootstrapOf } from '../../tools/harness/harness.ts'
import { clusterConnection, uniqueTopic } from '../support/clusters.ts'
import { type KcatRecord, headerPairs, kcatReadAll } from '../support/kcat.ts'
import { admins, configYaml, endOffsets, startReplicator, waitFor } from '../support/replication.ts'
import { progressOf } from '../support/state.ts'

/**
 * Byte-identical copy, checked on both sides by kcat (independent of our code): 10 partitions ×
 * 10,000 records with null keys, tombstones, empty values, duplicate and null-valued headers and
 * explicit timestamps, plus a LogAppendTime source topic.
 */

const PARTITIONS = 10
const PER_PARTITION = 10_000
const b = (s: string): Buffer => Buffer.from(s)

function record(partition: number, seq: number): RecordToProduce {
  return {
    partition,
    timestamp: 1_700_000_000_000n + BigInt(seq * 10 + partition),
    key: seq % 13 === 12 ? null : b(`key-${seq % 500}`),
    value: seq % 17 === 16 ? null : seq % 19 === 18 ? b('') : b(`value-${partition}-${seq}-${'x'.repeat(seq % 64)}`),
    headers:
      seq % 3 === 0
        ? []
        : [
            [b('trace'), b(`t-${seq}`)],
            [b('dup'), b('one')],
            [b('dup'), b('two')],
            [b('empty'), null]
          ]
  }
}

function byPartition(records: KcatRecord[]): Map<number, KcatRecord[]> {
  const map = new Map<number, KcatRecord[]>()
  for (const r of records) {
    let list = map.get(r.partition)
    if (list === undefined) map.set(r.partition, (list = []))
    list.push(r)
  }
  for (const list of map.values()) list.sort((x, y) => x.offset - y.offset)
  return map
}

describe('replication dc1 -> dc2: byte-identical copy', () => {
  const { dc1, dc2, close } = admins()
  const producer = new RecordProducer(clusterConnection(1))
  const topic = uniqueTopic('copy.main')
  const logAppendTopic = uniqueTopic('copy.logappend')
  let stop: () => Promise<void> = async () => {}
  let logs: string[] = []

  before(async () => {
    await dc1.createTopics([
      { name: topic, partitions: PARTITIONS, configs: { 'cleanup.policy': 'delete', 'retention.ms': '604800000' } },
      { name: logAppendTopic, partitions: 2, configs: { 'message.timestamp.type': 'LogAppendTime' } }
    ])
    const batch: RecordToProduce[] = []
    for (let seq = 0; seq < PER_PARTITION; seq++) {
      for (let p = 0; p < PARTITIONS; p++) batch.push(record(p, seq))
      if (batch.length >= 5000) await producer.send(topic, batch.splice(0))
    }
    await producer.send(topic, batch.splice(0))
    for (let seq = 0; seq < 500; seq++) batch.push(record(seq % 2, seq))
    await producer.send(logAppendTopic, batch.splice(0))

    const running = await startReplicator(
      configYaml(`  - source: dc1
    target: dc2
    topics:
      include: ["${topic}", "${logAppendTopic}"]
`)
    )
    stop = running.stop
    logs = running.logs
  })

  after(async () => {
    await stop()
    await producer.close()
    await close()
  })

  test('every partition reaches the source end offset on the target, without duplicates', async () => {
    const source = await endOffsets(dc1, topic, PARTITIONS)
    assert.deepEqual(source, Array(PARTITIONS).fill(BigInt(PER_PARTITION)))
    const started = Date.now()
    await waitFor('target to catch up', 120_000, async () => {
      const target = await endOffsets(dc2, topic, PARTITIONS)
      return target.every((o, p) => o >= source[p]!) ? target : undefined
    })
    const seconds = (Date.now() - started) / 1000
    assert.deepEqual(
      await endOffsets(dc2, topic, PARTITIONS),
      source,
      'exactly as many records as the source: no duplicates'
    )
    console.error(`[copy] ${PARTITIONS * PER_PARTITION} records caught up in ${seconds.toFixed(1)} s`)
  })

  test('kcat reads identical keys, values, headers (+ provenance last), timestamps, partitions and order', async () => {
    const [src, dst] = await Promise.all([kcatReadAll(bootstrapOf(1), topic), kcatReadAll(bootstrapOf(2), topic)])
    assert.equal(dst.length, src.length)
    const s = byPartition(src)
    const d = byPartition(dst)
    for (let p = 0; p < PARTITIONS; p++) {
      const sp = s.get(p)!
      const dp = d.get(p)!
      assert.equal(dp.length, sp.length, `partition ${p}`)
      for (let i = 0; i < sp.length; i++) {
        const x = sp[i]!
        const y = dp[i]!
        const where = `partition ${p} offset ${x.offset}`
        assert.equal(y.key, x.key, `${where} key`)
        assert.equal(y.payload, x.payload, `${where} value`)
        assert.equal(y.ts, x.ts, `${where} timestamp`)
        assert.equal(y.tstype, 'create', `${where} timestamp type`)
        const sh = headerPairs(x.headers)
        const dh = headerPairs(y.headers)
        assert.deepEqual(dh.slice(0, -1), sh, `${where} headers`)
        assert.equal(dh.at(-1)?.[0], 'kdr-prov', `${where} provenance header last`)
      }
    }
  })

  test('LogAppendTime source: the broker append time becomes the target record timestamp', async () => {
    await waitFor('log-append topic copied', 60_000, async () => {
      const [a, b2] = await Promise.all([endOffsets(dc1, logAppendTopic, 2), endOffsets(dc2, logAppendTopic, 2)])
      return a.every((o, i) => o === b2[i])
    })
    const [src, dst] = await Promise.all([
      kcatReadAll(bootstrapOf(1), logAppendTopic),
      kcatReadAll(bootstrapOf(2), logAppendTopic)
    ])
    assert.equal(dst.length, 500)
    const s = byPartition(src)
    const d = byPartition(dst)
    for (const p of [0, 1]) {
      s.get(p)!.forEach((x, i) => {
        const y = d.get(p)![i]!
        assert.equal(x.tstype, 'logappend')
        assert.ok(x.ts > 1_700_000_000_000 + 10_000_000, 'source shows broker time, not the producer timestamp')
        assert.equal(y.ts, x.ts, `partition ${p} offset ${x.offset}: target keeps the source append time`)
        assert.equal(y.tstype, 'create')
      })
    }
    const configs = await dc2.describeTopicConfig(logAppendTopic)
    assert.equal(configs.get('message.timestamp.type')?.value, 'CreateTime')
  })

  test('provenance header names origin cluster, source topic, partition and offset (read by kafkajs)', async () => {
    const kafka = new Kafka({ brokers: [bootstrapOf(2)], clientId: 'kafka-dr-test-prov', logLevel: logLevel.NOTHING })
    const consumer = kafka.consumer({ groupId: `${topic}.verify` })
    const { clusterId } = await dc1.describeCluster()
    const seen: { partition: number; offset: string; provenance: ReturnType<typeof decodeProvenance> }[] = []
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    const done = new Promise<void>(resolve => {
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          if (partition !== 3 || seen.length >= 200) return
          const raw = message.headers?.['kdr-prov']
          seen.push({
            partition,
            offset: message.offset,
            provenance: decodeProvenance(Buffer.isBuffer(raw) ? raw : null)
          })
          if (seen.length === 200) resolve()
        }
      })
    })
    await waitFor('kafkajs to read 200 records of partition 3', 60_000, async () => {
      await Promise.race([done, new Promise(r => setTimeout(r, 500).unref())])
      return seen.length >= 200
    })
    await consumer.disconnect()
    for (const { offset, provenance } of seen) {
      assert.deepEqual(provenance, {
        version: 1,
        hops: 1,
        originClusterId: clusterId,
        topic,
        partition: 3,
        offset: BigInt(offset)
      })
    }
  })

  test('stored progress equals the source end offsets and no error was logged', async () => {
    await waitFor('a commit at the end offsets', 30_000, async () => {
      const progress = await progressOf('dc1->dc2', topic, PARTITIONS)
      return progress.every(o => o === BigInt(PER_PARTITION))
    })
    const errors = logs.filter(l => l.includes('"level":"error"'))
    assert.deepEqual(errors, [])
  })
})
