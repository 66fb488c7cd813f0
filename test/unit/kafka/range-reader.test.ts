import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { KdrError } from '../../../src/errors.ts'
import {
  type FetchedRecord,
  type PartitionFetch,
  type RangeFetcher,
  type ReadRangeOptions,
  readPartitionRange
} from '../../../src/kafka/index.ts'

const record = (offset: bigint): FetchedRecord => ({
  offset,
  timestamp: 0n,
  timestampType: 'create',
  key: null,
  value: Buffer.from(`v${offset}`),
  headers: []
})

/** A partition of records [logStart, hw), LSO as given; up to `perFetch` records per answer. */
interface FakeLog {
  logStart: bigint
  hw: bigint
  lso: bigint
  perFetch: number
  /** Answers to give before the real ones (errors, throws), consumed in order. */
  script: ('retriable' | 'fatal' | 'throw' | 'empty')[]
}

function fakeFetcher(log: FakeLog): RangeFetcher & { calls: bigint[] } {
  const calls: bigint[] = []
  return {
    cluster: 'dc1',
    calls,
    fetch(requests) {
      const { topic, partition, offset } = requests[0]!
      calls.push(offset)
      const base: PartitionFetch = {
        topic,
        partition,
        topicId: 't',
        fetchOffset: offset,
        records: [],
        raw: [],
        nextOffset: offset,
        highWatermark: log.hw,
        lastStableOffset: log.lso,
        logStartOffset: log.logStart,
        abortedRecords: 0,
        controlRecords: 0
      }
      const step = log.script.shift()
      const location = { cluster: 'dc1', topic, partition, offset }
      if (step === 'throw') return Promise.reject(new Error('connect ECONNREFUSED'))
      if (step === 'retriable')
        return Promise.resolve([
          {
            ...base,
            error: { retriable: true, error: new KdrError('KDR_ERR_KAFKA_FETCH', 'broker error code 6', location) }
          }
        ])
      if (step === 'fatal')
        return Promise.resolve([
          {
            ...base,
            error: { retriable: false, error: new KdrError('KDR_ERR_KAFKA_FETCH', 'broker error code 29', location) }
          }
        ])
      if (step === 'empty') return Promise.resolve([base])
      if (offset < log.logStart) {
        const error = new KdrError('KDR_ERR_OFFSET_OUT_OF_RANGE', 'out of range', location)
        return Promise.resolve([{ ...base, error: { retriable: false, error } }])
      }
      const end = log.lso < log.hw ? log.lso : log.hw
      const records: FetchedRecord[] = []
      for (let o = offset; o < end && records.length < log.perFetch; o++) records.push(record(o))
      return Promise.resolve([{ ...base, records, nextOffset: offset + BigInt(records.length) }])
    }
  }
}

/** Sleeps recorded, not waited; the clock moves by each sleep. */
function fakeTime(): { options: ReadRangeOptions; sleeps: number[] } {
  const t = { now: 0 }
  const sleeps: number[] = []
  return {
    sleeps,
    options: {
      clock: { now: () => t.now, random: () => 0 },
      sleep: ms => {
        sleeps.push(ms)
        t.now += ms
        return Promise.resolve()
      }
    }
  }
}

const range = { topic: 'orders', partition: 3, from: 10n, to: 30n }

async function collect(fetcher: RangeFetcher, options: ReadRangeOptions, r = range) {
  const offsets: bigint[] = []
  const end = await readPartitionRange(fetcher, r, records => void offsets.push(...records.map(x => x.offset)), options)
  return { offsets, end }
}

const offsets = (from: number, to: number): bigint[] => Array.from({ length: to - from }, (_, i) => BigInt(from + i))

