import { execFileSync, spawnSync } from 'node:child_process'
import { cpus, release, totalmem } from 'node:os'
import { javaBinary, kafkaVersion, repoRoot } from '../../tools/harness/paths.ts'
import { version } from '../../src/version.ts'

/** What the report says about where it was measured. */
export interface Machine {
  cpu: string
  cores: number
  memoryGiB: number
  kernel: string
  node: string
  java: string
  kafka: string
  kafkaDr: string
  commit: string
  kcat: string
  /** Where the brokers' logs live during the run (set by the bench). */
  brokerData?: string
}

function firstLine(command: string, args: string[]): string {
  try {
    const out = execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    return out.split('\n')[0]?.trim() ?? '?'
  } catch {
    return '?'
  }
}

export function machineDescription(): Machine {
  // `java -version` writes to stderr.
  const java = spawnSync(javaBinary(), ['-version'], { encoding: 'utf8' }).stderr
  let commit = firstLine('git', ['-C', repoRoot, 'rev-parse', '--short', 'HEAD'])
  try {
    const dirty = execFileSync('git', ['-C', repoRoot, 'status', '--porcelain', '--untracked-files=no'], {
      encoding: 'utf8'
    })
    if (dirty.trim() !== '') commit += ' (with uncommitted changes)'
  } catch {
    // not a git checkout
  }
  return {
    cpu: `${cpus().length} x ${cpus()[0]?.model ?? '?'}`,
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 1024 ** 3),
    kernel: `Linux ${release()}`,
    node: process.versions.node,
    java: java.split('\n')[0]?.trim() ?? '?',
    kafka: kafkaVersion(),
    kafkaDr: version,
    commit,
    kcat: /Version (\S+)/.exec(spawnSync('kcat', ['-V'], { encoding: 'utf8' }).stdout)?.[1] ?? '?'
  }
}
