import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { CopyIndex } from '../../../src/core/copy-index.ts'
import { PROVENANCE_HEADER_KEY } from '../../../src/core/provenance.ts'
import { classifyProduceError } from '../../../src/engine/errors.ts'
import { type CopierSettings, PartitionCopier } from '../../../src/engine/partition-copier.ts'
import {
  type StoppedPartition,
  describeUncommitted,
  logUncommitted,
  uncommittedRanges,
  withinDeadline
} from '../../../src/engine/shutdown.ts'
import { KdrError } from '../../../src/errors.ts'
import { type BatchProducer, ProducerClosedError, type RecordProducer } from '../../../src/kafka/index.ts'
import { decompress } from '../../../src/kafka/compression.ts'
import { type RawRecord, RecordBatchWriter, readBatches, readRecords } from '../../../src/kafka/record-batch.ts'
import { createLogger } from '../../../src/observability/logger.ts'
import { NO_EVENTS } from '../../../src/engine-events/index.ts'

/**
 * A stopping link is bounded whatever the target does: the copier's produce retries end when the
 * producer closes or the drain timeout passes (never counting the batch as acknowledged), and the
 * stop names what it left uncommitted.
 */

describe('withinDeadline', () => {
  test('work that settles in time gives its value', async () => {
    assert.deepEqual(await withinDeadline(Promise.resolve(7), performance.now() + 1000), { inTime: true, value: 7 })
  })

  test('work that fails in time throws its error', async () => {
    await assert.rejects(withinDeadline(Promise.reject(new Error('refused')), performance.now() + 1000), /refused/)
  })

  test('work still running at the deadline is reported late; its later failure is not unhandled', async () => {
    let fail: (error: Error) => void = () => {}
    const work = new Promise<number>((_, reject) => (fail = reject))
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason)
    process.on('unhandledRejection', onUnhandled)
    try {
      assert.deepEqual(await withinDeadline(work, performance.now() + 20), { inTime: false })
      fail(new Error('connection closed'))
      // Positive evidence that the rejection was delivered: a handler attached after it runs.
      await assert.rejects(work, /connection closed/)
      await new Promise(resolve => setImmediate(resolve))
      assert.deepEqual(unhandled, [])
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
  })
})

describe('uncommittedRanges', () => {
  const at = (over: Partial<StoppedPartition>): StoppedPartition => ({
    topic: 'orders',
    partition: 0,
    committedNext: 100n,
    replicatedNext: 100n,
    fetchOffset: 100n,
    abandoned: false,
    ...over
  })

  test('a clean stop leaves nothing, even with records fetched but never sent', () => {
    assert.deepEqual(uncommittedRanges([at({ fetchOffset: 250n })]), [])
  })

  test('acknowledged after the last commit: the acknowledged range', () => {
    assert.deepEqual(uncommittedRanges([at({ replicatedNext: 180n, fetchOffset: 250n })]), [
      { topic: 'orders', partition: 0, from: 100n, to: 180n, acknowledgedTo: 180n }
    ])
  })

  test('a write given up in flight: from the last commit to what was read', () => {
    assert.deepEqual(
      uncommittedRanges([
        at({ partition: 2, replicatedNext: 180n, fetchOffset: 250n, abandoned: true }),
        at({ partition: 1, fetchOffset: 130n, abandoned: true }),
        at({ topic: 'audit', partition: 0, abandoned: true })
      ]),
      [
        { topic: 'orders', partition: 1, from: 100n, to: 130n, acknowledgedTo: 100n },
        { topic: 'orders', partition: 2, from: 100n, to: 250n, acknowledgedTo: 180n }
      ]
    )
  })

  test('described per partition with its offsets, bounded', () => {
    const ranges = [
      { topic: 'orders', partition: 0, from: 100n, to: 180n, acknowledgedTo: 180n },
      { topic: 'orders', partition: 1, from: 100n, to: 130n, acknowledgedTo: 100n },
      { topic: 'orders', partition: 2, from: 100n, to: 250n, acknowledgedTo: 180n }
    ]
    assert.equal(
      describeUncommitted(ranges),
      'orders/0 offsets 100..179 (acknowledged by the target); orders/1 offsets 100..129 (none acknowledged: in flight or queued); orders/2 offsets 100..249 (100..179 acknowledged by the target, the rest in flight or queued)'
    )
    assert.equal(
      describeUncommitted(ranges, 1),
      'orders/0 offsets 100..179 (acknowledged by the target); and 2 more partitions'
    )
  })
})

describe('logUncommitted', () => {
  test('one error line naming each partition and its inclusive offsets; nothing after a clean stop', () => {
    const lines: Record<string, unknown>[] = []
    const log = createLogger({ write: line => void lines.push(JSON.parse(line) as Record<string, unknown>) })
    logUncommitted(log, 'dc2', [])
    assert.equal(lines.length, 0)
    logUncommitted(log, 'dc2', [{ topic: 'orders', partition: 3, from: 100n, to: 130n, acknowledgedTo: 100n }])
    assert.equal(lines.length, 1)
    assert.equal(lines[0]!.level, 'error')
    assert.equal(
      lines[0]!.msg,
      'stopped with progress left uncommitted; a restart copies these source offsets again: orders/3 offsets 100..129 (none acknowledged: in flight or queued)'
    )
    assert.deepEqual(lines[0]!.uncommitted, [{ topic: 'orders', partition: 3, from: '100', to: '129' }])
    assert.equal(lines[0]!.target, 'dc2')
  })
})

