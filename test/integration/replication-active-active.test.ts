import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { RecordProducer } from '../../src/kafka/index.ts'
import { bootstrapOf } from '../../tools/harness/harness.ts'
import { clusterConnection, uniqueTopic } from '../support/clusters.ts'
import { kcatReadAll } from '../support/kcat.ts'
import { admins, configYaml, endOffsets, produceSequence, startReplicator, waitFor } from '../support/replication.ts'

/**
 * Active-active with identical topic names: links dc1->dc2 and dc2->dc1 run together; records
 * produced on each side appear exactly once on the other and never come back (provenance header).
 */
describe('active-active dc1 <-> dc2 with identity naming', () => {
  const { dc1, dc2, close } = admins()
  const p1 = new RecordProducer(clusterConnection(1))
  const p2 = new RecordProducer(clusterConnection(2))
  after(async () => {
    await Promise.all([p1.close(), p2.close()])
    await close()
  })

  test('each record exactly once on each side, none cycling back', async () => {
    const topic = uniqueTopic('aa.orders')
    const partitions = 3
    const perPartition = 1000
    await Promise.all([
      dc1.createTopics([{ name: topic, partitions }]),
      dc2.createTopics([{ name: topic, partitions }])
    ])
    const running = await startReplicator(
      configYaml(`  - source: dc1
    target: dc2
    topics: { include: ["${topic}"] }
  - source: dc2
    target: dc1
    topics: { include: ["${topic}"] }
`)
    )
    try {
      // Both sides written while both links run, in several rounds so replicated and local
      // records interleave in every partition.
      for (let round = 0; round < 4; round++) {
        const from = round * (perPartition / 4)
        await Promise.all([
          produceSequence(p1, topic, partitions, perPartition / 4, 'dc1', from),
          produceSequence(p2, topic, partitions, perPartition / 4, 'dc2', from)
        ])
        await sleep(200)
      }
      const expected = BigInt(2 * perPartition)
      await waitFor('both sides to hold both sides records', 60_000, async () => {
        const [a, b] = await Promise.all([endOffsets(dc1, topic, partitions), endOffsets(dc2, topic, partitions)])
        return [...a, ...b].every(o => o >= expected)
      })
      // Evidence that no copy is on its way any more: each link has settled (copied or passed over)
      // every record its source holds, status read before the end offsets. A record sent back would
      // have to come from a record not yet settled, and would show as an end offset past the other's.
      await waitFor('each link settled at its source end offsets', 60_000, async () => {
        const status = running.replicator.status()
        const [a, b] = await Promise.all([endOffsets(dc1, topic, partitions), endOffsets(dc2, topic, partitions)])
        const settled = (link: string, end: bigint[]): boolean => {
          const copied = status.find(l => l.link === link)?.partitions ?? []
          return copied.length === partitions && copied.every(p => p.replicatedNext === end[p.partition])
        }
        return settled('dc1->dc2', a) && settled('dc2->dc1', b)
      })
      assert.deepEqual(await endOffsets(dc1, topic, partitions), Array(partitions).fill(expected))
      assert.deepEqual(await endOffsets(dc2, topic, partitions), Array(partitions).fill(expected))

      for (const index of [1, 2]) {
        const records = await kcatReadAll(bootstrapOf(index), topic)
        const values = records.map(r => r.payload)
        assert.equal(new Set(values).size, values.length, `dc${index}: no value twice`)
        for (const origin of ['dc1', 'dc2']) {
          for (let p = 0; p < partitions; p++) {
            const seqs = records
              .filter(r => r.partition === p && r.payload!.startsWith(`${origin}:`))
              .sort((x, y) => x.offset - y.offset)
              .map(r => Number(r.payload!.split(':')[2]))
            assert.deepEqual(
              seqs,
              [...Array(perPartition).keys()],
              `dc${index} partition ${p}: ${origin} records once, in order`
            )
          }
        }
        // Local records carry no provenance; replicated ones carry exactly one.
        for (const r of records) {
          const local = r.payload!.startsWith(`dc${index}:`)
          const provenance = (r.headers ?? []).filter((_, i) => i % 2 === 0 && r.headers![i] === 'kdr-prov').length
          assert.equal(provenance, local ? 0 : 1, `dc${index} ${r.payload}`)
        }
      }
      const status = running.replicator.status()
      const skipped = status.flatMap(l => l.partitions).reduce((n, p) => n + p.loopSkippedRecords, 0)
      assert.equal(skipped, 2 * partitions * perPartition, 'every replicated record was recognised and not sent back')
    } finally {
      await running.stop()
    }
  })
})
