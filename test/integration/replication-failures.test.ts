import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { RecordProducer, type RecordToProduce } from '../../src/kafka/index.ts'
import { bootstrapOf } from '../../tools/harness/harness.ts'
import { clusterConnection, uniqueTopic } from '../support/clusters.ts'
import { headerPairs, kcatReadAll } from '../support/kcat.ts'
import { writeConfig } from '../support/process.ts'
import { type PartitionStatus } from '../../src/engine-events/index.ts'
import {
  type RunningReplicator,
  admins,
  configYaml,
  endOffsets,
  produceSequence,
  startReplicator,
  waitFor
} from '../support/replication.ts'
import { progressOf } from '../support/state.ts'

/** Nothing silent: data lost on the source, records the target refuses, and bad config. */

/** Waits until the link's first partition has stopped with an error, and returns its status. */
function erroredPartition(running: RunningReplicator): Promise<PartitionStatus> {
  return waitFor('partition stopped', 30_000, async () => {
    const p = running.replicator.status()[0]?.partitions[0]
    return p?.state === 'errored' ? p : undefined
  })
}

const link = (topic: string, extra = ''): string => `  - source: dc1
    target: dc2
    commitIntervalMs: 200
${extra}    topics: { include: ["${topic}"] }
`

describe('source data deleted before it was replicated', () => {
  const { dc1, dc2, close } = admins()
  const producer = new RecordProducer(clusterConnection(1))
  after(async () => {
    await producer.close()
    await close()
  })

  async function prepare(): Promise<string> {
    const topic = uniqueTopic('loss')
    await dc1.createTopics([{ name: topic, partitions: 1 }])
    await produceSequence(producer, topic, 1, 100, 'x')
    const first = await startReplicator(configYaml(link(topic)))
    await waitFor('first 100 committed', 20_000, async () => (await progressOf('dc1->dc2', topic, 1))[0] === 100n)
    await first.stop()
    // While replication is down: 100 more records, then the source deletes up to offset 150.
    await produceSequence(producer, topic, 1, 100, 'x', 100)
    await dc1.deleteRecords(topic, new Map([[0, 150n]]))
    return topic
  }

  test('default policy stops the partition and names the lost offsets', async () => {
    const topic = await prepare()
    const running = await startReplicator(configYaml(link(topic)))
    try {
      const status = await erroredPartition(running)
      assert.match(
        status.reason!,
        /source data lost: offsets 100\.\.149 \(50 records\) were deleted on the source before they were replicated\. Policy onDataLoss=stop.*cluster dc1, topic loss\.[^,]+, partition 0, offset 100/
      )
      assert.ok(running.logs.some(l => l.includes('"level":"error"') && l.includes('KDR_ERR_SOURCE_DATA_LOST')))
      assert.deepEqual(await endOffsets(dc2, topic, 1), [100n], 'nothing after the gap was copied')
    } finally {
      await running.stop()
    }
  })

  test('onDataLoss: skip continues after the gap, counts and logs it', async () => {
    const topic = await prepare()
    const running = await startReplicator(configYaml(link(topic, '    onDataLoss: skip\n')))
    try {
      await waitFor('records after the gap copied', 20_000, async () => (await endOffsets(dc2, topic, 1))[0] === 150n)
      const p = running.replicator.status()[0]!.partitions[0]!
      assert.equal(p.lostRecords, 50n)
      assert.equal(p.state, 'running')
      assert.ok(running.logs.some(l => l.includes('KDR_ERR_SOURCE_DATA_LOST') && l.includes('"lost":"50"')))
      const values = (await kcatReadAll(bootstrapOf(2), topic)).map(r => Number(r.payload!.split(':')[2]))
      assert.deepEqual(values, [...[...Array(100).keys()], ...Array.from({ length: 50 }, (_, i) => 150 + i)])
    } finally {
      await running.stop()
    }
  })
})

