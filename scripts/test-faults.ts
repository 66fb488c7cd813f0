import { spawnSync } from 'node:child_process'

/**
 * `npm run test:faults [-- --long]`: the fault-injection suite alone. The CI tier (also part of
 * `npm test`) by default; `--long` runs the long tier (full sizes, 5-minute outage), which takes
 * about half an hour.
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
    'test/faults/**/*.test.ts'
  ],
  { stdio: 'inherit', env: { ...process.env, ...(long ? { KAFKA_DR_FAULTS: 'long' } : {}) } }
)
process.exitCode = result.status ?? 1
