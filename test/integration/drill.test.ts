import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import kafkajs from 'kafkajs'
import { PROVENANCE_HEADER, ProvenanceEncoder } from '../../src/core/provenance.ts'
import { bootstrapOf, status } from '../../tools/harness/harness.ts'
import { uniqueTopic } from '../support/clusters.ts'
import { type CliResult, runCli, spawnReplicator, stopProcess, waitForOutput, writeConfig } from '../support/process.ts'
import { parsePrometheus, value } from '../support/prometheus.ts'
import { admins, configYaml, namedLinkYaml, startReplicator, waitFor } from '../support/replication.ts'
import { progressOf } from '../support/state.ts'

/**
 * `kafka-dr drill` as an operator runs it (the CLI), and the scheduled drill inside `replicate`, on a
 * real copy made by a running replicator (exactly-once, so target offsets differ from source offsets
 * by the commit markers). Groups get committed offsets on dc1 through kafkajs (no member needed); the
 * drill must find every partition matched, commit nothing on dc1 and create no group on dc2 (both
 * checked with kafkajs' admin). Then a copy forged on dc2 at the translated position of a group (as
 * a buggy writer would leave it, written with kafkajs) must be reported as a mismatch, exit 1, while
 * the records after it that are not replicated yet count as lag.
 */

const PER_PARTITION = 200

function drillCli(config: string, link: string, groups: string[], extra: string[] = []): Promise<CliResult> {
  return runCli('drill', '--config', config, '--link', link, '--groups', groups.join(','), ...extra)
}
interface Counted {
  count: number
  offsets: number[]
}

interface JsonDrill {
  exact: boolean
  records: number
  groups: {
    group: string
    exact: boolean
    error: string | null
    rto: { translateMs: number; firstTargetRecordMs: number | null; totalMs: number }
    partitions: {
      partition: number
      sourceOffset: number
      targetOffset: number | null
      matched: number
      mismatched: Counted & { targetOffsets: number[] }
      reread: Counted
      skipped: Counted
      notReplicated: Counted
      exact: boolean
    }[]
  }[]
}

const kafka = (index: number): kafkajs.Kafka =>
  new kafkajs.Kafka({
    brokers: [bootstrapOf(index)],
    clientId: 'kafka-dr-test-drill',
    logLevel: kafkajs.logLevel.NOTHING
  })

async function groupOffsets(admin: kafkajs.Admin, groupId: string, topic: string): Promise<string[]> {
  const [fetched] = await admin.fetchOffsets({ groupId, topics: [topic] })
  return fetched!.partitions.sort((a, b) => a.partition - b.partition).map(p => p.offset)
}

