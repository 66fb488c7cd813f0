import { type HttpConfig, type KafkaDrConfig } from '../config/index.ts'
import { Replicator } from '../engine/replicator.ts'
import { defaultWorkerIdentity } from '../engine/link-workers.ts'
import { pause, resume } from '../failover/pause.ts'
import { status } from '../failover/status.ts'
import { type Logger } from '../observability/logger.ts'
import { Metrics } from '../observability/metrics.ts'
import { ContinuousVerifier } from '../verify/continuous.ts'
import { type HttpServer, startHttpServer } from './server.ts'

/**
 * The replicator with its metrics and HTTP server, wired as `kafka-dr replicate` runs them. The
 * server starts before the links, so /healthz and /readyz answer during a slow start too. Links with
 * `verify` get continuous verification (verify/continuous.ts) once the replicator runs.
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
  http: HttpConfig | null,
  /** --worker-id: this process's id in the links' worker groups (default host-pid). */
  workerId?: string
): Promise<ObservedReplicator> {
  let replicator: Replicator | null = null
  let verifier: ContinuousVerifier | null = null
  const metrics = new Metrics(() => replicator?.status() ?? [])
  const server =
    http === null
      ? null
      : await startHttpServer({
          ...http,
          metrics,
          links: () => replicator?.status() ?? [],
          status: () => status(config),
          verification: link => verifier?.status(link) ?? null,
          // The HTTP API writes no audit file (the process's working directory is not the operator's);
          // the `__kdr_audit` topic records it.
          control: {
            hasLink: name => config.links.some(l => l.name === name),
            pause: request => pause(config, { ...request, auditFile: null }),
            resume: request => resume(config, { ...request, auditFile: null })
          },
          log,
          secrets: config.secrets
        })
  const identity =
    workerId === undefined
      ? defaultWorkerIdentity(server?.url ?? null)
      : { worker: workerId, http: server?.url ?? null, named: true }
  metrics.setWorker(identity.worker)
  const running = new Replicator(config, log, metrics, identity)
  replicator = running
  log.info(
    { config: config.origin, links: config.links.map(l => l.name), worker: identity.worker, http: server?.url ?? null },
    'starting'
  )
  await running.start()
  // Continuous verification (links with `verify`) reads the replicator's status and stops before it.
  const verifying = new ContinuousVerifier(config, log, metrics, () => running.status())
  verifying.start()
  verifier = verifying
  return {
    replicator: running,
    metrics,
    http: server,
    stop: async () => {
      await verifying.stop()
      await running.stop()
      await server?.close()
    }
  }
}
