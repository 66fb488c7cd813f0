import { existsSync, readFileSync, rmSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'

/**
 * Processes the harness started, found by pid file. A pid counts only while its process is alive AND
 * its command line contains `marker` (a path or flag unique to that process): a reused pid is never
 * signalled.
 */
export function ownedPidFrom(pidFile: string, marker: string): number | null {
  if (!existsSync(pidFile)) return null
  const pid = Number(readFileSync(pidFile, 'utf8').trim())
  if (!Number.isInteger(pid) || pid <= 0) return null
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker) ? pid : null
  } catch {
    return null
  }
}

/** Signals the owned process and waits for it to exit (SIGKILL after graceMs); removes the pid file. */
export async function terminateOwned(
  pidFile: string,
  marker: string,
  signal: 'SIGTERM' | 'SIGKILL',
  graceMs: number
): Promise<boolean> {
  const pid = ownedPidFrom(pidFile, marker)
  if (pid === null) return false
  process.kill(pid, signal)
  const deadline = Date.now() + graceMs
  while (ownedPidFrom(pidFile, marker) === pid) {
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGKILL')
      await sleep(200)
      break
    }
    await sleep(100)
  }
  rmSync(pidFile, { force: true })
  return true
}
