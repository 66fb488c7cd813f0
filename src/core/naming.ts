/**
 * Target topic naming. `identity` keeps names; `prefix` puts the source alias in front
 * ("dc1.orders"); `template` renders "{topic}" and "{source}". Besides naming, a policy answers
 * "did this topic come from cluster X?", which lets a link refuse to copy a topic back to the
 * cluster it was replicated from. Identity names carry no such trace: active-active with identity
 * naming relies on the provenance header instead.
 */

export type NamingPolicy =
  { kind: 'identity' } | { kind: 'prefix'; separator: string } | { kind: 'template'; template: string }

export class TopicNaming {
  readonly policy: NamingPolicy
  readonly #sourceAlias: string

  constructor(policy: NamingPolicy, sourceAlias: string) {
    this.policy = policy
    this.#sourceAlias = sourceAlias
  }

  targetTopic(sourceTopic: string): string {
    return render(this.policy, sourceTopic, this.#sourceAlias)
  }

  /**
   * The inverse of targetTopic: the source topic this policy names `target`, or null when no source
   * name renders to it. Every policy is injective (a template must contain {topic}), so the answer is
   * unique: two source topics of one link never share a target name.
   */
  sourceTopic(target: string): string | null {
    const policy = this.policy
    if (policy.kind === 'identity') return target
    if (policy.kind === 'prefix') {
      const head = `${this.#sourceAlias}${policy.separator}`
      return target.startsWith(head) && target.length > head.length ? target.slice(head.length) : null
    }
    let seen = false
    const body = policy.template
      .split(/(\{topic\}|\{source\})/)
      .map(part => {
        if (part === '{source}') return escape(this.#sourceAlias)
        if (part !== '{topic}') return escape(part)
        if (seen) return '\\1'
        seen = true
        return '(.+)'
      })
      .join('')
    const match = new RegExp(`^${body}$`).exec(target)
    return match?.[1] ?? null
  }

  /**
   * True when `topic` is, by this policy's naming, a replica of some topic of cluster `alias`. With
   * a link A->B, `cameFrom(t, 'B')` on a source topic t means t is B's own data mirrored into A:
   * copying it to B would be a cycle.
   */
  cameFrom(topic: string, alias: string): boolean {
    const policy = this.policy
    if (policy.kind === 'identity') return false
    if (policy.kind === 'prefix')
      return topic.startsWith(`${alias}${policy.separator}`) && topic.length > alias.length + policy.separator.length
    if (!policy.template.includes('{source}')) return false
    return templatePattern(policy.template, alias).test(topic)
  }
}

function render(policy: NamingPolicy, topic: string, source: string): string {
  switch (policy.kind) {
    case 'identity':
      return topic
    case 'prefix':
      return `${source}${policy.separator}${topic}`
    case 'template':
      return policy.template.replaceAll('{source}', source).replaceAll('{topic}', topic)
  }
}

function templatePattern(template: string, alias: string): RegExp {
  const parts = template.split(/(\{topic\}|\{source\})/)
  const body = parts
    .map(part => (part === '{topic}' ? '.+' : part === '{source}' ? escape(alias) : escape(part)))
    .join('')
  return new RegExp(`^${body}$`)
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
