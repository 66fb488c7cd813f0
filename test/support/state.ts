import { KafkaAdmin } from '../../src/kafka/index.ts'
import { loadLinkState, partitionKey } from '../../src/state/index.ts'
import { clusterConnection } from './clusters.ts'

/** Stored progress (next source offset) per partition of `topic` for `link`, from dc2's state topic. */
export async function progressOf(
  link: string,
  topic: string,
  partitions: number,
  targetIndex = 2
): Promise<(bigint | null)[]> {
  const connection = clusterConnection(targetIndex)
  const admin = new KafkaAdmin(connection)
  try {
    const { partitions: state } = await loadLinkState(connection, admin, link)
    return [...Array(partitions).keys()].map(p => state.get(partitionKey(topic, p))?.progress?.next ?? null)
  } finally {
    await admin.close()
  }
}
