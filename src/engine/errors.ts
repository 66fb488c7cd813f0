import { ProducerClosedError, TransactionError, errorNameInChain } from '../kafka/index.ts'

/**
 * Produce errors the target will repeat forever for the same record: retrying cannot help, so the
 * record goes to the link's `onRecordError` policy.
 */
const PERMANENT_RECORD_ERRORS = new Set([
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_TIMESTAMP',
  'INVALID_RECORD',
  'CORRUPT_MESSAGE'
])

/** Errors that stop the partition whatever the policy: the operator must change something. */
const PERMANENT_PARTITION_ERRORS = new Set([
  'TOPIC_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'SASL_AUTHENTICATION_FAILED',
  'INVALID_REQUIRED_ACKS',
  'POLICY_VIOLATION'
])

/**
 * record: the target refuses this record for good; partition: it refuses the partition's writes;
 * closed: the producer was closed (the link is stopping) or its transaction failed (the link
 * aborts it), so nothing more is sent through it;
 * retriable: anything else, sent again after a backoff.
 */
export type ProduceErrorKind = 'record' | 'partition' | 'closed' | 'retriable'

export function classifyProduceError(error: unknown): { kind: ProduceErrorKind; name: string | undefined } {
  if (error instanceof ProducerClosedError) return { kind: 'closed', name: undefined }
  // The transaction failed (exactly-once): the link aborts it and restarts, or stops if fenced.
  if (error instanceof TransactionError) return { kind: 'closed', name: undefined }
  const name = errorNameInChain(error)
  if (name !== undefined && PERMANENT_RECORD_ERRORS.has(name)) return { kind: 'record', name }
  if (name !== undefined && PERMANENT_PARTITION_ERRORS.has(name)) return { kind: 'partition', name }
  return { kind: 'retriable', name }
}
