import { loadConfig, redactedConfig } from '../../config/index.ts'
import { RoutePlan } from '../../core/routes.ts'
import { shardTransactionalIds } from '../../core/transactional-ids.ts'

/** `kafka-dr validate --config F`: checks the config without connecting; prints the resolved view. */
export function validate(options: { config: string; print?: boolean }): number {
  const config = loadConfig(options.config)
  for (const warning of config.warnings) console.error(`warning: ${warning}`)
  if (options.print === true) console.log(JSON.stringify(redactedConfig(config), null, 2))
  console.log(
    `config OK: ${config.clusters.size} clusters, ${config.links.length} links (${config.links.map(l => l.name).join(', ')})`
  )
  for (const line of describeRoutes(config.clusters.keys(), config.links)) console.log(line)
  for (const link of config.links) {
    if (link.delivery !== 'exactly-once') continue
    console.log(
      `link ${link.name}: exactly-once (transactional ids ${shardTransactionalIds(link.name).join(' and ')}, taking turns; commit every ${link.commitIntervalMs} ms): consumers of ${link.target} see each record once only with isolation.level=read_committed (the Java consumer's default is read_uncommitted); records become visible when their transaction commits, and each commit's marker takes one offset per partition`
    )
  }
  return 0
}

/**
 * The routes of a topology where some records travel over more than one link (docs/replication.md,
 * "Topologies"): which link copies which origin's records into each cluster. Nothing for topologies
 * where every route is one link (a pair, active-active between two clusters, hub to spokes only).
 */
export function describeRoutes(
  clusters: Iterable<string>,
  links: readonly { name: string; source: string; target: string }[]
): string[] {
  const plan = RoutePlan.of(clusters, links)
  const multiHop = plan.multiHop()
  if (multiHop.length === 0) return []
  const lines = [
    'routes: each record reaches each cluster over one route; the last link of the route copies it, every other link into that cluster skips it:'
  ]
  for (const route of multiHop) {
    const last = links.filter(l => l.source === route.path.at(-2) && l.target === route.target).map(l => l.name)
    lines.push(`  ${route.origin} -> ${route.target}: ${route.path.join(' -> ')} (copied by ${last.join(', ')})`)
  }
  const unreachable: string[] = []
  for (const origin of plan.clusters) {
    for (const target of plan.clusters) {
      if (origin !== target && plan.route(origin, target) === null) unreachable.push(`${origin} -> ${target}`)
    }
  }
  if (unreachable.length > 0) lines.push(`  no route (records never reach): ${unreachable.join(', ')}`)
  return lines
}
