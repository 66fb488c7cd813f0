import { compressionsAlgorithms } from '@platformatic/kafka'
import { parentPort } from 'node:worker_threads'
import type { CompressionName } from './compression.ts'

/**
 * One thread of the compression pool (compression-pool.ts): compresses record regions with the
 * same codec implementations as the main thread, so a batch compressed here is byte for byte what
 * `compressorFor(name)` produces. The answer leaves `headroom` bytes in front of the compressed
 * bytes, where the caller writes the batch header: no copy on the main thread.
 */
interface Job {
  id: number
  codec: Exclude<CompressionName, 'none'>
  data: Uint8Array
  headroom: number
}

parentPort!.on('message', (job: Job) => {
  try {
    const input = Buffer.from(job.data.buffer, job.data.byteOffset, job.data.byteLength)
    const out = compressionsAlgorithms[job.codec].compressSync(input) as Buffer
    const data = new Uint8Array(job.headroom + out.length)
    data.set(out, job.headroom)
    parentPort!.postMessage({ id: job.id, data }, [data.buffer])
  } catch (error) {
    parentPort!.postMessage({ id: job.id, error: error instanceof Error ? error.message : String(error) })
  }
})
