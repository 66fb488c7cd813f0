/**
 * Public library API of kafka-dr (`import { ... } from 'kafka-dr'`): what other Node programs need to
 * follow a failover themselves — load a config, translate a consumer group's offsets or any client's
 * own source positions to the target, read what is not replicated, verify a copy, pause and resume.
 * All of it reads what the replicator stored on the target and works while replication is down.
 * docs/library.md documents each function.
 */
export * from './kafka/index.ts'
export { KdrError, errorCodes, type ErrorCode, type ErrorLocation } from './errors.ts'
export { version } from './version.ts'
export { ConfigError, loadConfig, parseConfig, type KafkaDrConfig, type LinkConfig } from './config/index.ts'
export {
  translateGroup,
  translateOffsets,
  type GroupTranslation,
  type OffsetTranslation,
  type SourcePosition,
  type TranslationRow
} from './failover/translate.ts'
export { status, type GroupRpo, type LinkRpo, type PartitionRpo, type WorkerRpo } from './failover/status.ts'
export { pause, resume, type PauseRequest, type PauseResult } from './failover/pause.ts'
export {
  verifyLink,
  recordDigest,
  type VerifyOptions,
  type VerifyReport,
  type PartitionReport
} from './verify/verify.ts'
