import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseConfig } from '../../../src/config/index.ts'
import { baseConfig, issueAt, issuesOf, yaml } from './helpers.ts'

function withAcls(acls: unknown): string {
  const input = baseConfig()
  input.links[0]!.acls = acls
  return yaml(input)
}

test('acls: absent or sync: false means no ACL sync', () => {
  assert.equal(parseConfig(yaml(baseConfig()), 'test.yaml').links[0]!.acls, undefined)
  assert.equal(parseConfig(withAcls({ sync: false, groups: true }), 'test.yaml').links[0]!.acls, undefined)
})

test('acls: { sync: true } compiles with its defaults; groups and intervalMs can be set', () => {
  assert.deepEqual(parseConfig(withAcls({ sync: true }), 'test.yaml').links[0]!.acls, {
    groups: false,
    intervalMs: 60_000
  })
  assert.deepEqual(parseConfig(withAcls({ sync: true, groups: true, intervalMs: 5000 }), 'test.yaml').links[0]!.acls, {
    groups: true,
    intervalMs: 5000
  })
})

test('acls: bad values are reported at their key', () => {
  const issues = issuesOf(withAcls({ sync: 'yes', groups: 1, intervalMs: 999 }))
  assert.equal(issueAt(issues, 'links[0].acls.sync').message, 'expected true or false')
  assert.equal(issueAt(issues, 'links[0].acls.groups').message, 'expected true or false')
  assert.equal(issueAt(issues, 'links[0].acls.intervalMs').message, 'expected an integer from 1000 to 86400000')
  assert.equal(issueAt(issuesOf(withAcls({})), 'links[0].acls.sync').message, 'required: expected true or false')
  assert.equal(
    issueAt(issuesOf(withAcls({ sync: true, prune: true })), 'links[0].acls.prune').message,
    'unknown key (allowed: sync, groups, intervalMs)'
  )
  assert.equal(
    issueAt(issuesOf(withAcls(true)), 'links[0].acls').message,
    'expected a mapping with keys sync, groups, intervalMs, got true or false'
  )
})
