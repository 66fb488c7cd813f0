/** Public library API of kafka-dr. Grows as the engine, offsets and failover land. */
export * from './kafka/index.ts'
export { KdrError, errorCodes, type ErrorCode, type ErrorLocation } from './errors.ts'
export { version } from './version.ts'
export {
  verifyLink,
  recordDigest,
  type VerifyOptions,
  type VerifyReport,
  type PartitionReport
} from './verify/verify.ts'
