import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pinAtLeastOnce } from './delivery-pin.ts'
import { once } from 'node:events'
import { promisify } from 'node:util'

/** A `kafka-dr replicate` child process, as an operator runs it. */
export interface ReplicatorProcess {
  child: ChildProcess
  output: () => string
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited: Promise<number | string>
}

export function writeConfig(yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'kafka-dr-test-'))
  const file = join(dir, 'kafka-dr.yaml')
  writeFileSync(file, pinAtLeastOnce(yaml))
  return file
}

export function spawnReplicator(
  configFile: string,
  extraEnv: Record<string, string> = {},
  extraArgs: readonly string[] = []
): ReplicatorProcess {
  // Port 0: replicators of one test (active-active) never compete for the default metrics port.
  const args = ['src/cli/main.ts', 'replicate', '--config', configFile, '--http-listen', '127.0.0.1:0', ...extraArgs]
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr.on('data', (d: Buffer) => (out += d.toString()))
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string)
  return { child, output: () => out, exited }
}

/**
 * Waits until the process logged `text` (e.g. that replication started); with `from`, only output
 * after that many characters counts (what it logged after a given moment: `output().length` then).
 */
export async function waitForOutput(p: ReplicatorProcess, text: string, timeoutMs: number, from = 0): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!p.output().slice(from).includes(text)) {
    if (Date.now() > deadline)
      throw new Error(`process did not log "${text}" within ${timeoutMs} ms:\n${p.output().slice(-3000)}`)
    if (p.child.exitCode !== null)
      throw new Error(`process exited (${p.child.exitCode}) before logging "${text}":\n${p.output().slice(-3000)}`)
    await new Promise(r => setTimeout(r, 100))
  }
}

/** SIGTERM, then SIGKILL if the process has not exited within `timeoutMs`: its exit code or signal name. */
export async function stopProcess(p: ReplicatorProcess, timeoutMs = 30_000): Promise<number | string> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return p.exited
  p.child.kill('SIGTERM')
  const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs)
  try {
    return await p.exited
  } finally {
    clearTimeout(timer)
  }
}

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

const execCli = promisify(execFile)

/** Runs `kafka-dr <args>` to its end, as an operator does: its exit code and what it printed. */
export async function runCli(...args: string[]): Promise<CliResult> {
  try {
    const { stdout, stderr } = await execCli(process.execPath, ['src/cli/main.ts', ...args])
    return { code: 0, stdout, stderr }
  } catch (error) {
    const { code, stdout, stderr } = error as { code: number; stdout: string; stderr: string }
    return { code, stdout, stderr }
  }
}
