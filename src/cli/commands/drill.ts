import { loadConfig } from '../../config/index.ts'
import { type DrillClass } from '../../core/drill-compare.ts'
import { KdrError } from '../../errors.ts'
import {
  DEFAULT_DRILL_RECORDS,
  type DrillPartitionReport,
  type DrillReport,
  MAX_DRILL_RECORDS,
  drillLink
} from '../../failover/drill.ts'

/**
 * `kafka-dr drill --config F --link L --groups G1,G2 [--records N] [--json]`: rehearses the failover of
 * the groups without changing anything (failover/drill.ts). Exit 0 only when every group would resume
 * exactly on the target; 1 otherwise. A bad option is a usage error (exit 2) before any cluster is contacted.
 */
export interface DrillCommandOptions {
  config: string
  link: string
  groups: string
  records?: string
  json?: boolean
}

export async function drillCommand(options: DrillCommandOptions): Promise<number> {
  const { groups, records } = parseDrillOptions(options)
  const config = loadConfig(options.config)
  const report = await drillLink(config, options.link, groups, { records })
  if (options.json === true) console.log(JSON.stringify(report, null, 2))
  else printDrill(report)
  return report.exact ? 0 : 1
}

/** The command line's values, checked: a bad one is KDR_ERR_CONFIG (exit 2). */
export function parseDrillOptions(options: DrillCommandOptions): { groups: string[]; records: number } {
  const groups = [
    ...new Set(
      options.groups
        .split(',')
        .map(g => g.trim())
        .filter(g => g !== '')
    )
  ]
  if (groups.length === 0)
    throw new KdrError('KDR_ERR_CONFIG', `--groups: expected comma-separated group ids, got "${options.groups}"`)
  let records = DEFAULT_DRILL_RECORDS
  if (options.records !== undefined) {
    const text = options.records.trim()
    records = /^\d+$/.test(text) ? Number(text) : NaN
    if (!Number.isSafeInteger(records) || records < 1 || records > MAX_DRILL_RECORDS) {
      throw new KdrError(
        'KDR_ERR_CONFIG',
        `--records: expected a whole number from 1 to ${MAX_DRILL_RECORDS}, got "${options.records}"`
      )
    }
  }
  return { groups, records }
}

const offsets = (c: DrillClass): string => `${c.offsets.join(', ')}${c.count > c.offsets.length ? ', ...' : ''}`

function partitionLine(p: DrillPartitionReport): string {
  const problems: string[] = []
  if (p.error !== null) problems.push(`error: ${p.error}`)
  if (p.mismatched.count > 0)
    problems.push(
      `${p.mismatched.count} mismatched (source offsets ${offsets(p.mismatched)}; target offsets ${p.mismatched.targetOffsets.join(', ')})`
    )
  if (p.skipped.count > 0) problems.push(`${p.skipped.count} skipped (source offsets ${offsets(p.skipped)})`)
  if (p.reread.count > 0)
    problems.push(
      `${p.reread.count} re-read (copies of source offsets ${offsets(p.reread)} at target offsets ${p.reread.targetOffsets.join(', ')})`
    )
  const notes: string[] = []
  if (p.notReplicated.count > 0)
    notes.push(`${p.notReplicated.count} not replicated yet, from source offset ${p.notReplicated.offsets[0]}`)
  if (p.unchecked > 0) notes.push(`${p.unchecked} not checked (target read bound)`)
  if (p.foreign > 0) notes.push(`${p.foreign} records of other writers`)
  if (p.notCopied > 0) notes.push(`${p.notCopied} source records the link does not copy`)
  if (p.translationNote !== null) notes.push(p.translationNote)
  const at = `source ${p.sourceOffset} -> target ${p.targetOffset ?? '-'}`
  return `  ${p.exact ? 'ok  ' : 'FAIL'} ${p.topic}/${p.partition} -> ${p.targetTopic} (${at}): ${p.matched} matched${problems.length > 0 ? `; ${problems.join('; ')}` : ''}${notes.length > 0 ? ` (${notes.join(', ')})` : ''}`
}

function printDrill(report: DrillReport): void {
  console.log(
    `drill ${report.link} (${report.source} -> ${report.target}), ${report.records} records per partition: ${report.exact ? 'EXACT' : 'NOT EXACT'}`
  )
  if (report.stateNote !== null) console.log(`warning: ${report.stateNote}`)
  for (const g of report.groups) {
    const first = g.rto.firstTargetRecordMs === null ? 'no record to read' : `${g.rto.firstTargetRecordMs} ms`
    console.log(
      `group ${g.group}: ${g.exact ? 'would resume exactly' : 'would NOT resume exactly'}; RTO: translate ${g.rto.translateMs} ms, first target record ${first}, total ${g.rto.totalMs} ms`
    )
    if (g.error !== null) console.log(`  FAIL ${g.error}`)
    for (const p of g.partitions) console.log(partitionLine(p))
  }
}
