import { writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { format, resolveConfig } from 'prettier'
import { type Calibration } from './calibrate.ts'
import { type Machine } from './machine.ts'
import { CONFIGS, type ConfigName, MM2_HEAP, kafkaDrYaml, mm2Properties } from './replicators.ts'
import { type Spread, spread } from './stats.ts'
import { type TrialResult } from './trial.ts'
import { type Workload } from './workloads.ts'

/** The whole run, as saved in results.json and rendered into the Markdown report and the chart. */
export interface BenchRun {
  runId: string
  quick: boolean
  trialsPerConfig: number
  command: string
  started: string
  finished: string | null
  machine: Machine
  calibration: Calibration | null
  roundTripMs: { direct: number; proxied: number } | null
  workloads: Workload[]
  results: TrialResult[]
}

const LABEL: Record<ConfigName, string> = {
  'mm2-default': 'MirrorMaker 2, defaults',
  'mm2-tuned': 'MirrorMaker 2, tuned',
  'kafka-dr': 'kafka-dr'
}
const COLOR: Record<ConfigName, string> = { 'mm2-default': '#9c9c9c', 'mm2-tuned': '#4e79a7', 'kafka-dr': '#f28e2b' }

function valid(run: BenchRun, workload: string, config: ConfigName): TrialResult[] {
  return run.results.filter(r => r.workload === workload && r.config === config && r.valid)
}

function all(run: BenchRun, workload: string, config: ConfigName): TrialResult[] {
  return run.results.filter(r => r.workload === workload && r.config === config)
}

function figure(run: BenchRun, workload: string, config: ConfigName, pick: (r: TrialResult) => number): Spread | null {
  return spread(valid(run, workload, config).map(pick))
}

function fmt(value: number, digits: number): string {
  if (!Number.isFinite(value)) return 'n/a'
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

function cell(s: Spread | null, digits: number): string {
  if (s === null) return 'n/a'
  if (s.n === 1) return fmt(s.median, digits)
  return `${fmt(s.median, digits)} (${fmt(s.min, digits)}–${fmt(s.max, digits)})`
}

interface TargetRow {
  target: string
  measured: string
  met: boolean | null
}

function ratio(a: Spread | null, b: Spread | null): number {
  return a === null || b === null ? NaN : a.median / b.median
}

function targets(run: BenchRun): TargetRow[] {
  const rows: TargetRow[] = []
  const has = (id: string): boolean => run.workloads.some(w => w.id === id)
  const mb = (w: string, c: ConfigName): Spread | null => figure(run, w, c, r => r.mbPerSecond)
  const cpu = (w: string, c: ConfigName): Spread | null => figure(run, w, c, r => r.cpuSecondsPerGiB)
  const rss = (w: string, c: ConfigName): Spread | null => figure(run, w, c, r => r.peakRssMiB)
  for (const w of ['W1', 'W2']) {
    if (!has(w)) continue
    const t = ratio(mb(w, 'kafka-dr'), mb(w, 'mm2-tuned'))
    rows.push({
      target: `${w}: catch-up throughput ≥ 1.5 × MirrorMaker 2 tuned`,
      measured: `${fmt(t, 2)} × (${fmt(mb(w, 'kafka-dr')?.median ?? NaN, 1)} vs ${fmt(mb(w, 'mm2-tuned')?.median ?? NaN, 1)} MB/s)`,
      met: Number.isFinite(t) ? t >= 1.5 : null
    })
    const c = ratio(cpu(w, 'kafka-dr'), cpu(w, 'mm2-tuned'))
    rows.push({
      target: `${w}: CPU-seconds per GiB ≤ 0.6 × MirrorMaker 2 tuned`,
      measured: `${fmt(c, 2)} × (${fmt(cpu(w, 'kafka-dr')?.median ?? NaN, 1)} vs ${fmt(cpu(w, 'mm2-tuned')?.median ?? NaN, 1)})`,
      met: Number.isFinite(c) ? c <= 0.6 : null
    })
    const m = ratio(rss(w, 'kafka-dr'), rss(w, 'mm2-tuned'))
    rows.push({
      target: `${w}: peak RSS ≤ 0.25 × MirrorMaker 2 tuned`,
      measured: `${fmt(m, 2)} × (${fmt(rss(w, 'kafka-dr')?.median ?? NaN, 0)} vs ${fmt(rss(w, 'mm2-tuned')?.median ?? NaN, 0)} MiB)`,
      met: Number.isFinite(m) ? m <= 0.25 : null
    })
  }
  if (has('W3')) {
    const p99 = figure(run, 'W3', 'kafka-dr', r => r.latency?.p99 ?? NaN)
    rows.push({
      target: 'W3: replication latency p99 ≤ 50 ms',
      measured: `${fmt(p99?.median ?? NaN, 0)} ms (MirrorMaker 2 tuned: ${fmt(figure(run, 'W3', 'mm2-tuned', r => r.latency?.p99 ?? NaN)?.median ?? NaN, 0)} ms)`,
      met: p99 === null ? null : p99.median <= 50
    })
  }
  if (has('W5')) {
    const trials = all(run, 'W5', 'kafka-dr')
    const keptUp = trials.length > 0 && trials.every(keepsUp)
    const p99 = figure(run, 'W5', 'kafka-dr', r => r.latency?.p99 ?? NaN)
    rows.push({
      target: 'W5: keeps up (every trial valid, p99 ≤ 1 s, drained ≤ 5 s after the last record)',
      measured: `${trials.filter(keepsUp).length} of ${trials.length} trials; p99 ${fmt(p99?.median ?? NaN, 0)} ms`,
      met: trials.length === 0 ? null : keptUp
    })
  }
  if (has('W6') && has('W1')) {
    const ours = ratio(mb('W6', 'kafka-dr'), mb('W1', 'kafka-dr'))
    const theirs = ratio(mb('W6', 'mm2-tuned'), mb('W1', 'mm2-tuned'))
    rows.push({
      target: 'W6: kafka-dr keeps ≥ 80 % of its own W1 throughput over a 50 ms round trip',
      measured: `${fmt(ours * 100, 0)} % (MirrorMaker 2 tuned keeps ${fmt(theirs * 100, 0)} %, defaults ${fmt(ratio(mb('W6', 'mm2-default'), mb('W1', 'mm2-default')) * 100, 0)} %)`,
      met: Number.isFinite(ours) ? ours >= 0.8 : null
    })
  }
  return rows
}

function keepsUp(r: TrialResult): boolean {
  return r.valid && r.latency !== null && r.latency.p99 <= 1000 && r.drainMs !== null && r.drainMs <= 5000
}

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
    '```'
  ].join('\n')
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
    out.push(`### ${workload.id}: ${workload.title}`, '', workloadTable(run, workload), '')
  }
  out.push(
    '## How it is measured',
    '',
    '- **Throughput** (catch-up): the target’s end offsets are read with `listOffsets` every 100 ms; records/s and MB/s are taken between 10 % and 90 % of the backlog on the target (linear between samples), so start-up and the tail do not blur it. MB/s = records/s × record size (10^6 bytes per MB).',
    '- **CPU-seconds per GiB**: user + system time of the replicator process (all its threads) from `/proc/<pid>/stat`, over the same 10–90 % window (steady workloads: the produce phase), per GiB of record values copied. Start-up CPU is left out of this figure; it is in results.json (`cpuSecondsTotal`).',
    '- **Peak RSS**: `VmHWM` from `/proc/<pid>/status` when the trial ends.',
    '- **Machine busy**: the share of all cores busy (from `/proc/stat`) from the first to the last record on the target (steady workloads: the produce phase). Brokers, load generator, verifier and replicator share the machine; near 100 % the machine, not the replicator, sets the pace. Broker CPU per trial is in results.json.',
    '- **Latency** (steady): the source topic uses `message.timestamp.type=LogAppendTime`, so every record carries the time the source broker appended it, and both tools copy that timestamp to the target (checked for every record after the trial). A tailing consumer on the target (kcat, unbuffered, in its own thread of the bench process) notes when each record arrives; latency = arrival time − source append time, 1 ms resolution, one machine clock, the same method for every tool (it includes the tailing consumer’s own delay, about a millisecond). Records of the first seconds (warm-up) are left out. The target topic is created (with the source’s partition count) before the tool starts, and each tool must copy one gate record per partition before the measured phase starts.',
    '- **Validity**: after every trial, kcat reads the whole target topic; each partition must hold records 0..n−1 of its source partition, each once, in order, with key, value and timestamp (catch-up) as produced. A trial with a record missing, out of order, altered or unexpected is invalid and left out of the figures (listed under its table). Duplicates are counted.',
    '- **Order**: trials alternate (defaults, tuned, kafka-dr, then kafka-dr, tuned, defaults, ...), so drift over the run does not favour one tool.',
    '- **Records**: 8-byte keys; values start with partition and sequence number, the rest is a slice of a fixed 8 MiB pool: random bytes (incompressible), or for W4 word-like text that lz4 compresses.',
    '',
    '## Configurations',
    '',
    configListing(run),
    ''
  )
  return out.join('\n')
}

