import assert from 'node:assert/strict'
import { test } from 'node:test'
import { aclSyncTotals } from '../../../src/engine-events/index.ts'
import { Metrics } from '../../../src/observability/metrics.ts'

test('ACL sync totals are exported as counters that only add what grew, and a last-success gauge', async () => {
  const metrics = new Metrics(() => [])
  const totals = aclSyncTotals('acl-metrics-test')
  totals.created += 3
  totals.lastSuccessAt = 1_700_000_000_000
  await metrics.text()
  totals.created += 1
  totals.deleted += 2
  totals.errors += 1
  const text = await metrics.text()
  const value = (name: string): string | undefined =>
    text
      .split('\n')
      .find(l => l.startsWith(`${name}{link="acl-metrics-test"}`))
      ?.split(' ')[1]
  assert.equal(value('kafka_dr_acl_sync_created_total'), '4')
  assert.equal(value('kafka_dr_acl_sync_deleted_total'), '2')
  assert.equal(value('kafka_dr_acl_sync_errors_total'), '1')
  assert.equal(value('kafka_dr_acl_sync_last_success_timestamp_seconds'), '1700000000')
})
