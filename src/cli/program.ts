import { Command, CommanderError } from 'commander'
import { KdrError, describeCause } from '../errors.ts'
import { KafkaAdmin } from '../kafka/index.ts'
import { version } from '../version.ts'

/** Builds the command tree. Commands return an exit code; only this layer writes to stdout/stderr. */
export function buildProgram(): Command {
  const program = new Command('kafka-dr')
    .description('Cross-datacenter replication and disaster recovery for Apache Kafka')
    .version(version, '-V, --version', 'print the kafka-dr version')
    .showHelpAfterError()
    .exitOverride()

  program
    .command('cluster-info')
    .description('connect to a cluster and print its id, controller and brokers')
    .requiredOption('--bootstrap <host:port,...>', 'bootstrap servers, comma-separated')
    .option('--json', 'machine-readable output')
    .action(async (opts: { bootstrap: string; json?: boolean }) => {
      const admin = new KafkaAdmin({
        alias: opts.bootstrap,
        bootstrap: opts.bootstrap.split(','),
        requestTimeoutMs: 10_000
      })
      try {
        const info = await admin.describeCluster()
        if (opts.json === true) {
          console.log(JSON.stringify(info, null, 2))
        } else {
          console.log(`cluster id: ${info.clusterId}\ncontroller: ${info.controllerId}`)
          for (const b of info.brokers)
            console.log(`broker ${b.nodeId}: ${b.host}:${b.port}${b.rack === null ? '' : ` rack ${b.rack}`}`)
        }
      } finally {
        await admin.close()
      }
    })

  return program
}

export async function run(argv: string[]): Promise<number> {
  const program = buildProgram()
  try {
    await program.parseAsync(argv)
    return 0
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode
    const code = KdrError.is(error) ? `${error.code}: ` : ''
    console.error(`kafka-dr: ${code}${describeCause(error)}`)
    return 1
  }
}
