import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  CopyIndex,
  MAX_RECENT_RUNS,
  RecentCopies,
  pruneSegments,
  segmentsFromRuns
} from '../../../src/core/copy-index.ts'
import { type CopyReader, type FoundCopy, locateCopy, segmentCopyMap, sourceAt } from '../../../src/core/copy-search.ts'
import { translateOffset } from '../../../src/core/translate.ts'

/**
 * A fake target partition: each entry is the source offset a record of this link carries in its
 * provenance header, or null for another writer's record. Counts reads like the broker-backed reader.
 */
class FakeTarget implements CopyReader {
  reads = 0
  readonly log: (bigint | null)[]
  readonly logStart: bigint
  constructor(log: (bigint | null)[], logStart = 0n) {
    this.log = log
    this.logStart = logStart
  }

  firstCopy(from: bigint, to: bigint): Promise<FoundCopy | null> {
    this.reads++
    for (let t = from < this.logStart ? this.logStart : from; t < to && t < BigInt(this.log.length); t++) {
      const s = this.log[Number(t)]
      if (s !== null && s !== undefined) return Promise.resolve({ targetOffset: t, sourceOffset: s })
    }
    return Promise.resolve(null)
  }
}

/** Writes batches through a CopyIndex and a fake target: what the copier does. */
function write(index: CopyIndex, target: FakeTarget, sources: number[], foreignBefore = 0): void {
  for (let i = 0; i < foreignBefore; i++) target.log.push(null)
  const base = BigInt(target.log.length)
  for (const s of sources) target.log.push(BigInt(s))
  index.record(
    sources.map(offset => ({ offset })),
    base
  )
}

const range = (from: number, to: number, step = 1): number[] => {
  const out: number[] = []
  for (let i = from; i < to; i += step) out.push(i)
  return out
}

describe('CopyIndex: segments', () => {
  test('gaps (markers, compaction, loops) create no segment: one per session', () => {
    const index = new CopyIndex()
    const target = new FakeTarget([])
    // 1,000 transactions of 1 record each: every other source offset is a commit marker.
    for (let s = 0; s < 2000; s += 2) write(index, target, [s])
    assert.equal(index.segments.length, 1)
    assert.deepEqual(index.takeChanges(null).segments, [{ sourceStart: 0n, targetStart: 0n }])
    write(index, target, [2000, 2002])
    assert.equal(index.takeChanges(null).segments, null, 'unchanged index: nothing to store')
    assert.equal(index.targetEnd, 1002n)
  })

  test('a replay (source offset not above the last one) starts a segment; so does a new session', () => {
    const index = new CopyIndex()
    const target = new FakeTarget([])
    write(index, target, range(0, 10))
    write(index, target, range(5, 15))
    assert.deepEqual(index.segments, [
      { sourceStart: 0n, targetStart: 0n, targetEnd: 10n },
      { sourceStart: 5n, targetStart: 10n }
    ])
    const restarted = new CopyIndex({ segments: [...index.segments], targetEnd: index.targetEnd })
    write(restarted, target, range(15, 20), 3)
    assert.deepEqual(restarted.segments.at(-1), { sourceStart: 15n, targetStart: 23n })
  })

  test('pruning keeps the latest segment starting at or below the source log start', () => {
    const segments = [
      { sourceStart: 0n, targetStart: 0n },
      { sourceStart: 50n, targetStart: 100n },
      { sourceStart: 40n, targetStart: 200n },
      { sourceStart: 300n, targetStart: 500n }
    ]
    assert.equal(pruneSegments(segments, 10n), 0)
    assert.equal(pruneSegments(segments, 45n), 2, 'segment [40 @ 200] wins for every offset >= 45')
    assert.equal(pruneSegments(segments, 1000n), 3)
    const index = new CopyIndex({ segments, targetEnd: 600n })
    const changes = index.takeChanges(45n)
    assert.deepEqual(changes.segments, segments.slice(2))
  })

  test('old-format runs become segments; their keys are deleted once', () => {
    const stored = segmentsFromRuns([
      { sourceStart: 0n, targetStart: 0n, length: 10n },
      { sourceStart: 12n, targetStart: 10n, length: 5n }, // a source gap: same segment
      { sourceStart: 20n, targetStart: 20n, length: 5n }, // a target jump (other writer): new segment
      { sourceStart: 3n, targetStart: 25n, length: 2n } // a replay: new segment
    ])
    assert.deepEqual(stored.segments, [
      { sourceStart: 0n, targetStart: 0n, targetEnd: 15n },
      { sourceStart: 20n, targetStart: 20n, targetEnd: 25n },
      { sourceStart: 3n, targetStart: 25n }
    ])
    assert.equal(stored.targetEnd, 27n)
    const index = new CopyIndex(stored, [0n, 12n, 20n, 3n])
    const first = index.takeChanges(null)
    assert.deepEqual(first.legacyRuns, [0n, 12n, 20n, 3n])
    assert.equal(first.segments?.length, 3)
    assert.deepEqual(index.takeChanges(null).legacyRuns, [])
  })
})

