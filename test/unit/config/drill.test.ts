import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseConfig } from '../../../src/config/index.ts'
import { baseConfig, issueAt, issuesOf, yaml } from './helpers.ts'

/** links[].drill: scheduled DR drills run by `replicate` (docs/configuration.md#drill). */

test('drill: absent is null; given, records defaults to 100', () => {
  assert.equal(parseConfig(yaml(baseConfig()), 'test.yaml').links[0]!.drill, null)
  const input = baseConfig()
  input.links[0]!.drill = { intervalMs: 3_600_000, groups: ['billing', 'audit'] }
  assert.deepEqual(parseConfig(yaml(input), 'test.yaml').links[0]!.drill, {
    intervalMs: 3_600_000,
    groups: ['billing', 'audit'],
    records: 100
  })
})

test('drill: every bad key is reported at its path with what is allowed', () => {
  const input = baseConfig()
  input.links[0]!.drill = { intervalMs: 999, groups: [], records: 100_001, every: 'hour' }
  const issues = issuesOf(yaml(input))
  assert.equal(issueAt(issues, 'links[0].drill.intervalMs').message, 'expected an integer >= 1000')
  assert.equal(issueAt(issues, 'links[0].drill.groups').message, 'expected at least one consumer group id')
  assert.equal(issueAt(issues, 'links[0].drill.records').message, 'expected an integer from 1 to 100000')
  assert.equal(issueAt(issues, 'links[0].drill.every').message, 'unknown key (allowed: intervalMs, groups, records)')

  const missing = baseConfig()
  missing.links[0]!.drill = { groups: [''] }
  const more = issuesOf(yaml(missing))
  assert.equal(issueAt(more, 'links[0].drill.intervalMs').message, 'required: expected an integer >= 1000')
  assert.equal(issueAt(more, 'links[0].drill.groups[0]').message, 'expected a non-empty string')
})
