import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { MAX_RANGE_SIZE, parseVerifyOptions, parseWatchInterval } from '../../../src/cli/commands/verify.ts'
import { KdrError } from '../../../src/errors.ts'

const base = { config: 'kafka-dr.yaml', link: 'dc1->dc2' }

/** A bad value is a usage error: KDR_ERR_CONFIG, which the CLI turns into exit code 2. */
function usageError(pattern: RegExp): (e: unknown) => boolean {
  return e => {
    assert.ok(KdrError.is(e))
    assert.equal(e.code, 'KDR_ERR_CONFIG')
    assert.match(e.message, pattern)
    return true
  }
}

describe('verify command line options', () => {
  test('good values are parsed', () => {
    assert.deepEqual(
      parseVerifyOptions({
        ...base,
        topics: 'a, b',
        fromTime: '2026-12-01T00:00:00Z',
        rangeSize: '5000',
        strict: true
      }),
      { topics: ['a', 'b'], fromTime: Date.UTC(2026, 11, 1), rangeSize: 5000, strict: true }
    )
    assert.deepEqual(parseVerifyOptions({ ...base, fromTime: '1764547200000' }), { fromTime: 1764547200000 })
    assert.deepEqual(parseVerifyOptions({ ...base, rangeSize: String(MAX_RANGE_SIZE) }), { rangeSize: MAX_RANGE_SIZE })
    assert.deepEqual(parseVerifyOptions(base), {})
  })

  test('a bad --from-time is a usage error', () => {
    for (const bad of ['yesterday', '', '2026-13-45', '99999999999999999999'])
      assert.throws(() => parseVerifyOptions({ ...base, fromTime: bad }), usageError(/^--from-time: expected/))
  })

  test('--range-size must be a whole number from 1 to the bound', () => {
    for (const bad of ['0', '-5', '1.5', '1e3', 'ten', '', String(MAX_RANGE_SIZE + 1), '99999999999999999999'])
      assert.throws(
        () => parseVerifyOptions({ ...base, rangeSize: bad }),
        usageError(/^--range-size: expected a whole number from 1 to 100000000/),
        bad
      )
  })

  test('--topics with no name is a usage error', () => {
    assert.throws(() => parseVerifyOptions({ ...base, topics: ' , ' }), usageError(/^--topics: expected/))
  })
})

describe('verify --watch interval', () => {
  test('a number with a unit, or bare seconds', () => {
    assert.equal(parseWatchInterval('30s'), 30_000)
    assert.equal(parseWatchInterval('5m'), 300_000)
    assert.equal(parseWatchInterval('1h'), 3_600_000)
    assert.equal(parseWatchInterval('1500ms'), 1500)
    assert.equal(parseWatchInterval('10'), 10_000)
  })

  test('anything else, or less than a second, is a usage error', () => {
    for (const bad of ['', 'soon', '-5s', '1.5m', '999ms', '0', '5d'])
      assert.throws(() => parseWatchInterval(bad), usageError(/^--watch: expected an interval of at least 1s/))
  })
})