function svg(run: BenchRun): string {
  const width = 960
  const height = 440
  const parts: string[] = []
  const text = (x: number, y: number, s: string, attrs = ''): void => {
    parts.push(
      `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attrs}>${s.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</text>`
    )
  }
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`
  )
  // Left: catch-up throughput.
  const catchUp = run.workloads.filter(w => w.kind === 'catch-up')
  const left = { x: 60, y: 50, w: 500, h: 300 }
  const mbOf = (w: string, c: ConfigName): Spread | null => figure(run, w, c, r => r.mbPerSecond)
  let top = 0
  for (const w of catchUp) for (const c of CONFIGS) top = Math.max(top, mbOf(w.id, c)?.max ?? 0)
  top = Math.max(top, run.calibration?.ceilingMbPerSecond ?? 0) * 1.1 || 1
  text(left.x, 28, 'Catch-up throughput, MB/s (median; whiskers: min–max)', 'font-size="14" font-weight="bold"')
  for (let i = 0; i <= 5; i++) {
    const v = (top / 5) * i
    const y = left.y + left.h - (v / top) * left.h
    parts.push(
      `<line x1="${left.x}" x2="${left.x + left.w}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#e5e5e5"/>`
    )
    text(left.x - 8, y + 4, fmt(v, 0), 'text-anchor="end" fill="#555"')
  }
  const group = left.w / Math.max(1, catchUp.length)
  const bar = Math.min(34, (group - 24) / CONFIGS.length)
  catchUp.forEach((w, gi) => {
    const gx = left.x + gi * group + (group - bar * CONFIGS.length) / 2
    CONFIGS.forEach((c, ci) => {
      const s = mbOf(w.id, c)
      const x = gx + ci * bar
      if (s === null) {
        text(x + bar / 2, left.y + left.h - 4, '×', 'text-anchor="middle" fill="#c00"')
        return
      }
      const y = left.y + left.h - (s.median / top) * left.h
      parts.push(
        `<rect x="${(x + 2).toFixed(1)}" y="${y.toFixed(1)}" width="${(bar - 4).toFixed(1)}" height="${(left.y + left.h - y).toFixed(1)}" fill="${COLOR[c]}"/>`
      )
      const y1 = left.y + left.h - (s.min / top) * left.h
      const y2 = left.y + left.h - (s.max / top) * left.h
      parts.push(
        `<line x1="${(x + bar / 2).toFixed(1)}" x2="${(x + bar / 2).toFixed(1)}" y1="${y1.toFixed(1)}" y2="${y2.toFixed(1)}" stroke="#222"/>`
      )
      text(x + bar / 2, y - 6, fmt(s.median, 0), 'text-anchor="middle" font-size="10" fill="#222"')
    })
    text(left.x + gi * group + group / 2, left.y + left.h + 18, w.id, 'text-anchor="middle" font-weight="bold"')
  })
  if (run.calibration !== null) {
    const y = left.y + left.h - (run.calibration.ceilingMbPerSecond / top) * left.h
    parts.push(
      `<line x1="${left.x}" x2="${left.x + left.w}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#c00" stroke-dasharray="5,4"/>`
    )
    text(
      left.x + left.w - 4,
      y - 5,
      `brokers' ceiling C3, 1 KiB: ${fmt(run.calibration.ceilingMbPerSecond, 0)} MB/s`,
      'text-anchor="end" fill="#c00" font-size="11"'
    )
  }
  // Right: steady latency, log scale.
  const steady = run.workloads.filter(w => w.kind === 'steady')
  const right = { x: 660, y: 50, w: 270, h: 300 }
  text(right.x - 40, 28, 'Steady replication latency, ms (p50 dark, p99 light)', 'font-size="14" font-weight="bold"')
  const ticks = [1, 10, 100, 1000, 10000, 100000]
  let maxLatency = 10
  for (const w of steady)
    for (const c of CONFIGS)
      maxLatency = Math.max(maxLatency, figure(run, w.id, c, r => r.latency?.p99 ?? NaN)?.median ?? 0)
  const logTop = Math.log10(ticks.find(t => t >= maxLatency * 1.2) ?? 100000)
  const ly = (v: number): number => right.y + right.h - (Math.log10(Math.max(1, v)) / logTop) * right.h
  for (const t of ticks) {
    if (Math.log10(t) > logTop) break
    parts.push(
      `<line x1="${right.x}" x2="${right.x + right.w}" y1="${ly(t).toFixed(1)}" y2="${ly(t).toFixed(1)}" stroke="#e5e5e5"/>`
    )
    text(right.x - 8, ly(t) + 4, fmt(t, 0), 'text-anchor="end" fill="#555"')
  }
  const sgroup = right.w / Math.max(1, steady.length)
  const sbar = Math.min(30, (sgroup - 20) / CONFIGS.length)
  steady.forEach((w, gi) => {
    const gx = right.x + gi * sgroup + (sgroup - sbar * CONFIGS.length) / 2
    CONFIGS.forEach((c, ci) => {
      const x = gx + ci * sbar
      const p99 = figure(run, w.id, c, r => r.latency?.p99 ?? NaN)
      const p50 = figure(run, w.id, c, r => r.latency?.p50 ?? NaN)
      if (p99 === null || p50 === null) {
        text(x + sbar / 2, right.y + right.h - 4, '×', 'text-anchor="middle" fill="#c00"')
        return
      }
      parts.push(
        `<rect x="${(x + 2).toFixed(1)}" y="${ly(p99.median).toFixed(1)}" width="${(sbar - 4).toFixed(1)}" height="${(right.y + right.h - ly(p99.median)).toFixed(1)}" fill="${COLOR[c]}" fill-opacity="0.35"/>`
      )
      parts.push(
        `<rect x="${(x + 2).toFixed(1)}" y="${ly(p50.median).toFixed(1)}" width="${(sbar - 4).toFixed(1)}" height="${(right.y + right.h - ly(p50.median)).toFixed(1)}" fill="${COLOR[c]}"/>`
      )
      text(x + sbar / 2, ly(p99.median) - 5, fmt(p99.median, 0), 'text-anchor="middle" font-size="10" fill="#222"')
    })
    text(right.x + gi * sgroup + sgroup / 2, right.y + right.h + 18, w.id, 'text-anchor="middle" font-weight="bold"')
  })
  // Legend.
  CONFIGS.forEach((c, i) => {
    const x = 60 + i * 230
    parts.push(`<rect x="${x}" y="${height - 40}" width="14" height="14" fill="${COLOR[c]}"/>`)
    text(x + 20, height - 29, LABEL[c])
  })
  text(
    width - 10,
    height - 10,
    `${run.machine.cpu}, Kafka ${run.machine.kafka}, run ${run.runId}${run.quick ? ' (quick)' : ''}`,
    'text-anchor="end" fill="#777" font-size="10"'
  )
  parts.push('</svg>')
  return `${parts.join('\n')}\n`
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
