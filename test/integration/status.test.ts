import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { test } from 'node:test'
import { promisify } from 'node:util'
import { parseConfig } from '../../src/config/index.ts'
import { status } from '../../src/failover/status.ts'
import { RecordProducer } from '../../src/kafka/index.ts'
import { clusterConnection, uniqueTopic } from '../support/clusters.ts'
import { consumeAndCommit } from '../support/groups.ts'
import { writeConfig } from '../support/process.ts'
import { admins, namedLinkYaml, produceSequence, startReplicator, waitFor } from '../support/replication.ts'
import { progressOf } from '../support/state.ts'

const run = promisify(execFile)

/** `status` and `translate` with the replicator stopped: RPO per partition, re-read exposure per group. */
test('status reports what is not replicated; translate works with the replicator down', async () => {
  const { dc1, close } = admins()
  const producer = new RecordProducer(clusterConnection(1))
  const topic = uniqueTopic('status')
  const link = `${topic}-link`
  const group = `${topic}.app`
  const yaml = namedLinkYaml(link, topic, group)
  try {
    await dc1.createTopics([{ name: topic, partitions: 2 }])
    await produceSequence(producer, topic, 2, 100, 's')
    await consumeAndCommit(
      1,
      group,
      topic,
      new Map([
        [0, 30n],
        [1, 30n]
      ])
    )
    const running = await startReplicator(yaml)
    await waitFor('replicated', 20_000, async () => (await progressOf(link, topic, 2)).every(o => o === 100n))
    await running.replicator.links[0]!.checkpoint()
    await running.stop()

    // While replication is down: 25 more records per partition, and the group moves on by 20.
    const producedAt = Date.now()
    await produceSequence(producer, topic, 2, 25, 's', 100)
    await consumeAndCommit(
      1,
      group,
      topic,
      new Map([
        [0, 50n],
        [1, 50n]
      ])
    )

    const [l] = await status(parseConfig(yaml, '<test>'))
    // The oldest missing record's age is bounded by the time since it was produced (not by a fixed figure).
    const maxAge = (Date.now() - producedAt) / 1000 + 1
    assert.ok(l!.replicator.startsWith('stopped'), l!.replicator)
    assert.equal(l!.sourceReachable, true)
    for (const p of l!.partitions) {
      assert.equal(p.records, 25n)
      // keys "k<seq % 97>" and values "s:<p>:<seq>" for seq 100..124
      let bytes = 0
      for (let seq = 100; seq < 125; seq++) bytes += `k${seq % 97}`.length + `s:${p.partition}:${seq}`.length
      assert.equal(p.bytes, bytes)
      assert.equal(p.bytesEstimated, false)
      assert.ok(p.seconds !== null && p.seconds >= 0 && p.seconds <= maxAge, `${p.seconds} s, at most ${maxAge} s`)
    }
    assert.deepEqual(
      l!.groups.map(g => [g.group, g.rereadIfSourceLost, g.notReplicated]),
      [[group, 40n, 0n]],
      'the checkpoint is 20 records behind the group on each partition'
    )

    const file = writeConfig(yaml)
    const { stdout } = await run(process.execPath, [
      'src/cli/main.ts',
      'translate',
      '--config',
      file,
      '--link',
      link,
      '--group',
      group,
      '--json'
    ])
    const result = JSON.parse(stdout) as {
      sourceReachable: boolean
      rows: { sourceOffset: string; targetOffset: string; exact: boolean }[]
    }
    assert.equal(result.sourceReachable, true)
    assert.deepEqual(
      result.rows.map(r => [r.sourceOffset, r.targetOffset, r.exact]),
      [
        ['50', '50', true],
        ['50', '50', true]
      ]
    )
    const text = await run(process.execPath, ['src/cli/main.ts', 'status', '--config', file])
    assert.match(text.stdout, /not replicated/)
    assert.match(text.stdout, new RegExp(`${group.replaceAll('.', '\\.')}\\s+2\\s+40`))
  } finally {
    await producer.close()
    await close()
  }
})
