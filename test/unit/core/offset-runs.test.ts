import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { type OffsetRun, OffsetRuns, type RunChanges, type Translation } from '../../../src/core/offset-runs.ts'
import { prng } from '../../support/prng.ts'

const run = (sourceStart: bigint, targetStart: bigint, length: bigint): OffsetRun => ({
  sourceStart,
  targetStart,
  length
})

/** Plain copies, so assertions do not depend on object identity. */
const snapshot = (runs: OffsetRuns): OffsetRun[] => runs.runs.map(r => ({ ...r }))

const bySource = (a: OffsetRun, b: OffsetRun): number => (a.sourceStart < b.sourceStart ? -1 : 1)
const sortedChanges = (changes: RunChanges): RunChanges => ({
  upserts: [...changes.upserts].sort(bySource),
  deletes: [...changes.deletes].sort((a, b) => (a < b ? -1 : 1))
})

function assertInvariants(runs: OffsetRuns, context: string): void {
  const list = runs.runs
  for (let i = 0; i < list.length; i++) {
    const r = list[i]!
    assert.ok(r.length > 0n, `${context}: empty run at ${r.sourceStart}`)
    const next = list[i + 1]
    if (next !== undefined) {
      assert.ok(
        r.sourceStart + r.length <= next.sourceStart,
        `${context}: runs ${i} and ${i + 1} unsorted or overlapping`
      )
    }
  }
  const last = list.at(-1)
  assert.equal(runs.sourceEnd, last === undefined ? null : last.sourceStart + last.length, `${context}: sourceEnd`)
}

/** Brute-force translation over a per-offset source -> target map. */
function referenceTranslate(map: ReadonlyMap<bigint, bigint>, sourceOffset: bigint): Translation | null {
  const exact = map.get(sourceOffset)
  if (exact !== undefined) return { targetOffset: exact, copied: true }
  let best: bigint | undefined
  for (const key of map.keys()) if (key > sourceOffset && (best === undefined || key < best)) best = key
  return best === undefined ? null : { targetOffset: map.get(best)!, copied: false }
}

describe('OffsetRuns.append', () => {
  test('an empty mapping has no runs, no end and translates nothing', () => {
    const runs = new OffsetRuns()
    assert.deepEqual(runs.runs, [])
    assert.equal(runs.last, undefined)
    assert.equal(runs.sourceEnd, null)
    assert.equal(runs.translate(0n), null)
    assert.deepEqual(runs.takeChanges(), { upserts: [], deletes: [] })
  })

  test('consecutive copies contiguous on both sides extend a single run', () => {
    const runs = new OffsetRuns()
    const first = runs.append(0n, 100n)
    const second = runs.append(1n, 101n)
    const third = runs.append(2n, 102n)
    assert.equal(second, first)
    assert.equal(third, first)
    assert.deepEqual(snapshot(runs), [run(0n, 100n, 3n)])
    assert.equal(runs.sourceEnd, 3n)
    assert.equal(runs.last, first)
  })

  test('counts greater than one extend by the whole count', () => {
    const runs = new OffsetRuns()
    runs.append(10n, 500n, 5n)
    runs.append(15n, 505n, 3n)
    runs.append(18n, 508n)
    assert.deepEqual(snapshot(runs), [run(10n, 500n, 9n)])
    assert.equal(runs.sourceEnd, 19n)
  })

  test('a source gap starts a new run', () => {
    const runs = new OffsetRuns()
    runs.append(0n, 100n, 2n)
    const next = runs.append(5n, 102n)
    assert.deepEqual(snapshot(runs), [run(0n, 100n, 2n), run(5n, 102n, 1n)])
    assert.equal(runs.last, next)
    assert.equal(runs.sourceEnd, 6n)
  })

  test('a target gap starts a new run', () => {
    const runs = new OffsetRuns()
    runs.append(0n, 100n, 2n)
    runs.append(2n, 110n, 2n)
    assert.deepEqual(snapshot(runs), [run(0n, 100n, 2n), run(2n, 110n, 2n)])
  })

  test('only the last run is extended', () => {
    const runs = new OffsetRuns()
    runs.append(0n, 0n, 2n)
    runs.append(10n, 10n, 2n)
    runs.append(12n, 12n)
    assert.deepEqual(snapshot(runs), [run(0n, 0n, 2n), run(10n, 10n, 3n)])
  })

  test('offsets beyond 2^53 keep full precision', () => {
    const big = 2n ** 62n + 1n
    const runs = new OffsetRuns()
    runs.append(big, big + 7n, 3n)
    runs.append(big + 3n, big + 10n)
    assert.deepEqual(snapshot(runs), [run(big, big + 7n, 4n)])
    assert.deepEqual(runs.translate(big + 2n), { targetOffset: big + 9n, copied: true })
  })
})

