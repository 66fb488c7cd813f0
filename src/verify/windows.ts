import { type KafkaDrConfig, type LinkConfig } from '../config/index.ts'
import { type WindowResult, targetReadLimit, windowFor } from '../core/verify-window.ts'
import { partitionKey } from '../state/index.ts'
import { type PartitionReport, checkPartition } from './partition.ts'
import { openVerifySession } from './session.ts'

/**
 * One pass of continuous verification over some partitions of a link: per partition, the newest
 * `records` source records below the link's stored progress (core/verify-window.ts) are compared with
 * their copies on the target by the same check `kafka-dr verify` runs (partition.ts), with every copy
 * counted (re-copies and active-active as verify counts them; records of other writers never fail it).
 *
 * Work per pass is bounded: at most `records` source records per partition, and at most
 * targetReadLimit(records) target records per window. An abort (the replicator stops) closes the
 * clients, so the read under way ends at once; the windows checked by then are returned.
 */

export interface SourcePartition {
  topic: string
  partition: number
}

export async function checkWindows(
  config: KafkaDrConfig,
  link: LinkConfig,
  partitions: readonly SourcePartition[],
  records: number,
  signal: AbortSignal
): Promise<WindowResult[]> {
  const results: WindowResult[] = []
  if (partitions.length === 0) return results
  const session = await openVerifySession(config, link, 'continuous-verify')
  const stop = (): void => void session.close()
  signal.addEventListener('abort', stop, { once: true })
  try {
    const byTopic = new Map<string, number[]>()
    for (const p of partitions) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition])
    const described = await session.sourceAdmin.describeTopics([...byTopic.keys()].sort())
    const targetPartitions = new Map<string, number>()
    const targets = await session.targetAdmin.describeTopics(described.map(d => session.naming.targetTopic(d.name)))
    for (const t of targets) targetPartitions.set(t.name, t.partitions.length)
    for (const topic of described) {
      const owned = (byTopic.get(topic.name) ?? []).filter(p => p < topic.partitions.length).sort((a, b) => a - b)
      const [earliest, end] = await Promise.all([
        session.sourceAdmin.listOffsets(topic.name, owned, 'earliest'),
        session.sourceAdmin.listOffsets(topic.name, owned, 'latest')
      ])
      for (const partition of owned) {
        if (signal.aborted) return results
        const logStart = earliest.get(partition) ?? 0n
        const stored = session.state.partitions.get(partitionKey(topic.name, partition))
        const segments = stored?.copies.segments ?? []
        const window = windowFor({
          replicatedNext: stored?.progress?.next ?? null,
          firstCopied: segments.reduce<bigint | null>(
            (min, g) => (min === null || g.sourceStart < min ? g.sourceStart : min),
            null
          ),
          logStart,
          end: end.get(partition) ?? 0n,
          records
        })
        if (window === null) continue
        const report = await checkPartition(
          session,
          { topic: topic.name, topicId: topic.topicId, partition, logStart, ...window },
          {
            rangeSize: records,
            strict: false,
            targetPartitions: targetPartitions.get(session.naming.targetTopic(topic.name)) ?? 0,
            targetReadLimit: targetReadLimit(records)
          }
        )
        results.push(windowResult(report))
      }
    }
    return results
  } finally {
    signal.removeEventListener('abort', stop)
    await session.close()
  }
}

/** A partition report as a window's findings. */
export function windowResult(r: PartitionReport): WindowResult {
  return {
    topic: r.topic,
    partition: r.partition,
    from: r.sourceRange.from,
    to: r.sourceRange.to,
    matched: r.matched,
    missing: r.missing.count,
    altered: r.altered.count,
    failed: !r.ok,
    error: r.error
  }
}
