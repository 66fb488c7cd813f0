import assert from 'node:assert/strict'
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { AuditLog } from '../../../src/failover/audit.ts'
import { ensurePrivateFile } from '../../../src/failover/private-file.ts'
import { type KafkaAdmin, type RecordProducer } from '../../../src/kafka/index.ts'

const modeOf = (path: string): number => statSync(path).mode & 0o777

/** The audit topic side of AuditLog, faked: only the local file is under test here. */
const producer = { send: async () => [] } as unknown as RecordProducer
const admin = { describeTopics: async () => [{}] } as unknown as KafkaAdmin

describe('export and audit files are readable by their owner only', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdr-private-'))

  test('a new file is created with mode 0600', () => {
    const path = join(dir, 'kafka-dr-divergent-new.jsonl')
    assert.equal(ensurePrivateFile(path), null)
    assert.equal(modeOf(path), 0o600)
  })

  test('an existing file with wider permissions is narrowed to 0600, its content kept', () => {
    const path = join(dir, 'kafka-dr-divergent-old.jsonl')
    writeFileSync(path, 'earlier\n')
    chmodSync(path, 0o644)
    assert.equal(ensurePrivateFile(path), null)
    assert.equal(modeOf(path), 0o600)
    assert.equal(readFileSync(path, 'utf8'), 'earlier\n')
  })

  test('the audit log creates its file with mode 0600 and narrows an existing one', async () => {
    const fresh = join(dir, 'kafka-dr-audit.jsonl')
    const audit = new AuditLog(fresh, producer, admin)
    await audit.record({ operation: 'failover', link: 'l', id: 'x', step: 'preflight', result: 'ok' })
    assert.equal(modeOf(fresh), 0o600)
    const existing = join(dir, 'existing-audit.jsonl')
    writeFileSync(existing, '')
    chmodSync(existing, 0o664)
    const warnings: string[] = []
    await new AuditLog(existing, producer, admin, w => warnings.push(w)).record({
      operation: 'failback',
      link: 'l',
      id: 'x',
      step: 'divergent tail',
      result: 'ok'
    })
    assert.equal(modeOf(existing), 0o600)
    assert.deepEqual(warnings, [])
    assert.equal(JSON.parse(readFileSync(existing, 'utf8')).step, 'divergent tail')
  })
})
