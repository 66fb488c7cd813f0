/**
 * Pauses of a link, as stored in its state (state/records.ts `pause` records): an operator stopped the
 * copying of some topics, or of the whole link, until resumed. A pause names who set it, when and why.
 * Kafka topic names never contain `*` (legal characters: letters, digits, `.`, `_`, `-`), so the
 * whole link is the pause of topic `*`.
 */

export const WHOLE_LINK = '*'

export interface Pause {
  /** Who paused: a user@host from the CLI, `http:<address>` from the HTTP API. */
  by: string
  at: number
  reason: string | null
}

/** The pauses in force for a link, by topic (`*`: the whole link). */
export class PauseSet {
  readonly #byTopic = new Map<string, Pause>()

  /** A stored pause record: a pause (set or replaced), or null (resumed). */
  apply(topic: string, pause: Pause | null): void {
    if (pause === null) this.#byTopic.delete(topic)
    else this.#byTopic.set(topic, pause)
  }

  /**
   * The pause that covers `topic` and what it was set on (`*` or the topic): the whole link's first,
   * else the topic's own; null when the topic may be copied.
   */
  covering(topic: string): { scope: string; pause: Pause } | null {
    for (const scope of [WHOLE_LINK, topic]) {
      const pause = this.#byTopic.get(scope)
      if (pause !== undefined) return { scope, pause }
    }
    return null
  }

  get size(): number {
    return this.#byTopic.size
  }

  entries(): IterableIterator<[string, Pause]> {
    return this.#byTopic.entries()
  }
}

/** One line for status and logs: "paused by alice@host at 2026-12-03T10:00:00.000Z: disk work". */
export function describePause(pause: Pause, scope: string): string {
  const what = scope === WHOLE_LINK ? 'link paused' : 'paused'
  const why = pause.reason === null ? '' : `: ${pause.reason}`
  return `${what} by ${pause.by} at ${new Date(pause.at).toISOString()}${why}`
}