describe('OffsetRuns.translate', () => {
  const runs = OffsetRuns.from([run(10n, 100n, 5n), run(20n, 200n, 5n), run(25n, 300n, 2n)])

  test('a copied offset translates exactly', () => {
    assert.deepEqual(runs.translate(10n), { targetOffset: 100n, copied: true })
    assert.deepEqual(runs.translate(12n), { targetOffset: 102n, copied: true })
    assert.deepEqual(runs.translate(14n), { targetOffset: 104n, copied: true })
    assert.deepEqual(runs.translate(20n), { targetOffset: 200n, copied: true })
    assert.deepEqual(runs.translate(24n), { targetOffset: 204n, copied: true })
    assert.deepEqual(runs.translate(25n), { targetOffset: 300n, copied: true })
    assert.deepEqual(runs.translate(26n), { targetOffset: 301n, copied: true })
  })

  test('an offset in a source gap translates to the start of the next run, not copied', () => {
    for (const offset of [15n, 17n, 19n]) {
      assert.deepEqual(runs.translate(offset), { targetOffset: 200n, copied: false }, `offset ${offset}`)
    }
  })

  test('an offset before the first run translates to the first run start, not copied', () => {
    assert.deepEqual(runs.translate(0n), { targetOffset: 100n, copied: false })
    assert.deepEqual(runs.translate(9n), { targetOffset: 100n, copied: false })
  })

  test('an offset at or beyond the end translates to null', () => {
    assert.equal(runs.translate(27n), null)
    assert.equal(runs.translate(1000n), null)
    assert.equal(runs.translate(2n ** 63n - 1n), null)
  })

  test('binary search over many runs agrees with a brute-force reference', () => {
    const random = prng(42)
    const many = new OffsetRuns()
    const map = new Map<bigint, bigint>()
    let source = 3n
    let target = 1000n
    for (let i = 0; i < 1500; i++) {
      const count = BigInt(1 + Math.floor(random() * 4))
      many.append(source, target, count)
      for (let k = 0n; k < count; k++) map.set(source + k, target + k)
      source += count + BigInt(Math.floor(random() * 3))
      target += count + BigInt(random() < 0.5 ? 0 : 1 + Math.floor(random() * 5))
    }
    assert.ok(many.runs.length > 500, `only ${many.runs.length} runs`)
    assertInvariants(many, 'many')
    // Reference answers by a single backwards sweep, so the check stays linear.
    let next: Translation | null = null
    for (let offset = source + 2n; offset >= 0n; offset--) {
      const t = map.get(offset)
      if (t !== undefined) next = { targetOffset: t, copied: true }
      const expected: Translation | null =
        next === null ? null : t !== undefined ? next : { targetOffset: next.targetOffset, copied: false }
      assert.deepEqual(many.translate(offset), expected, `offset ${offset}`)
    }
  })
})