describe('RecentCopies: bounded exact runs of the session', () => {
  test('answers exactly from where it covers, undefined below', () => {
    const recent = new RecentCopies()
    recent.reset(10n)
    recent.append(10n, 100n, 5n)
    recent.append(17n, 105n, 3n)
    assert.equal(recent.translate(9n), undefined)
    assert.deepEqual(recent.translate(12n), { targetOffset: 102n, copied: true })
    assert.deepEqual(recent.translate(15n), { targetOffset: 105n, copied: false })
    assert.equal(recent.translate(20n), null)
  })

  test('stays bounded: the oldest half is dropped and no longer answered', () => {
    const recent = new RecentCopies()
    recent.reset(0n)
    for (let i = 0n; i < BigInt(MAX_RECENT_RUNS) * 3n; i++) recent.append(i * 2n, i, 1n)
    assert.ok(recent.size <= MAX_RECENT_RUNS)
    assert.equal(recent.translate(0n), undefined)
    const last = BigInt(MAX_RECENT_RUNS) * 3n - 1n
    assert.deepEqual(recent.translate(last * 2n), { targetOffset: last, copied: true })
    assert.deepEqual(recent.translate(last * 2n - 1n), { targetOffset: last, copied: false })
  })
})

describe('locateCopy: binary search on the target', () => {
  /** The answer by reading every record: first copy in the chosen segment with source >= s. */
  function expected(log: (bigint | null)[], from: number, to: number, s: bigint): bigint | null {
    for (let t = from; t < to; t++) if (log[t] !== null && log[t]! >= s) return BigInt(t)
    return null
  }

  test('exact for every source offset: records, markers, foreign records between, replays', async () => {
    const index = new CopyIndex()
    const target = new FakeTarget([])
    // Session 1: transactions of 1-2 records (markers between), other writers' records now and then.
    let s = 0
    for (let i = 0; i < 300; i++) {
      const n = 1 + (i % 2)
      write(index, target, range(s, s + n), i % 7 === 0 ? 2 : 0)
      s += n + 1
    }
    // A replay from source 400 (a crash before the commit), then more.
    write(index, target, range(400, 500, 3))
    write(index, target, range(500, 700, 2), 5)
    const { segments, targetEnd } = index.takeChanges(null)
    assert.equal(segments!.length, 2)
    for (let q = 0n; q < 700n; q++) {
      const t = await locateCopy(segments!, targetEnd, q, target)
      // Latest segment starting at or below q.
      const seg = q >= 400n ? segments![1]! : segments![0]!
      const end = seg === segments![0] ? Number(segments![1]!.targetStart) : Number(targetEnd)
      const want = expected(target.log, Number(seg.targetStart), end, q)
      const next = seg === segments![0] ? segments![1]!.targetStart : null
      assert.deepEqual(
        t === null ? null : t.targetOffset,
        want ?? next,
        `source ${q}: target ${String(t?.targetOffset)}, expected ${String(want ?? next)}`
      )
      if (t !== null && want !== null) assert.equal(t.copied, target.log[Number(t.targetOffset)] === q)
    }
  })

  test('reads O(log n) records per translation', async () => {
    const index = new CopyIndex()
    const target = new FakeTarget([])
    for (let s = 0; s < 200_000; s += 2) write(index, target, [s])
    const { segments, targetEnd } = index.takeChanges(null)
    target.reads = 0
    const t = await locateCopy(segments!, targetEnd, 123_457n, target)
    assert.deepEqual(t, { targetOffset: 61_729n, copied: false })
    assert.ok(target.reads <= 20, `${target.reads} reads for 100,000 copies`)
  })

  test("other writers' records after a segment's last copy (replicator down) are never searched", async () => {
    const target = new FakeTarget([])
    const first = new CopyIndex()
    write(first, target, range(0, 100, 2))
    const restarted = new CopyIndex({ segments: [...first.segments], targetEnd: first.targetEnd })
    write(restarted, target, range(100, 110), 100_000) // local writes on the target while it was down
    const { segments, targetEnd } = restarted.takeChanges(null)
    assert.equal(segments![0]!.targetEnd, 50n)
    let widest = 0n
    const watching: CopyReader = {
      firstCopy: (from, to) => {
        if (to > widest) widest = to
        return target.firstCopy(from, to)
      }
    }
    assert.deepEqual(await locateCopy(segments!, targetEnd, 99n, watching), {
      targetOffset: 100_050n,
      copied: false
    })
    assert.equal(widest, 50n, 'the search stayed within the first segment')
    assert.deepEqual(await locateCopy(segments!, targetEnd, 104n, target), { targetOffset: 100_054n, copied: true })
  })

  test('offsets below the target log start: the first copy still there', async () => {
    const target = new FakeTarget([0n, 1n, 2n, 3n, 4n, 5n], 3n)
    const t = await locateCopy([{ sourceStart: 0n, targetStart: 0n }], 6n, 1n, target)
    assert.deepEqual(t, { targetOffset: 3n, copied: false })
  })

  test('sourceAt: the source offset of the copy at a target offset, or of the next one', async () => {
    const target = new FakeTarget([0n, null, null, 7n, 8n])
    assert.equal(await sourceAt(1n, 5n, target), 7n)
    assert.equal(await sourceAt(4n, 5n, target), 8n)
    assert.equal(await sourceAt(5n, 5n, target), null)
  })

  test('translateOffset over segments: gaps resume at the next copy, below the first copy is not exact', async () => {
    const target = new FakeTarget([])
    const index = new CopyIndex()
    write(index, target, [10, 11, 12]) // 13: marker
    write(index, target, [14, 15], 2) // other writer's records at target 3, 4
    const map = segmentCopyMap(index.segments, index.targetEnd, target)
    assert.deepEqual(await translateOffset(13n, map, 17n), {
      sourceOffset: 13n,
      targetOffset: 5n,
      exact: true,
      notReplicated: 0n,
      note: null
    })
    assert.equal((await translateOffset(16n, map, 17n)).targetOffset, 7n, 'a trailing marker: the end of the copies')
    const before = await translateOffset(4n, map, 17n)
    assert.equal(before.exact, false)
    assert.equal(before.targetOffset, 0n)
  })

  test('the recent runs answer without reading the target', async () => {
    const target = new FakeTarget([])
    const index = new CopyIndex()
    for (let s = 0; s < 100; s += 2) write(index, target, [s])
    target.reads = 0
    const map = segmentCopyMap(index.segments, index.targetEnd, target, index.recent)
    assert.deepEqual(await map.locate(51n), { targetOffset: 26n, copied: false })
    assert.equal(target.reads, 0)
  })
})

