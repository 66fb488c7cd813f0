// Memory of the replicator process, read from /proc as the benchmark reads it.
export { memory } from '../../bench/lib/proc.ts'
import { parseConfig } from '../../src/config/index.ts'
import { type VerifyReport, verifyLink } from '../../src/verify/verify.ts'

/**
 * The fault-injection suite's tiers: the CI tier runs in `npm test`; the long tier
 * (`npm run test:faults -- --long`, or KAFKA_DR_FAULTS=long) uses the full sizes and outages.
 */
export const LONG = process.env.KAFKA_DR_FAULTS === 'long'

/** `kafka-dr verify` as a library call, on a config given as YAML. */
export function verifyYaml(yaml: string, link: string, topics?: string[]): Promise<VerifyReport> {
  return verifyLink(parseConfig(yaml, '<faults>'), link, topics === undefined ? {} : { topics })
}

/** A scenario's figures, printed for the notes and CI logs. */
export function report(scenario: string, figures: Record<string, unknown>): void {
  console.error(`[faults] ${scenario}: ${JSON.stringify(figures)}`)
}
