import { Command, InvalidArgumentError } from 'commander'
import { ensureJars } from './jars.ts'
import { kafkaVersion } from './paths.ts'
import { startDelayProxy } from './delay-proxy.ts'
import { ensureApicurio, registryUrl } from './registry.ts'
import { down, kill, restart, start, status, stop, up } from './harness.ts'

/** `npm run kafka -- <command>`: local KRaft clusters for tests, the demo and benchmarks. */

function keyValue(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = value.indexOf('=')
  if (eq <= 0) throw new InvalidArgumentError(`expected key=value, got "${value}"`)
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) }
}

function clusterKeyValue(
  value: string,
  previous: Record<number, Record<string, string>> = {}
): Record<number, Record<string, string>> {
  const match = /^(\d+):(.+)$/.exec(value)
  if (match?.[1] === undefined || match[2] === undefined) {
    throw new InvalidArgumentError(`expected <cluster>:key=value, got "${value}"`)
  }
  const index = Number(match[1])
  return { ...previous, [index]: keyValue(match[2], previous[index]) }
}

function clusterPort(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`expected a port, got "${value}"`)
  return n
}

function clusterIndex(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a cluster number, got "${value}"`)
  return n
}

const program = new Command('kafka')
  .description(
    `Local single-node KRaft clusters from Maven Central jars (Kafka ${kafkaVersion()}; set KAFKA_VERSION to change)`
  )
  .showHelpAfterError()

program
  .command('jars')
  .description('gather the Kafka jars into .kafka/<version>/libs (skipped when already complete)')
  .option('--schema-registry', 'also fetch the Apicurio schema registry into .apicurio/')
  .action((opts: { schemaRegistry?: boolean }) => {
    console.log(ensureJars(kafkaVersion()))
    if (opts.schemaRegistry === true) console.log(ensureApicurio())
  })

program
  .command('up')
  .description('format and start clusters 1..N (idempotent: running clusters are left alone)')
  .option('--clusters <n>', 'number of clusters', clusterIndex, 2)
  .option('--override <key=value>', 'broker config for every new cluster (repeatable)', keyValue)
  .option('--cluster-override <n:key=value>', 'broker config for cluster n only (repeatable)', clusterKeyValue)
  .option('--heap <size>', 'broker heap (-Xms and -Xmx)', '512m')
  .option('--schema-registry', 'also start a Schema Registry (Apicurio) per cluster at n*10000+8081')
  .action(
    async (opts: {
      schemaRegistry?: boolean
      clusters: number
      override?: Record<string, string>
      clusterOverride?: Record<number, Record<string, string>>
      heap: string
    }) => {
      const clusters = await up({
        clusters: opts.clusters,
        heap: opts.heap,
        schemaRegistry: opts.schemaRegistry === true,
        ...(opts.override === undefined ? {} : { overrides: opts.override }),
        ...(opts.clusterOverride === undefined ? {} : { clusterOverrides: opts.clusterOverride })
      })
      console.log(`bootstrap: ${clusters.map(c => c.bootstrap).join(' ')}`)
      if (opts.schemaRegistry === true)
        console.log(`schema registries: ${clusters.map(c => registryUrl(c.index)).join(' ')}`)
    }
  )

program
  .command('down')
  .description('stop every cluster this harness started (by pid file) and delete their data')
  .option('--keep-data', 'stop the brokers but keep their data')
  .action(async (opts: { keepData?: boolean }) => {
    await down({ keepData: opts.keepData === true })
  })

for (const [name, description, fn] of [
  ['stop', 'controlled shutdown of one cluster, keeping its data', stop],
  ['kill', 'SIGKILL one cluster (crash), keeping its data', kill]
] as const) {
  program
    .command(`${name} <cluster>`)
    .description(description)
    .action(async (cluster: string) => {
      const index = clusterIndex(cluster)
      console.log(
        (await fn(index))
          ? `cluster ${index}: ${name === 'stop' ? 'stopped' : 'killed'}`
          : `cluster ${index}: not running`
      )
    })
}

for (const [name, description, fn] of [
  ['start', 'start a stopped cluster from its data', start],
  ['restart', 'stop and start one cluster, keeping its data', restart]
] as const) {
  program
    .command(`${name} <cluster>`)
    .description(description)
    .action(async (cluster: string) => {
      const s = await fn(clusterIndex(cluster))
      console.log(`cluster ${s.index}: up at ${s.bootstrap} (pid ${s.pid})`)
    })
}

program
  .command('status')
  .description('show the clusters, their pids and resident memory')
  .option('--json', 'machine-readable output')
  .action((opts: { json?: boolean }) => {
    const list = status()
    if (opts.json === true) {
      console.log(JSON.stringify(list, null, 2))
      return
    }
    if (list.length === 0) console.log('no clusters')
    for (const s of list) {
      const rss = s.rssKiB === null ? '' : `, RSS ${(s.rssKiB / 1024).toFixed(0)} MiB`
      console.log(
        `cluster ${s.index}: ${s.running ? `running (pid ${s.pid}${rss})` : 'stopped'} at ${s.bootstrap}, Kafka ${s.kafkaVersion}, id ${s.clusterId}`
      )
    }
  })

program
  .command('delay-proxy')
  .description('TCP proxy that delays each direction (a WAN stand-in), until SIGINT or SIGTERM')
  .requiredOption('--listen <port>', 'port to listen on at 127.0.0.1', clusterPort)
  .requiredOption('--to <host:port>', 'where to forward')
  .option('--delay-ms <ms>', 'one-way delay per direction', value => Number(value), 25)
  .action(async (opts: { listen: number; to: string; delayMs: number }) => {
    const match = /^(.+):(\d+)$/.exec(opts.to)
    if (match?.[1] === undefined || match[2] === undefined) throw new InvalidArgumentError('--to expects host:port')
    const proxy = await startDelayProxy({
      listenPort: opts.listen,
      targetHost: match[1],
      targetPort: Number(match[2]),
      delayMs: opts.delayMs
    })
    console.log(`delay proxy: 127.0.0.1:${proxy.port} -> ${opts.to}, ${opts.delayMs} ms each way`)
    await new Promise<void>(resolve => {
      process.once('SIGINT', resolve)
      process.once('SIGTERM', resolve)
    })
    await proxy.close()
  })

try {
  await program.parseAsync()
} catch (error) {
  console.error(`kafka harness: ${error instanceof Error ? error.message : String(error)}`)
  process.exitCode = 1
}
