import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { Kafka, logLevel } from 'kafkajs'
import { parseConfig } from '../../src/config/index.ts'
import { pinAtLeastOnce } from '../support/delivery-pin.ts'
import { type Replicator } from '../../src/engine/replicator.ts'
import { type ObservedReplicator, startObserved } from '../../src/http/observed.ts'
import { type HttpServer } from '../../src/http/server.ts'
import { RecordProducer } from '../../src/kafka/index.ts'
import { createLogger } from '../../src/observability/logger.ts'
import { bootstrapOf } from '../../tools/harness/harness.ts'
import { clusterConnection, uniqueTopic } from '../support/clusters.ts'
import { registryConfigYaml } from '../support/schemas.ts'
import { parsePrometheus, value } from '../support/prometheus.ts'
import { admins, waitFor } from '../support/replication.ts'

/**
 * The HTTP server of `replicate` on real clusters: /metrics read by an independent Prometheus
 * text parser, lag checked against end offsets read by kafkajs; health, readiness, status API,
 * bearer token, and secrets kept out of every answer.
 */

const TOKEN = 'CANARY-http-token-1234'
const PASSWORD = 'CANARY-registry-password'

describe('HTTP server: metrics, health, status', () => {
  const { dc1, dc2, close } = admins()
  const topic = uniqueTopic('http.metrics')
  const logs: string[] = []
  let replicator: Replicator
  let server: HttpServer
  let observed: ObservedReplicator

  const get = (path: string, token: string | null = TOKEN): Promise<Response> =>
    fetch(`${server.url}${path}`, token === null ? {} : { headers: { authorization: `Bearer ${token}` } })

  before(async () => {
    // The target topic refuses records over 100 kB: the partition stops at offset 300, leaving a
    // lag that stays put while the test reads it.
    await dc1.createTopics([{ name: topic, partitions: 2 }])
    await dc2.createTopics([{ name: topic, partitions: 2, configs: { 'max.message.bytes': '100000' } }])
    const producer = new RecordProducer(clusterConnection(1))
    const record = (partition: number, i: number, size = 100) => ({
      partition,
      timestamp: BigInt(Date.now()),
      key: Buffer.from(`k${i}`),
      value: Buffer.alloc(size, i % 256), // the first record's zeros also probe the wire-format check
      headers: []
    })
    await producer.send(topic, [
      ...Array.from({ length: 300 }, (_, i) => record(0, i)),
      record(0, 300, 300_000),
      ...Array.from({ length: 199 }, (_, i) => record(0, 301 + i)),
      ...Array.from({ length: 400 }, (_, i) => record(1, i))
    ])
    await producer.close()
    // Lag is checked against end offsets (no commit markers): at-least-once.
    const config = parseConfig(
      pinAtLeastOnce(
        `${registryConfigYaml(
          `  - name: http-test
    source: dc1
    target: dc2
    commitIntervalMs: 200
    topics: { include: ["${topic}"] }
    schemas: { subjects: { include: ["${topic}-value"] } }
`,
          `{ username: dr, password: "${PASSWORD}" }`
        )}http: { listen: "127.0.0.1:0", token: "${TOKEN}" }\n`
      ),
      '<test>'
    )
    const log = createLogger({ level: 'info', secrets: config.secrets, write: line => logs.push(line) })
    observed = await startObserved(config, log, config.http)
    replicator = observed.replicator
    server = observed.http!
    await waitFor(
      `partition 0 to stop at 300 and partition 1 to catch up (${logs.length} log lines)`,
      60_000,
      async () => {
        const partitions = replicator.status()[0]?.partitions ?? []
        const p0 = partitions.find(p => p.partition === 0)
        const p1 = partitions.find(p => p.partition === 1)
        return p0?.state === 'errored' && p1?.lagRecords === 0n && p1.replicatedRecords === 400
      }
    )
  })

  after(async () => {
    await observed.stop()
    await close()
  })

  test('/metrics: lag per partition equals what the source holds minus what the target holds', async () => {
    const response = await get('/metrics')
    assert.equal(response.status, 200)
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain/)
    const families = parsePrometheus(await response.text())
    // End offsets read by an independent client.
    const [sourceAdmin, targetAdmin] = [
      new Kafka({ clientId: 'http-test-1', brokers: [bootstrapOf(1)], logLevel: logLevel.NOTHING }).admin(),
      new Kafka({ clientId: 'http-test-2', brokers: [bootstrapOf(2)], logLevel: logLevel.NOTHING }).admin()
    ]
    await Promise.all([sourceAdmin.connect(), targetAdmin.connect()])
    const [sourceEnds, targetEnds] = await Promise.all([
      sourceAdmin.fetchTopicOffsets(topic),
      targetAdmin.fetchTopicOffsets(topic)
    ])
    await Promise.all([sourceAdmin.disconnect(), targetAdmin.disconnect()])
    for (const partition of [0, 1]) {
      const produced = Number(sourceEnds.find(o => o.partition === partition)!.high)
      const held = Number(targetEnds.find(o => o.partition === partition)!.high)
      const labels = { link: 'http-test', topic, partition: String(partition) }
      assert.equal(value(families, 'kafka_dr_lag_records', labels), produced - held, `partition ${partition}`)
      assert.equal(value(families, 'kafka_dr_replicated_records_total', labels), held)
    }
    assert.equal(value(families, 'kafka_dr_lag_records', { topic, partition: '0' }), 200)
    assert.ok(value(families, 'kafka_dr_lag_bytes', { topic, partition: '0' }) > 200 * 100)
    assert.equal(value(families, 'kafka_dr_lag_seconds', { topic, partition: '1' }), 0)
    // The stopped partition's oldest missing record keeps ageing.
    assert.ok(value(families, 'kafka_dr_lag_seconds', { topic, partition: '0' }) > 0)
    assert.equal(value(families, 'kafka_dr_partition_state', { topic, partition: '0', state: 'errored' }), 1)
    assert.equal(value(families, 'kafka_dr_partition_state', { topic, partition: '1', state: 'running' }), 1)
    assert.equal(value(families, 'kafka_dr_link_state', { link: 'http-test', state: 'running' }), 1)
    assert.ok(value(families, 'kafka_dr_errors_total', { link: 'http-test', kind: 'KDR_ERR_KAFKA_PRODUCE' }) >= 1)
    // (this parser keeps a histogram's buckets but not its labels: the test runs one link)
    const latency = families.get('kafka_dr_produce_latency_seconds')!
    assert.equal(latency.type, 'HISTOGRAM')
    assert.ok(Number(latency.metrics[0]!.buckets!['+Inf']) > 0, 'produce latency observed')
    assert.equal(families.get('kafka_dr_replicated_records_total')!.type, 'COUNTER')
    assert.equal(families.get('kafka_dr_lag_records')!.type, 'GAUGE')
    assert.ok(families.has('kafka_dr_process_cpu_user_seconds_total'), 'process metrics')
    assert.equal(value(families, 'kafka_dr_schema_subjects', { link: 'http-test', state: 'failed' }), 0)
  })

  test('/healthz answers; /readyz is 503 and names the stopped partition', async () => {
    const health = await get('/healthz')
    assert.equal(health.status, 200)
    assert.equal(((await health.json()) as { status: string }).status, 'ok')
    const ready = await get('/readyz')
    assert.equal(ready.status, 503)
    const body = (await ready.json()) as {
      ready: boolean
      links: { link: string; stoppedPartitions: { partition: number; reason: string }[] }[]
    }
    assert.equal(body.ready, false)
    assert.equal(body.links[0]!.stoppedPartitions[0]!.partition, 0)
    assert.match(body.links[0]!.stoppedPartitions[0]!.reason, /MESSAGE_TOO_LARGE.*offset 300/)
  })

  test('/api/status is the status report', async () => {
    const response = await get('/api/status')
    assert.equal(response.status, 200)
    const links = (await response.json()) as { link: string; partitions: { partition: number; records: string }[] }[]
    assert.equal(links[0]!.link, 'http-test')
    assert.equal(links[0]!.partitions.find(p => p.partition === 0)!.records, '200')
  })

  test('without the bearer token, or with another, every path answers 401', async () => {
    for (const path of ['/metrics', '/healthz', '/readyz', '/api/status']) {
      assert.equal((await get(path, null)).status, 401, path)
      assert.equal((await get(path, 'CANARY-http-token-1235')).status, 401, path)
    }
    assert.equal((await get('/nope')).status, 404)
  })

  test('secrets never appear in logs, /metrics, /api/status or /readyz', async () => {
    const answers = await Promise.all(
      ['/metrics', '/api/status', '/readyz', '/healthz'].map(async p => (await get(p)).text())
    )
    for (const text of [...answers, logs.join('\n')]) {
      assert.ok(!text.includes(TOKEN), 'token')
      assert.ok(!text.includes(PASSWORD), 'registry password')
    }
  })
})
