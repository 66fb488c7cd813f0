import { type BenchRun, COLOR, LABEL, figure, fmt } from './figures.ts'
import { CONFIGS, type ConfigName } from './replicators.ts'
import { type Spread } from './stats.ts'
import { isScaleOut } from './workloads.ts'

/** The report's chart (SVG, no dependencies): catch-up throughput on the left, steady latency on the right. */

export function svg(run: BenchRun): string {
  // The configurations of this run (a × marks one that ran but has no valid trial for a workload).
  const configs = CONFIGS.filter(c => run.results.some(r => r.config === c))
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
  // Scale-out workloads (kafka-dr workers only, several worker counts) are in their own tables.
  const catchUp = run.workloads.filter(w => w.kind === 'catch-up' && !isScaleOut(w))
  const left = { x: 60, y: 50, w: 500, h: 300 }
  const mbOf = (w: string, c: ConfigName): Spread | null => figure(run, w, c, r => r.mbPerSecond)
  let top = 0
  for (const w of catchUp) for (const c of configs) top = Math.max(top, mbOf(w.id, c)?.max ?? 0)
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
  const bar = Math.min(34, (group - 24) / configs.length)
  catchUp.forEach((w, gi) => {
    const gx = left.x + gi * group + (group - bar * configs.length) / 2
    configs.forEach((c, ci) => {
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
  const steady = run.workloads.filter(w => w.kind === 'steady' && !isScaleOut(w))
  const right = { x: 660, y: 50, w: 270, h: 300 }
  text(right.x - 40, 28, 'Steady replication latency, ms (p50 dark, p99 light)', 'font-size="14" font-weight="bold"')
  const ticks = [1, 10, 100, 1000, 10000, 100000]
  let maxLatency = 10
  for (const w of steady)
    for (const c of configs)
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
  const sbar = Math.min(30, (sgroup - 20) / configs.length)
  steady.forEach((w, gi) => {
    const gx = right.x + gi * sgroup + (sgroup - sbar * configs.length) / 2
    configs.forEach((c, ci) => {
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
  configs.forEach((c, i) => {
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
