import { spawnSync } from 'node:child_process'

/**
 * `npm run test:faults [-- --long]`: the fault-injection suite alone. The CI tier (also part of
 * `npm test`) by default; `--long` runs the long tier (full sizes, 5-minute outage), which takes
 * about half an hour, and the record-batch decoder fuzz at 200,000 cases (KAFKA_DR_FUZZ_ITERATIONS).
 */
const long = process.argv.includes('--long')
const result = spawnSync(
  process.execPath,
  [
    '--disable-warning=TimeoutNegativeWarning',
    '--test',
    '--test-concurrency=1',
    `--test-timeout=${long ? 1_800_000 : 600_000}`,
    '--test-global-setup=test/support/global-setup.ts',
    'test/faults/**/*.test.ts',
    // The record-batch fuzz of the unit suite, at 200,000 cases instead of 3,000.
    ...(long ? ['test/unit/kafka/record-batch-fuzz.test.ts'] : [])
  ],
  {
    stdio: 'inherit',
    env: {
      ...process.env,
      ...(long
        ? { KAFKA_DR_FAULTS: 'long', KAFKA_DR_FUZZ_ITERATIONS: process.env.KAFKA_DR_FUZZ_ITERATIONS ?? '200000' }
        : {})
    }
  }
)
process.exitCode = result.status ?? 1