describe('read a partition range', () => {
  test('delivers [from, to) in order, each record once, and ends complete', async () => {
    const f = fakeFetcher({ logStart: 0n, hw: 100n, lso: 100n, perFetch: 7, script: [] })
    const { offsets: got, end } = await collect(f, fakeTime().options)
    assert.deepEqual(got, offsets(10, 30))
    assert.deepEqual(
      { complete: end.complete, next: end.next, records: end.records },
      { complete: true, next: 30n, records: 20 }
    )
  })

  test('retriable errors and thrown fetches are retried with growing delays, then the read goes on', async () => {
    const f = fakeFetcher({
      logStart: 0n,
      hw: 100n,
      lso: 100n,
      perFetch: 50,
      script: ['retriable', 'throw', 'retriable']
    })
    const time = fakeTime()
    const { offsets: got, end } = await collect(f, {
      ...time.options,
      backoff: { initialMs: 100, maxMs: 1000, maxAttempts: 5 }
    })
    assert.deepEqual(got, offsets(10, 30))
    assert.deepEqual(time.sleeps, [100, 200, 400])
    assert.equal(end.retries, 3)
  })

  test('retries are bounded: the error names cluster, topic, partition, offset and the last cause', async () => {
    const f = fakeFetcher({ logStart: 0n, hw: 100n, lso: 100n, perFetch: 5, script: [] })
    let n = 0
    const failing: RangeFetcher = {
      cluster: 'dc1',
      fetch: requests =>
        n++ < 1 ? f.fetch(requests) : Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:19092'))
    }
    const time = fakeTime()
    await assert.rejects(
      collect(failing, { ...time.options, backoff: { initialMs: 100, maxMs: 400, maxElapsedMs: 1000 } }),
      (e: unknown) => {
        assert.ok(KdrError.is(e))
        assert.equal(e.code, 'KDR_ERR_KAFKA_FETCH')
        assert.deepEqual(e.location, { cluster: 'dc1', topic: 'orders', partition: 3, offset: 15n })
        assert.match(
          e.message,
          /gave up after 4 retries in 1000 ms: connect ECONNREFUSED 127\.0\.0\.1:19092 \(cluster dc1, topic orders, partition 3, offset 15\)$/
        )
        return true
      }
    )
    assert.deepEqual(time.sleeps, [100, 200, 400, 300])
  })

  test('a non-retriable error is thrown at once', async () => {
    const f = fakeFetcher({ logStart: 0n, hw: 100n, lso: 100n, perFetch: 5, script: ['fatal'] })
    const time = fakeTime()
    await assert.rejects(
      collect(f, time.options),
      /broker error code 29 \(cluster dc1, topic orders, partition 3, offset 10\)/
    )
    assert.deepEqual(time.sleeps, [])
  })

  test('an open transaction below `to`: what is readable is returned and the shortfall says so', async () => {
    const f = fakeFetcher({ logStart: 0n, hw: 30n, lso: 22n, perFetch: 50, script: [] })
    const { offsets: got, end } = await collect(f, fakeTime().options)
    assert.deepEqual(got, offsets(10, 22))
    assert.equal(end.complete, false)
    assert.equal(end.next, 22n)
    assert.deepEqual(end.shortfall, { reason: 'open-transaction', at: 22n, lastStableOffset: 22n, highWatermark: 30n })
  })

  test("unstable 'wait' waits for the transaction with the backoff, and returns short only at the bound", async () => {
    const log = { logStart: 0n, hw: 30n, lso: 22n, perFetch: 50, script: [] }
    const time = fakeTime()
    let sleeps = 0
    const options: ReadRangeOptions = {
      ...time.options,
      unstable: 'wait',
      backoff: { initialMs: 100, maxMs: 100, maxAttempts: 3 },
      sleep: async ms => {
        await time.options.sleep!(ms)
        if (++sleeps === 2) log.lso = 30n // the transaction commits
      }
    }
    const done = await collect(fakeFetcher(log), options)
    assert.equal(done.end.complete, true)
    assert.deepEqual(done.offsets, offsets(10, 30))

    log.lso = 22n
    const short = await collect(fakeFetcher(log), {
      ...time.options,
      unstable: 'wait',
      backoff: { initialMs: 100, maxMs: 100, maxAttempts: 3 }
    })
    assert.equal(short.end.shortfall?.reason, 'open-transaction')
    assert.equal(short.end.retries, 3)
  })

  test('a log that ends below `to` ends the read short with reason log-end', async () => {
    const f = fakeFetcher({ logStart: 0n, hw: 25n, lso: 25n, perFetch: 50, script: [] })
    const { offsets: got, end } = await collect(f, fakeTime().options)
    assert.deepEqual(got, offsets(10, 25))
    assert.deepEqual(end.shortfall, { reason: 'log-end', at: 25n, lastStableOffset: 25n, highWatermark: 25n })
  })

  test('an empty answer although the log has records is retried within the bound, then an error', async () => {
    const f = fakeFetcher({ logStart: 0n, hw: 100n, lso: 100n, perFetch: 50, script: ['empty', 'empty'] })
    const ok = await collect(f, fakeTime().options)
    assert.equal(ok.end.complete, true)
    assert.equal(ok.end.retries, 2)
    const stuck = fakeFetcher({ logStart: 0n, hw: 100n, lso: 100n, perFetch: 50, script: Array(10).fill('empty') })
    await assert.rejects(
      collect(stuck, { ...fakeTime().options, backoff: { initialMs: 1, maxMs: 1, maxAttempts: 3 } }),
      /no records returned although the log holds records up to 100/
    )
  })

  test('a log start that moved past the reader: thrown by default, skipped and listed with followLogStart', async () => {
    const f = fakeFetcher({ logStart: 18n, hw: 100n, lso: 100n, perFetch: 50, script: [] })
    await assert.rejects(collect(f, fakeTime().options), /out of range/)
    const { offsets: got, end } = await collect(f, { ...fakeTime().options, followLogStart: true })
    assert.deepEqual(got, offsets(18, 30))
    assert.deepEqual(end.skipped, [{ from: 10n, to: 18n }])
    assert.equal(end.complete, true)
  })
})