describe('a record the target refuses (too large)', () => {
  const { dc1, dc2, close } = admins()
  const producer = new RecordProducer(clusterConnection(1))
  after(async () => {
    await producer.close()
    await close()
  })

  async function prepare(): Promise<string> {
    const topic = uniqueTopic('large')
    await dc1.createTopics([{ name: topic, partitions: 1 }])
    // The target topic exists with a smaller limit than the source's broker default (a target-only override).
    await dc2.createTopics([{ name: topic, partitions: 1, configs: { 'max.message.bytes': '200000' } }])
    const records: RecordToProduce[] = []
    for (let i = 0; i < 21; i++) {
      records.push({
        partition: 0,
        timestamp: BigInt(Date.now()),
        key: Buffer.from(`k${i}`),
        value: Buffer.alloc(i === 10 ? 500_000 : 100, 0x61),
        headers: []
      })
    }
    await producer.send(topic, records)
    return topic
  }

  test('default policy: the records before it land, the partition stops naming the offset', async () => {
    const topic = await prepare()
    const running = await startReplicator(configYaml(link(topic)))
    try {
      const status = await erroredPartition(running)
      assert.match(
        status.reason!,
        /target refused the record \((MESSAGE_TOO_LARGE|RECORD_LIST_TOO_LARGE), 500003 bytes/
      )
      assert.match(status.reason!, /Policy onRecordError=stop.*cluster dc2, topic .*, partition 0, offset 10\)/)
      assert.deepEqual(await endOffsets(dc2, topic, 1), [10n])
      await waitFor(
        'progress committed up to the refused record',
        30_000,
        async () => (await progressOf('dc1->dc2', topic, 1))[0] === 10n
      )
    } finally {
      await running.stop()
    }
  })

  test('onRecordError: dead-letter writes it to the dead-letter topic and carries on', async () => {
    const topic = await prepare()
    const dlq = `${topic}.dlq`
    const running = await startReplicator(
      configYaml(link(topic, `    onRecordError: dead-letter\n    deadLetterTopic: ${dlq}\n`))
    )
    try {
      await waitFor('the other 20 records copied', 20_000, async () => (await endOffsets(dc2, topic, 1))[0] === 20n)
      const [dead] = await kcatReadAll(bootstrapOf(2), dlq)
      assert.equal(dead?.key, 'k10')
      const headers = new Map(headerPairs(dead?.headers))
      assert.equal(headers.get('kdr-dlq-source'), `${topic}/0/10`)
      assert.match(headers.get('kdr-dlq-error') ?? '', /target refused the record/)
      assert.equal(running.replicator.status()[0]!.partitions[0]!.deadLetteredRecords, 1)
    } finally {
      await running.stop()
    }
  })
})

describe('bad config', () => {
  test('replicate exits 2 and names the key path of every problem', async () => {
    const file = writeConfig(`clusters:
  dc1: { bootstrap: "127.0.0.1:19092" }
  dc2: { boostrap: "127.0.0.1:29092" }
links:
  - source: dc1
    target: dc3
    naming: mirror
    topics: { include: ["ok", "bad[regex"] }
`)
    await assert.rejects(
      promisify(execFile)(process.execPath, ['src/cli/main.ts', 'replicate', '--config', file]),
      (e: { code: number; stderr: string }) => {
        assert.equal(e.code, 2)
        assert.match(e.stderr, /clusters\.dc2\.boostrap: unknown key/)
        assert.match(e.stderr, /links\[0\]\.target: /)
        assert.match(e.stderr, /links\[0\]\.naming: expected identity, prefix/)
        assert.match(e.stderr, /links\[0\]\.topics\.include\[1\]: invalid regular expression/)
        return true
      }
    )
  })
})

describe('source topic deleted and re-created under the same name', () => {
  test('default policy stops its partitions, naming both topic ids; the old copy is left alone', async () => {
    const { dc1, dc2, close } = admins()
    const producer = new RecordProducer(clusterConnection(1))
    const topic = uniqueTopic('recreated')
    await dc1.createTopics([{ name: topic, partitions: 1 }])
    await produceSequence(producer, topic, 1, 10, 'old')
    const running = await startReplicator(configYaml(link(topic)))
    try {
      await waitFor('old records copied', 20_000, async () => (await endOffsets(dc2, topic, 1))[0] === 10n)
      const [before] = await dc1.describeTopics([topic])
      await dc1.deleteTopics([topic])
      // Deletion completes asynchronously; creating the same name can be refused for a moment.
      await waitFor('topic re-created', 20_000, async () => {
        await dc1.createTopics([{ name: topic, partitions: 1 }])
        return true
      })
      // The producer may still see the topic as unknown for a moment: such a send writes nothing.
      await waitFor('records written to the new topic', 20_000, async () => {
        await produceSequence(producer, topic, 1, 5, 'new')
        return true
      })
      const status = await erroredPartition(running)
      const [after] = await dc1.describeTopics([topic])
      assert.match(
        status.reason!,
        new RegExp(`source topic was re-created \\(topic id ${before!.topicId} -> ${after!.topicId}\\)`)
      )
      assert.deepEqual(await endOffsets(dc2, topic, 1), [10n], 'the new topic is not appended to the old copy')
    } finally {
      await running.stop()
      await producer.close()
      await close()
    }
  })
})