describe('OffsetRuns change tracking', () => {
  test('takeChanges reports new and extended runs once', () => {
    const runs = new OffsetRuns()
    runs.append(0n, 100n, 2n)
    runs.append(2n, 102n)
    runs.append(10n, 200n)
    assert.deepEqual(sortedChanges(runs.takeChanges()), {
      upserts: [run(0n, 100n, 3n), run(10n, 200n, 1n)],
      deletes: []
    })
    assert.deepEqual(runs.takeChanges(), { upserts: [], deletes: [] })
  })

  test('after takeChanges only the run extended since is reported, with its new length', () => {
    const runs = new OffsetRuns()
    runs.append(0n, 100n, 2n)
    runs.append(10n, 200n)
    runs.takeChanges()
    runs.append(11n, 201n, 4n)
    assert.deepEqual(runs.takeChanges(), { upserts: [run(10n, 200n, 5n)], deletes: [] })
  })

  test('reported upserts are copies, unaffected by later appends', () => {
    const runs = new OffsetRuns()
    runs.append(0n, 100n)
    const { upserts } = runs.takeChanges()
    runs.append(1n, 101n)
    assert.deepEqual(upserts, [run(0n, 100n, 1n)])
    assert.deepEqual(runs.takeChanges().upserts, [run(0n, 100n, 2n)])
  })

  test('markClean discards pending changes', () => {
    const runs = new OffsetRuns()
    runs.append(0n, 100n)
    runs.append(5n, 200n)
    runs.truncateBefore(3n)
    runs.markClean()
    assert.deepEqual(runs.takeChanges(), { upserts: [], deletes: [] })
    runs.append(6n, 201n)
    assert.deepEqual(runs.takeChanges(), { upserts: [run(5n, 200n, 2n)], deletes: [] })
  })
})

describe('OffsetRuns.from', () => {
  test('loads runs sorted by source offset and clean', () => {
    const runs = OffsetRuns.from([run(20n, 300n, 2n), run(0n, 100n, 5n), run(10n, 200n, 3n)])
    assert.deepEqual(snapshot(runs), [run(0n, 100n, 5n), run(10n, 200n, 3n), run(20n, 300n, 2n)])
    assert.equal(runs.sourceEnd, 22n)
    assert.deepEqual(runs.takeChanges(), { upserts: [], deletes: [] })
  })

  test('does not share objects with its input', () => {
    const input = [run(0n, 100n, 5n)]
    const runs = OffsetRuns.from(input)
    input[0]!.length = 1n
    runs.append(5n, 105n)
    assert.deepEqual(input, [run(0n, 100n, 1n)])
    assert.deepEqual(snapshot(runs), [run(0n, 100n, 6n)])
  })

  test('an append after loading extends the last loaded run and reports it', () => {
    const runs = OffsetRuns.from([run(0n, 100n, 5n)])
    runs.append(5n, 105n, 2n)
    assert.deepEqual(runs.takeChanges(), { upserts: [run(0n, 100n, 7n)], deletes: [] })
  })

  test('an empty list gives an empty mapping', () => {
    const runs = OffsetRuns.from([])
    assert.equal(runs.sourceEnd, null)
    assert.equal(runs.translate(0n), null)
  })
})

describe('OffsetRuns.truncateBefore', () => {
  const three = (): OffsetRuns => OffsetRuns.from([run(0n, 100n, 5n), run(10n, 200n, 5n), run(20n, 300n, 5n)])

  test('drops only runs that end at or below the offset, and returns them', () => {
    const runs = three()
    assert.deepEqual(runs.truncateBefore(12n), [run(0n, 100n, 5n)])
    assert.deepEqual(snapshot(runs), [run(10n, 200n, 5n), run(20n, 300n, 5n)])
    assert.deepEqual(runs.translate(12n), { targetOffset: 202n, copied: true }, 'a partly covered run is kept whole')
    assert.deepEqual(runs.translate(10n), { targetOffset: 200n, copied: true })
  })

  test('a run ending exactly at the offset is dropped; one ending after it is kept', () => {
    const runs = three()
    assert.deepEqual(runs.truncateBefore(4n), [])
    assert.deepEqual(runs.truncateBefore(5n), [run(0n, 100n, 5n)])
    assert.deepEqual(runs.truncateBefore(15n), [run(10n, 200n, 5n)])
    assert.deepEqual(snapshot(runs), [run(20n, 300n, 5n)])
  })

  test('dropped runs are reported as deletes by their source start', () => {
    const runs = three()
    runs.truncateBefore(16n)
    assert.deepEqual(sortedChanges(runs.takeChanges()), { upserts: [], deletes: [0n, 10n] })
    assert.deepEqual(runs.takeChanges(), { upserts: [], deletes: [] })
  })

  test('a dropped run that was pending an upsert is only deleted', () => {
    const runs = new OffsetRuns()
    runs.append(0n, 100n)
    runs.append(5n, 200n)
    runs.truncateBefore(1n)
    assert.deepEqual(runs.takeChanges(), { upserts: [run(5n, 200n, 1n)], deletes: [0n] })
  })

  test('truncating beyond the end drops everything', () => {
    const runs = three()
    assert.equal(runs.truncateBefore(1000n).length, 3)
    assert.deepEqual(runs.runs, [])
    assert.equal(runs.sourceEnd, null)
    assert.equal(runs.translate(0n), null)
    assert.equal(runs.last, undefined)
  })

  test('offsets below the remaining runs translate to the first remaining run', () => {
    const runs = three()
    runs.truncateBefore(15n)
    assert.deepEqual(runs.translate(3n), { targetOffset: 300n, copied: false })
  })
})

