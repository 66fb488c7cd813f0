import { Worker } from 'node:worker_threads'
import { setTimeout as sleep } from 'node:timers/promises'
import { percentile } from './stats.ts'
import { type LatencyFigures } from './trial.ts'

/**
 * The steady trials' view of the target: a tailing consumer (tail-worker.ts, its own thread) that
 * notes when each record arrives, and the latency figures made from what it saw.
 */

/** What the tailing consumer saw of one partition: offset, source append time and arrival of each record. */
export interface TailResult {
  partition: number
  offsets: Float64Array
  timestamps: Float64Array
  received: Float64Array
}

/** The tailing consumer of tail-worker.ts: started after the gate, stopped once it saw everything. */
export class TailingReader {
  readonly #worker: Worker
  seen = 0
  readonly ready: Promise<void>

  constructor(bootstrap: string, topic: string, partitions: number) {
    this.#worker = new Worker(new URL('./tail-worker.ts', import.meta.url), {
      workerData: { bootstrap, topic, partitions }
    })
    this.ready = new Promise(resolve => {
      this.#worker.on('message', (message: { ready?: boolean; seen?: number }) => {
        if (message.ready === true) resolve()
        if (message.seen !== undefined) this.seen = message.seen
      })
    })
  }

  async waitFor(total: number, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs
    while (this.seen < total) {
      if (performance.now() > deadline) throw new Error(`the tailing consumer saw ${this.seen} of ${total} records`)
      await sleep(50)
    }
  }

  async stop(): Promise<TailResult[]> {
    const done = new Promise<TailResult[]>(resolve => {
      this.#worker.on('message', (message: { result?: TailResult[] }) => {
        if (message.result !== undefined) resolve(message.result)
      })
    })
    this.#worker.postMessage({ stop: true })
    const result = await done
    await this.#worker.terminate()
    return result
  }

  async terminate(): Promise<void> {
    await this.#worker.terminate()
  }
}

export function lastArrival(arrivals: TailResult[]): number {
  let last = -Infinity
  for (const partition of arrivals) for (const t of partition.received) last = Math.max(last, t)
  return last
}

export function firstTimestampMismatch(source: Float64Array[], target: Float64Array[]): string | null {
  for (let p = 0; p < source.length; p++) {
    const s = source[p]!
    const t = target[p]!
    for (let i = 0; i < s.length; i++) {
      if (s[i] !== t[i]) return `target record ${i} of partition ${p} has timestamp ${t[i]}, the source ${s[i]}`
    }
  }
  return null
}

/**
 * Arrival on the target (tailing consumer, wall clock) minus the source append time carried in the
 * record, for each record the source appended at or after `measureFrom` and before `measureTo`
 * (wall clock, ms); 1 ms resolution. Null when no record falls in the window.
 */
export function latencies(arrivals: TailResult[], measureFrom: number, measureTo = Infinity): LatencyFigures | null {
  const values: number[] = []
  const bySecond = new Map<number, number[]>()
  for (const partition of arrivals) {
    for (let i = 0; i < partition.timestamps.length; i++) {
      const appended = partition.timestamps[i]!
      if (appended < measureFrom || appended >= measureTo) continue
      const latency = partition.received[i]! - appended
      values.push(latency)
      const second = Math.floor((appended - measureFrom) / 1000)
      let list = bySecond.get(second)
      if (list === undefined) bySecond.set(second, (list = []))
      list.push(latency)
    }
  }
  if (values.length === 0) return null
  const sorted = Float64Array.from(values).sort()
  const perSecond = [...bySecond]
    .sort((a, b) => a[0] - b[0])
    .map(([second, list]) => {
      const s = Float64Array.from(list).sort()
      return { second, p50: percentile(s, 0.5), p99: percentile(s, 0.99), max: s.at(-1) ?? NaN }
    })
  return {
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    p999: percentile(sorted, 0.999),
    max: sorted.at(-1) ?? NaN,
    samples: sorted.length,
    perSecond
  }
}
