import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { RecordProducer } from '../../src/kafka/index.ts'
import { bootstrapOf, start, stop } from '../../tools/harness/harness.ts'
import { clusterConnection, uniqueTopic } from '../support/clusters.ts'
import { kcatReadAll } from '../support/kcat.ts'
import { admins, configYaml, endOffsets, produceSequence, startReplicator, waitFor } from '../support/replication.ts'
import { progressOf } from '../support/state.ts'

/**
 * The target cluster goes down mid-stream (controlled shutdown of its broker) and comes back: the
 * replicator keeps retrying without failing any partition, holds no more than its buffers, and
 * catches up with nothing missing. Stops cluster 2: the suite runs test files one at a time.
 */
describe('target cluster down for a while', () => {
  const { dc1, close } = admins()
  const producer = new RecordProducer(clusterConnection(1))
  after(async () => {
    await start(2) // whatever happened, leave the shared cluster up
    await producer.close()
    await close()
  })

  test('retries, stays bounded, and catches up when the target returns', async () => {
    const topic = uniqueTopic('down')
    const partitions = 4
    await dc1.createTopics([{ name: topic, partitions }])
    const running = await startReplicator(
      configYaml(`  - source: dc1
    target: dc2
    commitIntervalMs: 300
    producer: { maxBufferedBytesPerPartition: 262144 }
    topics: { include: ["${topic}"] }
`)
    )
    try {
      await produceSequence(producer, topic, partitions, 1000, 'v')
      await waitFor('first records copied', 20_000, async () =>
        (await progressOf('dc1->dc2', topic, partitions)).every(o => o === 1000n)
      )

      await stop(2)
      const downAt = Date.now()
      // 4 x 5,000 records of ~20 bytes while the target is down: more than the 256 KiB buffers hold.
      await produceSequence(producer, topic, partitions, 5000, 'v', 1000)
      // Evidence that every partition reached the new records and kept trying to deliver them through
      // a growing backoff (not a pause of some seconds): three failed attempts each, logged.
      await waitFor('every partition to retry its produce three times', 180_000, async () => {
        const retries = new Map<number, number>()
        for (const line of running.logs) {
          if (!line.includes('produce to target failed; retrying')) continue
          const entry = JSON.parse(line) as { msg?: string; partition?: number }
          if (entry.msg === 'produce to target failed; retrying' && entry.partition !== undefined)
            retries.set(entry.partition, (retries.get(entry.partition) ?? 0) + 1)
        }
        return [...Array(partitions).keys()].every(p => (retries.get(p) ?? 0) >= 3)
      })
      const during = running.replicator.status()[0]!.partitions
      assert.ok(
        during.every(p => p.state === 'running'),
        `no partition gives up while the target is down: ${JSON.stringify(during.map(p => p.reason))}`
      )
      assert.ok(
        during.every(p => p.replicatedNext <= 1000n + 50n),
        'nothing counts as copied while the target is down'
      )
      assert.ok(
        running.logs.some(l => l.includes('produce to target failed; retrying') || l.includes('failed; retrying'))
      )

      await start(2)
      console.error(`[down] target was down ${((Date.now() - downAt) / 1000).toFixed(1)} s`)
      const sourceEnd = await endOffsets(dc1, topic, partitions)
      await waitFor('caught up after the target returned', 60_000, async () => {
        const progress = await progressOf('dc1->dc2', topic, partitions)
        return progress.every((o, i) => o === sourceEnd[i])
      })
    } finally {
      await running.stop()
    }
    const copied = await kcatReadAll(bootstrapOf(2), topic)
    for (let p = 0; p < partitions; p++) {
      const seqs = new Set(copied.filter(r => r.partition === p).map(r => Number(r.payload!.split(':')[2])))
      for (let s = 0; s < 6000; s++) assert.ok(seqs.has(s), `partition ${p} record ${s} on the target`)
    }
  })
})
