/**
 * Routes of records over the links of one config (pure logic; aliases only).
 *
 * With identical topic names a cluster holds its own records and the copies it received, and each
 * of its outgoing links reads both. So that a record lands exactly once in every cluster it can
 * reach, and never cycles, every (origin O, target Y) pair gets ONE route O -> ... -> Y, and only the
 * last link of that route copies O's records into Y:
 *
 *   link X -> Y copies a record whose origin is O  iff  X is the predecessor of Y on route(O, Y).
 *
 * Routes are shortest paths over the links; among equally short paths the one whose sequence of
 * aliases is smallest (compared alias by alias from the origin) wins. Computed as one breadth-first
 * tree per origin with every cluster's outgoing neighbours visited in alias order, so the routes of
 * an origin form a tree: the prefix of a route is itself the route to that cluster, and a direct
 * link is always the route (it is the only path of length 1).
 *
 * Invariants the copier relies on: for each origin O and each cluster Y reachable from O exactly one
 * predecessor exists; a record of O arriving at X over route(O, X) has made dist(O, X) hops, so a
 * forwarded record never has more than (clusters - 1) hops.
 */

export interface RouteLink {
  source: string
  target: string
}

/** What one link copies of records that were copied before (see linkRouting). */
export interface LinkRouting {
  /** Aliases of the origins whose records this link copies: its source, then those routed over it. */
  forwards: string[]
  /** Aliases of every origin with a route to the target (forwards included): the others arrive over other links. */
  origins: string[]
  /** A record whose header already counts this many hops (the config's clusters) is not copied again. */
  hopLimit: number
}

export interface Route {
  origin: string
  target: string
  /** Aliases from the origin to the target, both included. */
  path: readonly string[]
}

export class RoutePlan {
  /** Every cluster alias of the config, sorted. */
  readonly clusters: readonly string[]
  /** origin -> (cluster -> predecessor on the route from origin); the origin itself has none. */
  readonly #parents: ReadonlyMap<string, ReadonlyMap<string, string>>

  private constructor(clusters: readonly string[], parents: ReadonlyMap<string, ReadonlyMap<string, string>>) {
    this.clusters = clusters
    this.#parents = parents
  }

  /** Plans routes over `links`; clusters named only by links are included. */
  static of(clusters: Iterable<string>, links: readonly RouteLink[]): RoutePlan {
    const all = new Set(clusters)
    const next = new Map<string, Set<string>>()
    for (const link of links) {
      all.add(link.source)
      all.add(link.target)
      if (link.source === link.target) continue
      let out = next.get(link.source)
      if (out === undefined) next.set(link.source, (out = new Set()))
      out.add(link.target)
    }
    const sorted = [...all].sort(compareAliases)
    const neighbours = new Map<string, string[]>()
    for (const [source, targets] of next) neighbours.set(source, [...targets].sort(compareAliases))
    const parents = new Map<string, Map<string, string>>()
    for (const origin of sorted) {
      const parent = new Map<string, string>()
      const seen = new Set([origin])
      // Breadth-first in alias order: the first predecessor found is on the smallest shortest path.
      let level = [origin]
      while (level.length > 0) {
        const following: string[] = []
        for (const at of level) {
          for (const to of neighbours.get(at) ?? []) {
            if (seen.has(to)) continue
            seen.add(to)
            parent.set(to, at)
            following.push(to)
          }
        }
        level = following
      }
      parents.set(origin, parent)
    }
    return new RoutePlan(sorted, parents)
  }

  /** The route of origin's records to target (aliases, both ends included), or null when none exists. */
  route(origin: string, target: string): string[] | null {
    const parent = this.#parents.get(origin)
    if (parent === undefined || origin === target || !parent.has(target)) return null
    const path = [target]
    for (let at = target; at !== origin;) {
      at = parent.get(at)!
      path.push(at)
    }
    return path.reverse()
  }

  /** The cluster that copies origin's records into target (the predecessor on the route), or null. */
  predecessor(origin: string, target: string): string | null {
    return this.#parents.get(origin)?.get(target) ?? null
  }

  /**
   * Origins whose records the link source -> target copies: its source's own records and those of
   * every origin whose route to the target ends with this link. Sorted, source first.
   */
  forwardedBy(source: string, target: string): string[] {
    if (this.predecessor(source, target) !== source) return []
    return [source, ...this.clusters.filter(o => o !== source && this.predecessor(o, target) === source)]
  }

  /** Every cluster with a route to target: the origins whose records reach it over this config's links. */
  originsOf(target: string): string[] {
    return this.clusters.filter(o => this.predecessor(o, target) !== null)
  }

  /** The routing of the link source -> target. */
  linkRouting(source: string, target: string): LinkRouting {
    return {
      forwards: this.forwardedBy(source, target),
      origins: this.originsOf(target),
      hopLimit: this.clusters.length
    }
  }

  /** Routes of more than one link, in origin then target order. */
  multiHop(): Route[] {
    const routes: Route[] = []
    for (const origin of this.clusters) {
      for (const target of this.clusters) {
        const path = this.route(origin, target)
        if (path !== null && path.length > 2) routes.push({ origin, target, path })
      }
    }
    return routes
  }
}

/** Code-unit order: deterministic and independent of the locale. */
function compareAliases(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
