#!/usr/bin/env node
/**
 * kafka-dr command entry. Checks the Node version before loading anything that needs a newer one:
 * the Kafka client library uses APIs that Node 20 lacks and fails later with obscure errors.
 */
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number)
if (major < 22 || (major === 22 && minor < 22)) {
  process.stderr.write(
    `kafka-dr needs Node.js >= 22.22 (24 LTS recommended); this is ${process.versions.node}.\n` +
      'Inside the repository, run it through npm (npm run kafka-dr -- ...), which uses the pinned Node 24.\n'
  )
  process.exit(1)
}
const { run } = await import('./program.ts')
process.exitCode = await run(process.argv)
