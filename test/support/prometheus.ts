import { createRequire } from 'node:module'

/**
 * Prometheus text format parsed by an independent parser (parse-prometheus-text-format), so that
 * tests check what a Prometheus server would read, not what our exporter meant to write.
 */

export interface Sample {
  value?: string
  labels?: Record<string, string>
  count?: string
  sum?: string
  buckets?: Record<string, string>
}

export interface MetricFamily {
  name: string
  help: string
  type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED'
  metrics: Sample[]
}

const parse = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => MetricFamily[]

export function parsePrometheus(text: string): Map<string, MetricFamily> {
  return new Map(parse(text).map(family => [family.name, family]))
}

/** The samples of `name` whose labels include all of `labels`. */
export function samples(
  families: Map<string, MetricFamily>,
  name: string,
  labels: Record<string, string> = {}
): Sample[] {
  const family = families.get(name)
  if (family === undefined) throw new Error(`no metric ${name}; have: ${[...families.keys()].join(', ')}`)
  return family.metrics.filter(m => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
}

/** The one value of `name` with these labels, as a number. */
export function value(families: Map<string, MetricFamily>, name: string, labels: Record<string, string> = {}): number {
  const found = samples(families, name, labels)
  if (found.length !== 1)
    throw new Error(`expected one sample of ${name} ${JSON.stringify(labels)}, found ${found.length}`)
  return Number(found[0]!.value)
}
