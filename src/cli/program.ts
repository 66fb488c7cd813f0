import { Command, CommanderError } from 'commander'
import { KdrError, describeCause } from '../errors.ts'
import { KafkaAdmin } from '../kafka/index.ts'
import { version } from '../version.ts'
import { replicate } from './commands/replicate.ts'
import { failbackCommand, failoverCommand, statusCommand } from './commands/dr.ts'
import { type DrillCommandOptions, drillCommand } from './commands/drill.ts'
import { type PauseCommandOptions, pauseCommand, resumeCommand } from './commands/pause.ts'
import { driftCommand } from './commands/drift.ts'
import { translate } from './commands/translate.ts'
import { validate } from './commands/validate.ts'
import { type VerifyCommandOptions, verifyCommand } from './commands/verify.ts'

/** Exit codes: 0 ok, 1 runtime failure, 2 invalid configuration or usage. */
export const EXIT_FAILURE = 1
export const EXIT_CONFIG = 2

/** Builds the command tree. Commands return an exit code; only this layer writes to stdout/stderr. */
export function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('kafka-dr')
    .description('Cross-datacenter replication and disaster recovery for Apache Kafka')
    .version(version, '-V, --version', 'print the kafka-dr version')
    .showHelpAfterError()
    .exitOverride()

  program
    .command('replicate')
    .description(
      'run every link of the config until SIGINT/SIGTERM (graceful: flush, commit progress, exit 0; exit 1 when the drain timeout left progress uncommitted)'
    )
    .requiredOption('-c, --config <file>', 'kafka-dr YAML config')
    .option('--log-level <level>', 'trace, debug, info, warn, error')
    .option('--log-format <format>', 'json (one object per line) or pretty; default: pretty on a terminal, else json')
    .option(
      '--http-listen <host:port>',
      'where the metrics/health/status server listens (overrides http.listen; port 0 picks one)'
    )
    .option('--no-http', 'run without the HTTP server')
    .option(
      '--worker-id <id>',
      "this process in the links' worker groups (docs/scale-out.md); a named worker keeps its partitions across a restart within workers.sessionTimeoutMs (default: host-pid, which leaves the group on stop)"
    )
    .action(
      async (opts: {
        config: string
        logLevel?: string
        logFormat?: string
        httpListen?: string
        http: boolean
        workerId?: string
      }) => {
        if (opts.logFormat !== undefined && opts.logFormat !== 'json' && opts.logFormat !== 'pretty') {
          throw new KdrError('KDR_ERR_CONFIG', `--log-format: expected json or pretty, got "${opts.logFormat}"`)
        }
        setExit(
          await replicate({
            config: opts.config,
            http: opts.http,
            ...(opts.logFormat === undefined ? {} : { logFormat: opts.logFormat }),
            ...(opts.logLevel === undefined ? {} : { logLevel: opts.logLevel }),
            ...(opts.httpListen === undefined ? {} : { httpListen: opts.httpListen }),
            ...(opts.workerId === undefined ? {} : { workerId: opts.workerId })
          })
        )
      }
    )

  program
    .command('translate')
    .description("translate a consumer group's committed offsets to the target (works while replication is down)")
    .requiredOption('-c, --config <file>', 'kafka-dr YAML config')
    .requiredOption('--link <name>', 'link name, e.g. dc1->dc2')
    .requiredOption('--group <id>', 'consumer group id')
    .option('--json', 'machine-readable output')
    .action(async (opts: { config: string; link: string; group: string; json?: boolean }) => {
      setExit(await translate(opts))
    })

  program
    .command('status')
    .description(
      'per link, topic and partition: what is not replicated (records, bytes, seconds), state; per group: re-read exposure'
    )
    .requiredOption('-c, --config <file>', 'kafka-dr YAML config')
    .option('--link <name>', 'only this link')
    .option('--json', 'machine-readable output')
    .action(async (opts: { config: string; link?: string; json?: boolean }) => {
      setExit(await statusCommand(opts))
    })

  program
    .command('failover')
    .description('make the target of a link the primary: preflight, fence, failover points, group offsets, report')
    .requiredOption('-c, --config <file>', 'kafka-dr YAML config')
    .requiredOption('--link <name>', 'link name, e.g. dc1->dc2')
    .option('--groups <ids>', 'comma-separated groups to move (default: all groups of the link)')
    .option('--dry-run', 'check and report without changing anything')
    .option(
      '--grant-writes',
      'after the failover, create on the target the write ACLs that ACL sync held back (the dry run lists them)'
    )
    .option('--audit-file <file>', 'audit log file', 'kafka-dr-audit.jsonl')
    .option('--json', 'machine-readable output')
    .action(
      async (opts: {
        config: string
        link: string
        groups?: string
        dryRun?: boolean
        grantWrites?: boolean
        json?: boolean
        auditFile?: string
      }) => {
        setExit(await failoverCommand(opts))
      }
    )

  program
    .command('failback')
    .description(
      'after a failover, return to the original primary: divergent tail, reverse catch-up, groups, forward link ready'
    )
    .requiredOption('-c, --config <file>', 'kafka-dr YAML config')
    .requiredOption('--link <name>', 'the failed-over link, e.g. dc1->dc2')
    .option('--tail <policy>', 'divergent tail: export, discard or reappend', 'export')
    .option('--export-file <file>', 'where --tail export writes the records (JSON lines)')
    .option('--dry-run', 'report the divergent tail without changing anything')
    .option('--audit-file <file>', 'audit log file', 'kafka-dr-audit.jsonl')
    .option('--json', 'machine-readable output')
    .action(
      async (opts: {
        config: string
        link: string
        tail?: string
        exportFile?: string
        dryRun?: boolean
        json?: boolean
        auditFile?: string
      }) => {
        setExit(await failbackCommand(opts))
      }
    )

  for (const [name, description, run] of [
    [
      'pause',
      'stop copying a link, or some of its topics, until resumed: stored on the target, obeyed by every worker within a commit interval and after a restart; lag keeps being measured',
      pauseCommand
    ],
    [
      'resume',
      'resume a paused link (every pause of it) or paused topics: copying continues from stored progress',
      resumeCommand
    ]
  ] as const) {
    program
      .command(name)
      .description(description)
      .requiredOption('-c, --config <file>', 'kafka-dr YAML config')
      .requiredOption('--link <name>', 'link name, e.g. dc1->dc2')
      .option('--topics <names>', 'comma-separated source topics (default: the whole link)')
      .option('--reason <text>', 'why (shown by status, the dashboard and the audit log)')
      .option('--audit-file <file>', 'audit log file', 'kafka-dr-audit.jsonl')
      .option('--json', 'machine-readable output')
      .action(async (opts: PauseCommandOptions) => {
        setExit(await run(opts))
      })
  }

  program
    .command('verify')
    .description(
      'prove the target holds what the source still holds: per partition missing, altered, reordered, duplicate and not yet replicated records (exit 0 only when it matches)'
    )
    .requiredOption('-c, --config <file>', 'kafka-dr YAML config')
    .requiredOption('--link <name>', 'link name, e.g. dc1->dc2')
    .option('--topics <names>', 'comma-separated source topics (default: all of the link)')
    .option('--from-time <time>', 'check records from this time on (ISO date-time or epoch ms)')
    .option('--range-size <n>', 'source offsets per range digest', '10000')
    .option(
      '--strict',
      'active-passive links: target records no copy of the link explains (writes to the standby) fail the check'
    )
    .option('--json', 'machine-readable output')
    .option('--quiet', 'no progress on stderr')
    .option(
      '--watch <interval>',
      'run the check again every interval (30s, 5m, 1h) and print each result until SIGINT; exit code of the last run'
    )
    .action(async (opts: VerifyCommandOptions) => {
      setExit(await verifyCommand(opts))
    })

  program
    .command('drill')
    .description(
      'rehearse the failover of consumer groups without changing anything: translate their offsets, compare the next records on the target with the source (matched, mismatched, re-read, skipped, not replicated), measure RTO; exit 0 only if every group would resume exactly'
    )
    .requiredOption('-c, --config <file>', 'kafka-dr YAML config')
    .requiredOption('--link <name>', 'link name, e.g. dc1->dc2')
    .requiredOption('--groups <ids>', 'comma-separated consumer groups')
    .option('--records <n>', 'records compared per partition', '100')
    .option('--json', 'machine-readable output')
    .action(async (opts: DrillCommandOptions) => {
      setExit(await drillCommand(opts))
    })

  program
    .command('drift')
    .description(
      'per replicated topic: what differs between source and target (partitions, configs, foreign or shared target topics, schemas) and what the link does about it (exit 1 on drift the link cannot fix)'
    )
    .requiredOption('-c, --config <file>', 'kafka-dr YAML config')
    .option('--link <name>', 'only this link')
    .option('--json', 'machine-readable output')
    .action(async (opts: { config: string; link?: string; json?: boolean }) => {
      setExit(await driftCommand(opts))
    })

  program
    .command('validate')
    .description('check a config file without connecting to any cluster')
    .requiredOption('-c, --config <file>', 'kafka-dr YAML config')
    .option('--print', 'print the resolved config (secrets redacted)')
    .action((opts: { config: string; print?: boolean }) => {
      setExit(validate(opts))
    })

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
  let exitCode = 0
  const program = buildProgram(code => {
    exitCode = code
  })
  try {
    await program.parseAsync(argv)
    return exitCode
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 1 ? EXIT_CONFIG : error.exitCode
    if (KdrError.is(error)) {
      console.error(`kafka-dr: ${error.code}: ${describeCause(error)}`)
      return error.code === 'KDR_ERR_CONFIG' ? EXIT_CONFIG : EXIT_FAILURE
    }
    console.error(`kafka-dr: ${describeCause(error)}`)
    return EXIT_FAILURE
  }
}
