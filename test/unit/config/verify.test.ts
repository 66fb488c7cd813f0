import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseConfig } from '../../../src/config/index.ts'
import { baseConfig, issueAt, issuesOf, yaml } from './helpers.ts'

/** links[].verify: continuous verification in `replicate` (docs/configuration.md#continuous-verification). */

test('verify: absent leaves the key out; {} takes the defaults; given values are kept', () => {
  assert.equal('verify' in parseConfig(yaml(baseConfig()), 'test.yaml').links[0]!, false)
  const empty = baseConfig()
  empty.links[0]!.verify = {}
  assert.deepEqual(parseConfig(yaml(empty), 'test.yaml').links[0]!.verify, {
    intervalMs: 60_000,
    recordsPerPartition: 1000
  })
  const given = baseConfig()
  given.links[0]!.verify = { intervalMs: 5000, recordsPerPartition: 200 }
  assert.deepEqual(parseConfig(yaml(given), 'test.yaml').links[0]!.verify, {
    intervalMs: 5000,
    recordsPerPartition: 200
  })
})

test('verify: every bad key is reported at its path with what is allowed', () => {
  const input = baseConfig()
  input.links[0]!.verify = { intervalMs: 999, recordsPerPartition: 1_000_001, records: 5 }
  const issues = issuesOf(yaml(input))
  assert.equal(issueAt(issues, 'links[0].verify.intervalMs').message, 'expected an integer from 1000 to 86400000')
  assert.equal(issueAt(issues, 'links[0].verify.recordsPerPartition').message, 'expected an integer from 1 to 1000000')
  assert.equal(
    issueAt(issues, 'links[0].verify.records').message,
    'unknown key (allowed: intervalMs, recordsPerPartition)'
  )

  const wrong = baseConfig()
  wrong.links[0]!.verify = true
  assert.equal(
    issueAt(issuesOf(yaml(wrong)), 'links[0].verify').message,
    'expected a mapping with keys intervalMs, recordsPerPartition, got true or false'
  )
  const fractional = baseConfig()
  fractional.links[0]!.verify = { recordsPerPartition: 1.5 }
  assert.equal(
    issueAt(issuesOf(yaml(fractional)), 'links[0].verify.recordsPerPartition').message,
    'expected an integer from 1 to 1000000'
  )
})
