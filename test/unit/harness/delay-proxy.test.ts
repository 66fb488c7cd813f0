import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { type AddressInfo, type Socket, createConnection, createServer } from 'node:net'
import { performance } from 'node:perf_hooks'
import { test } from 'node:test'
import { startDelayProxy } from '../../../tools/harness/delay-proxy.ts'

async function echoServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>()
  const server = createServer(socket => {
    sockets.add(socket)
    socket.pipe(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise(resolve => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      })
  }
}

function connect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => resolve(socket))
    socket.once('error', reject)
  })
}

/** Reads until `length` bytes arrived; resolves with them and the time the last one came. */
function readExactly(socket: Socket, length: number): Promise<{ data: Buffer; at: number }> {
  return new Promise(resolve => {
    const parts: Buffer[] = []
    let got = 0
    const onData = (chunk: Buffer): void => {
      parts.push(chunk)
      got += chunk.length
      if (got >= length) {
        socket.off('data', onData)
        resolve({ data: Buffer.concat(parts), at: performance.now() })
      }
    }
    socket.on('data', onData)
  })
}

test('delay proxy: a round trip takes at least twice the one-way delay', async () => {
  const echo = await echoServer()
  const proxy = await startDelayProxy({ listenPort: 0, targetHost: '127.0.0.1', targetPort: echo.port, delayMs: 20 })
  const socket = await connect(proxy.port)
  try {
    for (let i = 0; i < 3; i++) {
      const sent = performance.now()
      const reply = readExactly(socket, 5)
      socket.write('ping!')
      const { data, at } = await reply
      assert.equal(data.toString(), 'ping!')
      assert.ok(at - sent >= 39, `round trip ${(at - sent).toFixed(1)} ms is shorter than 2 x 20 ms`)
    }
  } finally {
    socket.destroy()
    await proxy.close()
    await echo.close()
  }
})

test('delay proxy: bytes arrive intact and in order under a bulk transfer', async () => {
  const echo = await echoServer()
  const proxy = await startDelayProxy({ listenPort: 0, targetHost: '127.0.0.1', targetPort: echo.port, delayMs: 5 })
  const socket = await connect(proxy.port)
  try {
    const payload = randomBytes(8 * 1024 * 1024)
    const reply = readExactly(socket, payload.length)
    for (let at = 0; at < payload.length; at += 64 * 1024) socket.write(payload.subarray(at, at + 64 * 1024))
    const { data } = await reply
    assert.equal(data.length, payload.length)
    assert.ok(data.equals(payload), 'echoed bytes differ from what was sent')
    assert.equal(proxy.stats().toTarget, payload.length)
    assert.equal(proxy.stats().connections, 1)
  } finally {
    socket.destroy()
    await proxy.close()
    await echo.close()
  }
})