describe('OffsetRuns overlapping copies (replay after a crash)', () => {
  test('a copy inside an older run splits it; the newer target location wins for the overlap', () => {
    const runs = OffsetRuns.from([run(0n, 100n, 10n)])
    runs.append(3n, 200n, 4n)
    assert.deepEqual(snapshot(runs), [run(0n, 100n, 3n), run(3n, 200n, 4n), run(7n, 107n, 3n)])
    assert.deepEqual(runs.translate(2n), { targetOffset: 102n, copied: true })
    assert.deepEqual(runs.translate(3n), { targetOffset: 200n, copied: true })
    assert.deepEqual(runs.translate(6n), { targetOffset: 203n, copied: true })
    assert.deepEqual(runs.translate(7n), { targetOffset: 107n, copied: true })
    assert.equal(runs.sourceEnd, 10n)
    assert.deepEqual(sortedChanges(runs.takeChanges()), {
      upserts: [run(0n, 100n, 3n), run(3n, 200n, 4n), run(7n, 107n, 3n)],
      deletes: []
    })
  })

  test('a copy over several older runs deletes those it covers and trims those it touches', () => {
    const runs = OffsetRuns.from([run(0n, 100n, 5n), run(5n, 110n, 5n), run(10n, 120n, 5n), run(20n, 130n, 5n)])
    runs.append(2n, 500n, 10n)
    assert.deepEqual(snapshot(runs), [run(0n, 100n, 2n), run(2n, 500n, 10n), run(12n, 122n, 3n), run(20n, 130n, 5n)])
    assert.deepEqual(sortedChanges(runs.takeChanges()), {
      upserts: [run(0n, 100n, 2n), run(2n, 500n, 10n), run(12n, 122n, 3n)],
      deletes: [5n, 10n]
    })
  })

  test('a copy of exactly the same source range replaces the old run under the same key', () => {
    const runs = OffsetRuns.from([run(0n, 100n, 5n)])
    runs.append(0n, 200n, 5n)
    assert.deepEqual(snapshot(runs), [run(0n, 200n, 5n)])
    assert.deepEqual(runs.takeChanges(), { upserts: [run(0n, 200n, 5n)], deletes: [] })
  })

  test('a replay past the old end replaces the tail and becomes the last run', () => {
    const runs = OffsetRuns.from([run(0n, 100n, 10n)])
    runs.append(6n, 300n, 10n)
    assert.deepEqual(snapshot(runs), [run(0n, 100n, 6n), run(6n, 300n, 10n)])
    assert.equal(runs.sourceEnd, 16n)
    runs.append(16n, 310n)
    assert.deepEqual(snapshot(runs).at(-1), run(6n, 300n, 11n))
  })

  test('a replay from before the first run supersedes it', () => {
    const runs = OffsetRuns.from([run(5n, 100n, 5n), run(20n, 200n, 5n)])
    runs.append(0n, 300n, 12n)
    assert.deepEqual(snapshot(runs), [run(0n, 300n, 12n), run(20n, 200n, 5n)])
    assert.deepEqual(sortedChanges(runs.takeChanges()), { upserts: [run(0n, 300n, 12n)], deletes: [5n] })
  })

  test('a copy into a source gap between runs leaves both neighbours alone', () => {
    const runs = OffsetRuns.from([run(0n, 100n, 5n), run(10n, 200n, 5n)])
    runs.append(5n, 300n, 5n)
    assert.deepEqual(snapshot(runs), [run(0n, 100n, 5n), run(5n, 300n, 5n), run(10n, 200n, 5n)])
    assert.deepEqual(runs.takeChanges(), { upserts: [run(5n, 300n, 5n)], deletes: [] })
  })

  test('consecutive replayed copies extend the replay run instead of starting a run per append', () => {
    const runs = OffsetRuns.from([run(0n, 100n, 10n)])
    const replay = runs.append(3n, 200n, 2n)
    assert.equal(runs.last, replay, '`last` is documented as the run that the last append went to')
    runs.append(5n, 202n, 2n)
    assert.deepEqual(snapshot(runs), [run(0n, 100n, 3n), run(3n, 200n, 4n), run(7n, 107n, 3n)])
  })
})

