import { type HeartbeatDocument } from '../../src/state/index.ts'

/** A worker's heartbeat document for unit tests: running, nothing stopped, `extra` overriding any field. */
export function heartbeatDoc(worker: string, at: number, extra: Partial<HeartbeatDocument> = {}): HeartbeatDocument {
  return {
    at,
    host: 'h',
    pid: 1,
    state: 'running',
    intervalMs: 1000,
    committed: true,
    stopped: [],
    schemas: null,
    clusterIds: null,
    worker,
    generation: 2,
    members: [],
    slot: 0,
    owned: null,
    owns: null,
    bytesPerSecond: null,
    ...extra
  }
}
