import { appendFileSync } from 'node:fs'
import { hostname, userInfo } from 'node:os'
import { type KafkaAdmin, type RecordProducer } from '../kafka/index.ts'
import { PRIVATE_FILE_MODE, ensurePrivateFile } from './private-file.ts'

/**
 * The audit trail of failover, failback, pause and resume: every step, with who ran it, where and what it did, as
 * JSON lines in a local file AND in the compacted-free topic `__kdr_audit` on the target cluster
 * (which survives the machine that ran the command). The file is readable by its owner only (mode 0600).
 */

export const AUDIT_TOPIC = '__kdr_audit'

export interface AuditEvent {
  operation: 'failover' | 'failback' | 'pause' | 'resume'
  link: string
  id: string
  step: string
  result: 'ok' | 'skipped' | 'failed'
  details?: Record<string, unknown>
}

export class AuditLog {
  /** null: the topic only (the HTTP API, whose process has no operator's working directory). */
  readonly #file: string | null
  readonly #producer: RecordProducer
  readonly #admin: KafkaAdmin
  readonly #warn: (message: string) => void
  #topicReady = false
  #fileChecked = false

  constructor(
    file: string | null,
    producer: RecordProducer,
    admin: KafkaAdmin,
    warn: (message: string) => void = () => {}
  ) {
    this.#file = file
    this.#producer = producer
    this.#admin = admin
    this.#warn = warn
  }

  async record(event: AuditEvent): Promise<void> {
    const line = JSON.stringify(
      { at: new Date().toISOString(), user: safeUser(), host: hostname(), ...event },
      (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)
    )
    if (this.#file !== null) {
      if (!this.#fileChecked) {
        const warning = ensurePrivateFile(this.#file)
        if (warning !== null) this.#warn(`audit file: ${warning}`)
        this.#fileChecked = true
      }
      appendFileSync(this.#file, `${line}\n`, { mode: PRIVATE_FILE_MODE })
    }
    if (!this.#topicReady) {
      const [existing] = await this.#admin.describeTopics([AUDIT_TOPIC])
      if (existing === undefined) {
        // Created meanwhile by another process: no error (KafkaAdmin.createTopics).
        await this.#admin.createTopics([
          { name: AUDIT_TOPIC, partitions: 1, configs: { 'retention.ms': '-1', 'cleanup.policy': 'delete' } }
        ])
      }
      this.#topicReady = true
    }
    await this.#producer.send(AUDIT_TOPIC, [
      {
        partition: 0,
        timestamp: BigInt(Date.now()),
        key: Buffer.from(`${event.operation}:${event.link}:${event.id}`),
        value: Buffer.from(line),
        headers: []
      }
    ])
  }
}

/** Who runs this command, as pauses name it: user@host. */
export function operatorName(): string {
  return `${safeUser()}@${hostname()}`
}

function safeUser(): string {
  try {
    return userInfo().username
  } catch {
    return 'unknown'
  }
}

export type StepRecorder = (
  step: string,
  details: Record<string, unknown>,
  result?: AuditEvent['result']
) => Promise<void>

/**
 * Records the steps of one operation: appended to `steps` (the report), announced through `say`, and
 * written to the audit log (none in a dry run, which must change nothing).
 */
export function stepRecorder(
  audit: AuditLog | null,
  scope: Pick<AuditEvent, 'operation' | 'link' | 'id'>,
  steps: string[],
  say: (line: string) => void
): StepRecorder {
  return async (step, details, result = 'ok') => {
    steps.push(step)
    say(`${step}: ${result}`)
    await audit?.record({ ...scope, step, result, details })
  }
}