describe('OffsetRuns randomized history', () => {
  test('invariants, translation, incremental persistence and reload agree with a brute-force model', () => {
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const random = prng(seed)
      const int = (n: number): number => Math.floor(random() * n)
      const runs = new OffsetRuns()
      const model = new Map<bigint, bigint>() // source offset -> latest target offset
      const persisted = new Map<bigint, OffsetRun>() // what a state store fed by takeChanges() holds
      let source = BigInt(int(5))
      let target = 0n
      for (let step = 0; step < 600; step++) {
        const context = `seed ${seed} step ${step}`
        const op = random()
        if (op < 0.6) {
          const count = BigInt(1 + int(5))
          const returned = runs.append(source, target, count)
          assert.ok(runs.runs.includes(returned), `${context}: append returns a live run`)
          for (let k = 0n; k < count; k++) model.set(source + k, target + k)
          source += count
          target += count
        } else if (op < 0.7) {
          source += BigInt(1 + int(10))
        } else if (op < 0.8) {
          target += BigInt(1 + int(10))
        } else if (op < 0.88) {
          // replay: the source goes back, the target keeps growing (the old copies stay where they are)
          source -= BigInt(int(Number(source < 30n ? source : 30n) + 1))
        } else if (op < 0.93) {
          const end = runs.sourceEnd ?? 0n
          const cut = BigInt(int(Number(end) + 3))
          const dropped = runs.truncateBefore(cut)
          for (const r of dropped) {
            assert.ok(r.sourceStart + r.length <= cut, `${context}: dropped a run reaching past ${cut}`)
            for (let k = 0n; k < r.length; k++) model.delete(r.sourceStart + k)
          }
          const first = runs.runs[0]
          if (first !== undefined)
            assert.ok(first.sourceStart + first.length > cut, `${context}: kept a run below ${cut}`)
        } else {
          const changes = runs.takeChanges()
          const upsertKeys = changes.upserts.map(r => r.sourceStart)
          assert.equal(new Set(upsertKeys).size, upsertKeys.length, `${context}: duplicate upsert keys`)
          for (const key of changes.deletes) {
            assert.ok(!upsertKeys.includes(key), `${context}: key ${key} both deleted and upserted`)
            persisted.delete(key)
          }
          for (const r of changes.upserts) persisted.set(r.sourceStart, { ...r })
          assert.deepEqual([...persisted.values()].sort(bySource), snapshot(runs), `${context}: persisted state`)
          assert.deepEqual(runs.takeChanges(), { upserts: [], deletes: [] }, `${context}: second takeChanges`)
          const reloaded = OffsetRuns.from([...persisted.values()])
          assert.deepEqual(snapshot(reloaded), snapshot(runs), `${context}: reload`)
        }
        assertInvariants(runs, context)
        if (step % 25 === 0 || step === 599) {
          const end = runs.sourceEnd ?? 0n
          for (let offset = 0n; offset <= end + 2n; offset++) {
            assert.deepEqual(
              runs.translate(offset),
              referenceTranslate(model, offset),
              `${context}: translate ${offset}`
            )
          }
        }
      }
    }
  })
})
