import assert from 'node:assert/strict'
import { existsSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { Kafka, logLevel } from 'kafkajs'
import { parseConfig } from '../../src/config/index.ts'
import { failback } from '../../src/failover/failback.ts'
import { failover } from '../../src/failover/failover.ts'
import { RecordProducer } from '../../src/kafka/index.ts'
import { bootstrapOf } from '../../tools/harness/harness.ts'
import { clusterConnection, uniqueTopic } from '../support/clusters.ts'
import { kcatReadAll } from '../support/kcat.ts'
import { admins, endOffsets, namedLinkYaml, produceSequence, startReplicator, waitFor } from '../support/replication.ts'
import { progressOf } from '../support/state.ts'

/**
 * Failback edges on real clusters: records written to dc1 while the failback runs are replicated by the
 * forward link afterwards (no window), and an open transaction on dc1 holding the divergent tail's last
 * stable offset back fails the failback loudly instead of exporting part of the tail.
 */

const PARTITIONS = 2

/** Replicates `perPartition` records dc1 -> dc2, stops the replicator, fails over. */
async function replicatedAndFailedOver(yaml: string, link: string, topic: string, perPartition: number): Promise<void> {
  const running = await startReplicator(yaml)
  try {
    await waitFor('replicated', 30_000, async () =>
      (await progressOf(link, topic, PARTITIONS)).every(o => o === BigInt(perPartition))
    )
  } finally {
    await running.stop()
  }
  await failover(parseConfig(yaml, '<test>'), { link, auditFile: join(tmpdir(), `${topic}-audit.jsonl`) })
}

describe('failback edges', () => {
  const { dc1, dc2, close } = admins()
  const p1 = new RecordProducer(clusterConnection(1))
  const p2 = new RecordProducer(clusterConnection(2))
  after(async () => {
    await Promise.all([p1.close(), p2.close()])
    await close()
  })

  test('records written to dc1 during the failback are replicated afterwards, once', async () => {
    const topic = uniqueTopic('fb-window')
    const link = `${topic}-link`
    const yaml = namedLinkYaml(link, topic)
    const config = parseConfig(yaml, '<test>')
    await dc1.createTopics([{ name: topic, partitions: PARTITIONS }])
    await produceSequence(p1, topic, PARTITIONS, 100, 'a')
    await replicatedAndFailedOver(yaml, link, topic, 100)
    await produceSequence(p1, topic, PARTITIONS, 5, 'tail')
    await produceSequence(p2, topic, PARTITIONS, 30, 'dc2')

    // Written to dc1 after failback read the divergent tail, while it copies dc2's records back.
    const during: Promise<void>[] = []
    let duringWritten = false
    let writtenBeforeReady: boolean | null = null
    const exportFile = join(tmpdir(), `${topic}-tail.jsonl`)
    await failback(config, {
      link,
      exportFile,
      auditFile: join(tmpdir(), `${topic}-audit.jsonl`),
      progress: line => {
        if (line.startsWith('divergent tail:'))
          during.push(produceSequence(p1, topic, PARTITIONS, 20, 'during').then(() => void (duringWritten = true)))
        if (line.startsWith('forward link ready:')) writtenBeforeReady = duringWritten
      }
    })
    await Promise.all(during)
    assert.equal(during.length, 1)
    assert.equal(writtenBeforeReady, true, 'the records were on dc1 before failback re-armed the forward link')
    assert.equal(statSync(exportFile).mode & 0o777, 0o600, 'the export file is readable by its owner only')
    assert.equal(existsSync(`${exportFile}.partial`), false)

    const running = await startReplicator(yaml)
    try {
      await waitFor('records written during the failback on dc2', 30_000, async () =>
        (await endOffsets(dc2, topic, PARTITIONS)).every(o => o >= 150n)
      )
      // Positive evidence the forward link got past everything dc1 holds before the final look.
      const dc1Ends = await endOffsets(dc1, topic, PARTITIONS)
      await waitFor('forward link caught up with dc1', 30_000, async () =>
        (await progressOf(link, topic, PARTITIONS)).every((o, p) => o === dc1Ends[p])
      )
    } finally {
      await running.stop()
    }
    const onDc2 = await kcatReadAll(bootstrapOf(2), topic)
    for (let p = 0; p < PARTITIONS; p++) {
      assert.deepEqual(
        onDc2
          .filter(r => r.partition === p)
          .sort((x, y) => x.offset - y.offset)
          .map(r => r.payload),
        [
          ...Array.from({ length: 100 }, (_, i) => `a:${p}:${i}`),
          ...Array.from({ length: 30 }, (_, i) => `dc2:${p}:${i}`),
          ...Array.from({ length: 20 }, (_, i) => `during:${p}:${i}`)
        ],
        `partition ${p}: the records written during the failback once, the copied-back ones not again, the tail not`
      )
    }
  })

  test('an open transaction in the divergent tail fails the failback, naming the partition and offsets', async () => {
    const topic = uniqueTopic('fb-open-txn')
    const link = `${topic}-link`
    const yaml = namedLinkYaml(link, topic)
    const config = parseConfig(yaml, '<test>')
    await dc1.createTopics([{ name: topic, partitions: PARTITIONS }])
    await produceSequence(p1, topic, PARTITIONS, 50, 'a')
    await replicatedAndFailedOver(yaml, link, topic, 50)
    await produceSequence(p1, topic, PARTITIONS, 5, 'tail')

    const kafka = new Kafka({ brokers: [bootstrapOf(1)], clientId: `${topic}-txn`, logLevel: logLevel.NOTHING })
    const producer = kafka.producer({ transactionalId: `${topic}-txn`, idempotent: true, maxInFlightRequests: 1 })
    await producer.connect()
    try {
      const transaction = await producer.transaction()
      await transaction.send({ topic, messages: [{ partition: 1, value: 'open' }] })
      await produceSequence(p1, topic, PARTITIONS, 3, 'after-open')
      const exportFile = join(tmpdir(), `${topic}-tail.jsonl`)
      await assert.rejects(
        failback(config, { link, exportFile, stableWaitMs: 2000, auditFile: join(tmpdir(), `${topic}-audit.jsonl`) }),
        (error: Error) => {
          assert.match(
            error.message,
            new RegExp(`divergent tail \\[50, 59\\) of ${topic.replaceAll('.', '\\.')}/1 on dc1`)
          )
          assert.match(error.message, /last stable offset stayed at 55 \(below 59\)/)
          return true
        }
      )
      assert.equal(existsSync(exportFile), false, 'no partial export')

      await transaction.abort()
      const back = await failback(config, { link, exportFile, auditFile: join(tmpdir(), `${topic}-audit.jsonl`) })
      assert.deepEqual(
        back.tail.map(t => [t.partition, t.from, t.to, t.records]),
        [
          [0, 50n, 58n, 8],
          [1, 50n, 60n, 8]
        ],
        'the whole tail, without the aborted record (and its marker)'
      )
    } finally {
      await producer.disconnect()
    }
  })
})