describe('CopyIndex: restarts do not grow the segment list when nothing came between', () => {
  /** What a restart hands the next session: the stored copies as the last commit wrote them. */
  function restart(index: CopyIndex): CopyIndex {
    const changes = index.takeChanges(null)
    return new CopyIndex({
      segments: index.segments.map(s => ({ ...s })),
      targetEnd: changes.targetEnd,
      lastCopied: changes.lastCopied
    })
  }

  test('a clean restart continues the current segment; translation stays exact', async () => {
    let index = new CopyIndex()
    const target = new FakeTarget([])
    for (let session = 0; session < 50; session++) {
      write(index, target, range(session * 10, session * 10 + 10, 2))
      index = restart(index)
    }
    assert.equal(index.segments.length, 1, 'one segment after 50 clean restarts')
    const map = segmentCopyMap(index.segments, index.targetEnd!, target)
    for (let s = 0; s <= 498; s++) {
      const found = await map.locate(BigInt(s))
      const expected = target.log.findIndex(v => v !== null && v >= BigInt(s))
      assert.equal(found?.targetOffset, BigInt(expected), `source offset ${s}`)
    }
  })

  test('a restart after others wrote, or replaying what was copied, starts a segment', () => {
    let index = new CopyIndex()
    const target = new FakeTarget([])
    write(index, target, range(0, 10))
    index = restart(index)
    write(index, target, range(10, 20), 3) // another writer's records in between
    assert.equal(index.segments.length, 2)
    index = restart(index)
    write(index, target, range(15, 25)) // a replay: progress was behind the last copy
    assert.equal(index.segments.length, 3)
  })

  test('records stored by older versions (no lastCopied) start a segment as before', () => {
    const first = new CopyIndex()
    const target = new FakeTarget([])
    write(first, target, range(0, 10))
    const changes = first.takeChanges(null)
    const next = new CopyIndex({ segments: first.segments.map(s => ({ ...s })), targetEnd: changes.targetEnd })
    write(next, target, range(10, 20))
    assert.equal(next.segments.length, 2)
  })
})
