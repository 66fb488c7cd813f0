import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { STATE_TOPIC } from '../../src/state/index.ts'
import { bootstrapOf } from '../../tools/harness/harness.ts'
import { kcatAuditSequences, kcatCounts, kcatReadSnapshot } from './kcat.ts'
import { type ReplicatorProcess, spawnReplicator, waitForOutput } from './process.ts'
import { waitFor } from './replication.ts'
import { type SequenceWriter } from './sequence-writer.ts'

/**
 * Scaled-out workers (docs/scale-out.md) for integration tests: `kafka-dr replicate` processes of one
 * config, what each reports over HTTP (its own view), and independent reads of the target (kcat).
 */

export interface Worker {
  id: string
  proc: ReplicatorProcess
  url: string
  /** The config's http.token, when it sets one: every request carries it. */
  token?: string
}

export interface WorkerView {
  id: string
  state: string
  error: string | null
  generation: number
  members: string[]
  partitions: string[]
}

export async function startWorker(configFile: string, id: string, token?: string): Promise<Worker> {
  const proc = spawnReplicator(configFile, {}, ['--worker-id', id])
  await waitForOutput(proc, 'HTTP server listening', 30_000)
  const line = proc
    .output()
    .split('\n')
    .find(l => l.includes('HTTP server listening'))!
  const url = (JSON.parse(line) as { url: string }).url
  return { id, proc, url, ...(token === undefined ? {} : { token }) }
}

export async function view(worker: Worker): Promise<WorkerView | null> {
  try {
    const response = await fetch(`${worker.url}/api/dashboard`, {
      headers: worker.token === undefined ? {} : { authorization: `Bearer ${worker.token}` }
    })
    const body = (await response.json()) as {
      links: {
        state: string
        error: string | null
        worker: { generation: number; members: string[] } | null
        partitions: { topic: string; partition: number }[]
      }[]
    }
    const link = body.links[0]!
    return {
      id: worker.id,
      state: link.state,
      error: link.error,
      generation: link.worker?.generation ?? -1,
      members: link.worker?.members ?? [],
      partitions: link.partitions.map(p => `${p.topic}:${p.partition}`)
    }
  } catch {
    return null // not listening yet, or gone
  }
}

/** Waits until `workers` hold every one of `total` partitions between them, once each, in one generation. */
export async function balanced(
  workers: readonly Worker[],
  total: number,
  timeoutMs = 60_000
): Promise<Map<string, string[]>> {
  return waitFor(`${workers.length} workers sharing ${total} partitions`, timeoutMs, async () => {
    const views = await Promise.all(workers.map(view))
    if (views.some(v => v === null || v.state !== 'running')) return undefined
    const all = views.map(v => v!)
    const generations = new Set(all.map(v => v.generation))
    const owned = all.flatMap(v => v.partitions)
    if (generations.size !== 1 || owned.length !== total || new Set(owned).size !== total) return undefined
    if (all.some(v => v.members.length !== workers.length)) return undefined
    return new Map(all.map(v => [v.id, v.partitions]))
  })
}

/**
 * The worker each partition's newest progress record names (independent read of the state topic,
 * which the workers write all the time: kcatReadSnapshot). read_uncommitted: progress of a transaction
 * still open counts too; the exactly-once outcome is audited on the target topics.
 */
export async function progressWorkers(link: string): Promise<Map<string, string>> {
  const owners = new Map<string, string>()
  for (const record of await kcatReadSnapshot(bootstrapOf(2), STATE_TOPIC, 'read_uncommitted')) {
    if (record.key === null || record.payload === null) continue
    const key = JSON.parse(record.key) as unknown[]
    if (key[0] !== 'progress' || key[1] !== link) continue
    const value = JSON.parse(record.payload) as { worker?: string }
    if (value.worker !== undefined) owners.set(`${String(key[2])}:${String(key[3])}`, value.worker)
  }
  return owners
}

/** Writes to every partition of each writer's topic until stopped (about 2,000 records/s per topic). */
export function keepWriting(writers: readonly SequenceWriter[]): { stop: () => Promise<void> } {
  let stopping = false
  const running = (async () => {
    while (!stopping) {
      await Promise.all(writers.map(w => w.write(10, 10)))
      await sleep(50)
    }
  })()
  return {
    stop: async () => {
      stopping = true
      await running
    }
  }
}

/** Waits until the target holds (read_committed) every record written, then audits the sequences. */
export async function auditTarget(writers: readonly SequenceWriter[]): Promise<void> {
  for (const writer of writers) {
    await waitFor(`target copy of ${writer.topic} complete`, 90_000, async () => {
      const counts = await kcatCounts(bootstrapOf(2), writer.topic, writer.next.length)
      return counts.every((n, p) => n >= writer.next[p]!) || undefined
    })
    const audit = await kcatAuditSequences(bootstrapOf(2), writer.topic, writer.tag, writer.next)
    assert.equal(audit.missing, 0, `${writer.topic}: nothing missing`)
    assert.equal(audit.duplicates, 0, `${writer.topic}: no duplicates (exactly-once)`)
    assert.equal(audit.misplaced, 0, `${writer.topic}: nothing misplaced`)
  }
}
