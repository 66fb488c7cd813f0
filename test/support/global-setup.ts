import { down, status, stop, up } from '../../tools/harness/harness.ts'
import { TEST_CLUSTERS } from './clusters.ts'

/**
 * node --test global setup: clusters start once per run, and every test file shares them (each test
 * uses fresh, uniquely named topics). Clusters that were already running (a developer's
 * `npm run kafka -- up`) are reused and left running afterwards.
 */
let startedHere: number[] = []

export async function globalSetup(): Promise<void> {
  const runningBefore = new Set(
    status()
      .filter(s => s.running)
      .map(s => s.index)
  )
  const started = Date.now()
  // The log cleaner looks for work every second (default 15 s), so compaction tests finish quickly.
  await up({
    clusters: TEST_CLUSTERS,
    overrides: { 'log.cleaner.backoff.ms': '1000' },
    schemaRegistry: true,
    log: line => console.error(`[harness] ${line}`)
  })
  startedHere = Array.from({ length: TEST_CLUSTERS }, (_, i) => i + 1).filter(i => !runningBefore.has(i))
  console.error(`[harness] ${TEST_CLUSTERS} clusters ready in ${Date.now() - started} ms`)
}

export async function globalTeardown(): Promise<void> {
  if (process.env.KAFKA_DR_KEEP_CLUSTERS === '1' || startedHere.length === 0) return
  if (startedHere.length === TEST_CLUSTERS) {
    await down({ log: line => console.error(`[harness] ${line}`) })
  } else {
    for (const index of startedHere) await stop(index)
  }
}
