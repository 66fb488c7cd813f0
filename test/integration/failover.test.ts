import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { parseConfig } from '../../src/config/index.ts'
import { loadLinkState } from '../../src/state/index.ts'
import { failback } from '../../src/failover/failback.ts'
import { failover } from '../../src/failover/failover.ts'
import { AUDIT_TOPIC } from '../../src/failover/audit.ts'
import { RecordProducer } from '../../src/kafka/index.ts'
import { bootstrapOf, start, stop } from '../../tools/harness/harness.ts'
import { clusterConnection, uniqueTopic } from '../support/clusters.ts'
import { consumeAndCommit, consumeRest } from '../support/groups.ts'
import { kcatReadAll } from '../support/kcat.ts'
import { admins, endOffsets, namedLinkYaml, produceSequence, startReplicator, waitFor } from '../support/replication.ts'
import { progressOf } from '../support/state.ts'

/**
 * Failover and failback on real clusters with real consumer groups (kafkajs): dry run changes
 * nothing; failover fences a running replicator and moves the group; producers and the group move
 * to dc2; failback reports the divergent tail exactly, copies back only what dc2 received, moves the
 * group back, and leaves the forward link replicating again.
 */

const PARTITIONS = 2

describe('failover and failback round trip', () => {
  const { dc1, dc2, close } = admins()
  const p1 = new RecordProducer(clusterConnection(1))
  const p2 = new RecordProducer(clusterConnection(2))
  after(async () => {
    await Promise.all([p1.close(), p2.close()])
    await close()
  })

  test('dry run, failover, writes on dc2, failback, forward replication again', async () => {
    const topic = uniqueTopic('dr')
    const link = `${topic}-link`
    const group = `${topic}.app`
    const yaml = namedLinkYaml(link, topic, group)
    const config = parseConfig(yaml, '<test>')
    const auditFile = join(tmpdir(), `${topic}-audit.jsonl`)
    await dc1.createTopics([{ name: topic, partitions: PARTITIONS }])
    await produceSequence(p1, topic, PARTITIONS, 500, 'a')
    const readOnDc1 = await consumeAndCommit(
      1,
      group,
      topic,
      new Map([...Array(PARTITIONS).keys()].map(p => [p, 300n]))
    )
    assert.equal(readOnDc1.get(0)?.length, 300)

    let running = await startReplicator(yaml)
    try {
      await waitFor('replicated', 20_000, async () =>
        (await progressOf(link, topic, PARTITIONS)).every(o => o === 500n)
      )
      await running.replicator.links[0]!.checkpoint()

      // Dry run: every check, nothing written. (The running replicator keeps writing its own heartbeats
      // and checkpoints to the state topic, so what is compared is what failover would write.)
      const snapshot = async (): Promise<unknown> => {
        const { documents } = await loadLinkState(clusterConnection(2), dc2, link)
        const audit =
          (await dc2.describeTopics([AUDIT_TOPIC])).length === 0
            ? null
            : await dc2.listOffsets(AUDIT_TOPIC, [0], 'latest')
        return {
          fence: documents.get('fence'),
          failover: documents.get('failover'),
          group: await dc2.groupOffsets(group),
          audit
        }
      }
      const before = await snapshot()
      const dry = await failover(config, { link, dryRun: true, auditFile })
      assert.equal(dry.dryRun, true)
      assert.equal(dry.rpoRecords, 0n)
      assert.deepEqual(
        dry.groups.map(g => [g.group, g.reason]),
        [[group, 'dry run: would commit']]
      )
      assert.deepEqual(await snapshot(), before, 'dry run changed nothing')

      // Failover while the replicator runs: it is fenced and stops writing.
      const report = await failover(config, { link, auditFile })
      assert.equal(report.alreadyCompleted, false)
      assert.equal(report.rpoRecords, 0n)
      assert.deepEqual(report.steps, ['preflight', 'fence', 'points', `group ${group}`, 'completed'])
      await waitFor('replicator fenced', 30_000, async () => running.replicator.status()[0]?.state === 'fenced')
      assert.deepEqual(
        await dc2.groupOffsets(group),
        new Map([
          [
            topic,
            new Map([
              [0, 300n],
              [1, 300n]
            ])
          ]
        ])
      )
      const again = await failover(config, { link, auditFile })
      assert.equal(again.alreadyCompleted, true, 'running failover again is a no-op')
      const audit = readFileSync(auditFile, 'utf8')
        .trim()
        .split('\n')
        .map(l => JSON.parse(l) as { step: string })
      assert.ok(audit.some(e => e.step === 'fence') && audit.some(e => e.step === 'completed'))
      assert.ok(
        (await kcatReadAll(bootstrapOf(2), AUDIT_TOPIC)).some(r => r.payload!.includes(report.id)),
        'audit on the target too'
      )
    } finally {
      await running.stop()
    }

    // The divergent tail: dc1 takes 20 more per partition that never reach dc2.
    await produceSequence(p1, topic, PARTITIONS, 20, 'tail')
    // Producers and the group move to dc2.
    await produceSequence(p2, topic, PARTITIONS, 100, 'dc2')
    const readOnDc2 = await consumeAndCommit(
      2,
      group,
      topic,
      new Map([...Array(PARTITIONS).keys()].map(p => [p, 560n]))
    )
    for (let p = 0; p < PARTITIONS; p++) {
      const expected = [
        ...Array.from({ length: 200 }, (_, i) => `a:${p}:${300 + i}`),
        ...Array.from({ length: 60 }, (_, i) => `dc2:${p}:${i}`)
      ]
      assert.deepEqual(readOnDc2.get(p), expected, `partition ${p}: resumed on dc2 with nothing skipped or read twice`)
    }

    // A replicator started on the fenced link refuses to write.
    const fenced = await startReplicator(yaml)
    try {
      assert.equal(fenced.replicator.status()[0]?.state, 'fenced')
    } finally {
      await fenced.stop()
    }

    // Failback.
    const dryBack = await failback(config, { link, dryRun: true })
    assert.deepEqual(
      dryBack.tail.map(t => [t.partition, t.from, t.to, t.records]),
      [...Array(PARTITIONS).keys()].map(p => [p, 500n, 520n, 20])
    )
    const exportFile = join(tmpdir(), `${topic}-tail.jsonl`)
    const back = await failback(config, { link, tail: 'export', exportFile, auditFile })
    assert.deepEqual(
      back.tail.map(t => [t.partition, t.from, t.to, t.records]),
      [...Array(PARTITIONS).keys()].map(p => [p, 500n, 520n, 20])
    )
    const exported = readFileSync(exportFile, 'utf8')
      .trim()
      .split('\n')
      .map(l => JSON.parse(l) as { value: string })
    assert.equal(exported.length, 40)
    assert.ok(exported.every(e => Buffer.from(e.value, 'base64').toString().startsWith('tail:')))

    // dc1 holds every record written on dc2 during the outage, once, after its own data.
    const onDc1 = await kcatReadAll(bootstrapOf(1), topic)
    for (let p = 0; p < PARTITIONS; p++) {
      const values = onDc1
        .filter(r => r.partition === p)
        .sort((x, y) => x.offset - y.offset)
        .map(r => r.payload)
      assert.deepEqual(
        values.slice(520),
        Array.from({ length: 100 }, (_, i) => `dc2:${p}:${i}`),
        `partition ${p}`
      )
    }
    // The group resumes on dc1 right after what it read on dc2.
    const rest = await consumeRest(1, group, topic, PARTITIONS * 40)
    for (let p = 0; p < PARTITIONS; p++) {
      assert.deepEqual(
        rest.get(p),
        Array.from({ length: 40 }, (_, i) => `dc2:${p}:${60 + i}`),
        `partition ${p} back on dc1`
      )
    }

    // Forward replication again: only new records go to dc2 (not the tail, not the copied-back ones).
    running = await startReplicator(yaml)
    try {
      assert.equal(running.replicator.status()[0]?.state, 'running')
      await produceSequence(p1, topic, PARTITIONS, 10, 'after')
      // Evidence that the forward link got past everything dc1 holds (the tail, the copied-back
      // records and the new ones): its stored progress is dc1's end offsets. Only then is dc2's end
      // offset final, and it must count just the 10 new records per partition.
      const dc1End = await endOffsets(dc1, topic, PARTITIONS)
      await waitFor("forward progress at dc1's end offsets", 60_000, async () =>
        (await progressOf(link, topic, PARTITIONS)).every((o, i) => o === dc1End[i])
      )
      assert.deepEqual(await endOffsets(dc2, topic, PARTITIONS), Array(PARTITIONS).fill(610n))
      const onDc2 = await kcatReadAll(bootstrapOf(2), topic)
      assert.deepEqual(
        onDc2.filter(r => r.partition === 0 && r.offset >= 600).map(r => r.payload),
        Array.from({ length: 10 }, (_, i) => `after:0:${i}`)
      )
    } finally {
      await running.stop()
    }
  })
})

