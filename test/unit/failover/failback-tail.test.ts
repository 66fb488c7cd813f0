import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { type RangeFetcher, awaitStableEnd, readRange } from '../../../src/failover/failback.ts'
import { type FetchedRecord, type PartitionFetch } from '../../../src/kafka/index.ts'

const connection = { alias: 'dc1', bootstrap: ['unused:9092'] }

function record(offset: bigint): FetchedRecord {
  return { offset, timestamp: 0n, timestampType: 'create', key: null, value: Buffer.from(`v${offset}`), headers: [] }
}

/**
 * A source partition [0, highWatermark) read under read_committed: fetches stop at the last stable
 * offset, which `stableAt(call)` gives per fetch (an open transaction holds it back).
 */
function fakeSource(highWatermark: bigint, stableAt: (call: number) => bigint): RangeFetcher & { calls: number } {
  const fake = {
    calls: 0,
    closed: false,
    async fetch(requests: readonly { topic: string; partition: number; offset: bigint }[]): Promise<PartitionFetch[]> {
      const { topic, partition, offset } = requests[0]!
      const stable = stableAt(fake.calls++)
      const records: FetchedRecord[] = []
      for (let o = offset; o < stable && records.length < 3; o++) records.push(record(o))
      const nextOffset = records.length === 0 ? offset : records.at(-1)!.offset + 1n
      return [
        {
          topic,
          partition,
          topicId: '',
          fetchOffset: offset,
          records,
          raw: [],
          nextOffset,
          highWatermark,
          lastStableOffset: stable,
          logStartOffset: 0n,
          abortedRecords: 0,
          controlRecords: 0
        }
      ]
    },
    async close(): Promise<void> {
      fake.closed = true
    }
  }
  return fake
}

describe('a failback export is complete or fails loudly', () => {
  test('an open transaction holding the last stable offset below the end fails, naming topic, partition and offsets', async () => {
    const source = fakeSource(20n, () => 12n)
    await assert.rejects(
      awaitStableEnd(connection, 'orders', 3, 10n, 20n, { fetcher: source, stableWaitMs: 300 }),
      (error: Error) => {
        assert.match(error.message, /divergent tail \[10, 20\) of orders\/3 on dc1/)
        assert.match(error.message, /last stable offset stayed at 12 \(below 20\)/)
        assert.match(error.message, /open transaction/)
        return true
      }
    )
    assert.ok(source.calls >= 2, 'it waited (with backoff) before failing')
  })

  test('a transaction that ends within the wait lets the tail be read whole', async () => {
    const source = fakeSource(20n, call => (call < 2 ? 12n : 20n))
    await awaitStableEnd(connection, 'orders', 3, 10n, 20n, { fetcher: source, stableWaitMs: 10_000 })
    const read: bigint[] = []
    await readRange(connection, 'orders', 3, 10n, 20n, async records => void read.push(...records.map(r => r.offset)), {
      fetcher: fakeSource(20n, () => 20n)
    })
    assert.deepEqual(
      read,
      Array.from({ length: 10 }, (_, i) => BigInt(10 + i))
    )
  })

  test('the read itself never ends short of the end it claims: it fails instead of returning a partial range', async () => {
    const read: bigint[] = []
    await assert.rejects(
      readRange(connection, 'orders', 0, 0n, 20n, async records => void read.push(...records.map(r => r.offset)), {
        fetcher: fakeSource(20n, () => 7n),
        stableWaitMs: 200
      }),
      /\[0, 20\) of orders\/0 on dc1.*stayed at 7/
    )
    assert.equal(read.length, 7)
  })
})
