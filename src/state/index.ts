/**
 * kafka-dr's state on a target cluster: the records and documents of the `__kdr_state` topic, typed
 * and versioned (records.ts, documents.ts), how a link's state is loaded and written (store.ts) and
 * what a commit writes (commit.ts). Imports only core and kafka: the engine, failover, verify, the
 * CLI and HTTP read and write state through this module.
 */

export { type CommitPart, LEGACY_DELETES_PER_WRITE, commitEntries, deleteLegacyRuns } from './commit.ts'
export {
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  FAILOVER_STEPS,
  type FailoverDocument,
  type FailoverPoint,
  type FailoverStep,
  type FenceDocument,
  type HeartbeatDocument,
  type HeartbeatSchemas,
  type HeartbeatState,
  type HeartbeatSubject,
  LINK_DOCUMENT_KINDS,
  type LinkDocumentKind,
  type LinkDocuments,
  type StoppedPartition,
  StoredDocuments,
  decodeDocument,
  decodeFailover,
  decodeFence,
  decodeHeartbeat,
  encodeDocument
} from './documents.ts'
export { STATE_FORMAT_VERSION, StateFormatError } from './json.ts'
export {
  type AclRecordValue,
  type CheckpointValue,
  type DocumentEntry,
  type GapValue,
  type ProgressValue,
  type RunValue,
  STATE_TOPIC,
  type StateEntry,
  type StateRecordRead,
  decodeStateEntry,
  encodeStateEntry,
  readStateRecord
} from './records.ts'
export {
  type LinkState,
  type LoadStateOptions,
  type LoadedState,
  type PartitionState,
  type StoredCheckpoint,
  ensureStateTopic,
  loadLinkState,
  partitionKey,
  writeState
} from './store.ts'
