import { type Connection } from '@platformatic/kafka'
import { findCoordinatorApis } from './producer-apis.ts'
import { type RawClient } from './raw-client.ts'

/** FindCoordinator key types: a consumer/worker group, or a transactional id. */
export const COORDINATOR_TYPE_GROUP = 0
export const COORDINATOR_TYPE_TRANSACTION = 1

/**
 * A connection to the coordinator of `key` (a group id or a transactional id), found through the
 * bootstrap broker. Throws a plain Error while the cluster has none yet: callers retry it.
 */
export async function findCoordinator(client: RawClient, type: 0 | 1, key: string): Promise<Connection> {
  const version = Math.min(findCoordinatorApis.length - 1, await client.negotiatedVersion('FindCoordinator'))
  const bootstrap = await client.bootstrapConnection()
  const response = (await findCoordinatorApis[version]!.api.async(bootstrap, type, [key])) as {
    coordinators: { nodeId: number; host: string; port: number; errorCode: number }[]
  }
  const found = response.coordinators[0]
  if (found === undefined || found.errorCode !== 0 || found.nodeId < 0)
    throw new Error(`no ${type === COORDINATOR_TYPE_GROUP ? 'group' : 'transaction'} coordinator for ${key} yet`)
  return client.connectionTo({ host: found.host, port: found.port })
}
