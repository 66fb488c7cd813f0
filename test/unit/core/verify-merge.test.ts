import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { describe, test } from 'node:test'
import {
  type MergeOptions,
  PartitionMerge,
  type PartitionVerdict,
  type VerifyHashing
} from '../../../src/core/verify-merge.ts'

const hashing: VerifyHashing = {
  rangeHasher() {
    const h = createHash('sha256')
    return { update: d => h.update(d), digest: () => h.digest('hex') }
  }
}

const digest = (offset: number, variant = ''): Buffer => Buffer.from(`record-${offset}${variant}`)

/** Source offsets present, and the target as [sourceOffset | null, variant] in target order. */
async function run(
  sourceOffsets: number[],
  target: (number | null | [number, string])[],
  options: Partial<MergeOptions> = {}
): Promise<PartitionVerdict> {
  return (await runCounting(sourceOffsets, target, options)).verdict
}

/** As run(), also counting the source records read again for further copies. */
async function runCounting(
  sourceOffsets: number[],
  target: (number | null | [number, string])[],
  options: Partial<MergeOptions> = {}
): Promise<{ verdict: PartitionVerdict; rereads: number[] }> {
  const queue = [...sourceOffsets]
  const rereads: number[] = []
  const merge = new PartitionMerge(
    {
      from: 0,
      to: (sourceOffsets.at(-1) ?? -1) + 1,
      replicatedNext: null,
      targetOffsetOf: () => null,
      targetLogStart: 0,
      rangeSize: 10,
      hashing,
      sourceDigestAt: offset => {
        rereads.push(offset)
        return Promise.resolve(sourceOffsets.includes(offset) ? digest(offset) : null)
      },
      ...options
    },
    () => {
      const offset = queue.shift()
      return Promise.resolve(offset === undefined ? null : { offset, digest: digest(offset) })
    }
  )
  // The target offset of each record is its index in `target`.
  for (const [at, t] of target.entries()) {
    if (t === null) await merge.target(null, Buffer.from('foreign'), at)
    else if (Array.isArray(t)) await merge.target(t[0], digest(t[0], t[1]), at)
    else await merge.target(t, digest(t), at)
  }
  return { verdict: await merge.finish(), rereads }
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i)

