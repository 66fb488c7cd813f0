/**
 * The engine's outward surface as types: the events it reports as they happen (events.ts) and the
 * status it reports when asked (status.ts), the schema sync's included. The engine and the schema
 * sync produce them, observability, HTTP and the CLI consume them; this module imports nothing, so
 * no import cycle runs through it.
 */

export { type EngineEvents, NO_EVENTS } from './events.ts'
export { type AclSyncTotals, aclSyncTotals, allAclSyncTotals } from './acl-sync.ts'
export {
  type CopierState,
  type GroupCheckpointStatus,
  type LinkRunState,
  type LinkStatus,
  type PartitionStatus,
  type SchemaIdMode,
  type SchemaSyncState,
  type SubjectSyncState,
  type WorkerStatus
} from './status.ts'
