import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { VerificationTally, type WindowResult, targetReadLimit, windowFor } from '../../../src/core/verify-window.ts'

describe('windowFor: the newest replicated records of a partition', () => {
  test('the last `records` offsets below the stored progress', () => {
    assert.deepEqual(windowFor({ firstCopied: 0n, replicatedNext: 500n, logStart: 0n, end: 600n, records: 100 }), {
      from: 400n,
      to: 500n
    })
  })

  test('never before the source log start, never past the source end', () => {
    assert.deepEqual(windowFor({ firstCopied: 0n, replicatedNext: 500n, logStart: 450n, end: 600n, records: 100 }), {
      from: 450n,
      to: 500n
    })
    // Progress past the source end (the source lost its tail): only what the source still has.
    assert.deepEqual(windowFor({ firstCopied: 0n, replicatedNext: 700n, logStart: 0n, end: 600n, records: 100 }), {
      from: 500n,
      to: 600n
    })
    assert.deepEqual(windowFor({ firstCopied: 0n, replicatedNext: 30n, logStart: 0n, end: 30n, records: 100 }), {
      from: 0n,
      to: 30n
    })
  })

  test('never before the first record the link copied (startFrom: latest, seeded progress)', () => {
    assert.deepEqual(windowFor({ firstCopied: 470n, replicatedNext: 500n, logStart: 0n, end: 600n, records: 100 }), {
      from: 470n,
      to: 500n
    })
    // Progress without any copy (startFrom: latest, nothing written since): nothing to check.
    assert.equal(windowFor({ firstCopied: null, replicatedNext: 500n, logStart: 0n, end: 600n, records: 100 }), null)
  })

  test('nothing to check: no progress yet, nothing replicated, or nothing replicated left on the source', () => {
    assert.equal(windowFor({ firstCopied: 0n, replicatedNext: null, logStart: 0n, end: 600n, records: 100 }), null)
    assert.equal(windowFor({ firstCopied: 0n, replicatedNext: 0n, logStart: 0n, end: 600n, records: 100 }), null)
    assert.equal(windowFor({ firstCopied: 0n, replicatedNext: 300n, logStart: 400n, end: 600n, records: 100 }), null)
    assert.equal(windowFor({ firstCopied: 0n, replicatedNext: 300n, logStart: 0n, end: 600n, records: 0 }), null)
  })
})

test('targetReadLimit: ten times the window, at least a million', () => {
  assert.equal(targetReadLimit(1000), 1_000_000)
  assert.equal(targetReadLimit(500_000), 5_000_000)
})

function window(over: Partial<WindowResult>): WindowResult {
  return {
    topic: 't',
    partition: 0,
    from: 0,
    to: 100,
    matched: 100,
    missing: 0,
    altered: 0,
    failed: false,
    error: null,
    ...over
  }
}

describe('VerificationTally', () => {
  test('before any pass: nothing checked, no time', () => {
    const s = new VerificationTally('l', 1000, 100).status()
    assert.equal(s.lastPassAt, null)
    assert.equal(s.lastSuccessAt, null)
    assert.equal(s.lastPass, null)
    assert.deepEqual(s.totals, { passes: 0, windows: 0, matched: 0, missing: 0, altered: 0, errors: 0 })
  })

  test('a pass with findings is a success (every window checked) and lists the windows that did not match', () => {
    const tally = new VerificationTally('l', 1000, 100)
    const ok = tally.pass(
      [window({}), window({ partition: 1, matched: 97, missing: 2, altered: 1, failed: true })],
      1_000
    )
    assert.equal(ok, true)
    const s = tally.status()
    assert.equal(s.lastSuccessAt, 1_000)
    assert.equal(s.lastError, null)
    assert.deepEqual(s.lastPass, { windows: 2, matched: 197, missing: 2, altered: 1, errors: 0 })
    assert.deepEqual(
      s.problems.map(p => p.partition),
      [1]
    )
  })

  test('a window not checked: not a success, its counts are not findings; totals add up over passes', () => {
    const tally = new VerificationTally('l', 1000, 100)
    tally.pass([window({})], 1_000)
    const ok = tally.pass([window({}), window({ partition: 2, matched: 5, failed: true, error: 'boom' })], 2_000)
    assert.equal(ok, false)
    const s = tally.status()
    assert.equal(s.lastPassAt, 2_000)
    assert.equal(s.lastSuccessAt, 1_000)
    assert.equal(s.lastError, '1 of 2 windows not checked; first: t/2: boom')
    assert.deepEqual(s.totals, { passes: 2, windows: 2, matched: 200, missing: 0, altered: 0, errors: 1 })
    assert.deepEqual(s.lastPass, { windows: 2, matched: 100, missing: 0, altered: 0, errors: 1 })
  })

  test('a pass that failed before its windows keeps the last success and says why', () => {
    const tally = new VerificationTally('l', 1000, 100)
    tally.pass([window({})], 1_000)
    tally.failed('state unreadable', 3_000)
    const s = tally.status()
    assert.equal(s.lastPassAt, 3_000)
    assert.equal(s.lastSuccessAt, 1_000)
    assert.equal(s.lastError, 'state unreadable')
    assert.equal(s.totals.passes, 2)
  })

  test('status is a copy: changing it changes nothing', () => {
    const tally = new VerificationTally('l', 1000, 100)
    tally.pass([window({ missing: 1, failed: true })], 1_000)
    const s = tally.status()
    s.totals.missing = 99
    s.problems.length = 0
    assert.equal(tally.status().totals.missing, 1)
    assert.equal(tally.status().problems.length, 1)
  })
})
