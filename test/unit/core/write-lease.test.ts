import assert from 'node:assert/strict'
import { test } from 'node:test'
import { LEASE_INTERVALS, STALE_HEARTBEAT_INTERVALS, WriteLease } from '../../../src/core/write-lease.ts'

test('the write lease runs LEASE_INTERVALS intervals from when the proven heartbeat was issued', () => {
  let now = 1000
  const lease = new WriteLease(5000, () => now)
  assert.equal(lease.valid(), false, 'no lease before the first proven heartbeat')
  const issued = lease.issue()
  now += 800 // the heartbeat write and the fence read took 800 ms
  lease.renew(issued)
  assert.equal(lease.valid(), true)
  now = issued + LEASE_INTERVALS * 5000 - 1
  assert.equal(lease.valid(), true)
  now = issued + LEASE_INTERVALS * 5000
  assert.equal(lease.valid(), false, 'ran out: no produce starts')
  lease.renew(issued - 10_000)
  assert.equal(lease.valid(), false, 'an older proof never extends it')
  assert.ok(LEASE_INTERVALS < STALE_HEARTBEAT_INTERVALS, 'the lease ends before failover may judge staleness')
})
