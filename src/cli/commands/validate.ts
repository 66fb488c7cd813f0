import { loadConfig, redactedConfig } from '../../config/index.ts'

/** `kafka-dr validate --config F`: checks the config without connecting; prints the resolved view. */
export function validate(options: { config: string; print?: boolean }): number {
  const config = loadConfig(options.config)
  for (const warning of config.warnings) console.error(`warning: ${warning}`)
  if (options.print === true) console.log(JSON.stringify(redactedConfig(config), null, 2))
  console.log(
    `config OK: ${config.clusters.size} clusters, ${config.links.length} links (${config.links.map(l => l.name).join(', ')})`
  )
  return 0
}
