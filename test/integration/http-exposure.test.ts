import assert from 'node:assert/strict'
import { request } from 'node:http'
import { after, before, describe, test } from 'node:test'
import { parseConfig } from '../../src/config/index.ts'
import { type ObservedReplicator, startObserved } from '../../src/http/observed.ts'
import { RecordProducer } from '../../src/kafka/index.ts'
import { createLogger } from '../../src/observability/logger.ts'
import { clusterConnection, uniqueTopic } from '../support/clusters.ts'
import { admins, waitFor } from '../support/replication.ts'
import { registryConfigYaml } from '../support/schemas.ts'

/**
 * `replicate`'s HTTP server without a token, as a new user runs it (loopback, no http.token), on
 * real clusters with a registry password in the config: a request whose Host header names another
 * machine (what a browser sends after a DNS rebinding attack) is refused on every path, loopback
 * names are answered, and no answer holds the password.
 */

const PASSWORD = 'CANARY-exposure-registry-pw'

/** GET with an explicit Host header (fetch does not let a caller set it). */
function get(port: number, path: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host } }, res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString() }))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('HTTP server without a token: Host header check and scrubbed answers', () => {
  const { dc1, close } = admins()
  const topic = uniqueTopic('http.exposure')
  const logs: string[] = []
  let observed: ObservedReplicator
  let port: number

  before(async () => {
    await dc1.createTopics([{ name: topic, partitions: 1 }])
    const producer = new RecordProducer(clusterConnection(1))
    await producer.send(
      topic,
      Array.from({ length: 20 }, (_, i) => ({
        partition: 0,
        timestamp: BigInt(Date.now()),
        key: Buffer.from(`k${i}`),
        value: Buffer.from(`v${i}`),
        headers: []
      }))
    )
    await producer.close()
    // dc2's registry runs on loopback with authentication off: the password is accepted over http
    // (loopback) and ignored by the registry, but it is in the config, so it is a secret to keep.
    const config = parseConfig(
      `${registryConfigYaml(
        `  - name: http-exposure
    source: dc1
    target: dc2
    commitIntervalMs: 200
    topics: { include: ["${topic}"] }
    schemas: { subjects: { include: ["${topic}-value"] } }
`,
        `{ username: dr, password: "${PASSWORD}" }`
      )}http: { listen: "127.0.0.1:0" }\n`,
      '<test>'
    )
    assert.equal(config.http?.token, null)
    const log = createLogger({ level: 'info', secrets: config.secrets, write: line => logs.push(line) })
    observed = await startObserved(config, log, config.http)
    port = observed.http!.port
    await waitFor('the 20 records replicated', 60_000, async () =>
      observed.replicator.status()[0]?.partitions.every(p => p.replicatedRecords === 20)
    )
  })

  after(async () => {
    await observed.stop()
    await close()
  })

  test('another host name gets 403 on every path; localhost, 127.0.0.1 and [::1]-style names are answered', async () => {
    for (const path of [
      '/api/status',
      '/api/dashboard',
      '/metrics',
      '/readyz',
      '/healthz',
      '/',
      '/assets/dashboard.js'
    ]) {
      for (const host of [`rebind.attacker.example:${port}`, 'rebind.attacker.example', `192.168.1.20:${port}`]) {
        const refused = await get(port, path, host)
        assert.equal(refused.status, 403, `${path} with Host ${host}`)
        assert.match(refused.body, /is not this server's/)
      }
    }
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, 'localhost']) {
      const answered = await get(port, '/readyz', host)
      assert.equal(answered.status, 200, `${host}: ${answered.body}`)
      assert.equal((JSON.parse(answered.body) as { ready: boolean }).ready, true)
    }
  })

  test('/api/status, /api/dashboard and /metrics never hold the registry password', async () => {
    for (const path of ['/api/status', '/api/dashboard', '/metrics']) {
      const answer = await get(port, path, `localhost:${port}`)
      assert.equal(answer.status, 200, `${path}: ${answer.body.slice(0, 300)}`)
      assert.ok(!answer.body.includes(PASSWORD), path)
    }
    const status = JSON.parse((await get(port, '/api/status', `localhost:${port}`)).body) as unknown[]
    assert.ok(Array.isArray(status) && status.length === 1, 'the status of the one link')
    assert.ok(logs.length > 0 && logs.every(l => !l.includes(PASSWORD)))
  })
})
