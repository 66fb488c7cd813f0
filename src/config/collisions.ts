import { staticTopicCollisions } from '../core/topic-collisions.ts'
import { type LinkConfig } from './load.ts'

/**
 * Target-topic collisions between the links of one config (core/topic-collisions.ts), as config
 * issues naming both links, both source topics and the keys, and warnings for the pairs the config
 * alone cannot check. Paths are indices into `links`, which must be the config's links in order.
 */
export function collisionFindings(links: readonly LinkConfig[]): {
  issues: { path: (string | number)[]; message: string }[]
  warnings: { path: (string | number)[]; message: string }[]
} {
  const { collisions, unchecked } = staticTopicCollisions(links)
  const issues = collisions.map(c => {
    const first = links[c.first.link]!
    const second = links[c.second.link]!
    const entry = c.second.entry
    const why =
      first.source === second.source && c.first.topic === c.second.topic
        ? `: both copy ${first.source}'s topic "${c.first.topic}", so every record would be written twice`
        : ''
    return {
      path:
        entry === -1
          ? ['links', c.second.link, 'topics', 'include']
          : ['links', c.second.link, 'topics', 'include', entry],
      message: `link ${second.name} would write topic "${c.targetTopic}" on ${c.targetCluster} (from its source topic "${c.second.topic}", naming ${describeNaming(second)}), which link ${first.name} writes too (from source topic "${c.first.topic}", links[${c.first.link}].topics.include[${c.first.entry}], naming ${describeNaming(first)})${why}: two links must not write one target topic; exclude the topic from one of them (topics.exclude) or change its naming`
    }
  })
  const warnings = unchecked.map(pair => {
    const first = links[pair.first]!
    const second = links[pair.second]!
    return {
      path: ['links', pair.second],
      message: `(${second.name}) and links[${pair.first}] (${first.name}) both write into ${pair.targetCluster}, select topics by regular expression and name them so that one target name may come from both: validate cannot check which topics exist; run kafka-dr drift to check the live topics`
    }
  })
  return { issues, warnings }
}

function describeNaming(link: LinkConfig): string {
  const naming = link.naming
  if (naming.kind === 'identity') return 'identity'
  if (naming.kind === 'prefix') return `prefix "${link.source}${naming.separator}"`
  return `template "${naming.template}"`
}
