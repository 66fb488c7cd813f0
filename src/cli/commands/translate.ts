import { loadConfig } from '../../config/index.ts'
import { translateGroup } from '../../failover/translate.ts'

/** `kafka-dr translate --config F --link dc1->dc2 --group G [--json]`. */
export async function translate(options: {
  config: string
  link: string
  group: string
  json?: boolean
}): Promise<number> {
  const config = loadConfig(options.config)
  const result = await translateGroup(config, options.link, options.group)
  if (options.json === true) {
    console.log(JSON.stringify(result, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2))
    return 0
  }
  console.log(
    `group ${result.group}, link ${result.link}: ${result.sourceReachable ? 'live from the source' : `source unreachable (${result.sourceError}); from the last checkpoints`}`
  )
  if (result.stateNote !== null) console.log(`warning: ${result.stateNote}`)
  if (result.rows.length === 0) {
    console.log('no committed offsets for topics this link replicates')
    return 0
  }
  const header = ['topic', 'partition', 'source offset', 'target topic', 'target offset', 'exact', 'not replicated']
  const rows = result.rows.map(r => [
    r.topic,
    String(r.partition),
    String(r.sourceOffset),
    r.targetTopic,
    r.targetOffset === null ? '-' : String(r.targetOffset),
    r.exact ? 'yes' : 'no',
    String(r.notReplicated)
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => r[i]!.length)))
  for (const line of [header, ...rows]) console.log(line.map((c, i) => c.padEnd(widths[i]!)).join('  '))
  for (const r of result.rows) if (r.note !== null) console.log(`note: ${r.topic}/${r.partition}: ${r.note}`)
  return 0
}
