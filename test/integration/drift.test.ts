import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { after, describe, test } from 'node:test'
import { promisify } from 'node:util'
import kafkajs from 'kafkajs'
import { type DriftReport } from '../../src/verify/drift.ts'
import { RecordProducer } from '../../src/kafka/index.ts'
import { bootstrapOf } from '../../tools/harness/harness.ts'
import { clusterConnection, uniqueTopic } from '../support/clusters.ts'
import { writeConfig } from '../support/process.ts'
import { admins, configYaml, endOffsets, produceSequence, startReplicator, waitFor } from '../support/replication.ts'

const run = promisify(execFile)

/** `kafka-dr drift` as an operator runs it: exit code and stdout. */
async function drift(file: string, link: string, json: boolean): Promise<{ code: number; stdout: string }> {
  const args = ['src/cli/main.ts', 'drift', '--config', file, '--link', link, ...(json ? ['--json'] : [])]
  try {
    const { stdout } = await run(process.execPath, args)
    return { code: 0, stdout }
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string }
    assert.equal(failed.code, 1, failed.stderr)
    return { code: failed.code, stdout: failed.stdout }
  }
}

const linkYaml = (link: string, include: string[], naming = 'identity'): string =>
  `  - name: ${link}\n    source: dc1\n    target: dc2\n    commitIntervalMs: 200\n    naming: ${naming}\n    topics: { include: [${include.map(t => JSON.stringify(t)).join(', ')}] }\n`

/**
 * Given a link that replicated a topic and stopped, when the target is changed behind its back with
 * an independent client (kafkajs), then `kafka-dr drift` reports each difference with what the link
 * does about it, and exits 1 because some of it the link cannot fix. The replicator is down meanwhile.
 */
describe('kafka-dr drift', () => {
  const { dc1, dc2, close } = admins()
  const producer = new RecordProducer(clusterConnection(1))
  const target = new kafkajs.Kafka({ brokers: [bootstrapOf(2)], logLevel: kafkajs.logLevel.NOTHING })
  const targetAdmin = target.admin()
  after(async () => {
    await Promise.all([producer.close(), targetAdmin.disconnect()])
    await close()
  })

  test('partitions, synced and target-only configs, missing and foreign target topics', async () => {
    const topic = uniqueTopic('drift.orders')
    const missing = uniqueTopic('drift.new')
    const foreign = uniqueTopic('drift.foreign')
    const link = `drift-${topic}`
    await dc1.createTopics([{ name: topic, partitions: 2, configs: { 'retention.ms': '86400000' } }])
    await produceSequence(producer, topic, 2, 20, 'dc1')

    // The link replicates the topic once, then stops: its progress is stored on dc2.
    const running = await startReplicator(configYaml(linkYaml(link, [topic])))
    try {
      await waitFor('the topic replicated and its progress committed', 60_000, async () => {
        const status = running.replicator.status().find(l => l.link === link)
        const ends = await endOffsets(dc2, topic, 2)
        return ends.every(e => e === 20n) && status?.partitions.every(p => p.committedNext === 20n) === true
      })
    } finally {
      await running.stop()
    }
    const inLine = await drift(writeConfig(configYaml(linkYaml(link, [topic]))), link, false)
    assert.equal(inLine.code, 0, inLine.stdout)
    assert.match(inLine.stdout, new RegExp(`link ${link} \\(dc1 -> dc2\\): 1 topics checked, no drift`))

    // Drift made behind the link's back.
    await targetAdmin.connect()
    await targetAdmin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: kafkajs.ConfigResourceTypes.TOPIC,
          name: topic,
          configEntries: [
            { name: 'retention.ms', value: '3600000' },
            { name: 'segment.bytes', value: '1048576' }
          ]
        }
      ]
    })
    await targetAdmin.createPartitions({ topicPartitions: [{ topic, count: 3 }] })
    await dc1.createTopics([
      { name: missing, partitions: 1 },
      { name: foreign, partitions: 1 }
    ])
    await targetAdmin.createTopics({ topics: [{ topic: foreign, numPartitions: 1 }] })
    const targetProducer = target.producer()
    await targetProducer.connect()
    await targetProducer.send({ topic: foreign, messages: [{ value: 'not from kafka-dr' }, { value: 'neither' }] })
    await targetProducer.disconnect()

    const file = writeConfig(configYaml(linkYaml(link, [topic, missing, foreign])))
    const { code, stdout } = await drift(file, link, true)
    assert.equal(code, 1, stdout)
    const report = JSON.parse(stdout) as DriftReport
    assert.equal(report.exitCode, 1)
    const [checked] = report.links
    assert.equal(checked?.topics, 3)
    const seen = checked.findings.map(f => [f.kind, f.action, f.targetTopic, f.key, f.source, f.target])
    assert.deepEqual(seen, [
      // sorted by source topic: drift.foreign, drift.new, drift.orders (unique suffixes share a prefix)
      ...[
        ['foreign-target', 'cannot-fix', foreign, null, null, '2'],
        ['target-missing', 'link-fixes', missing, null, '1', null],
        ['partitions-more', 'cannot-fix', topic, null, '2', '3'],
        ['config-differs', 'link-fixes', topic, 'retention.ms', '86400000', '3600000'],
        ['config-target-only', 'left-alone', topic, 'segment.bytes', '1073741824', '1048576']
      ].sort((a, b) => (a[2]! < b[2]! ? -1 : a[2]! > b[2]! ? 1 : 0))
    ])

    const text = await drift(file, link, false)
    assert.equal(text.code, 1)
    assert.match(text.stdout, /3 topics checked, 5 findings, 2 the link cannot fix/)
    assert.match(
      text.stdout,
      new RegExp(
        `\\[CANNOT FIX\\] foreign-target: ${foreign.replaceAll('.', '\\.')} on dc2 holds records kafka-dr did not write \\(2 offsets`
      )
    )
    assert.match(text.stdout, /\[link fixes\] config-differs: .*retention\.ms=3600000, the link's value 86400000/)
  })

  test('two links writing one target topic: validate only warns (regular expressions), drift refuses', async () => {
    const topic = uniqueTopic('drift.shared')
    await dc1.createTopics([{ name: topic, partitions: 1 }])
    const pattern = topic.replaceAll('.', '\\.')
    const a = `drift-a-${topic}`
    const b = `drift-b-${topic}`
    const file = writeConfig(configYaml(linkYaml(a, [pattern]) + linkYaml(b, [`${pattern}|none`])))
    const { code, stdout } = await drift(file, a, true)
    assert.equal(code, 1, stdout)
    const report = JSON.parse(stdout) as DriftReport
    const shared = report.links[0]?.findings.filter(f => f.kind === 'shared-target')
    assert.equal(shared?.length, 1)
    assert.equal(shared[0]?.targetTopic, topic)
    assert.match(shared[0]!.message, new RegExp(`also written by link ${b}`))
  })
})
