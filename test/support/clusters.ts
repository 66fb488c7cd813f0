import { randomBytes } from 'node:crypto'
import { type ClusterConnection } from '../../src/kafka/index.ts'
import { bootstrapOf } from '../../tools/harness/harness.ts'

/** The integration suite runs against clusters 1 and 2 of the harness. */
export const TEST_CLUSTERS = 2

export function clusterConnection(index: number): ClusterConnection {
  return { alias: `dc${index}`, bootstrap: [bootstrapOf(index)], clientId: `kafka-dr-test-${index}` }
}

/** A topic name no other test (or earlier run against the same clusters) uses. */
export function uniqueTopic(prefix: string): string {
  return `${prefix}.${Date.now().toString(36)}.${randomBytes(3).toString('hex')}`
}
