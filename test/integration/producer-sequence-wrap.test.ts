import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { BatchProducer, KafkaAdmin, RecordBatchWriter } from '../../src/kafka/index.ts'
import { MAX_SEQUENCE } from '../../src/kafka/producer-sequence.ts'
import { bootstrapOf } from '../../tools/harness/harness.ts'
import { clusterConnection, uniqueTopic } from '../support/clusters.ts'
import { kcatReadAll } from '../support/kcat.ts'

/**
 * Long uptime: a partition's idempotent sequence passes 2^31-1 after about 2 billion records on
 * one producer id. A producer session that starts 50 records before the wrap (the test-only first
 * sequence) writes a few hundred records across it; the real broker must accept every batch in
 * one session (a wrong sequence is refused as OUT_OF_ORDER_SEQUENCE_NUMBER and fails the send), and
 * kcat must read every record once, in order.
 */

const PARTITIONS = 2
/** Batch sizes chosen so the wrap falls inside a batch on one partition and between batches on the other. */
const BATCH_SIZES = [
  [7, 13, 29, 1, 50, 64, 100, 36],
  [25, 25, 1, 49, 100, 100]
]

function batchOf(partition: number, from: number, count: number): Buffer {
  const writer = new RecordBatchWriter()
  writer.begin(0)
  for (let i = 0; i < count; i++) {
    const n = from + i
    writer.appendRecord(1_700_000_000_000 + n, Buffer.from(`k${n}`), Buffer.from(`p${partition}:${n}`), [])
  }
  return writer.finish(0, null)
}

describe('BatchProducer sequence numbers across the 2^31-1 wrap', () => {
  const connection = clusterConnection(2)
  const admin = new KafkaAdmin(connection)
  const producer = new BatchProducer(connection, { testOnlyFirstSequence: MAX_SEQUENCE - 50 })
  after(async () => {
    await producer.close()
    await admin.close()
  })

  test('a session starting 50 before the wrap writes every record once and in order, without a stall', async () => {
    const topic = uniqueTopic('sequence.wrap')
    await admin.createTopics([{ name: topic, partitions: PARTITIONS }])
    const expected: string[][] = [[], []]
    await Promise.all(
      BATCH_SIZES.map(async (sizes, partition) => {
        let next = 0
        for (const count of sizes) {
          // One batch in flight per partition, as the copier sends them; each must be acknowledged
          // at the offset that follows the previous batch.
          const offset = await producer.send(topic, partition, batchOf(partition, next, count))
          assert.equal(offset, BigInt(next), `partition ${partition}: batch of ${count} from record ${next}`)
          for (let i = 0; i < count; i++) expected[partition]!.push(`p${partition}:${next + i}`)
          next += count
        }
      })
    )
    assert.equal(expected[0]!.length, 300)
    assert.equal(expected[1]!.length, 300)

    const read = await kcatReadAll(bootstrapOf(2), topic)
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const records = read.filter(r => r.partition === partition).sort((a, b) => a.offset - b.offset)
      assert.deepEqual(
        records.map(r => r.offset),
        expected[partition]!.map((_, i) => i),
        `partition ${partition}: offsets 0..299 without a gap`
      )
      assert.deepEqual(
        records.map(r => r.payload),
        expected[partition],
        `partition ${partition}: each record once, in order`
      )
    }
  })
})
