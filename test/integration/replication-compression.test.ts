import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { promisify } from 'node:util'
import { bootstrapOf } from '../../tools/harness/harness.ts'
import { javaBinary, kafkaVersion, libsDir, runDir } from '../../tools/harness/paths.ts'
import { clusterConnection, uniqueTopic } from '../support/clusters.ts'
import { verifyYaml } from '../support/faults.ts'
import { kcatAuditSequences } from '../support/kcat.ts'
import { admins, configYaml, startReplicator, waitFor } from '../support/replication.ts'
import { SequenceWriter } from '../support/sequence-writer.ts'
import { progressOf } from '../support/state.ts'

/**
 * Compressed writes to the target (producer.compression), which run on the compression worker
 * pool: kcat (librdkafka) decodes every record, verify matches every source record, and Kafka's own
 * DumpLogSegments confirms the target's batches carry the codec.
 */

const run = promisify(execFile)

/** The compression codecs of the batches in the target partition's first segment, by Kafka's own tool. */
async function targetCodecs(topic: string, partition: number): Promise<Set<string>> {
  const dir = join(runDir(), 'cluster-2', 'data', `${topic}-${partition}`)
  const segment = readdirSync(dir).find(f => f.endsWith('.log'))!
  const { stdout } = await run(
    javaBinary(),
    ['-cp', `${libsDir(kafkaVersion())}/*`, 'kafka.tools.DumpLogSegments', '--files', join(dir, segment)],
    { maxBuffer: 64 * 1024 * 1024 }
  )
  return new Set([...stdout.matchAll(/compresscodec: (\w+)/g)].map(m => m[1]!.toLowerCase()))
}

describe('replication with compression on the target', () => {
  const { dc1, close } = admins()
  after(close)

  for (const codec of ['lz4', 'zstd'] as const) {
    test(`producer.compression ${codec}: every record decodable by kcat, verified, batches in ${codec}`, async () => {
      const topic = uniqueTopic(`compressed.${codec}`)
      const link = `compressed-${codec}`
      await dc1.createTopics([{ name: topic, partitions: 2 }])
      const writer = new SequenceWriter(clusterConnection(1), topic, 2, 'c', 600)
      await writer.write(3000, 1000)
      await writer.close()
      const yaml = configYaml(
        `  - name: ${link}\n    source: dc1\n    target: dc2\n    commitIntervalMs: 200\n    topics: { include: ["${topic}"] }\n    producer: { compression: ${codec} }\n`
      )
      const running = await startReplicator(yaml)
      try {
        await waitFor('copied', 60_000, async () => (await progressOf(link, topic, 2)).every(p => p === 3000n))
      } finally {
        await running.stop()
      }
      const audit = await kcatAuditSequences(bootstrapOf(2), topic, 'c', [3000, 3000])
      assert.equal(audit.missing, 0)
      assert.equal(audit.duplicates, 0)
      const verified = await verifyYaml(yaml, link, [topic])
      assert.equal(verified.ok, true)
      assert.equal(verified.totals.matched, 6000)
      assert.deepEqual(await targetCodecs(topic, 0), new Set([codec]))
    })
  }
})