describe('verify merge', () => {
  test('an exact copy matches, range digests agree', async () => {
    const v = await run(range(0, 25), range(0, 25), { replicatedNext: 25 })
    assert.equal(v.ok, true)
    assert.equal(v.matched, 25)
    assert.equal(v.checked, 25)
    assert.deepEqual(
      v.ranges.map(r => [r.from, r.sourceRecords, r.match]),
      [
        [0, 10, true],
        [10, 10, true],
        [20, 5, true]
      ]
    )
  })

  test('records skipped in the middle are missing, with their offsets; the range digest differs', async () => {
    const v = await run(range(0, 10), [0, 1, 2, 5, 6, 7, 8, 9])
    assert.equal(v.ok, false)
    assert.equal(v.missing.count, 2)
    assert.deepEqual(v.missing.ranges, [{ from: 3, to: 5 }])
    assert.equal(v.ranges[0]?.match, false)
  })

  test('a replay of records already copied counts as duplicates and stays ok', async () => {
    const v = await run(range(0, 10), [...range(0, 10), ...range(5, 10)], { replicatedNext: 10 })
    assert.equal(v.ok, true)
    assert.equal(v.duplicates.count, 5)
    assert.deepEqual(v.duplicates.offsets, [5, 6, 7, 8, 9])
  })

  test('a record copied after a later one is reordered, not missing', async () => {
    const v = await run(range(0, 5), [0, 1, 3, 2, 4])
    assert.equal(v.reordered.count, 1)
    assert.deepEqual(v.reordered.offsets, [2])
    assert.equal(v.missing.count, 0)
    assert.equal(v.ok, false)
  })

  test('a copy with other content is altered', async () => {
    const v = await run(range(0, 10), [0, 1, 2, 3, 4, 5, 6, [7, 'x'], 8, 9])
    assert.equal(v.altered.count, 1)
    assert.deepEqual(v.altered.offsets, [7])
    assert.equal(v.ok, false)
  })

  test('records past the replication position are lag, not errors', async () => {
    const v = await run(range(0, 10), range(0, 6), { replicatedNext: 6 })
    assert.equal(v.ok, true)
    assert.deepEqual(v.notReplicated, { count: 4, from: 6 })
  })

  test('records before the stored replication position but not on the target are missing', async () => {
    const v = await run(range(0, 10), range(0, 6), { replicatedNext: 8 })
    assert.equal(v.ok, false)
    assert.deepEqual(v.missing.ranges, [{ from: 6, to: 8 }])
    assert.deepEqual(v.notReplicated, { count: 2, from: 8 })
  })

  test('foreign records and copies of records the source compacted away never fail the check', async () => {
    const v = await run([0, 2, 4, 6], [0, null, 1, 2, 3, 4, null, 5, 6], { replicatedNext: 7 })
    assert.equal(v.ok, true)
    assert.equal(v.foreign, 2)
    assert.equal(v.goneFromSource, 3)
    assert.equal(v.matched, 4)
  })

  test('copies the target retention removed are expired, not missing', async () => {
    const v = await run(range(0, 10), range(5, 10), {
      replicatedNext: 10,
      targetOffsetOf: offset => 100 + offset,
      targetLogStart: 105
    })
    assert.equal(v.ok, true)
    assert.equal(v.expiredOnTarget, 5)
    assert.equal(v.missing.count, 0)
  })

  test('only the checked range counts: copies outside it are passed over', async () => {
    const v = await run(range(5, 10), range(0, 12), { from: 5, to: 10, replicatedNext: 12 })
    assert.equal(v.ok, true)
    assert.equal(v.matched, 5)
    assert.equal(v.duplicates.count, 0)
  })

  test('large gaps are kept as ranges (bounded memory), at most 20 examples each', async () => {
    const source = range(0, 100_000)
    const target = source.filter(o => o % 1000 !== 0)
    const v = await run(source, target, { replicatedNext: 100_000 })
    assert.equal(v.missing.count, 100)
    assert.equal(v.missing.ranges.length, 20)
    assert.deepEqual(v.missing.ranges[1], { from: 1000, to: 1001 })
  })

  test('a further copy with other content is altered, named by source and target offset', async () => {
    // The user's trial: a record carrying the provenance of source offset 1, with another value.
    const v = await run(range(0, 10), [...range(0, 10), [1, 'forged']], { replicatedNext: 10 })
    assert.equal(v.ok, false)
    assert.deepEqual(v.altered, { count: 1, offsets: [1], targetOffsets: [10] })
    assert.equal(v.duplicates.count, 0)
    assert.equal(v.matched, 10)
  })

  test('further copies older than the kept digests are compared with the source read again', async () => {
    const { verdict: v, rereads } = await runCounting(range(0, 10), [...range(0, 10), 1, [2, 'x'], 8], {
      replicatedNext: 10,
      recentDigests: 4
    })
    assert.deepEqual(rereads, [1, 2], 'offset 8 is still among the recent digests')
    assert.deepEqual(v.duplicates.offsets, [1, 8])
    assert.deepEqual(v.altered, { count: 1, offsets: [2], targetOffsets: [11] })
    assert.equal(v.ok, false)
  })

  test('a late copy is compared too: reordered and altered', async () => {
    const v = await run(range(0, 5), [0, 1, 3, [2, 'x'], 4])
    assert.deepEqual(v.reordered.offsets, [2])
    assert.deepEqual(v.altered, { count: 1, offsets: [2], targetOffsets: [3] })
    assert.equal(v.missing.count, 0)
  })

  test('a further copy of an offset the source does not hold is counted apart', async () => {
    const v = await run([0, 2, 3], [0, 2, 3, 1], { replicatedNext: 4 })
    assert.equal(v.ok, true)
    assert.equal(v.goneFromSource, 1)
    assert.equal(v.duplicates.count, 0)
  })

  test('records of other writers: listed and ok by default, a failure in strict mode', async () => {
    const target = [0, 1, null, 2, null]
    const relaxed = await run(range(0, 3), target, { replicatedNext: 3 })
    assert.equal(relaxed.ok, true)
    assert.equal(relaxed.foreign, 2)
    assert.deepEqual(relaxed.foreignOffsets, [2, 4])
    const strict = await run(range(0, 3), target, { replicatedNext: 3, strict: true })
    assert.equal(strict.ok, false)
    assert.equal(strict.matched, 3)
    const clean = await run(range(0, 3), range(0, 3), { replicatedNext: 3, strict: true })
    assert.equal(clean.ok, true)
  })
})
