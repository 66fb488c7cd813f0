import { type KafkaDrConfig, type LinkConfig } from '../config/index.ts'
import { runEvery } from '../engine/periodic.ts'
import { describeCause } from '../errors.ts'
import { type DrillReport, drillLink } from '../failover/drill.ts'
import { type Logger } from '../observability/logger.ts'
import { type DrillOutcome } from '../observability/metrics.ts'

/**
 * Scheduled DR drills inside `kafka-dr replicate`: for every link with `drill: { intervalMs, groups }`,
 * a drill of those groups (failover/drill.ts) every intervalMs, next to the engine and independent of
 * it (the engine knows nothing of drills; a drill reads the stored state as `kafka-dr drill` does). A
 * drill commits nothing and joins no group. A failing drill is logged and exported as not exact; it
 * never touches replication. Each drill is bounded (bounded reads and retries), so a stop waits at most
 * for the one in progress. On a scaled-out link only the worker group's leader drills.
 */

export interface DrillSink {
  drillFinished(link: string, group: string, outcome: DrillOutcome): void
}

export interface DrillSchedule {
  stop(): Promise<void>
}

export function startDrillSchedule(
  config: KafkaDrConfig,
  log: Logger,
  sink: DrillSink,
  /** Whether this process leads the link's worker group: only the leader drills. */
  leads: (link: string) => boolean
): DrillSchedule {
  const stopping = new AbortController()
  const loops: Promise<void>[] = []
  for (const link of config.links) {
    const drill = link.drill
    if (drill === null) continue
    log.info(
      { link: link.name, groups: drill.groups, intervalMs: drill.intervalMs, records: drill.records },
      'scheduled DR drills'
    )
    loops.push(
      runEvery(
        stopping.signal,
        drill.intervalMs,
        async () => (leads(link.name) ? drillOnce(config, link, log, sink) : undefined),
        {
          fixedRate: true,
          onError: error => log.warn({ link: link.name, err: describeCause(error) }, 'DR drill failed')
        }
      )
    )
  }
  return {
    stop: async () => {
      stopping.abort()
      await Promise.allSettled(loops)
    }
  }
}

async function drillOnce(config: KafkaDrConfig, link: LinkConfig, log: Logger, sink: DrillSink): Promise<void> {
  const drill = link.drill!
  let report: DrillReport
  try {
    report = await drillLink(config, link.name, drill.groups, { records: drill.records })
  } catch (error) {
    for (const group of drill.groups) {
      sink.drillFinished(link.name, group, { exact: false, rtoSeconds: null, mismatches: 0, at: Date.now() })
    }
    throw error
  }
  for (const g of report.groups) {
    let mismatches = 0
    for (const p of g.partitions) mismatches += p.mismatched.count + p.skipped.count + p.reread.count
    const rtoMs = g.rto.firstTargetRecordMs ?? g.rto.translateMs
    sink.drillFinished(link.name, g.group, { exact: g.exact, rtoSeconds: rtoMs / 1000, mismatches, at: Date.now() })
    const fields = { link: link.name, group: g.group, rto: g.rto, mismatches, error: g.error }
    if (g.exact) log.info(fields, 'DR drill: the group would resume exactly on the target')
    else {
      const failed = g.partitions.filter(p => !p.exact).map(p => `${p.topic}/${p.partition}`)
      log.warn({ ...fields, partitions: failed }, 'DR drill: the group would NOT resume exactly on the target')
    }
  }
}
