import assert from 'node:assert/strict'
import { test } from 'node:test'
import { decodeStateEntry } from '../../../src/state/index.ts'
import { LEGACY_DELETES_PER_WRITE, commitEntries, deleteLegacyRuns } from '../../../src/state/index.ts'
import { type CommitPart } from '../../../src/state/index.ts'
import { type RecordProducer } from '../../../src/kafka/index.ts'

function part(partition: number, legacyRuns: bigint[]): CommitPart {
  return {
    topic: 'orders',
    partition,
    topicId: 'id',
    next: 10n,
    copies: { segments: [{ sourceStart: 0n, targetStart: 0n }], targetEnd: 10n, lastCopied: 9n, legacyRuns },
    gaps: []
  }
}

test('old-format runs are deleted apart from the commit, in bounded writes', async () => {
  const many = Array.from({ length: LEGACY_DELETES_PER_WRITE * 2 + 5 }, (_, i) => BigInt(i))
  const parts = [part(0, many), part(1, [7n])]
  // The commit itself carries segments, gaps and progress only: bounded by the partitions that moved.
  const commit = commitEntries('link', 'dc1', parts)
  assert.deepEqual(
    commit.map(e => e.kind),
    ['segments', 'progress', 'segments', 'progress']
  )
  const writes: number[] = []
  const producer = {
    async send(_topic: string, records: { key: Buffer | null; value: Buffer | null }[]) {
      writes.push(records.length)
      for (const r of records) {
        const entry = decodeStateEntry(r.key, r.value)
        assert.equal(entry?.kind, 'run')
        assert.equal(entry?.value, null)
      }
      return [{ partition: 0, baseOffset: 0n }]
    }
  } as unknown as RecordProducer
  const deleted = await deleteLegacyRuns(producer, 'link', parts)
  assert.equal(deleted, many.length + 1)
  assert.deepEqual(writes, [LEGACY_DELETES_PER_WRITE, LEGACY_DELETES_PER_WRITE, 6])
})
