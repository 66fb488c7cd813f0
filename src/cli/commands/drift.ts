import { loadConfig } from '../../config/index.ts'
import { type DriftAction } from '../../core/drift.ts'
import { driftReport } from '../../verify/drift.ts'

/**
 * `kafka-dr drift --config F [--link L] [--json]`: per replicated topic, what differs between source
 * and target and what the link does about it. Exit 0 when nothing differs or the links fix all of it
 * themselves, 1 on drift a link cannot fix (verify/drift.ts, core/drift.ts).
 */
export async function driftCommand(options: { config: string; link?: string; json?: boolean }): Promise<number> {
  const report = await driftReport(loadConfig(options.config), options.link)
  if (options.json === true) {
    console.log(JSON.stringify(report, null, 2))
    return report.exitCode
  }
  for (const link of report.links) {
    const cannot = link.findings.filter(f => f.action === 'cannot-fix').length
    const summary =
      link.findings.length === 0 ? 'no drift' : `${link.findings.length} findings, ${cannot} the link cannot fix`
    console.log(`link ${link.link} (${link.source} -> ${link.target}): ${link.topics} topics checked, ${summary}`)
    for (const note of link.notes) console.log(`  note: ${note}`)
    for (const f of link.findings) console.log(`  ${label[f.action]} ${f.kind}: ${f.message}`)
  }
  return report.exitCode
}

const label: Record<DriftAction, string> = {
  'link-fixes': '[link fixes]',
  'left-alone': '[left alone]',
  'cannot-fix': '[CANNOT FIX]'
}
