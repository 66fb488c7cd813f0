import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { Kafka, logLevel } from 'kafkajs'
import {
  KafkaAdmin,
  PartitionFetcher,
  RecordProducer,
  type FetchedRecord,
  type RecordToProduce
} from '../../src/kafka/index.ts'
import { bootstrapOf } from '../../tools/harness/harness.ts'
import { clusterConnection, uniqueTopic } from '../support/clusters.ts'
import { headerPairs, kcatReadAll } from '../support/kcat.ts'

/**
 * Proves the harness and our client module together: topics created and records produced through
 * src/kafka on each real cluster, read back by kcat (an independent client), and our low-level
 * fetcher checked against kcat and kafkajs for what the client library gets wrong on its own.
 */

const b = (s: string): Buffer => Buffer.from(s)

/** Records covering what replication must keep: null key, tombstone, empty value, header order and duplicates. */
function sampleRecords(partitions: number, perPartition: number): RecordToProduce[] {
  const records: RecordToProduce[] = []
  const base = 1_600_000_000_000n
  for (let p = 0; p < partitions; p++) {
    for (let i = 0; i < perPartition; i++) {
      records.push({
        partition: p,
        timestamp: base + BigInt(p * 1000 + i),
        key: i % 5 === 4 ? null : b(`key-${p}-${i}`),
        value: i % 7 === 6 ? null : i % 11 === 10 ? b('') : b(`value-${p}-${i}`),
        headers: [
          [b('trace'), b(`t${i}`)],
          [b('dup'), b('first')],
          [b('dup'), b('second')],
          [b('nullable'), null]
        ]
      })
    }
  }
  return records
}

function asText(buffer: Buffer | null): string | null {
  return buffer === null ? null : buffer.toString()
}

for (const index of [1, 2]) {
  describe(`cluster ${index} (${bootstrapOf(index)})`, () => {
    const connection = clusterConnection(index)
    const admin = new KafkaAdmin(connection)
    const producer = new RecordProducer(connection, { idempotent: true })
    after(async () => {
      await producer.close()
      await admin.close()
    })

    test('answers admin calls with its own cluster id and one broker', async () => {
      const description = await admin.describeCluster()
      assert.equal(description.brokers.length, 1)
      assert.equal(description.brokers[0]?.port, 10_000 * index + 9092)
      assert.match(description.clusterId, /^[A-Za-z0-9_-]{22}$/)
    })

    test('two processes creating one topic at once both succeed; only one reports it created', async () => {
      // Several workers of a link start together and create __kdr_state and the target topics.
      const topic = uniqueTopic('harness.race')
      const other = new KafkaAdmin(connection)
      try {
        const results = await Promise.all([
          admin.createTopics([{ name: topic, partitions: 2 }]),
          other.createTopics([{ name: topic, partitions: 2 }])
        ])
        assert.deepEqual(results.flat(), [topic], 'exactly one call created it')
        assert.deepEqual(
          await admin.createTopics([{ name: topic, partitions: 2 }]),
          [],
          'an existing topic is no error'
        )
        const [described] = await admin.describeTopics([topic])
        assert.equal(described?.partitions.length, 2)
      } finally {
        await other.close()
      }
    })

    test('records produced by our module are read back by kcat with keys, values, headers and timestamps', async () => {
      const topic = uniqueTopic('harness.roundtrip')
      await admin.createTopics([{ name: topic, partitions: 3 }])
      const records = sampleRecords(3, 20)
      const acks = await producer.send(topic, records)
      assert.deepEqual(acks.map(a => a.partition).sort(), [0, 1, 2])

      const read = await kcatReadAll(bootstrapOf(index), topic)
      assert.equal(read.length, records.length)
      for (let p = 0; p < 3; p++) {
        const expected = records.filter(r => r.partition === p)
        const actual = read.filter(r => r.partition === p).sort((x, y) => x.offset - y.offset)
        assert.equal(actual.length, expected.length, `partition ${p} count`)
        actual.forEach((r, i) => {
          const e = expected[i]!
          assert.equal(r.offset, i, `partition ${p} offsets are dense`)
          assert.equal(r.tstype, 'create')
          assert.equal(BigInt(r.ts), e.timestamp, `partition ${p} offset ${i} timestamp`)
          assert.equal(r.key, asText(e.key), `partition ${p} offset ${i} key`)
          assert.equal(r.payload, asText(e.value), `partition ${p} offset ${i} value`)
          assert.deepEqual(
            headerPairs(r.headers),
            e.headers.map(([k, v]) => [k.toString(), asText(v)]),
            `partition ${p} offset ${i} headers in order, duplicates kept`
          )
        })
      }
    })
  })
}

