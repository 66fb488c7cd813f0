import { type Calibration } from './calibrate.ts'
import { type Machine } from './machine.ts'
import { type ConfigName } from './replicators.ts'
import { type Spread, spread } from './stats.ts'
import { type TrialResult } from './trial.ts'
import { type Workload } from './workloads.ts'

/** The run as the report sees it, and the figures every part of the report takes from it. */

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
  /** kafka-dr-eos: the link's commitIntervalMs as kafka-dr applies it (null when the configuration did not run). */
  eosCommitIntervalMs: number | null
  results: TrialResult[]
}

export const LABEL: Record<ConfigName, string> = {
  'mm2-default': 'MirrorMaker 2, defaults',
  'mm2-tuned': 'MirrorMaker 2, tuned',
  'kafka-dr': 'kafka-dr',
  'kafka-dr-eos': 'kafka-dr, exactly-once'
}
export const COLOR: Record<ConfigName, string> = {
  'mm2-default': '#9c9c9c',
  'mm2-tuned': '#4e79a7',
  'kafka-dr': '#f28e2b',
  'kafka-dr-eos': '#59a14f'
}

export function valid(run: BenchRun, workload: string, config: ConfigName): TrialResult[] {
  return run.results.filter(r => r.workload === workload && r.config === config && r.valid)
}

export function all(run: BenchRun, workload: string, config: ConfigName): TrialResult[] {
  return run.results.filter(r => r.workload === workload && r.config === config)
}

/** Whether the configuration ran on the workload in this run (valid or not). */
export function ran(run: BenchRun, workload: string, config: ConfigName): boolean {
  return all(run, workload, config).length > 0
}

/** Worker processes of a trial: 1 for W1-W6; for a scale-out trial (W7, W8), its count. */
export function workersOf(result: TrialResult): number {
  return result.scaleOut?.workers.length ?? 1
}

/** The valid trials of a configuration with `workers` workers (scale-out workloads run several counts). */
export function validWith(run: BenchRun, workload: string, config: ConfigName, workers: number): TrialResult[] {
  return valid(run, workload, config).filter(r => workersOf(r) === workers)
}

export function allWith(run: BenchRun, workload: string, config: ConfigName, workers: number): TrialResult[] {
  return all(run, workload, config).filter(r => workersOf(r) === workers)
}

export function figureWith(
  run: BenchRun,
  workload: string,
  config: ConfigName,
  workers: number,
  pick: (r: TrialResult) => number
): Spread | null {
  return spread(validWith(run, workload, config, workers).map(pick))
}

export function figure(
  run: BenchRun,
  workload: string,
  config: ConfigName,
  pick: (r: TrialResult) => number
): Spread | null {
  return spread(valid(run, workload, config).map(pick))
}

export function fmt(value: number, digits: number): string {
  if (!Number.isFinite(value)) return 'n/a'
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

export function cell(s: Spread | null, digits: number): string {
  if (s === null) return 'n/a'
  if (s.n === 1) return fmt(s.median, digits)
  return `${fmt(s.median, digits)} (${fmt(s.min, digits)}–${fmt(s.max, digits)})`
}

export function ratio(a: Spread | null, b: Spread | null): number {
  return a === null || b === null ? NaN : a.median / b.median
}
