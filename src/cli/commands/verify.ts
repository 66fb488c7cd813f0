import { loadConfig } from '../../config/index.ts'
import { type VerifyReport, verifyLink } from '../../verify/verify.ts'

/**
 * `kafka-dr verify --config F --link dc1->dc2 [--topics a,b] [--from-time T] [--json]`: exit 0 only
 * when every checked partition's replicated range matches the source; progress goes to stderr.
 */
export interface VerifyCommandOptions {
  config: string
  link: string
  topics?: string
  fromTime?: string
  rangeSize?: string
  json?: boolean
  quiet?: boolean
}

export async function verifyCommand(options: VerifyCommandOptions): Promise<number> {
  const config = loadConfig(options.config)
  const fromTime = options.fromTime === undefined ? undefined : parseTime(options.fromTime)
  let lastProgress = 0
  const report = await verifyLink(config, options.link, {
    ...(options.topics === undefined ? {} : { topics: options.topics.split(',').map(t => t.trim()) }),
    ...(fromTime === undefined ? {} : { fromTime }),
    ...(options.rangeSize === undefined ? {} : { rangeSize: Number(options.rangeSize) }),
    onProgress: p => {
      if (options.quiet === true || Date.now() - lastProgress < 1000) return
      lastProgress = Date.now()
      const share = p.total === 0 ? 100 : (p.checked / p.total) * 100
      process.stderr.write(
        `verify: ${p.checked} of ${p.total} source records checked (${share.toFixed(0)} %), at ${p.topic}/${p.partition}\n`
      )
    }
  })
  if (options.json === true) console.log(JSON.stringify(report, null, 2))
  else printReport(report)
  return report.ok ? 0 : 1
}

/** An ISO date-time or milliseconds since the epoch. */
function parseTime(text: string): number {
  const value = /^\d+$/.test(text) ? Number(text) : Date.parse(text)
  if (!Number.isFinite(value))
    throw new Error(`--from-time: expected an ISO date-time or epoch milliseconds, got "${text}"`)
  return value
}

function printReport(report: VerifyReport): void {
  console.log(`verify ${report.link} (${report.source} -> ${report.target}): ${report.ok ? 'OK' : 'MISMATCH'}`)
  for (const p of report.partitions) {
    const problems: string[] = []
    if (p.error !== null) problems.push(`error: ${p.error}`)
    if (p.lostOnSource !== null)
      problems.push(
        `${p.lostOnSource.count} lost: source offsets ${p.lostOnSource.from}..${p.lostOnSource.to - 1} were deleted on the source before they were replicated`
      )
    if (p.missing.count > 0)
      problems.push(
        `${p.missing.count} missing (${p.missing.ranges.map(r => (r.to - r.from === 1 ? `${r.from}` : `${r.from}..${r.to - 1}`)).join(', ')}${p.missing.ranges.length === 20 ? ', ...' : ''})`
      )
    if (p.altered.count > 0) problems.push(`${p.altered.count} altered (offsets ${p.altered.offsets.join(', ')})`)
    if (p.reordered.count > 0)
      problems.push(`${p.reordered.count} reordered (offsets ${p.reordered.offsets.join(', ')})`)
    const notes: string[] = []
    if (p.duplicates.count > 0) notes.push(`${p.duplicates.count} duplicates`)
    if (p.notReplicated.count > 0)
      notes.push(`${p.notReplicated.count} not replicated yet (from ${p.notReplicated.from})`)
    if (p.expiredOnTarget > 0) notes.push(`${p.expiredOnTarget} expired on the target`)
    if (p.goneFromSource > 0) notes.push(`${p.goneFromSource} copies of records the source no longer has`)
    if (p.foreign > 0) notes.push(`${p.foreign} records from other writers`)
    for (const g of p.recordedGaps) notes.push(`recorded gap ${g.from}..${g.to - 1} (${g.reason})`)
    console.log(
      `  ${p.ok ? 'ok  ' : 'FAIL'} ${p.topic}/${p.partition} -> ${p.targetTopic}: source ${p.sourceRange.from}..${p.sourceRange.to}, ${p.matched} matched${problems.length > 0 ? `; ${problems.join('; ')}` : ''}${notes.length > 0 ? ` (${notes.join(', ')})` : ''}`
    )
  }
  const t = report.totals
  console.log(
    `${t.partitions} partitions (${t.failedPartitions} failed): ${t.checked} source records checked, ${t.matched} matched, ${t.missing} missing, ${t.lostOnSource} lost on the source, ${t.altered} altered, ${t.reordered} reordered; ${t.duplicates} duplicates, ${t.notReplicated} not replicated yet`
  )
}
