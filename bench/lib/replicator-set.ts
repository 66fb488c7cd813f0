import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { cpuSeconds, memory } from './proc.ts'
import { type ConfigName, type RunningReplicator, isKafkaDr, startReplicator } from './replicators.ts'
import { type BenchClusters, type TrialOptions } from './trial.ts'
import { type Workload, isScaleOut } from './workloads.ts'

/**
 * The replicator processes of one trial: one process for W1-W6 (started exactly as before), or N
 * kafka-dr workers sharing the link (scale-out, docs/scale-out.md), each its own process with its
 * own worker id, HTTP port and log, so the kernel's CPU and memory accounting stays per process.
 * Aggregates are sums over the workers (CPU) or per worker (memory); a worker that has exited
 * counts with its last CPU reading (its /proc entry is gone).
 */

/** One worker's share of a trial, as the kernel counted it. */
export interface WorkerFigures {
  id: string
  /** Peak RSS (VmHWM) when last read: at the end of the trial, or just before the worker left. */
  peakRssMiB: number
  /** User + system CPU seconds over its whole life (start-up included), as last read. */
  cpuSeconds: number
}

/** What a worker's GET /api/dashboard says about the trial's link. */
export interface WorkerView {
  id: string
  generation: number
  leader: boolean
  members: string[]
  /** Partitions the group assigned to it. */
  owned: number
  /** Partitions of the trial's topic it runs a copier for. */
  partitions: number[]
}

interface Member {
  id: string
  replicator: RunningReplicator
  lastCpu: number
  lastPeakRssMiB: number
  exitCode: number | null | undefined
  url: string | null
}

export class ReplicatorSet {
  readonly #members: Member[]
  /** The command line of the first process, for the report. */
  readonly command: string

  private constructor(members: Member[]) {
    this.#members = members
    const first = members[0]!.replicator.command
    this.command = members.length === 1 ? first : `${members.length} processes: ${first} (and the other worker ids)`
  }

  /**
   * Starts `workers` processes at once (a scale-out workload: named workers w1..wN, logs in
   * `dir/w<i>/`), or the single process of W1-W6 as before. W6's delay proxy is W1-W6 only.
   */
  static start(
    clusters: BenchClusters,
    workload: Workload,
    topic: string,
    config: ConfigName,
    dir: string,
    options: TrialOptions,
    workers: number
  ): ReplicatorSet {
    const named = isScaleOut(workload)
    if (named && !isKafkaDr(config)) throw new Error(`${workload.id} runs kafka-dr workers only, not ${config}`)
    const members: Member[] = []
    for (let i = 1; i <= workers; i++) {
      const id = named ? `w${i}` : config
      const replicator = startReplicator({
        config,
        sourceBootstrap: workload.sourceDelayMs > 0 ? clusters.delayedSourceBootstrap : clusters.sourceBootstrap,
        targetBootstrap: clusters.targetBootstrap,
        topic,
        partitions: workload.partitions,
        compression: workload.writeCompression,
        dir: named ? join(dir, id) : dir,
        profile: options.profile,
        linkExtra: options.linkExtra,
        ...(named ? { worker: id } : {})
      })
      const member: Member = { id, replicator, lastCpu: NaN, lastPeakRssMiB: NaN, exitCode: undefined, url: null }
      void replicator.exited.then(code => (member.exitCode = code))
      members.push(member)
    }
    return new ReplicatorSet(members)
  }

  get size(): number {
    return this.#members.length
  }

  ids(): string[] {
    return this.#members.map(m => m.id)
  }

  /** Sum of the workers' CPU seconds so far; an exited worker counts with its last reading. */
  cpuSeconds(): number {
    let total = 0
    for (const m of this.#members) {
      const now = m.exitCode === undefined ? cpuSeconds(m.replicator.pid) : null
      if (now !== null) m.lastCpu = now
      total += m.lastCpu
    }
    return total
  }

  /** Reads every running worker's peak RSS (keeps the last reading of one that exited). */
  readMemory(): void {
    for (const m of this.#members) {
      const reading = m.exitCode === undefined ? memory(m.replicator.pid) : null
      if (reading !== null) m.lastPeakRssMiB = reading.peakRssMiB
    }
  }

  /** Per worker, as last read (call readMemory and cpuSeconds first). */
  figures(): WorkerFigures[] {
    return this.#members.map(m => ({ id: m.id, peakRssMiB: m.lastPeakRssMiB, cpuSeconds: m.lastCpu }))
  }

