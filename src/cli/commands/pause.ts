import { loadConfig } from '../../config/index.ts'
import { describePause } from '../../core/pauses.ts'
import { operatorName } from '../../failover/audit.ts'
import { type PauseResult, pause, resume } from '../../failover/pause.ts'

/** `kafka-dr pause` and `resume`: declared in the link's state; running replicators obey within a commit interval. */

export interface PauseCommandOptions {
  config: string
  link: string
  topics?: string
  reason?: string
  auditFile?: string
  json?: boolean
}

export async function pauseCommand(options: PauseCommandOptions): Promise<number> {
  return print('pause', await pause(loadConfig(options.config), request(options)), options.json === true)
}

export async function resumeCommand(options: PauseCommandOptions): Promise<number> {
  return print('resume', await resume(loadConfig(options.config), request(options)), options.json === true)
}

function request(options: PauseCommandOptions): Parameters<typeof pause>[1] {
  return {
    link: options.link,
    topics:
      options.topics === undefined
        ? null
        : options.topics
            .split(',')
            .map(t => t.trim())
            .filter(t => t !== ''),
    reason: options.reason ?? null,
    by: operatorName(),
    auditFile: options.auditFile ?? null
  }
}

function print(operation: 'pause' | 'resume', result: PauseResult, json: boolean): number {
  if (json) {
    console.log(JSON.stringify(result, null, 2))
    return 0
  }
  const name = (scope: string): string => (scope === '*' ? 'the whole link' : scope)
  const done = operation === 'pause' ? 'paused' : 'resumed'
  if (result.changed.length > 0) console.log(`link ${result.link}: ${done} ${result.changed.map(name).join(', ')}`)
  if (result.unchanged.length > 0) {
    const already = operation === 'pause' ? 'already paused' : 'not paused'
    console.log(`link ${result.link}: ${already}: ${result.unchanged.map(name).join(', ')}`)
  }
  if (result.pauses.length === 0) console.log(`link ${result.link}: nothing paused; replicators copy every topic`)
  for (const p of result.pauses) console.log(`  ${name(p.scope)}: ${describePause(p, p.scope)}`)
  if (result.changed.length > 0)
    console.log('running replicators of the link follow within one commit interval (commitIntervalMs)')
  return 0
}
