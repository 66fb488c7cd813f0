import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  DRILL_EXAMPLES,
  type DrillSourceRecord,
  type DrillTargetRecord,
  compareDrillWindow
} from '../../../src/core/drill-compare.ts'

const digest = (text: string): Buffer => Buffer.from(text)
const src = (...offsets: number[]): DrillSourceRecord[] =>
  offsets.map(o => ({ offset: BigInt(o), digest: digest(`r${o}`) }))
/** Copies of the given source offsets (null: another writer's record) at target offsets from `at`. */
const copies = (at: number, ...from: (number | null)[]): DrillTargetRecord[] =>
  from.map((c, i) => ({
    offset: BigInt(at + i),
    copiedFrom: c === null ? null : BigInt(c),
    digest: digest(c === null ? 'foreign' : `r${c}`)
  }))
const window = {
  committed: 10n,
  targetComplete: true,
  replicatedNext: 20n
}

describe('compareDrillWindow', () => {
  test('an exact resumption: every record matched in order, nothing else', () => {
    const r = compareDrillWindow({ ...window, source: src(10, 11, 12), target: copies(100, 10, 11, 12) })
    assert.equal(r.matched, 3)
    assert.equal(r.exact, true)
    assert.deepEqual([r.mismatched.count, r.reread.count, r.skipped.count, r.notReplicated.count], [0, 0, 0, 0])
  })

  test('gaps on the source (markers, aborted records) are no skip: only records the source serves count', () => {
    const r = compareDrillWindow({ ...window, source: src(10, 13, 14), target: copies(100, 10, 13, 14) })
    assert.equal(r.matched, 3)
    assert.equal(r.exact, true)
  })

  test('a copy with other content is a mismatch, with its source and target offsets', () => {
    const target = copies(100, 10, 11, 12)
    target[1] = { ...target[1]!, digest: digest('forged') }
    const r = compareDrillWindow({ ...window, source: src(10, 11, 12), target })
    assert.equal(r.matched, 2)
    assert.deepEqual(r.mismatched, { count: 1, offsets: [11], targetOffsets: [101] })
    assert.equal(r.exact, false)
  })

  test('a position before the copy of the committed record: the records before it are re-read', () => {
    const r = compareDrillWindow({ ...window, source: src(10, 11), target: copies(98, 8, 9, 10, 11) })
    assert.deepEqual(r.reread, { count: 2, offsets: [8, 9], targetOffsets: [98, 99] })
    assert.equal(r.matched, 2)
    assert.equal(r.exact, false)
  })

  test('a second copy of a record of the window (at-least-once replay) is a re-read', () => {
    const r = compareDrillWindow({ ...window, source: src(10, 11, 12), target: copies(100, 10, 11, 10, 11, 12) })
    assert.equal(r.matched, 3)
    assert.deepEqual(r.reread, { count: 2, offsets: [10, 11], targetOffsets: [102, 103] })
  })

  test('a position past the copy of the committed record: the records jumped over are skipped', () => {
    const r = compareDrillWindow({ ...window, source: src(10, 11, 12, 13), target: copies(102, 12, 13) })
    assert.deepEqual(r.skipped, { count: 2, offsets: [10, 11] })
    assert.equal(r.matched, 2)
    assert.equal(r.exact, false)
  })

  test('records after the replicated position are lag (not replicated), not a failure', () => {
    const r = compareDrillWindow({
      ...window,
      replicatedNext: 12n,
      source: src(10, 11, 12, 13),
      target: copies(100, 10, 11)
    })
    assert.equal(r.matched, 2)
    assert.deepEqual(r.notReplicated, { count: 2, offsets: [12, 13] })
    assert.equal(r.exact, true)
  })

  test('records below the replicated position without a copy at the end of the target are skipped', () => {
    const r = compareDrillWindow({
      ...window,
      replicatedNext: 13n,
      source: src(10, 11, 12, 13),
      target: copies(100, 10)
    })
    assert.deepEqual(r.skipped, { count: 2, offsets: [11, 12] })
    assert.deepEqual(r.notReplicated, { count: 1, offsets: [13] })
    assert.equal(r.exact, false)
  })

  test('a target read that stopped at its bound leaves the rest unchecked, not missing, and proves nothing', () => {
    const r = compareDrillWindow({
      ...window,
      targetComplete: false,
      source: src(10, 11, 12),
      target: copies(100, 10)
    })
    assert.equal(r.unchecked, 2)
    assert.equal(r.exact, false)
  })

  test("other writers' records are counted apart; copies beyond the window are ignored", () => {
    const r = compareDrillWindow({ ...window, source: src(10, 11), target: copies(100, null, 10, null, 11, 12, 13) })
    assert.equal(r.foreign, 2)
    assert.equal(r.matched, 2)
    assert.equal(r.exact, true)
  })

  test('a copy of an offset the source does not serve inside the window is a mismatch', () => {
    const r = compareDrillWindow({ ...window, source: src(10, 12), target: copies(100, 10, 11, 12) })
    assert.deepEqual(r.mismatched, { count: 1, offsets: [11], targetOffsets: [101] })
    assert.equal(r.matched, 2)
  })

  test('an empty source window (the group read everything): exact whatever the target holds after it', () => {
    const r = compareDrillWindow({ ...window, source: [], target: copies(100, 10, 11) })
    assert.equal(r.exact, true)
    assert.equal(r.matched, 0)
  })

  test('examples are bounded, counts are not', () => {
    const n = DRILL_EXAMPLES + 5
    const offsets = Array.from({ length: n }, (_, i) => 10 + i)
    const r = compareDrillWindow({ ...window, replicatedNext: 100n, source: src(...offsets), target: [] })
    assert.equal(r.skipped.count, n)
    assert.equal(r.skipped.offsets.length, DRILL_EXAMPLES)
  })
})
