import { type HttpConfig, type KafkaDrConfig } from '../config/index.ts'
import { Replicator } from '../engine/replicator.ts'
import { status } from '../failover/status.ts'
import { type Logger } from '../observability/logger.ts'
import { Metrics } from '../observability/metrics.ts'
import { type HttpServer, startHttpServer } from './server.ts'

/**
 * The replicator with its metrics and HTTP server, wired as `kafka-dr replicate` runs them. The
 * server starts before the links, so /healthz and /readyz answer during a slow start too.
 */
export interface ObservedReplicator {
  replicator: Replicator
  metrics: Metrics
  http: HttpServer | null
  stop(): Promise<void>
}

export async function startObserved(
  config: KafkaDrConfig,
  log: Logger,
  http: HttpConfig | null
): Promise<ObservedReplicator> {
  let replicator: Replicator | null = null
  const metrics = new Metrics(() => replicator?.status() ?? [])
  const running = new Replicator(config, log, metrics)
  replicator = running
  const server =
    http === null
      ? null
      : await startHttpServer({
          ...http,
          metrics,
          links: () => running.status(),
          status: () => status(config),
          log,
          secrets: config.secrets
        })
  log.info({ config: config.origin, links: config.links.map(l => l.name) }, 'starting')
  await running.start()
  return {
    replicator: running,
    metrics,
    http: server,
    stop: async () => {
      await running.stop()
      await server?.close()
    }
  }
}