describe('PartitionFetcher (low-level fetch, explicit assignment)', () => {
  const connection = clusterConnection(1)
  const admin = new KafkaAdmin(connection)
  const producer = new RecordProducer(connection)
  const fetcher = new PartitionFetcher(connection, { maxWaitMs: 100 })
  after(async () => {
    await Promise.all([fetcher.close(), producer.close(), admin.close()])
  })

  async function fetchAll(topic: string, partition: number, from = 0n): Promise<FetchedRecord[]> {
    const [end] = (await admin.listOffsets(topic, [partition], 'latest')).values()
    const out: FetchedRecord[] = []
    let offset = from
    for (let round = 0; round < 100 && offset < end!; round++) {
      const [result] = await fetcher.fetch([{ topic, partition, offset }])
      assert.ok(result !== undefined)
      if (result.error !== undefined) throw result.error.error
      out.push(...result.records)
      offset = result.nextOffset
    }
    return out
  }

  test('returns exactly what kcat sees, from any start offset', async () => {
    const topic = uniqueTopic('fetch.createtime')
    await admin.createTopics([{ name: topic, partitions: 1 }])
    const records = sampleRecords(1, 50)
    // Several sends make several batches, so a start offset falls inside a batch.
    for (let i = 0; i < records.length; i += 7) await producer.send(topic, records.slice(i, i + 7))

    const viaKcat = await kcatReadAll(bootstrapOf(1), topic)
    const fetched = await fetchAll(topic, 0)
    assert.equal(fetched.length, viaKcat.length)
    fetched.forEach((r, i) => {
      const k = viaKcat[i]!
      assert.equal(r.offset, BigInt(k.offset))
      assert.equal(r.timestampType, 'create')
      assert.equal(r.timestamp, BigInt(k.ts))
      assert.equal(asText(r.key), k.key)
      assert.equal(asText(r.value), k.payload)
      assert.deepEqual(
        r.headers.map(([hk, hv]) => [hk.toString(), asText(hv)]),
        headerPairs(k.headers)
      )
    })

    const fromMiddle = await fetchAll(topic, 0, 10n)
    assert.equal(fromMiddle[0]?.offset, 10n, 'records before the fetch offset in the same batch are skipped')
    assert.equal(fromMiddle.length, 40)
  })

  test('LogAppendTime topics report the broker append time, not the producer timestamp', async () => {
    const topic = uniqueTopic('fetch.logappend')
    await admin.createTopics([{ name: topic, partitions: 1, configs: { 'message.timestamp.type': 'LogAppendTime' } }])
    const before = BigInt(Date.now())
    await producer.send(topic, sampleRecords(1, 5))

    const viaKcat = await kcatReadAll(bootstrapOf(1), topic)
    const fetched = await fetchAll(topic, 0)
    assert.equal(fetched.length, 5)
    fetched.forEach((r, i) => {
      assert.equal(viaKcat[i]!.tstype, 'logappend')
      assert.equal(r.timestampType, 'log-append')
      assert.equal(r.timestamp, BigInt(viaKcat[i]!.ts), 'same time as kcat reads')
      assert.ok(r.timestamp >= before - 1000n, 'broker time, not the 2020 producer timestamp')
    })
  })

  test('an offset below the log start is reported as OFFSET_OUT_OF_RANGE with the partition range', async () => {
    const topic = uniqueTopic('fetch.range')
    await admin.createTopics([{ name: topic, partitions: 1 }])
    await producer.send(topic, sampleRecords(1, 3))
    const [result] = await fetcher.fetch([{ topic, partition: 0, offset: 99n }])
    assert.equal(result?.error?.error.code, 'KDR_ERR_OFFSET_OUT_OF_RANGE')
    assert.equal(result.error.retriable, false)
    assert.match(
      result.error.error.message,
      /offset 99 is outside the partition's range \[0, 3\).*cluster dc1.*partition 0/
    )
  })

  describe('read_committed with transactions written by kafkajs', () => {
    const kafka = new Kafka({ brokers: [bootstrapOf(1)], clientId: 'kafka-dr-test-txn', logLevel: logLevel.NOTHING })
    let topic = ''
    before(async () => {
      topic = uniqueTopic('fetch.txn')
      await admin.createTopics([{ name: topic, partitions: 1 }])
      const txProducer = kafka.producer({ transactionalId: `${topic}.tx`, idempotent: true, maxInFlightRequests: 1 })
      await txProducer.connect()
      // committed(0..2) aborted(3..5) plain(6) committed(7..8), with control markers in between
      const send = async (values: string[], commit: boolean): Promise<void> => {
        const tx = await txProducer.transaction()
        await tx.send({ topic, messages: values.map(value => ({ value, partition: 0 })) })
        await (commit ? tx.commit() : tx.abort())
      }
      await send(['c1', 'c2', 'c3'], true)
      await send(['a1', 'a2', 'a3'], false)
      await send(['c4', 'c5'], true)
      await txProducer.disconnect()
    })

    test('aborted records and control markers never reach the caller; offsets still advance past them', async () => {
      const fetched = await fetchAll(topic, 0)
      assert.deepEqual(
        fetched.map(r => asText(r.value)),
        ['c1', 'c2', 'c3', 'c4', 'c5']
      )
      const [end] = (await admin.listOffsets(topic, [0], 'latest')).values()
      assert.ok(end! > 8n, 'markers occupy offsets')
    })

    test('an aborted transaction is dropped even when fetched one record at a time', async () => {
      // Tiny partitionMaxBytes forces one batch per response, so abort markers arrive in later responses.
      const small = new PartitionFetcher(connection, { maxWaitMs: 50, partitionMaxBytes: 1 })
      try {
        const [end] = (await admin.listOffsets(topic, [0], 'latest')).values()
        const values: (string | null)[] = []
        let offset = 0n
        for (let round = 0; round < 200 && offset < end!; round++) {
          const [r] = await small.fetch([{ topic, partition: 0, offset }])
          if (r?.error !== undefined) throw r.error.error
          values.push(...r!.records.map(x => asText(x.value)))
          offset = r!.nextOffset
        }
        assert.deepEqual(values, ['c1', 'c2', 'c3', 'c4', 'c5'])
      } finally {
        await small.close()
      }
    })
  })
})
