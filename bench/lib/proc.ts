import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

/**
 * What the kernel says about a process, read the same way for every replicator (a JVM or Node):
 * CPU time of all its threads from /proc/<pid>/stat, memory from /proc/<pid>/status.
 */

let ticksPerSecond: number | null = null

function clockTicks(): number {
  if (ticksPerSecond === null) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
    } catch {
      ticksPerSecond = 100
    }
  }
  return ticksPerSecond
}

/** User + system CPU seconds of the process so far, or null once it is gone. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const utime = Number(fields[11])
    const stime = Number(fields[12])
    return (utime + stime) / clockTicks()
  } catch {
    return null
  }
}

export interface MemoryReading {
  /** Peak resident set size (VmHWM), MiB. */
  peakRssMiB: number
  rssMiB: number
}

export function memory(pid: number): MemoryReading | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kib = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN)
    return { peakRssMiB: kib('VmHWM') / 1024, rssMiB: kib('VmRSS') / 1024 }
  } catch {
    return null
  }
}

/** Whole-machine CPU seconds (all cores, busy time) from /proc/stat. */
export function hostBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? ''
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number)
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / clockTicks()
}