  /** Largest peak RSS among the workers (the single process's for W1-W6). */
  maxPeakRssMiB(): number {
    return Math.max(...this.#members.map(m => m.lastPeakRssMiB))
  }

  /** A worker that exited on its own (not one the trial signalled), described; null while all run. */
  unexpectedExit(except: ReadonlySet<string> = new Set()): string | null {
    const gone = this.#members.find(m => m.exitCode !== undefined && !except.has(m.id))
    return gone === undefined ? null : `${gone.replicator.config} ${gone.id} exited with code ${gone.exitCode}`
  }

  /** Resolves with the exit code of worker `id`. */
  exited(id: string): Promise<number | null> {
    return this.#member(id).replicator.exited
  }

  signal(id: string, signal: NodeJS.Signals): void {
    this.#member(id).replicator.signal(signal)
  }

  logFile(id: string): string {
    return this.#member(id).replicator.logFile
  }

  /** The worker's HTTP address, from its `HTTP server listening` log line (it picked a free port). */
  async url(id: string, timeoutMs = 60_000): Promise<string> {
    const member = this.#member(id)
    const deadline = performance.now() + timeoutMs
    while (member.url === null) {
      const line = logLines(member.replicator.logFile).find(l => l.msg === 'HTTP server listening')
      if (typeof line?.url === 'string') member.url = line.url
      else if (performance.now() > deadline) throw new Error(`worker ${id} logged no HTTP address in ${timeoutMs} ms`)
      else await sleep(100)
    }
    return member.url
  }

  /** The worker's view of the trial's link from GET /api/dashboard (the bench runs one link). */
  async dashboard(id: string, topic: string): Promise<WorkerView> {
    const response = await fetch(`${await this.url(id)}/api/dashboard`, { signal: AbortSignal.timeout(5000) })
    if (!response.ok) throw new Error(`worker ${id}: GET /api/dashboard answered ${response.status}`)
    const body = (await response.json()) as { links: DashboardLink[] }
    const link = body.links[0]
    if (link?.worker == null) throw new Error(`worker ${id}: the dashboard shows no worker group`)
    const { generation, leader, members, owned } = link.worker
    const partitions = link.partitions.filter(p => p.topic === topic).map(p => p.partition)
    return { id, generation, leader, members, owned, partitions }
  }

  /**
   * Waits until the group has settled: every worker's dashboard shows the same generation with all
   * the workers as members, and together they own and copy every partition of the topic (a
   * partition moving between workers is owned by nobody for a generation). Polled every 200 ms.
   */
  async settled(topic: string, partitions: number, timeoutMs = 120_000): Promise<void> {
    const deadline = performance.now() + timeoutMs
    for (;;) {
      const views = await Promise.all(this.#members.map(m => this.dashboard(m.id, topic).catch(() => null)))
      const ok = views.every(
        v => v !== null && v.generation === views[0]!.generation && v.members.length === this.#members.length
      )
      const owned = views.reduce((n, v) => n + (v?.owned ?? 0), 0)
      const copied = views.reduce((n, v) => n + (v?.partitions.length ?? 0), 0)
      if (ok && owned === partitions && copied === partitions) return
      if (performance.now() > deadline) throw new Error(`the worker group did not settle within ${timeoutMs} ms`)
      await sleep(200)
    }
  }

  /**
   * Seconds from `startedWall` to the last `partitions acquired` or `partitions released` line any
   * worker logged before `beforeWall`: when the group stopped moving partitions (NaN without one).
   */
  groupSettledSeconds(startedWall: number, beforeWall = Infinity): number {
    let last = NaN
    for (const m of this.#members) {
      for (const line of logLines(m.replicator.logFile)) {
        const t = logTime(line)
        if (!GROUP_MOVES.has(line.msg ?? '') || !(t < beforeWall)) continue
        if (Number.isNaN(last) || t > last) last = t
      }
    }
    return (last - startedWall) / 1000
  }

  /** Ends every process still running (SIGKILL, as for W1-W6). */
  async stop(): Promise<void> {
    await Promise.all(this.#members.map(m => m.replicator.stop()))
  }

  #member(id: string): Member {
    const member = this.#members.find(m => m.id === id)
    if (member === undefined) throw new Error(`no worker ${id} in this trial`)
    return member
  }
}

const GROUP_MOVES = new Set(['worker group: partitions acquired', 'worker group: partitions released'])

interface DashboardLink {
  worker: { generation: number; leader: boolean; members: string[]; owned: number } | null
  partitions: { topic: string; partition: number }[]
}

/** A kafka-dr JSON log line (pino: `time` in ISO form, `msg`, and the line's own fields). */
export type LogLine = Record<string, unknown> & { msg?: string; time?: string }

/** The JSON lines of a worker's log; lines that are not JSON (none expected) are skipped. */
export function logLines(file: string): LogLine[] {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    return []
  }
  const lines: LogLine[] = []
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue
    try {
      lines.push(JSON.parse(line) as LogLine)
    } catch {
      // a line cut short by SIGKILL
    }
  }
  return lines
}

/** Wall-clock time (ms since the epoch) of a log line, or NaN. */
export function logTime(line: LogLine): number {
  return typeof line.time === 'string' ? Date.parse(line.time) : NaN
}