describe('failover with the source cluster down', () => {
  test('succeeds from stored state, reports RPO as unknown, moves groups from checkpoints', async () => {
    const { dc1, dc2, close } = admins()
    const producer = new RecordProducer(clusterConnection(1))
    const topic = uniqueTopic('dr-down')
    const link = `${topic}-link`
    const group = `${topic}.app`
    const yaml = namedLinkYaml(link, topic, group)
    try {
      await dc1.createTopics([{ name: topic, partitions: 1 }])
      await produceSequence(producer, topic, 1, 100, 'x')
      await consumeAndCommit(1, group, topic, new Map([[0, 40n]]))
      const running = await startReplicator(yaml)
      await waitFor('replicated', 20_000, async () => (await progressOf(link, topic, 1))[0] === 100n)
      await running.replicator.links[0]!.checkpoint()
      await running.stop()

      await stop(1)
      const report = await failover(parseConfig(yaml, '<test>'), {
        link,
        auditFile: join(tmpdir(), `${topic}-audit.jsonl`)
      })
      assert.equal(report.sourceReachable, false)
      assert.equal(report.rpoRecords, null)
      assert.equal(report.partitions[0]?.notReplicated, null)
      assert.deepEqual(
        report.groups.map(g => [g.group, g.basis, g.committed]),
        [[group, 'checkpoint', true]]
      )
      assert.deepEqual(await dc2.groupOffsets(group), new Map([[topic, new Map([[0, 40n]])]]))
    } finally {
      await start(1)
      await producer.close()
      await close()
    }
  })
})