/** Raw records at source offsets 0..count-1, as the fetcher hands them over. */
function rawRecords(count: number): RawRecord[] {
  const writer = new RecordBatchWriter()
  writer.begin(0)
  for (let i = 0; i < count; i++) writer.appendRecord(1_700_000_000_000 + i, null, Buffer.from(`v${i}`), [])
  const [batch] = readBatches(Buffer.from(writer.finish(0, null)), decompress)
  const out: RawRecord[] = []
  readRecords(batch!, 0, PROVENANCE_HEADER_KEY, out)
  return out
}

function copierWith(
  send: () => Promise<bigint>,
  mayWrite: () => boolean = () => true
): { copier: PartitionCopier; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = []
  const log = createLogger({ write: line => void lines.push(JSON.parse(line) as Record<string, unknown>) })
  const settings: CopierSettings = {
    link: 'dc1->dc2',
    sourceCluster: 'dc1',
    targetCluster: 'dc2',
    sourceClusterId: 'source-cluster-id',
    targetClusterId: 'target-cluster-id',
    maxBatchBytes: 1_000_000,
    maxBufferedBytes: 2_000_000,
    onRecordError: 'stop',
    onDataLoss: 'stop',
    deadLetterTopic: 'dlq',
    compression: 'none',
    schemas: null,
    events: NO_EVENTS
  }
  const batches = { send } as unknown as BatchProducer
  const copier = new PartitionCopier(
    settings,
    { batches, deadLetters: {} as RecordProducer, mayWrite },
    log,
    'orders',
    0,
    'orders',
    { offset: 0n, copies: new CopyIndex(), topicId: 'topic-id' }
  )
  copier.onFetch({
    topic: 'orders',
    partition: 0,
    topicId: 'topic-id',
    fetchOffset: 0n,
    records: [],
    raw: rawRecords(10),
    nextOffset: 10n,
    highWatermark: 10n,
    lastStableOffset: 10n,
    logStartOffset: 0n,
    abortedRecords: 0,
    controlRecords: 0
  })
  return { copier, lines }
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise(resolve => setTimeout(resolve, 5))
}

describe('PartitionCopier when the link stops with the target down', () => {
  test('abandon() ends the retries of a batch the target does not take; nothing counts as acknowledged', async () => {
    let sends = 0
    const { copier, lines } = copierWith(() => {
      sends++
      return Promise.reject(new KdrError('KDR_ERR_KAFKA_PRODUCE', 'produce request to broker 1 failed: ECONNREFUSED'))
    })
    // Positive evidence of the retry loop: the retry log line, and a second attempt.
    await until(() => sends >= 2)
    assert.ok(lines.some(l => l.msg === 'produce to target failed; retrying'))
    const drained = copier.drain()
    assert.equal(copier.producing, true, 'a retrying batch keeps the drain waiting')
    copier.abandon()
    await drained
    assert.equal(copier.producing, false)
    assert.equal(copier.replicatedNext, 0n)
    assert.equal(copier.pendingCommit(), null, 'nothing to commit: the target acknowledged nothing')
    assert.equal(copier.state, 'running', 'giving up at stop is not a partition failure')
  })

  test('a closed producer is not retried: the copier stops producing at once', async () => {
    let sends = 0
    const { copier, lines } = copierWith(() => {
      sends++
      return Promise.reject(
        new ProducerClosedError('producer is closed', { cluster: 'dc2', topic: 'orders', partition: 0 })
      )
    })
    await until(() => sends === 1 && !copier.producing)
    assert.equal(sends, 1)
    assert.equal(copier.wantsFetch, false)
    assert.equal(copier.pendingCommit(), null)
    assert.ok(!lines.some(l => l.msg === 'produce to target failed; retrying'))
    await copier.drain()
  })

  test('classifyProduceError: a closed producer is its own kind, never retriable', () => {
    const closed = new ProducerClosedError('producer is closed', { cluster: 'dc2', topic: 'orders', partition: 0 })
    assert.deepEqual(classifyProduceError(closed), { kind: 'closed', name: undefined })
    assert.equal(classifyProduceError(new KdrError('KDR_ERR_KAFKA_PRODUCE', 'timeout')).kind, 'retriable')
  })
})

describe('PartitionCopier and the write lease', () => {
  test('no produce starts while the link may not write; copying resumes when it may again, nothing dropped', async () => {
    let allowed = false
    let asked = 0
    let sends = 0
    const { copier } = copierWith(
      () => {
        sends++
        return Promise.resolve(0n)
      },
      () => {
        asked++
        return allowed
      }
    )
    // Positive evidence that the copier has records and looked at the lease more than once.
    await until(() => asked >= 3)
    assert.equal(sends, 0, 'nothing sent while the lease has run out')
    assert.equal(copier.replicatedNext, 0n)
    allowed = true
    await until(() => copier.replicatedNext === 10n)
    assert.equal(sends, 1)
    await copier.drain()
  })

  test('a stop while waiting for the lease ends the wait', async () => {
    let asked = 0
    const { copier } = copierWith(
      () => Promise.resolve(0n),
      () => {
        asked++
        return false
      }
    )
    await until(() => asked >= 1)
    await copier.drain()
    assert.equal(copier.producing, false)
    assert.equal(copier.replicatedNext, 0n)
  })
})
