import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Metrics } from '../../../src/observability/metrics.ts'
import { parsePrometheus, value } from '../../support/prometheus.ts'

/** kafka_dr_verify_*: what continuous verification (verify/continuous.ts) reports, as Prometheus reads it. */

test('windows and their findings count per link and topic; a window not checked counts apart', async () => {
  const metrics = new Metrics(() => [])
  metrics.verifyStarted('dc1->dc2', 1_000_000)
  metrics.verifyWindow('dc1->dc2', 'orders', { matched: 100, missing: 0, altered: 0, error: false })
  metrics.verifyWindow('dc1->dc2', 'orders', { matched: 97, missing: 2, altered: 1, error: false })
  metrics.verifyWindow('dc1->dc2', 'payments', { matched: 50, missing: 7, altered: 0, error: true })
  const families = parsePrometheus(await metrics.text())
  const orders = { link: 'dc1->dc2', topic: 'orders' }
  assert.equal(value(families, 'kafka_dr_verify_windows_total', orders), 2)
  assert.equal(value(families, 'kafka_dr_verify_records_matched_total', orders), 197)
  assert.equal(value(families, 'kafka_dr_verify_records_missing_total', orders), 2)
  assert.equal(value(families, 'kafka_dr_verify_records_altered_total', orders), 1)
  const payments = { link: 'dc1->dc2', topic: 'payments' }
  assert.equal(value(families, 'kafka_dr_verify_window_errors_total', payments), 1)
  assert.equal(families.get('kafka_dr_verify_windows_total')!.metrics.length, 1, 'no window counted for payments')
  // Before the first successful pass the gauge holds the start, so "too old" alerts work from the start.
  assert.equal(value(families, 'kafka_dr_verify_last_success_timestamp_seconds', { link: 'dc1->dc2' }), 1000)
  metrics.verifySucceeded('dc1->dc2', 2_500_000)
  const later = parsePrometheus(await metrics.text())
  assert.equal(value(later, 'kafka_dr_verify_last_success_timestamp_seconds', { link: 'dc1->dc2' }), 2500)
  assert.equal(later.get('kafka_dr_verify_windows_total')!.type, 'COUNTER')
  assert.equal(later.get('kafka_dr_verify_last_success_timestamp_seconds')!.type, 'GAUGE')
})

test('help texts', async () => {
  const families = parsePrometheus(await new Metrics(() => []).text())
  const help = (name: string): string | undefined => families.get(name)?.help
  assert.equal(
    help('kafka_dr_verify_windows_total'),
    'Windows of recently replicated records compared with their copies on the target by continuous verification (one per partition and pass).'
  )
  assert.equal(
    help('kafka_dr_verify_records_matched_total'),
    'Source records of verified windows whose copy on the target is identical (key, value, headers, timestamp).'
  )
  assert.equal(
    help('kafka_dr_verify_records_missing_total'),
    'Source records of verified windows that the link claims to have replicated but that have no copy on the target.'
  )
  assert.equal(
    help('kafka_dr_verify_records_altered_total'),
    'Source records of verified windows with a copy on the target that differs from the source record.'
  )
  assert.equal(
    help('kafka_dr_verify_window_errors_total'),
    'Windows continuous verification could not check (a cluster did not answer, or the read bound was reached).'
  )
  assert.equal(
    help('kafka_dr_verify_last_success_timestamp_seconds'),
    'When a pass of continuous verification last checked every window of the link (Unix time); the start of verification before the first such pass.'
  )
})
