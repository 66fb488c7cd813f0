/**
 * Which source topics a link replicates. An entry made only of legal topic-name characters is a
 * literal name (so "my.topic" does not also match "myXtopic"); any other entry is a regular
 * expression over the whole name. Internal topics are never selected, whatever the patterns say.
 */

const LITERAL = /^[A-Za-z0-9._-]+$/

/**
 * Never replicated: Kafka's own topics (`__consumer_offsets`, `__transaction_state`, ...), kafka-dr's
 * state topics (`__kdr_*`), Schema Registry and Confluent internals, MirrorMaker 2's and Connect's
 * bookkeeping topics. Schema replication has its own path and does not copy `_schemas`.
 */
const INTERNAL = [
  /^__/,
  /^_schemas$/,
  /^_confluent/,
  /^mm2-(offsets|configs|status)\./,
  /\.(checkpoints|heartbeats)\.internal$/,
  /^mm2-offset-syncs\..*\.internal$/,
  /^connect-(offsets|configs|status)$/
]

export function isInternalTopic(topic: string): boolean {
  return INTERNAL.some(re => re.test(topic))
}

export function isLiteralEntry(entry: string): boolean {
  return LITERAL.test(entry)
}

/** Groups never translated: Kafka-internal ones and kafka-dr's own clients. */
export function isInternalGroup(group: string): boolean {
  return group.startsWith('__') || group.startsWith('kafka-dr')
}

export class TopicFilter {
  readonly #isInternal: (name: string) => boolean
  readonly #includeLiterals = new Set<string>()
  readonly #includePatterns: RegExp[] = []
  readonly #excludeLiterals = new Set<string>()
  readonly #excludePatterns: RegExp[] = []

  /** `isInternal` names that never match; the default is for topics (use isInternalGroup for groups). */
  constructor(
    include: readonly string[],
    exclude: readonly string[] = [],
    isInternal: (name: string) => boolean = isInternalTopic
  ) {
    this.#isInternal = isInternal
    for (const entry of include) add(entry, this.#includeLiterals, this.#includePatterns)
    for (const entry of exclude) add(entry, this.#excludeLiterals, this.#excludePatterns)
  }

  matches(topic: string): boolean {
    if (this.#isInternal(topic)) return false
    if (this.#excludeLiterals.has(topic) || this.#excludePatterns.some(re => re.test(topic))) return false
    return this.#includeLiterals.has(topic) || this.#includePatterns.some(re => re.test(topic))
  }

  /** Literal include entries: topics the operator named, which should exist on the source. */
  get literalIncludes(): string[] {
    return [...this.#includeLiterals]
  }
}

function add(entry: string, literals: Set<string>, patterns: RegExp[]): void {
  if (isLiteralEntry(entry)) literals.add(entry)
  else patterns.push(new RegExp(`^(?:${entry})$`))
}