describe('failback with --tail reappend', () => {
  test('the divergent tail is written to dc2 once and never copied back to dc1', async () => {
    const { dc1, dc2, close } = admins()
    const p1 = new RecordProducer(clusterConnection(1))
    const p2 = new RecordProducer(clusterConnection(2))
    const topic = uniqueTopic('dr-reappend')
    const link = `${topic}-link`
    const yaml = namedLinkYaml(link, topic)
    const config = parseConfig(yaml, '<test>')
    try {
      await dc1.createTopics([{ name: topic, partitions: 1 }])
      await produceSequence(p1, topic, 1, 50, 'a')
      const running = await startReplicator(yaml)
      try {
        await waitFor('replicated', 20_000, async () => (await progressOf(link, topic, 1))[0] === 50n)
      } finally {
        await running.stop()
      }
      await failover(config, { link, auditFile: join(tmpdir(), `${topic}-audit.jsonl`) })
      await produceSequence(p1, topic, 1, 5, 'tail')
      await produceSequence(p2, topic, 1, 7, 'dc2')
      const back = await failback(config, { link, tail: 'reappend', auditFile: join(tmpdir(), `${topic}-audit.jsonl`) })
      assert.deepEqual(
        back.tail.map(t => [t.from, t.to, t.records]),
        [[50n, 55n, 5]]
      )
      const onDc2 = (await kcatReadAll(bootstrapOf(2), topic)).sort((a, b) => a.offset - b.offset).map(r => r.payload)
      assert.deepEqual(onDc2, [
        ...Array.from({ length: 50 }, (_, i) => `a:0:${i}`),
        ...Array.from({ length: 7 }, (_, i) => `dc2:0:${i}`),
        ...Array.from({ length: 5 }, (_, i) => `tail:0:${i}`)
      ])
      const onDc1 = (await kcatReadAll(bootstrapOf(1), topic)).sort((a, b) => a.offset - b.offset).map(r => r.payload)
      assert.deepEqual(
        onDc1,
        [
          ...Array.from({ length: 50 }, (_, i) => `a:0:${i}`),
          ...Array.from({ length: 5 }, (_, i) => `tail:0:${i}`),
          ...Array.from({ length: 7 }, (_, i) => `dc2:0:${i}`)
        ],
        'the reappended tail is not copied back; only the dc2 records are'
      )
      assert.deepEqual(await endOffsets(dc2, topic, 1), [62n])
    } finally {
      await Promise.all([p1.close(), p2.close()])
      await close()
    }
  })
})
