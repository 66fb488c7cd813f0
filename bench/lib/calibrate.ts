import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { JVM_PERFORMANCE_OPTS, harnessConfigDir, javaBinary, kafkaVersion, libsDir } from '../../tools/harness/paths.ts'

/**
 * The brokers' own ceiling on this machine, measured with Kafka's perf tools in the same run as the
 * trials: C1 ProducerPerformance into the source, C2 ConsumerPerformance reading the source backlog,
 * C3 both at once (reading the source while writing the target: a replicator's traffic, with no
 * replicator in between). Every trial is also reported as a fraction of C3.
 */

const run = promisify(execFile)

function toolArgs(main: string): string[] {
  return [
    '-Xmx512m',
    ...JVM_PERFORMANCE_OPTS,
    `-Dlog4j2.configurationFile=${harnessConfigDir}/log4j2-tools.properties`,
    '-cp',
    `${libsDir(kafkaVersion())}/*`,
    main
  ]
}

export interface PerfResult {
  records: number
  recordsPerSecond: number
  /** records/s x record bytes, 10^6 bytes per MB. */
  mbPerSecond: number
  command: string
}

/** The producer settings of the ceiling runs: large batches, acks=all, no compression. */
const PRODUCER_PROPS = ['acks=all', 'linger.ms=10', 'batch.size=1000000', 'compression.type=none']

/**
 * ProducerPerformance's --record-size draws every byte of every record from java.util.Random, which
 * costs more CPU than the broker's side on a 2-core machine; a payload file of distinct, pre-made
 * records (picked at random per record) leaves the CPU to the brokers.
 */
function payloadFile(recordBytes: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'kafka-dr-bench-'))
  const file = join(dir, `payloads-${recordBytes}.txt`)
  const lines: string[] = []
  for (let i = 0; i < 2000; i++) lines.push(randomBytes(recordBytes).toString('base64url').slice(0, recordBytes))
  writeFileSync(file, lines.join('\n'))
  return file
}

export async function producerPerformance(
  bootstrap: string,
  topic: string,
  records: number,
  recordBytes: number
): Promise<PerfResult> {
  const args = [
    ...toolArgs('org.apache.kafka.tools.ProducerPerformance'),
    '--topic',
    topic,
    '--num-records',
    String(records),
    '--payload-file',
    payloadFile(recordBytes),
    '--throughput',
    '-1',
    '--producer-props',
    `bootstrap.servers=${bootstrap}`,
    ...PRODUCER_PROPS
  ]
  const { stdout } = await run(javaBinary(), args, { maxBuffer: 16 * 1024 * 1024 })
  // Last summary line: "N records sent, X records/sec (Y MB/sec), ..."
  const match = /(\d+) records sent, ([\d.]+) records\/sec/.exec(
    stdout.split('\n').findLast(l => l.includes('records sent')) ?? ''
  )
  if (match === null) throw new Error(`ProducerPerformance printed no summary:\n${stdout.slice(-500)}`)
  const recordsPerSecond = Number(match[2])
  return {
    records: Number(match[1]),
    recordsPerSecond,
    mbPerSecond: (recordsPerSecond * recordBytes) / 1e6,
    command: `ProducerPerformance --topic ${topic} --num-records ${records} --payload-file <2000 random ${recordBytes}-byte lines> --throughput -1 --producer-props bootstrap.servers=${bootstrap} ${PRODUCER_PROPS.join(' ')}`
  }
}

export async function consumerPerformance(
  bootstrap: string,
  topic: string,
  records: number,
  recordBytes: number
): Promise<PerfResult> {
  const args = [
    ...toolArgs('org.apache.kafka.tools.ConsumerPerformance'),
    '--bootstrap-server',
    bootstrap,
    '--topic',
    topic,
    '--messages',
    String(records),
    '--timeout',
    '120000',
    '--group',
    `bench-calibration-${Date.now()}`
  ]
  const { stdout } = await run(javaBinary(), args, { maxBuffer: 16 * 1024 * 1024 })
  // CSV: start, end, MB, MB/s, nMsg, nMsg/s, rebalance ms, fetch ms, fetch MB/s, fetch nMsg/s
  const line = stdout
    .split('\n')
    .filter(l => /^\d{4}-/.test(l))
    .at(-1)
  const fields = line?.split(',').map(f => f.trim())
  const consumed = Number(fields?.[4])
  const fetchRate = Number(fields?.[9])
  if (fields === undefined || !(consumed > 0) || !(fetchRate > 0))
    throw new Error(`ConsumerPerformance printed no result:\n${stdout.slice(-500)}`)
  return {
    records: consumed,
    // fetch.nMsg.sec: the rate while fetching, without the group join before it.
    recordsPerSecond: fetchRate,
    mbPerSecond: (fetchRate * recordBytes) / 1e6,
    command: `ConsumerPerformance --bootstrap-server ${bootstrap} --topic ${topic} --messages ${records} (fetch.nMsg.sec)`
  }
}

export interface Calibration {
  recordBytes: number
  produce: PerfResult
  consume: PerfResult
  together: { produce: PerfResult; consume: PerfResult }
  /** C3's slower half: what a replicator between the two clusters could at most move, MB/s. */
  ceilingMbPerSecond: number
  ceilingRecordsPerSecond: number
}

export async function calibrate(options: {
  sourceBootstrap: string
  targetBootstrap: string
  /** A source topic holding at least `records` records of `recordBytes`. */
  backlogTopic: string
  /** Empty topics for ProducerPerformance on each cluster. */
  produceTopicSource: string
  produceTopicTarget: string
  records: number
  recordBytes: number
}): Promise<Calibration> {
  const { sourceBootstrap, targetBootstrap, records, recordBytes } = options
  const produce = await producerPerformance(sourceBootstrap, options.produceTopicSource, records, recordBytes)
  const consume = await consumerPerformance(sourceBootstrap, options.backlogTopic, records, recordBytes)
  const [togetherConsume, togetherProduce] = await Promise.all([
    consumerPerformance(sourceBootstrap, options.backlogTopic, records, recordBytes),
    producerPerformance(targetBootstrap, options.produceTopicTarget, records, recordBytes)
  ])
  const ceilingRecordsPerSecond = Math.min(togetherConsume.recordsPerSecond, togetherProduce.recordsPerSecond)
  return {
    recordBytes,
    produce,
    consume,
    together: { produce: togetherProduce, consume: togetherConsume },
    ceilingRecordsPerSecond,
    ceilingMbPerSecond: (ceilingRecordsPerSecond * recordBytes) / 1e6
  }
}
