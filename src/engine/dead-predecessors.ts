import { hostname, networkInterfaces } from 'node:os'

/**
 * Members of a link's worker group left by crashed processes of this host (link-workers.ts): a process
 * restarted after a crash gets a new default id (host-pid), and the coordinator would wait a session
 * timeout for its dead predecessor before any rebalance completes.
 */

/**
 * The static members with a default id of this host (`host-pid`, or `host-pid-n`), connected from
 * one of its addresses (a worker elsewhere may be named like this one), whose process no longer runs.
 */
export function deadOnThisHost(members: readonly { instanceId: string; clientHost: string }[], self: string): string[] {
  const pattern = new RegExp(`^${escapeRegExp(hostname())}-(\\d+)(?:-\\d+)?$`)
  const local = localAddresses()
  return members
    .filter(m => local.has(m.clientHost))
    .map(m => m.instanceId)
    .filter(id => {
      const pid = Number(pattern.exec(id)?.[1])
      return id !== self && Number.isInteger(pid) && pid !== process.pid && !processRuns(pid)
    })
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** Whether a process with this pid runs on this host (EPERM: it runs, under another user). */
function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** The addresses of this host's interfaces, as a broker sees a client connect from them. */
function localAddresses(): Set<string> {
  const addresses = new Set<string>()
  for (const list of Object.values(networkInterfaces())) for (const entry of list ?? []) addresses.add(entry.address)
  return addresses
}
