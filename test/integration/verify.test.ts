import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import kafkajs from 'kafkajs'
import { PROVENANCE_HEADER, ProvenanceEncoder } from '../../src/core/provenance.ts'
import { bootstrapOf, status } from '../../tools/harness/harness.ts'
import { clusterConnection, uniqueTopic } from '../support/clusters.ts'
import { type CliResult, runCli, writeConfig } from '../support/process.ts'
import { admins, namedLinkYaml, startReplicator, waitFor } from '../support/replication.ts'
import { SequenceWriter } from '../support/sequence-writer.ts'
import { progressOf } from '../support/state.ts'

/**
 * `kafka-dr verify` as an operator runs it (the CLI, exit codes, text and JSON), on a real copy: an
 * exact copy passes, records produced after replication stopped are lag (still exit 0), and records
 * forged on the target with a provenance header (what a buggy or foreign writer would leave) are
 * reported as altered and missing with their offsets, exit 1. The forged records are written with
 * kafkajs, not with kafka-dr's producer.
 */

function verifyCli(config: string, link: string, topic: string, json: boolean): Promise<CliResult> {
  return runCli('verify', '--config', config, '--link', link, '--topics', topic, ...(json ? ['--json'] : []))
}
interface JsonReport {
  ok: boolean
  totals: { matched: number; missing: number; altered: number; notReplicated: number; checked: number }
  partitions: {
    partition: number
    ok: boolean
    altered: { count: number; offsets: number[]; targetOffsets: number[] }
    missing: { count: number; ranges: { from: number; to: number }[] }
    notReplicated: { count: number; from: number | null }
  }[]
}

describe('kafka-dr verify (CLI) against real clusters', () => {
  const { dc1, close } = admins()
  after(close)

  test('exact copy: exit 0; lag is not an error; forged target records: altered and missing with offsets, exit 1', async () => {
    const topic = uniqueTopic('verify.cli')
    const link = 'verify-cli'
    await dc1.createTopics([{ name: topic, partitions: 2 }])
    const writer = new SequenceWriter(clusterConnection(1), topic, 2, 'v', 64)
    await writer.write(200)
    const yaml = namedLinkYaml(link, topic)
    const config = writeConfig(yaml)
    const running = await startReplicator(yaml)
    try {
      await waitFor('200 per partition committed', 60_000, async () =>
        (await progressOf(link, topic, 2)).every(p => p === 200n)
      )
    } finally {
      await running.stop()
    }

    const exact = await verifyCli(config, link, topic, true)
    assert.equal(exact.code, 0, exact.stderr)
    const exactReport = JSON.parse(exact.stdout) as JsonReport
    assert.equal(exactReport.ok, true)
    assert.equal(exactReport.totals.matched, 400)

    // Produced after replication stopped: not replicated yet, which is lag and not a mismatch.
    await writer.write(50)
    await writer.close()
    const lagging = JSON.parse((await verifyCli(config, link, topic, true)).stdout) as JsonReport
    assert.equal(lagging.ok, true)
    assert.equal(lagging.totals.notReplicated, 100)

    // Copies of source offsets 200 and 230 of partition 0 with other values, as if kafka-dr wrote them.
    const origin = status().find(s => s.index === 1)?.clusterId
    assert.ok(origin !== undefined)
    const provenance = new ProvenanceEncoder(topic, 0)
    const kafka = new kafkajs.Kafka({ brokers: [bootstrapOf(2)], logLevel: kafkajs.logLevel.NOTHING })
    const producer = kafka.producer()
    await producer.connect()
    await producer.send({
      topic,
      messages: [200, 230].map(offset => ({
        partition: 0,
        key: 'forged',
        value: `forged copy of ${offset}`,
        headers: { [PROVENANCE_HEADER]: provenance.encode(origin, 1, BigInt(offset)) }
      }))
    })
    await producer.disconnect()

    const forged = await verifyCli(config, link, topic, true)
    assert.equal(forged.code, 1)
    const forgedReport = JSON.parse(forged.stdout) as JsonReport
    assert.equal(forgedReport.ok, false)
    const p0 = forgedReport.partitions.find(p => p.partition === 0)!
    assert.equal(p0.ok, false)
    assert.deepEqual(p0.altered, { count: 2, offsets: [200, 230], targetOffsets: [200, 201] })
    assert.deepEqual(p0.missing, { count: 29, ranges: [{ from: 201, to: 230 }] })
    assert.deepEqual(p0.notReplicated, { count: 19, from: 231 })
    assert.equal(forgedReport.partitions.find(p => p.partition === 1)?.ok, true)

    const text = await verifyCli(config, link, topic, false)
    assert.equal(text.code, 1)
    assert.match(text.stdout, /MISMATCH/)
    assert.match(
      text.stdout,
      new RegExp(
        `FAIL ${topic.replaceAll('.', '\\.')}/0 .*29 missing \\(201\\.\\.229\\).*2 altered \\(offsets 200, 230\\)`
      )
    )
    assert.match(text.stderr, /verify: \d+ of \d+ source records checked/)
  })
})
