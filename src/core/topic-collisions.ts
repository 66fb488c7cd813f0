import { type NamingPolicy, TopicNaming } from './naming.ts'
import { TopicFilter, isLiteralEntry } from './topic-filter.ts'

/**
 * Two links of one config that would write the same target topic. Within one link every naming
 * policy is injective (core/naming.ts: a template must contain {topic}), so a collision always
 * involves two links into the same target cluster.
 *
 * The one sharing that is allowed: two links from DIFFERENT sources that both use identity naming.
 * That is the documented multi-origin model (active-active, hub and spokes, full mesh): the same
 * topic name on every cluster, each record copied once by its route (core/routes.ts). Everything
 * else is refused: the same source copied twice by two links (every record twice), or two namings
 * that give one name to topics with different meanings (`dc1.orders` from a prefix link and the
 * `dc1.orders` of another cluster through identity), whose config syncs would also fight.
 *
 * What can be checked without the clusters: a literal include entry has one target name, and the
 * inverse of the other link's naming gives the one source name that would land there; whether the
 * other link selects that name is exact whatever its filter (literal or regular expression). Two
 * links that both select by regular expression cannot be checked statically when their naming can
 * produce the same names (`unchecked`); `kafka-dr drift` checks them against the topics that exist.
 */

export interface CollisionLink {
  name: string
  source: string
  target: string
  topics: { include: readonly string[]; exclude: readonly string[] }
  naming: NamingPolicy
}

export interface TopicCollision {
  targetCluster: string
  targetTopic: string
  /** The link whose literal include entry names the topic. */
  first: { link: number; topic: string; entry: number }
  /** The link that selects the topic that lands on the same name: entry is its include entry that matches. */
  second: { link: number; topic: string; entry: number }
}

export interface UncheckedPair {
  first: number
  second: number
  targetCluster: string
}

/** True when two links may write the same target topic by design (see the module comment). */
export function mayShareTargets(a: CollisionLink, b: CollisionLink): boolean {
  return a.naming.kind === 'identity' && b.naming.kind === 'identity' && a.source !== b.source
}

/** The collisions the config alone proves, and the pairs it cannot check. Indices are into `links`. */
export function staticTopicCollisions(links: readonly CollisionLink[]): {
  collisions: TopicCollision[]
  unchecked: UncheckedPair[]
} {
  const collisions: TopicCollision[] = []
  const unchecked: UncheckedPair[] = []
  const views = links.map(view)
  for (let i = 0; i < links.length; i++) {
    for (let j = i + 1; j < links.length; j++) {
      const a = links[i]!
      const b = links[j]!
      if (a.target !== b.target || mayShareTargets(a, b)) continue
      const found = new Set<string>()
      for (const [x, y] of [
        [i, j],
        [j, i]
      ] as const) {
        for (const hit of literalHits(views[x]!, views[y]!)) {
          if (found.has(hit.targetTopic)) continue
          found.add(hit.targetTopic)
          collisions.push({
            targetCluster: a.target,
            targetTopic: hit.targetTopic,
            first: { link: x, topic: hit.first, entry: hit.firstEntry },
            second: { link: y, topic: hit.second, entry: hit.secondEntry }
          })
        }
      }
      if (hasPatterns(a) && hasPatterns(b) && imagesMayOverlap(views[i]!, views[j]!)) {
        unchecked.push({ first: i, second: j, targetCluster: a.target })
      }
    }
  }
  return { collisions, unchecked }
}

/** The link's filter and naming, as the topic sync applies them. */
interface LinkView {
  link: CollisionLink
  filter: TopicFilter
  naming: TopicNaming
}

function view(link: CollisionLink): LinkView {
  return {
    link,
    filter: new TopicFilter(link.topics.include, link.topics.exclude),
    naming: new TopicNaming(link.naming, link.source)
  }
}

/** Would the link replicate `topic` (if it exists on its source)? Mirrors sync/topic-sync.ts. */
export function selects(link: CollisionLink, topic: string): boolean {
  const v = view(link)
  return selectedBy(v, topic)
}

function selectedBy(v: LinkView, topic: string): boolean {
  return v.filter.matches(topic) && !v.naming.cameFrom(topic, v.link.target)
}

function literalHits(
  x: LinkView,
  y: LinkView
): { targetTopic: string; first: string; firstEntry: number; second: string; secondEntry: number }[] {
  const hits = []
  for (const [firstEntry, topic] of x.link.topics.include.entries()) {
    if (!isLiteralEntry(topic) || !selectedBy(x, topic)) continue
    const targetTopic = x.naming.targetTopic(topic)
    const second = y.naming.sourceTopic(targetTopic)
    if (second === null || !selectedBy(y, second)) continue
    const secondEntry = y.link.topics.include.findIndex(entry => new TopicFilter([entry]).matches(second))
    hits.push({ targetTopic, first: topic, firstEntry, second, secondEntry })
  }
  return hits
}

function hasPatterns(link: CollisionLink): boolean {
  return link.topics.include.some(entry => !isLiteralEntry(entry))
}

/**
 * Whether the two namings can produce one name at all: each name a policy produces starts with a fixed
 * head and ends with a fixed tail (the literal text around {topic}); when neither head is a start of
 * the other, or neither tail an end of the other, no name is produced by both. Conservative: true
 * when unsure.
 */
function imagesMayOverlap(a: LinkView, b: LinkView): boolean {
  const [headA, tailA] = frame(a.link)
  const [headB, tailB] = frame(b.link)
  const heads = headA.startsWith(headB) || headB.startsWith(headA)
  const tails = tailA.endsWith(tailB) || tailB.endsWith(tailA)
  return heads && tails
}

function frame(link: CollisionLink): [string, string] {
  const policy = link.naming
  if (policy.kind === 'identity') return ['', '']
  if (policy.kind === 'prefix') return [`${link.source}${policy.separator}`, '']
  const rendered = policy.template.replaceAll('{source}', link.source)
  const first = rendered.indexOf('{topic}')
  const last = rendered.lastIndexOf('{topic}')
  return [rendered.slice(0, first), rendered.slice(last + '{topic}'.length)]
}

/**
 * Collisions among the topics that exist (drift report): per link, the source topics it selects now;
 * every target name two links write, except pairs that may share targets. Keys: `cluster\0topic`.
 */
export function liveTopicCollisions(
  links: readonly (CollisionLink & { selected: readonly string[] })[]
): { targetCluster: string; targetTopic: string; writers: { link: string; topic: string }[] }[] {
  const byTarget = new Map<string, { link: CollisionLink; topic: string }[]>()
  for (const link of links) {
    const naming = new TopicNaming(link.naming, link.source)
    for (const topic of link.selected) {
      const key = `${link.target}\u0000${naming.targetTopic(topic)}`
      const writers = byTarget.get(key) ?? []
      writers.push({ link, topic })
      byTarget.set(key, writers)
    }
  }
  const result = []
  for (const [key, writers] of byTarget) {
    if (writers.length < 2) continue
    const clash = writers.some((w, i) => writers.slice(i + 1).some(v => !mayShareTargets(w.link, v.link)))
    if (!clash) continue
    const [targetCluster, targetTopic] = key.split('\u0000') as [string, string]
    result.push({ targetCluster, targetTopic, writers: writers.map(w => ({ link: w.link.name, topic: w.topic })) })
  }
  return result
}
