import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
// The client library's batch codec builds the fetched batch independently of ours.
// eslint-disable-next-line no-restricted-imports
import { createRecordsBatch } from '@platformatic/kafka'
import { OriginFilter } from '../../../src/core/origin-filter.ts'
import { CopyIndex } from '../../../src/core/copy-index.ts'
import { PROVENANCE_HEADER_KEY, ProvenanceEncoder, decodeProvenance } from '../../../src/core/provenance.ts'
import { type CopierSettings, PartitionCopier } from '../../../src/engine/partition-copier.ts'
import { decompress } from '../../../src/kafka/compression.ts'
import { type BatchProducer, type RecordProducer } from '../../../src/kafka/index.ts'
import { type RawRecord, readBatches, readRecords, recordParts } from '../../../src/kafka/record-batch.ts'
import { createLogger } from '../../../src/observability/logger.ts'
import { NO_EVENTS } from '../../../src/engine-events/index.ts'

/**
 * The copier's decision with fakes: link dc2 -> dc3 of the chain dc1 -> dc2 -> dc3 with a direct
 * link dc4 -> dc3. It copies dc2's own records and dc1's (routed over it), never dc3's (loop) nor
 * dc4's (delivered by dc4 -> dc3), and skips anything at the hop limit; skipped records are counted
 * and their offsets are covered by progress.
 */

const encoder = new ProvenanceEncoder('orders', 0)

/** One fetched batch, as the broker would serve it: value = label, provenance as given (null: none). */
function fetched(records: { label: string; origin: string | null; hops?: number }[]): RawRecord[] {
  const batch = createRecordsBatch(
    records.map((r, i) => ({
      topic: 'orders',
      partition: 0,
      timestamp: 1_700_000_000_000n + BigInt(i),
      key: Buffer.from(`k${i}`),
      value: Buffer.from(r.label),
      headers:
        r.origin === null
          ? new Map<Buffer, Buffer>()
          : new Map([[PROVENANCE_HEADER_KEY, encoder.encode(r.origin, r.hops ?? 1, BigInt(100 + i))]])
    })),
    { producerId: 1n, producerEpoch: 0, partitionLeaderEpoch: 0 }
  )
  const out: RawRecord[] = []
  for (const raw of readBatches(Buffer.from(batch.buffer), decompress)) readRecords(raw, 0, PROVENANCE_HEADER_KEY, out)
  return out
}

/** What the fake target received: value and provenance of every record, in order. */
function decodeSent(batches: Buffer[]): { label: string; origin: string; hops: number }[] {
  const out: RawRecord[] = []
  for (const batch of batches) for (const raw of readBatches(batch, decompress)) readRecords(raw, 0, null, out)
  return out.map(record => {
    const parts = recordParts(record)
    const prov = parts.headers.filter(([k]) => k.equals(PROVENANCE_HEADER_KEY))
    assert.equal(prov.length, 1, 'one provenance header per copy')
    const decoded = decodeProvenance(prov[0]![1])!
    return { label: parts.value!.toString(), origin: decoded.originClusterId, hops: decoded.hops }
  })
}

describe('partition copier: which copied records a link forwards', () => {
  test('routes decide per record; skipped records are counted and covered by progress', async () => {
    const sent: Buffer[] = []
    const batches = {
      send: (_topic: string, _partition: number, batch: Buffer) => {
        sent.push(Buffer.from(batch))
        return Promise.resolve(BigInt(sent.length * 1000))
      }
    } as unknown as BatchProducer
    const settings: CopierSettings = {
      link: 'dc2->dc3',
      sourceCluster: 'dc2',
      targetCluster: 'dc3',
      sourceClusterId: 'ID-2',
      targetClusterId: 'ID-3',
      maxBatchBytes: 1_000_000,
      maxBufferedBytes: 1_000_000,
      onRecordError: 'stop',
      onDataLoss: 'stop',
      deadLetterTopic: 'dlq',
      compression: 'none',
      schemas: null,
      events: NO_EVENTS,
      origins: new OriginFilter({
        targetId: 'ID-3',
        forwardIds: ['ID-2', 'ID-1'],
        otherRouteIds: ['ID-4'],
        hopLimit: 4
      })
    }
    const logs: string[] = []
    const copier = new PartitionCopier(
      settings,
      { batches, deadLetters: {} as RecordProducer, mayWrite: () => true },
      createLogger({ level: 'warn', write: line => logs.push(line) }),
      'orders',
      0,
      'orders',
      { offset: 0n, copies: new CopyIndex(), topicId: 'topic-id' }
    )
    const raw = fetched([
      { label: 'own', origin: null },
      { label: 'from-dc1', origin: 'ID-1', hops: 1 },
      { label: 'back-from-dc3', origin: 'ID-3', hops: 1 },
      { label: 'from-dc4', origin: 'ID-4', hops: 1 },
      { label: 'foreign', origin: 'ID-9', hops: 2 },
      { label: 'foreign-cycled', origin: 'ID-9', hops: 4 },
      { label: 'own-again', origin: null }
    ])
    copier.onFetch({
      topic: 'orders',
      partition: 0,
      topicId: 'topic-id',
      fetchOffset: 0n,
      records: [],
      raw,
      nextOffset: 7n,
      highWatermark: 7n,
      lastStableOffset: 7n,
      logStartOffset: 0n,
      abortedRecords: 0,
      controlRecords: 0
    })
    for (let i = 0; i < 100 && copier.replicatedNext < 7n; i++) await sleep(10)
    assert.equal(copier.replicatedNext, 7n, 'progress covers the skipped records')
    assert.deepEqual(decodeSent(sent), [
      { label: 'own', origin: 'ID-2', hops: 1 },
      { label: 'from-dc1', origin: 'ID-1', hops: 2 },
      { label: 'foreign', origin: 'ID-9', hops: 3 },
      { label: 'own-again', origin: 'ID-2', hops: 1 }
    ])
    assert.equal(copier.status().loopSkippedRecords, 3)
    assert.equal(copier.status().replicatedRecords, 4)
    const hopLimit = logs.filter(line => line.includes('hop limit reached'))
    assert.equal(hopLimit.length, 1, 'the hop limit is reported once')
    assert.match(hopLimit[0]!, /"offset":"5"/)
    assert.equal(copier.pendingCommit()!.next, 7n, 'committed progress covers the skipped records')
  })
})
