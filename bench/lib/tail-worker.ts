import { spawn } from 'node:child_process'
import { parentPort, workerData } from 'node:worker_threads'

/**
 * A tailing consumer on the target (kcat, unbuffered), in its own thread so the time each record is
 * seen is not delayed by the load generator on the main thread. For every record it keeps the
 * record timestamp (the source append time, which both replicators carry over) and the wall-clock
 * time it arrived; the main thread turns the pair into replication latency. It reads read_committed.
 *
 * Messages: in  { stop: true } once the caller knows everything arrived;
 *           out { ready } when kcat runs, { seen: n } every 100 ms, and at the end
 *               { partition, offsets, timestamps, received }[] (transferred typed arrays).
 */
interface Input {
  bootstrap: string
  topic: string
  partitions: number
}

const input = workerData as Input
const offsets: number[][] = Array.from({ length: input.partitions }, () => [])
const timestamps: number[][] = Array.from({ length: input.partitions }, () => [])
const received: number[][] = Array.from({ length: input.partitions }, () => [])
let seen = 0

const kcat = spawn(
  'kcat',
  [
    '-C',
    '-b',
    input.bootstrap,
    '-t',
    input.topic,
    '-o',
    'beginning',
    '-u',
    '-q',
    '-f',
    '%p %o %T\n',
    '-X',
    'fetch.wait.max.ms=100',
    // What a consumer of the target sees: under exactly-once a record arrives when its transaction
    // commits, so its latency includes the wait for the commit (without transactions: no difference).
    '-X',
    'isolation.level=read_committed'
  ],
  { stdio: ['ignore', 'pipe', 'pipe'] }
)
let stderr = ''
kcat.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
let rest = ''
kcat.stdout.on('data', (chunk: Buffer) => {
  const now = Date.now()
  const text = rest + chunk.toString('latin1')
  let start = 0
  for (;;) {
    const newline = text.indexOf('\n', start)
    if (newline === -1) break
    const line = text.slice(start, newline)
    start = newline + 1
    const first = line.indexOf(' ')
    const second = line.indexOf(' ', first + 1)
    const p = Number(line.slice(0, first))
    if (!(p >= 0 && p < input.partitions)) continue
    offsets[p]!.push(Number(line.slice(first + 1, second)))
    timestamps[p]!.push(Number(line.slice(second + 1)))
    received[p]!.push(now)
    seen++
  }
  rest = text.slice(start)
})
parentPort!.postMessage({ ready: true })
const progress = setInterval(() => parentPort!.postMessage({ seen }), 100)

parentPort!.on('message', (message: { stop?: boolean }) => {
  if (message.stop !== true) return
  clearInterval(progress)
  kcat.kill('SIGTERM')
  const result = offsets.map((list, p) => ({
    partition: p,
    offsets: Float64Array.from(list),
    timestamps: Float64Array.from(timestamps[p]!),
    received: Float64Array.from(received[p]!)
  }))
  parentPort!.postMessage(
    { result, stderr },
    result.flatMap(r => [r.offsets.buffer, r.timestamps.buffer, r.received.buffer])
  )
})
