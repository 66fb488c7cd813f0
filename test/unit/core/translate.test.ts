import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { OffsetRuns } from '../../../src/core/offset-runs.ts'
import { runsCopyMap, translateOffset } from '../../../src/core/translate.ts'

// Source 10..19 -> target 100..109; source 20..24 are markers/aborted (gap); source 25..29 -> target 115..119
// (target 110..114 hold records of another writer); replication has reached source 32 (30, 31 not copied: loops).
const runs = (): OffsetRuns =>
  OffsetRuns.from([
    { sourceStart: 10n, targetStart: 100n, length: 10n },
    { sourceStart: 25n, targetStart: 115n, length: 5n }
  ])

describe('translateOffset', async () => {
  test('inside a run: the copy of the committed record, exact', async () => {
    assert.deepEqual(await translateOffset(13n, runsCopyMap(runs()), 32n), {
      sourceOffset: 13n,
      targetOffset: 103n,
      exact: true,
      notReplicated: 0n,
      note: null
    })
  })

  test('in a gap (markers, aborted, compacted): the next copied record, never ahead of it', async () => {
    for (const committed of [20n, 22n, 24n]) {
      assert.deepEqual(await translateOffset(committed, runsCopyMap(runs()), 32n), {
        sourceOffset: committed,
        targetOffset: 115n,
        exact: true,
        notReplicated: 0n,
        note: null
      })
    }
  })

  test('after the last copy but below the replicated offset: the end of the copies, exact', async () => {
    assert.equal((await translateOffset(30n, runsCopyMap(runs()), 32n)).targetOffset, 120n)
    assert.equal((await translateOffset(30n, runsCopyMap(runs()), 32n)).exact, true)
  })

  test('at the replicated offset: the end of the copies, exact', async () => {
    assert.deepEqual(await translateOffset(32n, runsCopyMap(runs()), 32n), {
      sourceOffset: 32n,
      targetOffset: 120n,
      exact: true,
      notReplicated: 0n,
      note: null
    })
  })

  test('ahead of replication: the end of the copies, not exact, with the count of missing records', async () => {
    const t = await translateOffset(40n, runsCopyMap(runs()), 32n)
    assert.equal(t.targetOffset, 120n)
    assert.equal(t.exact, false)
    assert.equal(t.notReplicated, 8n)
    assert.match(t.note!, /8 records before the committed offset are not replicated yet/)
  })

  test('before the replicated range: the first copy, not exact', async () => {
    const t = await translateOffset(4n, runsCopyMap(runs()), 32n)
    assert.equal(t.targetOffset, 100n)
    assert.equal(t.exact, false)
    assert.equal(t.notReplicated, 6n)
  })

  test('nothing replicated: no target offset', async () => {
    assert.equal((await translateOffset(5n, runsCopyMap(new OffsetRuns()), 0n)).targetOffset, null)
    assert.equal((await translateOffset(5n, runsCopyMap(runs()), null)).targetOffset, null)
  })

  test('never translates ahead of the data: target offsets are monotonic in the source offset', async () => {
    let previous = -1n
    for (let s = 0n; s < 45n; s++) {
      const t = (await translateOffset(s, runsCopyMap(runs()), 32n)).targetOffset!
      assert.ok(t >= previous, `source ${s}`)
      previous = t
    }
  })
})

describe('OffsetRuns.sourceFor (the way back, for failback)', async () => {
  test('a copied record maps to its source offset; records of other writers map to the next copy', async () => {
    const r = runs()
    assert.equal(r.sourceFor(100n), 10n)
    assert.equal(r.sourceFor(109n), 19n)
    assert.equal(r.sourceFor(112n), 25n)
    assert.equal(r.sourceFor(119n), 29n)
    assert.equal(r.sourceFor(120n), null)
    assert.equal(r.sourceFor(50n), 10n)
  })
})
