import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { type CompressionName } from './compression.ts'
import { type AsyncCompressor } from './record-batch.ts'

/**
 * Compresses outgoing record batches on worker threads. Node runs the data path on one thread;
 * with a compressing codec (lz4, zstd, gzip, snappy) compression is the largest cost per byte, so it
 * moves here and the main thread keeps fetching, parsing and encoding while other cores compress.
 * Each partition still has one batch in flight, so per-partition order is untouched.
 *
 * Invariant: a worker is ref'd exactly while it has jobs, so an idle pool never keeps the process
 * alive and a pending job always does.
 */

interface Slot {
  worker: Worker
  jobs: Map<number, { resolve: (b: Buffer) => void; reject: (e: Error) => void }>
}

const WORKER_URL = new URL(
  import.meta.url.endsWith('.ts') ? './compression-worker.ts' : './compression-worker.js',
  import.meta.url
)

export class CompressionPool {
  readonly #size: number
  readonly #slots: Slot[] = []
  #next = 0
  #ids = 0

  constructor(size: number) {
    this.#size = Math.max(1, size)
  }

  compressor(name: Exclude<CompressionName, 'none'>): AsyncCompressor {
    return (data, headroom) => this.#run(name, data, headroom)
  }

  async close(): Promise<void> {
    const slots = this.#slots.splice(0)
    await Promise.all(slots.map(s => s.worker.terminate()))
  }

  #run(codec: Exclude<CompressionName, 'none'>, data: Buffer, headroom: number): Promise<Buffer> {
    const slot = this.#pick()
    const id = ++this.#ids
    // A copy the worker owns: the caller's buffer is reused for its next batch.
    const copy = new Uint8Array(data.length)
    copy.set(data)
    return new Promise<Buffer>((resolve, reject) => {
      if (slot.jobs.size === 0) slot.worker.ref()
      slot.jobs.set(id, { resolve, reject })
      slot.worker.postMessage({ id, codec, data: copy, headroom }, [copy.buffer])
    })
  }

  /** The least busy worker, starting new ones up to the pool size. */
  #pick(): Slot {
    let best: Slot | undefined
    for (let i = 0; i < this.#slots.length; i++) {
      const slot = this.#slots[(this.#next + i) % this.#slots.length]!
      if (best === undefined || slot.jobs.size < best.jobs.size) best = slot
    }
    this.#next++
    if (best !== undefined && (best.jobs.size === 0 || this.#slots.length >= this.#size)) return best
    return this.#spawn()
  }

  #spawn(): Slot {
    const worker = new Worker(WORKER_URL)
    worker.unref()
    const slot: Slot = { worker, jobs: new Map() }
    worker.on('message', (answer: { id: number; data?: Uint8Array; error?: string }) => {
      const job = slot.jobs.get(answer.id)
      if (job === undefined) return
      slot.jobs.delete(answer.id)
      if (slot.jobs.size === 0) worker.unref()
      if (answer.data !== undefined)
        job.resolve(Buffer.from(answer.data.buffer, answer.data.byteOffset, answer.data.byteLength))
      else job.reject(new Error(`compression failed: ${answer.error ?? 'unknown error'}`))
    })
    const fail = (error: Error): void => {
      const index = this.#slots.indexOf(slot)
      if (index >= 0) this.#slots.splice(index, 1)
      for (const job of slot.jobs.values())
        job.reject(new Error(`compression worker failed: ${error.message}`, { cause: error }))
      slot.jobs.clear()
    }
    worker.on('error', fail)
    worker.on('exit', code => fail(new Error(`exited with code ${code}`)))
    this.#slots.push(slot)
    return slot
  }
}

let shared: CompressionPool | null | undefined

/**
 * The process-wide pool (one thread fewer than the machine has, at most 4), or null on a single
 * core, where compressing inline costs less than handing batches to another thread.
 */
export function sharedCompressionPool(): CompressionPool | null {
  if (shared === undefined) {
    const threads = Math.min(4, availableParallelism() - 1)
    shared = threads >= 1 ? new CompressionPool(threads) : null
  }
  return shared
}

/** An off-thread compressor for `name`, or null for no compression or no pool. */
export function asyncCompressorFor(name: CompressionName): AsyncCompressor | null {
  if (name === 'none') return null
  return sharedCompressionPool()?.compressor(name) ?? null
}
