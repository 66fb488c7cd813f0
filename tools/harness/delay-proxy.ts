import { type Server, type Socket, createConnection, createServer } from 'node:net'
import { performance } from 'node:perf_hooks'

/**
 * A TCP proxy that holds every chunk for a fixed time in each direction, so a client sees
 * 2 x delayMs of extra round trip to the server behind it: a stand-in for a WAN link on a machine
 * without netem. Bytes and their order are untouched; bandwidth is not limited. When the receiving
 * side cannot keep up, reading from the sending side pauses (bounded memory).
 */

export interface DelayProxyOptions {
  /** Port to listen on (127.0.0.1); 0 picks a free one. */
  listenPort: number
  targetHost: string
  targetPort: number
  /** One-way delay in milliseconds. */
  delayMs: number
}

export interface DelayProxy {
  port: number
  /** Connections accepted so far and bytes forwarded in each direction. */
  stats(): { connections: number; toTarget: number; toClient: number }
  close(): Promise<void>
}

/** Above this many bytes held for one direction, the sender is paused until the queue drains. */
const HIGH_WATER_BYTES = 64 * 1024 * 1024

class DelayedPipe {
  readonly #to: Socket
  readonly #from: Socket
  readonly #delayMs: number
  readonly #onBytes: (n: number) => void
  readonly #chunks: Buffer[] = []
  readonly #due: number[] = []
  #head = 0
  #heldBytes = 0
  #timer: NodeJS.Timeout | null = null
  #waitingDrain = false
  #ended = false

  constructor(from: Socket, to: Socket, delayMs: number, onBytes: (n: number) => void) {
    this.#from = from
    this.#to = to
    this.#delayMs = delayMs
    this.#onBytes = onBytes
    from.on('data', (chunk: Buffer) => this.#hold(chunk))
    from.on('end', () => {
      this.#ended = true
      this.#flush()
    })
  }

  #hold(chunk: Buffer): void {
    this.#chunks.push(chunk)
    this.#due.push(performance.now() + this.#delayMs)
    this.#heldBytes += chunk.length
    if (this.#heldBytes > HIGH_WATER_BYTES) this.#from.pause()
    this.#schedule()
  }

  #schedule(): void {
    if (this.#timer !== null || this.#waitingDrain || this.#head >= this.#chunks.length) return
    const wait = Math.max(0, this.#due[this.#head]! - performance.now())
    this.#timer = setTimeout(() => {
      this.#timer = null
      this.#flush()
    }, wait)
  }

  #flush(): void {
    const now = performance.now()
    while (this.#head < this.#chunks.length && this.#due[this.#head]! <= now) {
      const chunk = this.#chunks[this.#head]!
      this.#chunks[this.#head] = EMPTY
      this.#head++
      this.#heldBytes -= chunk.length
      this.#onBytes(chunk.length)
      if (!this.#to.write(chunk)) {
        this.#waitingDrain = true
        this.#to.once('drain', () => {
          this.#waitingDrain = false
          this.#flush()
        })
        break
      }
    }
    // Compact the queue once its consumed head is large, so it does not grow without bound.
    if (this.#head > 1024 && this.#head * 2 > this.#chunks.length) {
      this.#chunks.splice(0, this.#head)
      this.#due.splice(0, this.#head)
      this.#head = 0
    }
    if (this.#heldBytes <= HIGH_WATER_BYTES / 2 && this.#from.isPaused()) this.#from.resume()
    if (this.#head >= this.#chunks.length && this.#ended && !this.#waitingDrain) {
      this.#to.end()
      return
    }
    this.#schedule()
  }

  stop(): void {
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
  }
}

const EMPTY = Buffer.alloc(0)

export async function startDelayProxy(options: DelayProxyOptions): Promise<DelayProxy> {
  if (!(options.delayMs >= 0)) throw new RangeError(`delayMs must be >= 0, got ${options.delayMs}`)
  const sockets = new Set<Socket>()
  let connections = 0
  let toTarget = 0
  let toClient = 0
  const server: Server = createServer(client => {
    connections++
    const upstream = createConnection({ host: options.targetHost, port: options.targetPort })
    client.setNoDelay(true)
    upstream.setNoDelay(true)
    sockets.add(client)
    sockets.add(upstream)
    const pipes = [
      new DelayedPipe(client, upstream, options.delayMs, n => (toTarget += n)),
      new DelayedPipe(upstream, client, options.delayMs, n => (toClient += n))
    ]
    const closeBoth = (): void => {
      for (const pipe of pipes) pipe.stop()
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    client.on('error', closeBoth)
    upstream.on('error', closeBoth)
    client.on('close', closeBoth)
    upstream.on('close', closeBoth)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.listenPort, '127.0.0.1', () => resolve())
  })
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : options.listenPort
  return {
    port,
    stats: () => ({ connections, toTarget, toClient }),
    close: () =>
      new Promise<void>(resolve => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      })
  }
}
