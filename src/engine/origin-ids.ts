import { OriginFilter } from '../core/origin-filter.ts'
import { type LinkRouting } from '../core/routes.ts'
import { KdrError, describeCause } from '../errors.ts'
import { type ClusterConnection, KafkaAdmin } from '../kafka/index.ts'
import { type Logger } from '../observability/logger.ts'

/**
 * The config names clusters by alias, the provenance header by Kafka cluster id: before a link of a
 * multi-hop topology copies anything, it learns the id of every origin with a route to its target
 * (core/routes.ts), so that each copied record can be told apart by a byte compare.
 *
 * An origin cluster that does not answer at start is taken with the id the link's last heartbeat
 * recorded (kept on the target, `clusterIds`). With neither, the link does not start: it fails with
 * an error naming the cluster and the engine retries it with backoff. Records are never guessed
 * about: copying a record of an unrecognised origin could write it twice, skipping it would lose it.
 */

const DESCRIBE_TIMEOUT_MS = 15_000

export interface OriginIds {
  /** alias -> cluster id, for every cluster the link's routing names (to keep in the heartbeat). */
  ids: Map<string, string>
  filter: OriginFilter
}

export async function resolveOrigins(
  link: string,
  routing: LinkRouting,
  target: { alias: string; id: string },
  /** Ids described at start (source and target). */
  known: ReadonlyMap<string, string>,
  clusters: ReadonlyMap<string, ClusterConnection>,
  /** Ids the link's last heartbeat recorded (HeartbeatDocument.clusterIds). */
  cached: Readonly<Record<string, string>> | null | undefined,
  log: Logger
): Promise<OriginIds> {
  const ids = new Map(known)
  const missing = routing.origins.filter(alias => !ids.has(alias))
  const unreachable: string[] = []
  await Promise.all(
    missing.map(async alias => {
      const connection = clusters.get(alias)
      try {
        if (connection === undefined) throw new Error('not a cluster of the config')
        ids.set(alias, await describeId({ ...connection, clientId: `kafka-dr-${link}-origins` }))
      } catch (error) {
        const remembered = cached?.[alias]
        if (remembered !== undefined && remembered !== '') {
          ids.set(alias, remembered)
          log.warn(
            { cluster: alias, clusterId: remembered, err: describeCause(error) },
            'origin cluster not reachable: its cluster id from the last run is used to route its records'
          )
        } else {
          unreachable.push(`${alias} (${describeCause(error)})`)
        }
      }
    })
  )
  if (unreachable.length > 0) {
    throw new KdrError(
      'KDR_ERR_KAFKA_CONNECT',
      `link ${link}: to decide which copied records it copies to ${target.alias} (routes over more than two clusters) it needs the cluster id of ${unreachable.join(', ')}, which did not answer and has no id remembered from an earlier run; the link waits (retried with backoff) until the cluster answers once`,
      { cluster: unreachable.map(u => u.split(' ')[0]).join(', ') }
    )
  }
  const forwards = new Set(routing.forwards)
  const filter = new OriginFilter({
    targetId: target.id,
    forwardIds: routing.forwards.map(alias => ids.get(alias)!),
    otherRouteIds: routing.origins.filter(alias => !forwards.has(alias)).map(alias => ids.get(alias)!),
    hopLimit: routing.hopLimit
  })
  if (routing.origins.length > 1)
    log.info(
      { copies: routing.forwards, deliveredByOtherLinks: routing.origins.filter(o => !forwards.has(o)) },
      'routes: records of these origins are copied by this link; the others reach the target over other links'
    )
  return { ids, filter }
}

/**
 * The link's origin rules from the cluster ids its last heartbeat recorded, without asking any
 * cluster: failover, translate and failback run while clusters (the source above all) may be down.
 * Null when the link copies no origin but its source (two clusters: the hop-1 rule of
 * core/copy-owner.ts tells its copies apart) or when an id is not recorded (then too).
 */
export function storedOrigins(
  routing: LinkRouting,
  target: string,
  cached: Readonly<Record<string, string>> | null | undefined
): OriginFilter | null {
  if (routing.origins.every(alias => routing.forwards.includes(alias)) && routing.forwards.length <= 1) return null
  if (cached == null) return null
  const idOf = (alias: string): string | null => {
    const id = cached[alias]
    return id !== undefined && id !== '' ? id : null
  }
  const targetId = idOf(target)
  const forwards = new Set(routing.forwards)
  const forwardIds = routing.forwards.map(idOf)
  const otherRouteIds = routing.origins.filter(alias => !forwards.has(alias)).map(idOf)
  if (targetId === null || forwardIds.includes(null) || otherRouteIds.includes(null)) return null
  return new OriginFilter({
    targetId,
    forwardIds: forwardIds as string[],
    otherRouteIds: otherRouteIds as string[],
    hopLimit: routing.hopLimit
  })
}

async function describeId(connection: ClusterConnection): Promise<string> {
  const admin = new KafkaAdmin(connection)
  let timer: NodeJS.Timeout | undefined
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${DESCRIBE_TIMEOUT_MS} ms`)), DESCRIBE_TIMEOUT_MS)
    })
    return (await Promise.race([admin.describeCluster(), timeout])).clusterId
  } finally {
    clearTimeout(timer)
    await admin.close().catch(() => {})
  }
}
