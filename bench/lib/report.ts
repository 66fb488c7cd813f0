import { writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { format, resolveConfig } from 'prettier'
import { type Calibration } from './calibrate.ts'
import { svg } from './chart.ts'
import { type BenchRun, LABEL, all, cell, figure, fmt, ran, valid } from './figures.ts'
import { CONFIGS, type ConfigName, MM2_HEAP, kafkaDrYaml, mm2Properties } from './replicators.ts'
import { type Spread, spread } from './stats.ts'
import { targets } from './targets.ts'
import { type TrialResult } from './trial.ts'
import { type Workload, isScaleOut } from './workloads.ts'
import { scaleOutCatchUpTable, scaleOutMethod, scaleOutSteadyTable } from './report-scale-out.ts'

export { type BenchRun } from './figures.ts'

function workloadTable(run: BenchRun, workload: Workload): string {
  const ceiling = run.calibration?.ceilingMbPerSecond ?? NaN
  const lines: string[] = []
  if (workload.kind === 'catch-up') {
    lines.push(
      '| configuration | MB/s | records/s | of ceiling | CPU-s per GiB | peak RSS (MiB) | start-up (s) | machine busy | valid trials | duplicates |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |'
    )
  } else {
    lines.push(
      '| configuration | latency p50 (ms) | p99 (ms) | p99.9 (ms) | max lag (records) | drained after (ms) | CPU-s per GiB | peak RSS (MiB) | machine busy | valid trials |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |'
    )
  }
  for (const config of CONFIGS) {
    const trials = all(run, workload.id, config)
    if (trials.length === 0) continue
    const f = (pick: (r: TrialResult) => number): Spread | null => figure(run, workload.id, config, pick)
    const validCount = `${valid(run, workload.id, config).length} of ${trials.length}`
    const duplicates = trials.reduce((n, r) => n + (r.check?.duplicates ?? 0), 0)
    if (workload.kind === 'catch-up') {
      const of1k =
        workload.recordBytes === 1024
          ? cell(
              f(r => (r.mbPerSecond / ceiling) * 100),
              0
            ) + ' %'
          : 'n/a'
      lines.push(
        `| ${LABEL[config]} | ${cell(
          f(r => r.mbPerSecond),
          1
        )} | ${cell(
          f(r => r.recordsPerSecond),
          0
        )} | ${of1k} | ${cell(
          f(r => r.cpuSecondsPerGiB),
          1
        )} | ${cell(
          f(r => r.peakRssMiB),
          0
        )} | ${cell(
          f(r => r.startupSeconds),
          1
        )} | ${cell(
          f(r => r.hostBusyPercent),
          0
        )} % | ${validCount} | ${duplicates} |`
      )
    } else {
      lines.push(
        `| ${LABEL[config]} | ${cell(
          f(r => r.latency?.p50 ?? NaN),
          0
        )} | ${cell(
          f(r => r.latency?.p99 ?? NaN),
          0
        )} | ${cell(
          f(r => r.latency?.p999 ?? NaN),
          0
        )} | ${cell(
          f(r => r.maxLagRecords ?? NaN),
          0
        )} | ${cell(
          f(r => r.drainMs ?? NaN),
          0
        )} | ${cell(
          f(r => r.cpuSecondsPerGiB),
          1
        )} | ${cell(
          f(r => r.peakRssMiB),
          0
        )} | ${cell(
          f(r => r.hostBusyPercent),
          0
        )} % | ${validCount} |`
      )
    }
  }
  const failures = run.results.filter(r => r.workload === workload.id && !r.valid)
  for (const r of failures)
    lines.push('', `- ${LABEL[r.config]} trial ${r.round + 1} is not counted: ${r.error ?? 'invalid'}`)
  if (workload.kind === 'steady') {
    const rate = spread(run.results.filter(r => r.workload === workload.id).map(r => r.recordsPerSecond))
    lines.push(
      '',
      `Produced rate: ${cell(rate, 0)} records/s over ${workload.durationMs / 1000} s per trial, the first ${workload.warmupMs / 1000} s left out of the latency figures.`
    )
  }
  return lines.join('\n')
}

function calibrationTable(c: Calibration): string {
  return [
    '| run | records/s | MB/s |',
    '| --- | --- | --- |',
    `| C1 ProducerPerformance into the source | ${fmt(c.produce.recordsPerSecond, 0)} | ${fmt(c.produce.mbPerSecond, 1)} |`,
    `| C2 ConsumerPerformance reading the source | ${fmt(c.consume.recordsPerSecond, 0)} | ${fmt(c.consume.mbPerSecond, 1)} |`,
    `| C3 both at once: consume the source | ${fmt(c.together.consume.recordsPerSecond, 0)} | ${fmt(c.together.consume.mbPerSecond, 1)} |`,
    `| C3 both at once: produce into the target | ${fmt(c.together.produce.recordsPerSecond, 0)} | ${fmt(c.together.produce.mbPerSecond, 1)} |`,
    `| **ceiling** (slower half of C3) | ${fmt(c.ceilingRecordsPerSecond, 0)} | ${fmt(c.ceilingMbPerSecond, 1)} |`
  ].join('\n')
}

function configListing(run: BenchRun): string {
  const sample = {
    sourceBootstrap: '127.0.0.1:39092',
    targetBootstrap: '127.0.0.1:49092',
    topic: 'bench-w1-<run>',
    partitions: 8,
    compression: 'none' as const,
    dir: ''
  }
  const props = (config: ConfigName): string =>
    Object.entries(mm2Properties({ ...sample, config }))
      .map(([k, v]) => `${k} = ${v}`)
      .join('\n')
  return [
    `MirrorMaker 2 runs in dedicated mode (\`org.apache.kafka.connect.mirror.MirrorMaker mm2.properties --clusters B\`, Kafka ${run.machine.kafka} jars; Java heap \`${MM2_HEAP['mm2-default'].join(' ')}\` for the defaults, as the shipped script sets, and \`${MM2_HEAP['mm2-tuned'].join(' ')}\` tuned). For W1 (8 partitions):`,
    '',
    '**Defaults** (only what single-node clusters and identical topic names need, plus `tasks.max` = partitions):',
    '',
    '```properties',
    props('mm2-default'),
    '```',
    '',
    '**Tuned** (kafka-dr’s own producer and consumer settings; `tasks.max` = partitions up to 8; W4 writes lz4):',
    '',
    '```properties',
    props('mm2-tuned'),
    '```',
    '',
    '**kafka-dr** runs the built package, `node dist/cli/main.js replicate --config kafka-dr.yaml --log-level warn`, with its defaults (W4: `producer.compression: lz4`):',
    '',
    '```yaml',
    kafkaDrYaml({ ...sample, config: 'kafka-dr' }).trimEnd(),
    '```',
    ...exactlyOnceListing(run, sample)
  ].join('\n')
}

/** The exactly-once configuration, when it ran: its YAML, commit interval and workloads. */
function exactlyOnceListing(run: BenchRun, sample: Omit<Parameters<typeof kafkaDrYaml>[0], 'config'>): string[] {
  const workloads = run.workloads.filter(w => ran(run, w.id, 'kafka-dr-eos')).map(w => w.id)
  if (workloads.length === 0) return []
  return [
    '',
    `**kafka-dr, exactly-once** (\`kafka-dr-eos\`): the same, with \`delivery: exactly-once\` on the link: the records of each commit interval and the progress covering them are committed in one transaction on the target. Commit interval ${fmt(run.eosCommitIntervalMs ?? NaN, 0)} ms (the link's \`commitIntervalMs\` as kafka-dr applies it). It ran on ${workloads.join(', ')}: exactly-once changes how the target is written, which every workload exercises (large and small records, compressed batches, latency, many partitions, a distant source).`,
    '',
    '```yaml',
    kafkaDrYaml({ ...sample, config: 'kafka-dr-eos' }).trimEnd(),
    '```'
  ]
}

function markdown(run: BenchRun, chartFile: string): string {
  const m = run.machine
  const out: string[] = [
    '# Benchmarks: kafka-dr and MirrorMaker 2 on the same machine',
    '',
    `Generated by \`${run.command}\` (run ${run.runId}, ${run.started} to ${run.finished ?? 'unfinished'}). ${run.quick ? '**Quick mode: sizes scaled down by 32, one trial per configuration, MirrorMaker 2 defaults left out; not the reported figures.**' : `${run.trialsPerConfig} trials per configuration; figures are medians with the range over valid trials in parentheses.`}`,
    '',
    `![Throughput and latency](${chartFile})`,
    '',
    '## Against the targets',
    '',
    '| target | measured | met |',
    '| --- | --- | --- |',
    ...targets(run).map(t => `| ${t.target} | ${t.measured} | ${t.met === null ? 'n/a' : t.met ? 'yes' : '**no**'} |`),
    '',
    '## Machine and versions',
    '',
    `- ${m.cpu}, ${m.memoryGiB} GiB memory, ${m.kernel}.`,
    `- Apache Kafka ${m.kafka} (brokers and MirrorMaker 2, from Maven Central), ${m.java}; Node ${m.node}; kafka-dr ${m.kafkaDr} at commit ${m.commit}; kcat ${m.kcat} (verification).`,
    `- Source and target are single-node KRaft clusters (harness clusters 3 and 4, 512 MB heap each, logs on ${m.brokerData ?? 'disk'}) on this machine, and so is the replicator: all of them share the cores. Only one replicator runs at a time; the target cluster is wiped (killed, emptied, restarted) before every trial.`,
    ...(run.roundTripMs === null
      ? []
      : [
          `- W6: the replicator reaches the source through a delay proxy holding each direction 25 ms (a second broker listener advertised at the proxy's port); a metadata request took ${fmt(run.roundTripMs.proxied, 1)} ms through it and ${fmt(run.roundTripMs.direct, 1)} ms directly (median of 7).`
        ]),
    ''
  ]
  if (run.calibration !== null) {
    out.push(
      '## Calibration: what the brokers alone can do',
      '',
      `Kafka's own perf tools, ${fmt(run.calibration.produce.records, 0)} records of ${run.calibration.recordBytes} bytes, in the same run. C3 reads the source while writing the target, the traffic of a replicator with no replicator in between; its slower half is the ceiling every 1 KiB catch-up result is compared with ("of ceiling").`,
      '',
      calibrationTable(run.calibration),
      ''
    )
  }
  out.push('## Results', '')
  for (const workload of run.workloads) {
    const table = !isScaleOut(workload)
      ? workloadTable(run, workload)
      : workload.kind === 'catch-up'
        ? scaleOutCatchUpTable(run, workload)
        : scaleOutSteadyTable(run, workload)
    out.push(`### ${workload.id}: ${workload.title}`, '', table, '')
  }
  out.push(
    '## How it is measured',
    '',
    '- **Throughput** (catch-up): the target’s end offsets are read with `listOffsets` every 100 ms, as a read_committed consumer sees them (the last stable offset; without transactions, the high watermark); records/s and MB/s are taken between 10 % and 90 % of the backlog on the target (linear between samples), so start-up and the tail do not blur it. MB/s = records/s × record size (10^6 bytes per MB). Under exactly-once these offsets move when a transaction commits and also count its commit marker (one offset per partition and transaction, a few per second against thousands of records); the copy is complete when kcat finds the last record of every partition committed.',
    '- **CPU-seconds per GiB**: user + system time of the replicator process (all its threads) from `/proc/<pid>/stat`, over the same 10–90 % window (steady workloads: the produce phase), per GiB of record values copied. Start-up CPU is left out of this figure; it is in results.json (`cpuSecondsTotal`).',
    '- **Peak RSS**: `VmHWM` from `/proc/<pid>/status` when the trial ends.',
    '- **Machine busy**: the share of all cores busy (from `/proc/stat`) from the first to the last record on the target (steady workloads: the produce phase). Brokers, load generator, verifier and replicator share the machine; near 100 % the machine, not the replicator, sets the pace. Broker CPU per trial is in results.json.',
    `- **Latency** (steady): the source topic uses \`message.timestamp.type=LogAppendTime\`, so every record carries the time the source broker appended it, and both tools copy that timestamp to the target (checked for every record after the trial). A tailing consumer on the target (kcat, unbuffered, in its own thread of the bench process) notes when each record arrives; latency = arrival time − source append time, 1 ms resolution, one machine clock, the same method for every tool (it includes the tailing consumer’s own delay, about a millisecond). Records of the first seconds (warm-up) are left out. The consumer reads read_committed: under exactly-once a record arrives when its transaction commits, so its latency includes the wait for the commit (up to one commit interval${run.eosCommitIntervalMs === null ? '' : `, ${fmt(run.eosCommitIntervalMs, 0)} ms in this run`}). The target topic is created (with the source’s partition count) before the tool starts, and each tool must copy one gate record per partition before the measured phase starts.`,
    '- **Lag and drain** (steady): source end offsets minus the target’s committed end offsets, sampled every second; drained = from the last record produced to the last on the target. Under exactly-once the target’s offsets count commit markers too (W5: 200 partitions), so both use the records the tailing consumer has seen instead.',
    '- **Validity**: after every trial, kcat reads the whole target topic (read_committed: records of aborted or open transactions are not there); each partition must hold records 0..n−1 of its source partition, in order, with key, value and timestamp (catch-up) as produced. A trial with a record missing, out of order, altered or unexpected is invalid and left out of the figures (listed under its table). Duplicates are counted; under exactly-once a duplicate makes the trial invalid too.',
    '- **Order**: trials alternate (defaults, tuned, kafka-dr, kafka-dr exactly-once, then the reverse, ...), so drift over the run does not favour one tool.',
    '- **Records**: 8-byte keys; values start with partition and sequence number, the rest is a slice of a fixed 8 MiB pool: random bytes (incompressible), or for W4 word-like text that lz4 compresses.',
    ...scaleOutMethod(run),
    '',
    '## Configurations',
    '',
    configListing(run),
    ''
  )
  return out.join('\n')
}

/** Writes <out>.md, <out-base>.svg and <out-base>.json; returns the files written. */
export async function writeReport(run: BenchRun, outFile: string): Promise<string[]> {
  const base = basename(outFile).replace(/\.md$/, '')
  const dir = dirname(outFile)
  const svgFile = join(dir, `${base}.svg`)
  const jsonFile = join(dir, `${base}.json`)
  // The project's Prettier settings, so the report passes `npm run check` as written.
  const style = (await resolveConfig(fileURLToPath(new URL('../../docs/benchmarks.md', import.meta.url)))) ?? {}
  const md = await format(markdown(run, `${base}.svg`), { ...style, parser: 'markdown' })
  writeFileSync(outFile, md)
  writeFileSync(svgFile, svg(run))
  writeFileSync(jsonFile, await format(JSON.stringify(run), { ...style, parser: 'json' }))
  return [outFile, svgFile, jsonFile]
}