describe('kafka-dr drill against real clusters', () => {
  const { dc1, close } = admins()
  const source = kafka(1).admin()
  const target = kafka(2).admin()
  after(async () => {
    await Promise.all([close(), source.disconnect(), target.disconnect()])
  })

  test('a running copy: every partition matched, nothing committed anywhere, the scheduled drill exported', async () => {
    await Promise.all([source.connect(), target.connect()])
    const topic = uniqueTopic('drill')
    const link = 'drill-ok'
    const groups = [`${topic}.g-mid`, `${topic}.g-head`]
    await dc1.createTopics([{ name: topic, partitions: 2 }])
    const producer = kafka(1).producer()
    await producer.connect()
    for (let p = 0; p < 2; p++) {
      await producer.send({
        topic,
        messages: Array.from({ length: PER_PARTITION }, (_, i) => ({
          partition: p,
          key: `k${i % 7}`,
          value: `v:${p}:${i}`,
          headers: { app: `h${i}` },
          timestamp: String(1_700_000_000_000 + i)
        }))
      })
    }
    await producer.disconnect()
    // g-mid resumes at 120 (80 records left), g-head at 195 (5 left): committed without a member.
    for (const [group, offset] of [
      [groups[0]!, '120'],
      [groups[1]!, '195']
    ] as const) {
      await source.setOffsets({ groupId: group, topic, partitions: [0, 1].map(partition => ({ partition, offset })) })
    }
    const before = await Promise.all(groups.map(g => groupOffsets(source, g, topic)))

    const config = writeConfig(
      configYaml(
        `  - name: ${link}\n    source: dc1\n    target: dc2\n    delivery: exactly-once\n    commitIntervalMs: 200\n    topics: { include: ["${topic}"] }\n    drill: { intervalMs: 1500, groups: ["${groups.join('", "')}"], records: 50 }\n`
      )
    )
    const replicator = spawnReplicator(config)
    try {
      await waitForOutput(replicator, '"msg":"starting"', 20_000)
      const url = /"http":"(http:\/\/[^"]+)"/.exec(replicator.output())?.[1]
      assert.ok(url !== undefined, replicator.output())
      await waitFor(`${PER_PARTITION} per partition committed`, 30_000, async () =>
        (await progressOf(link, topic, 2)).every(p => p === BigInt(PER_PARTITION))
      )

      // Given a running replicator, when the operator drills both groups:
      const drill = await drillCli(config, link, groups, ['--records', '50', '--json'])
      assert.equal(drill.code, 0, `${drill.stdout}\n${drill.stderr}`)
      const report = JSON.parse(drill.stdout) as JsonDrill
      assert.equal(report.exact, true)
      const [mid, head] = report.groups
      for (const p of mid!.partitions) {
        assert.deepEqual([p.sourceOffset, p.matched, p.exact], [120, 50, true])
        assert.deepEqual([p.mismatched.count, p.skipped.count, p.reread.count, p.notReplicated.count], [0, 0, 0, 0])
      }
      for (const p of head!.partitions) assert.deepEqual([p.sourceOffset, p.matched, p.exact], [195, 5, true])
      assert.equal(mid!.partitions.length, 2)
      assert.ok(mid!.rto.firstTargetRecordMs !== null && mid!.rto.firstTargetRecordMs >= mid!.rto.translateMs)
      assert.ok(mid!.rto.totalMs >= mid!.rto.firstTargetRecordMs)

      const text = await drillCli(config, link, [groups[0]!])
      assert.equal(text.code, 0, text.stderr)
      assert.match(text.stdout, /EXACT/)
      assert.match(
        text.stdout,
        new RegExp(`group ${groups[0]!.replaceAll('.', '\\.')}: would resume exactly; RTO: translate \\d+ ms`)
      )

      // The scheduled drill inside replicate reports through its metrics.
      await waitFor('a scheduled drill of both groups', 20_000, async () => {
        const families = parsePrometheus(await (await fetch(`${url}/metrics`)).text())
        return groups.every(
          group =>
            families.has('kafka_dr_drill_last_result') &&
            value(families, 'kafka_dr_drill_last_result', { link, group }) === 1 &&
            value(families, 'kafka_dr_drill_mismatches', { link, group }) === 0 &&
            value(families, 'kafka_dr_drill_rto_seconds', { link, group }) > 0
        )
      })
    } finally {
      await stopProcess(replicator)
    }

    // Nothing left behind: the groups do not exist on dc2, their offsets on dc1 did not move.
    const listed = (await target.listGroups()).groups.map(g => g.groupId)
    for (const group of groups) assert.ok(!listed.includes(group), `${group} exists on dc2`)
    const described = await target.describeGroups(groups)
    assert.deepEqual(
      described.groups.map(g => g.state),
      ['Dead', 'Dead']
    )
    assert.deepEqual(await Promise.all(groups.map(g => groupOffsets(source, g, topic))), before)
    assert.deepEqual(await Promise.all(groups.map(g => groupOffsets(target, g, topic))), [
      ['-1', '-1'],
      ['-1', '-1']
    ])
  })

  test('a copy forged at the translated position: mismatch reported, exit 1; the rest is lag', async () => {
    await Promise.all([source.connect(), target.connect()])
    const topic = uniqueTopic('drill.forged')
    const link = 'drill-forged'
    const group = `${topic}.g`
    await dc1.createTopics([{ name: topic, partitions: 1 }])
    const producer = kafka(1).producer()
    await producer.connect()
    const send = (from: number, count: number): Promise<unknown> =>
      producer.send({
        topic,
        messages: Array.from({ length: count }, (_, i) => ({ partition: 0, value: `v:${from + i}` }))
      })
    await send(0, 100)
    // at-least-once (namedLinkYaml, pinned): target offsets equal source offsets.
    const yaml = namedLinkYaml(link, topic)
    const running = await startReplicator(yaml)
    try {
      await waitFor('100 committed', 30_000, async () => (await progressOf(link, topic, 1))[0] === 100n)
    } finally {
      await running.stop()
    }
    // Replication stopped: 20 more on the source, and the group has read the first 100.
    await send(100, 20)
    await producer.disconnect()
    await source.setOffsets({ groupId: group, topic, partitions: [{ partition: 0, offset: '100' }] })
    // A copy of source offset 100 with other content where translation puts the group (target 100).
    const origin = status().find(s => s.index === 1)?.clusterId
    assert.ok(origin !== undefined)
    const forger = kafka(2).producer()
    await forger.connect()
    await forger.send({
      topic,
      messages: [
        {
          partition: 0,
          value: 'forged',
          headers: { [PROVENANCE_HEADER]: new ProvenanceEncoder(topic, 0).encode(origin, 1, 100n) }
        }
      ]
    })
    await forger.disconnect()

    const config = writeConfig(yaml)
    const drill = await drillCli(config, link, [group], ['--json'])
    assert.equal(drill.code, 1, drill.stderr)
    const report = JSON.parse(drill.stdout) as JsonDrill
    assert.equal(report.exact, false)
    const [p] = report.groups[0]!.partitions
    assert.equal(p!.targetOffset, 100)
    assert.deepEqual(p!.mismatched, { count: 1, offsets: [100], targetOffsets: [100] })
    assert.equal(p!.matched, 0)
    assert.equal(p!.notReplicated.count, 19)
    assert.deepEqual([p!.skipped.count, p!.reread.count], [0, 0])

    const text = await drillCli(config, link, [group])
    assert.equal(text.code, 1)
    assert.match(text.stdout, /NOT EXACT/)
    assert.match(
      text.stdout,
      /FAIL .*\/0 .*1 mismatched \(source offsets 100; target offsets 100\).*19 not replicated yet/
    )
    const usage = await drillCli(config, link, [group], ['--records', '0'])
    assert.equal(usage.code, 2)
    assert.match(
      usage.stderr,
      /^kafka-dr: KDR_ERR_CONFIG: --records: expected a whole number from 1 to 100000, got "0"/
    )
    assert.deepEqual(await groupOffsets(source, group, topic), ['100'])
    assert.ok(!(await target.listGroups()).groups.some(g => g.groupId === group))
  })
})
