import { type LinkConfig, type WorkersConfig, defaultWorkersConfig } from '../config/index.ts'
import { TopicNaming } from '../core/naming.ts'
import { TopicFilter } from '../core/topic-filter.ts'
import { KdrError, describeCause } from '../errors.ts'
import { type ClusterConnection, KafkaAdmin, RecordProducer, type TransactionError } from '../kafka/index.ts'
import { type Logger } from '../observability/logger.ts'
import { type EngineEvents, type LinkRunState, type LinkStatus, NO_EVENTS } from '../engine-events/index.ts'
import { TopicSync } from '../sync/topic-sync.ts'
import { startAclSync } from '../sync/acl-sync.ts'
import { type RegistryConnection } from '../schemas/registry-client.ts'
import { type SchemaSync } from '../schemas/schema-sync.ts'
import { type CopierSchemas } from './copier-types.ts'
import { type Delivery, IdempotentDelivery, TransactionalDelivery } from './delivery.ts'
import { type PartitionCopier } from './partition-copier.ts'
import { CommitCycle } from './commit-cycle.ts'
import { startSchemaSync } from './schema-setup.ts'
import { FetchLanes } from './fetch-lanes.ts'
import { LinkPartitions } from './link-partitions.ts'
import { clusterIds, ensureDeadLetterTopic } from './link-setup.ts'
import { CopyMaps } from './copy-map.ts'
import { linkCheckpoints } from './link-checkpoints.ts'
import { slotFencer, sourceLoad } from './worker-deps.ts'
import { fenceMessage } from './fence-heartbeat.ts'
import { LinkLiveness } from './link-liveness.ts'
import { LinkPauses } from './link-pauses.ts'
import { foreignPartitions } from './foreign-target.ts'
import { groupStatus } from './link-status.ts'
import { type CheckpointSync } from '../sync/checkpoints.ts'
import { type OriginIds, resolveOrigins } from './origin-ids.ts'
import { type LinkRouting } from '../core/routes.ts'
import { type PeriodicOptions, runEvery } from './periodic.ts'
import { LinkWorkers, type WorkerIdentity, defaultWorkerIdentity } from './link-workers.ts'
import { type Generation } from './worker-membership.ts'
import { LinkOwnership } from './link-ownership.ts'
import { type UncommittedRange, logUncommitted, uncommittedRanges, withinDeadline } from './shutdown.ts'
import { type StoredCheckpoint, ensureStateTopic, loadLinkState, partitionKey, writeState } from '../state/index.ts'

/**
 * Runs one link (source -> target) as one worker of its worker group (link-workers.ts): fetch lanes
 * that read the partitions this worker owns from the source in shared fetch requests, one
 * PartitionCopier per owned partition writing to the target, a commit loop that stores progress and
 * offset runs on the target, and (on the group's leader only) the topic, config and schema sync loops.
 * One process alone is a group of one: it owns every partition.
 */

/** On stop, what the final commit and heartbeat get at least, even when the drain used up its timeout. */
const FINAL_WRITE_MS = 2_000
/** On stop, how long closing the clients may take. */
const CLOSE_MS = 1_000
/** How often the round trip to the source is measured (fetch sizes follow it). */
const ROUND_TRIP_PROBE_MS = 5_000

export class LinkReplicator {
  readonly config: LinkConfig
  readonly #sourceConnection: ClusterConnection
  readonly #targetConnection: ClusterConnection
  readonly #log: Logger
  /** The partitions this worker copies, and their copiers (link-partitions.ts). */
  readonly #partitions: LinkPartitions
  readonly #copiers: ReadonlyMap<string, PartitionCopier>
  #state: LinkRunState = 'starting'
  #error: string | null = null
  #sourceClusterId: string | null = null
  #targetClusterId: string | null = null
  #sourceAdmin: KafkaAdmin | null = null
  #targetAdmin: KafkaAdmin | null = null
  /** One fetcher per fetch lane; partition copiers are spread over the lanes (fetch-lanes.ts). */
  readonly #lanes: FetchLanes
  /** State records and dead letters. */
  #producer: RecordProducer | null = null
  /** How copied batches and the progress covering them reach the target (delivery.ts). */
  #delivery: Delivery | null = null
  /** Wakes the exactly-once commit loop early (a transaction reached its size bound). */
  #commitNow: (() => void) | null = null
  /**
   * Called once when the link stopped by itself at run time (a transaction failed): the Replicator
   * starts it again from the committed state, unless it was fenced by a failover.
   */
  onFailed: (error: KdrError) => void = () => {}
  #topicSync: TopicSync | null = null
  #checkpoints: CheckpointSync | null = null
  #storedCheckpoints: StoredCheckpoint[] = []
  /** What each commit stores, and the stop's final commit (commit-cycle.ts). */
  #commits: CommitCycle | null = null
  #loops: Promise<void>[] = []
  /** The commit and heartbeat loops (target only), a subset of #loops. */
  #stateLoops: Promise<void>[] = []
  #stopping = false
  #stopped: Promise<void> | null = null
  /** The start in progress, which a stop waits for (bounded) before closing clients. */
  #starting: Promise<void> | null = null
  /** Set by stop(): source offsets whose progress the stop could not commit (empty after a clean stop). */
  #leftUncommitted: UncommittedRange[] = []
  #timers: AbortController = new AbortController()
  /** Heartbeats, the fence failover may set, and the write lease (link-liveness.ts). */
  readonly #liveness: LinkLiveness
  /** The operators' pauses, applied to the copiers (link-pauses.ts). */
  readonly #pauses: LinkPauses
  /** Where copies are on the target, for checkpoints (copy-map.ts). */
  readonly #copyMaps: CopyMaps
  readonly #registries: ReadonlyMap<string, RegistryConnection>
  #schemaSync: SchemaSync | null = null
  #copierSchemas: CopierSchemas | null = null
  readonly #clusters: ReadonlyMap<string, ClusterConnection>
  /** Which copied records this link copies (core/routes.ts); null: all but those from the target. */
  readonly #routing: LinkRouting | null
  /** Ids of the origins the routes name, and the per-record decision built from them. */
  #origins: OriginIds | null = null
  /** The writer slot whose transactional ids this worker's delivery uses. */
  #slot = -1
  /** This worker's membership of the link's worker group (scale-out). */
  readonly #workers: LinkWorkers
  /** What this worker does when the group gives, takes or refuses (link-ownership.ts). */
  readonly #ownership: LinkOwnership
  /** A failure of the group while start() runs: start() throws it. */
  #startFailure: KdrError | null = null

  constructor(
    config: LinkConfig,
    clusters: ReadonlyMap<string, ClusterConnection>,
    log: Logger,
    registries: ReadonlyMap<string, RegistryConnection> = new Map(),
    events: EngineEvents = NO_EVENTS,
    routing: LinkRouting | null = null,
    /** The worker group settings and who this process is in it (one process alone: a group of one). */
    scale: { workers: WorkersConfig; identity: WorkerIdentity } | null = null
  ) {
    this.#registries = registries
    this.config = config
    const source = clusters.get(config.source)
    const target = clusters.get(config.target)
    if (source === undefined || target === undefined) {
      throw new KdrError('KDR_ERR_CONFIG', `link ${config.name} names an unknown cluster`)
    }
    this.#sourceConnection = { ...source, clientId: source.clientId ?? `kafka-dr-${config.name}-source` }
    this.#targetConnection = { ...target, clientId: target.clientId ?? `kafka-dr-${config.name}-target` }
    const identity = scale?.identity ?? defaultWorkerIdentity()
    this.#log = log.child({ link: config.name, worker: identity.worker })
    this.#clusters = clusters
    this.#routing = routing
    const copiers = new Map<string, PartitionCopier>()
    this.#copiers = copiers
    this.#lanes = new FetchLanes(copiers, config, this.#log, events)
    this.#pauses = new LinkPauses(copiers, this.#log)
    this.#partitions = new LinkPartitions(config, this.#log, events, this.#lanes, copiers, {
      sourceAdmin: () => this.#sourceAdmin!,
      clusterIds: () => ({ source: this.#sourceClusterId!, target: this.#targetClusterId! }),
      copierSchemas: () => this.#copierSchemas,
      origins: () => this.#origins?.filter ?? null,
      boundary: () => this.#delivery!.boundary,
      deadLetters: () => this.#producer!,
      mayWrite: () => this.#liveness.mayWrite() && this.#workers.holds(),
      applyPause: copier => this.#pauses.applyTo(copier),
      foreignPartitions: (topic, partitions) =>
        foreignPartitions(
          config,
          this.#targetConnection,
          this.#targetAdmin!,
          { sourceClusterId: this.#sourceClusterId!, topic: topic.source },
          topic.target,
          partitions,
          this.#log
        ),
      stopping: () => this.#stopping
    })
    this.#copyMaps = new CopyMaps(config, this.#targetConnection, copiers, {
      sourceClusterId: () => this.#sourceClusterId,
      origins: () => this.#origins?.filter ?? null
    })
    this.#liveness = new LinkLiveness(
      config,
      this.#targetConnection,
      {
        producer: () => this.#producer,
        partitions: () => [...this.#copiers.values()].map(c => c.status()),
        schemas: () => this.#schemaSync?.state() ?? null,
        clusterIds: () => this.#origins?.ids ?? null,
        worker: () => this.worker,
        generation: () => this.#workers.current,
        holds: () => this.#workers.holds()
      },
      fence => {
        this.#error = fenceMessage(config.name, fence)
        this.#log.warn({ fence }, 'link fenced by failover: stopping replication')
        void this.stop()
      },
      (topic, pause) => this.#pauses.changed(topic, pause),
      problem =>
        this.#log.warn(
          { problem },
          'a state record of this link could not be read (corrupt, or written by a newer kafka-dr: a pause or fence this version cannot obey?); ignored'
        )
    )
    this.#workers = this.#newWorkers(scale?.workers ?? defaultWorkersConfig(), identity)
    this.#ownership = this.#newOwnership()
  }

  /** This process's membership of the link's worker group (link-workers.ts). */
  #newWorkers(workers: WorkersConfig, identity: WorkerIdentity): LinkWorkers {
    const config = this.config
    return new LinkWorkers(
      config,
      workers,
      this.#targetConnection,
      identity,
      {
        partitions: () => this.#assignable(),
        sourceLoad: () => sourceLoad(this.#copiers),
        fenceSlots: slotFencer(config, this.#targetConnection, this.#log),
        forgetSlots: async slots => {
          await writeState(
            this.#producer!,
            slots.map(slot => ({ kind: 'worker', link: config.name, slot, value: null }))
          )
        }
      },
      this.#log
    )
  }

  /** What this link does when its group gives, takes or refuses partitions (link-ownership.ts). */
  #newOwnership(): LinkOwnership {
    const config = this.config
    return new LinkOwnership(
      {
        link: config.name,
        target: config.target,
        groupId: this.#workers.groupId,
        worker: () => this.worker,
        holds: () => this.#workers.holds(),
        stopping: () => this.#stopping,
        firstAcquire: generation => this.#firstAcquire(generation),
        transactionalSlot: () => (this.#delivery?.mode === 'exactly-once' ? this.#slot : null),
        partitions: this.#partitions,
        topics: () => this.#topicSync!.known.values(),
        readState: async () =>
          (await loadLinkState(this.#targetConnection, this.#targetAdmin!, config.name)).partitions,
        commit: () => this.commit(),
        fail: error => this.#failWith(error)
      },
      this.#log
    )
  }

  /** The worker id of this process in the link's group. */
  get worker(): string {
    return this.#workers.identity.worker
  }

  /** Every partition of the link whose target topic exists, as this worker knows them. */
  #assignable(): string[] {
    const keys: string[] = []
    for (const topic of this.#topicSync?.known.values() ?? [])
      for (let p = 0; p < topic.partitions; p++) keys.push(partitionKey(topic.source, p))
    return keys
  }

  /** Connects, loads stored progress, creates target topics and starts the loops. */
  async start(): Promise<void> {
    this.#starting = this.#start()
    try {
      await this.#starting
    } finally {
      this.#starting = null
    }
  }

  /** Throws when stop() was called meanwhile: a start never goes on creating clients after a stop. */
  #checkNotStopping(): void {
    if (this.#startFailure !== null) throw this.#startFailure
    if (this.#stopping) {
      throw new KdrError('KDR_ERR_RUNTIME', `link ${this.config.name} was stopped while starting`, {
        cluster: this.config.target
      })
    }
  }

  async #start(): Promise<void> {
    const config = this.config
    await this.#connect()
    this.#checkNotStopping()

    await ensureStateTopic(this.#targetAdmin!, config.replicationFactor)
    await ensureDeadLetterTopic(this.config, this.#targetAdmin!, this.#log)
    this.#producer = new RecordProducer(this.#targetConnection, { idempotent: true })

    const schemaSetup = await startSchemaSync(config, this.#registries, this.#log)
    if (schemaSetup !== null) {
      this.#schemaSync = schemaSetup.sync
      this.#copierSchemas = schemaSetup.copierSchemas
    }
    this.#checkNotStopping()
    this.#lanes.open(this.#sourceConnection)
    this.#topicSync = new TopicSync(
      {
        link: config.name,
        sourceAlias: config.source,
        targetAlias: config.target,
        replicationFactor: config.replicationFactor,
        filter: new TopicFilter(config.topics.include, config.topics.exclude),
        naming: new TopicNaming(config.naming, config.source)
      },
      this.#sourceAdmin!,
      this.#targetAdmin!,
      this.#log
    )
    // Every worker makes sure the target topics exist before it joins (creating one that another
    // worker created meanwhile is harmless); from then on only the group's leader syncs them.
    await this.#syncTopics(true)
    await this.#topicSync.syncConfigs()
    this.#checkNotStopping()
    // The group decides what this worker copies: the first generation's acquire() initialises the
    // delivery, reads the state and starts the copiers (worker-membership.ts, link-workers.ts).
    this.#workers.start(this.#ownership, error => this.#ownership.failed(error))
    await this.#ownership.firstGeneration
    this.#checkNotStopping()
    this.#state = 'running'
    // Sized for the link from the first fetch on; a failed probe leaves the configured sizes.
    await this.#lanes
      .probeRoundTrip()
      .catch((error: unknown) =>
        this.#log.warn({ err: describeCause(error) }, 'could not measure the round trip to the source')
      )
    this.#checkNotStopping()
    this.#startLoops()
  }

  /**
   * The first generation: the delivery (exactly-once: InitProducerId on this worker's slot, which
   * aborts what an earlier holder of the slot left open, BEFORE the state is read, so none of it is
   * read as progress), the stored state, the checkpoints, and the first heartbeat, before any copy.
   */
  async #firstAcquire(generation: Generation): Promise<void> {
    await this.#startDelivery(generation.slot)
    await this.#loadState({ source: this.#sourceClusterId!, target: this.#targetClusterId! })
    this.#startCheckpoints()
    // The first heartbeat goes before any record is copied, and the fence is read after it: a failover
    // that wrote its fence before this heartbeat is seen here; one that wrote it after sees this heartbeat
    // and waits for this replicator's acknowledgement (the state topic orders the two).
    this.#checkNotStopping()
    await this.#liveness.renewLease()
    if (this.#liveness.fence !== null) {
      throw new KdrError('KDR_ERR_FENCED', this.#error ?? 'fenced', { cluster: this.config.target })
    }
  }

  /** Before the first generation: start() fails with it. After: the link stops and onFailed decides. */
  #failWith(error: KdrError): void {
    if (this.#starting !== null) {
      // start() fails with it (the Replicator retries or gives up as for any start failure).
      this.#startFailure = error
      this.#ownership.abortStart(error)
      void this.stop()
      return
    }
    if (this.#stopping) return
    this.#error = error.message
    void this.stop().then(() => this.onFailed(error))
  }

  /** The delivery (delivery.ts); exactly-once initialises its slot's transactional ids. */
  async #startDelivery(slot: number): Promise<void> {
    const config = this.config
    this.#slot = slot
    if (config.delivery === 'exactly-once') {
      const delivery = new TransactionalDelivery(
        this.#targetConnection,
        config,
        this.#log,
        error => this.#onTransactionFailed(error),
        undefined,
        slot
      )
      delivery.boundary.onFull = () => this.#commitNow?.()
      this.#delivery = delivery
    } else {
      this.#delivery = new IdempotentDelivery(this.#targetConnection, this.#producer!)
    }
    this.#commits = new CommitCycle(config.name, this.#delivery, this.#producer!, this.#copiers, this.#log, () => ({
      worker: this.worker,
      generation: this.#workers.current.generation
    }))
    await this.#delivery.start()
    this.#checkNotStopping()
  }

  /** Connects to both clusters and learns their ids. */
  async #connect(): Promise<void> {
    this.#sourceAdmin = new KafkaAdmin(this.#sourceConnection)
    this.#targetAdmin = new KafkaAdmin(this.#targetConnection)
    const ids = await clusterIds(this.config, this.#sourceAdmin, this.#targetAdmin, this.#log)
    this.#sourceClusterId = ids.source
    this.#targetClusterId = ids.target
  }

  /** Loads stored progress, checkpoints and the fence; resolves the routes' origins. */
  async #loadState(ids: { source: string; target: string }): Promise<void> {
    const config = this.config
    const loaded = await loadLinkState(this.#targetConnection, this.#targetAdmin!, config.name)
    const fence = loaded.documents.get('fence')
    if (fence !== undefined) {
      this.#liveness.loaded(fence, loaded.end)
      this.#state = 'fenced'
      this.#error = fenceMessage(config.name, fence)
      throw new KdrError('KDR_ERR_FENCED', this.#error, { cluster: config.target })
    }
    const routing = this.#routing
    if (routing !== null) {
      this.#origins = await resolveOrigins(
        config.name,
        routing,
        { alias: config.target, id: ids.target },
        new Map([
          [config.source, ids.source],
          [config.target, ids.target]
        ]),
        this.#clusters,
        loaded.documents.get('heartbeat')?.clusterIds,
        this.#log
      )
    }
    this.#liveness.loaded(undefined, loaded.end)
    this.#pauses.loaded(loaded.pauses)
    this.#partitions.stored = loaded.partitions
    this.#storedCheckpoints = loaded.checkpoints
    if (loaded.unreadable > 0) {
      this.#log.warn(
        { unreadable: loaded.unreadable, problems: loaded.problems },
        'state records that could not be read were ignored; affected partitions resume from older progress'
      )
    }
    this.#log.info({ partitions: loaded.partitions.size }, 'stored progress loaded')
  }

  /** Consumer group offsets translated from this link's copies, from the stored checkpoints on. */
  #startCheckpoints(): void {
    this.#checkpoints = linkCheckpoints(
      this.config,
      {
        topicSync: this.#topicSync!,
        copyMaps: this.#copyMaps,
        producer: this.#producer!,
        sourceAdmin: this.#sourceAdmin!,
        targetAdmin: this.#targetAdmin!,
        fenced: () => this.#liveness.fence !== null,
        stopping: () => this.#stopping
      },
      this.#log
    )
    this.#checkpoints.seed(this.#storedCheckpoints)
  }

  #startLoops(): void {
    const config = this.config
    // The loops that write state (commits, heartbeats) touch only the target: stop() waits for them
    // before its final commit, never for a loop waiting on the source.
    this.#stateLoops = [
      this.#every(
        config.commitIntervalMs,
        async () => {
          if (await this.#liveness.fenced()) return
          // A worker that may have lost its group membership commits nothing (at-least-once: its
          // partitions may have a new owner already; exactly-once: the leader fences its slot anyway).
          if (!this.#workers.holds()) return
          await this.commit()
        },
        {
          wakeable: wake => (this.#commitNow = wake),
          // A record waits at most one interval for the commit that makes it visible (exactly-once:
          // read_committed consumers), however long the last commit took.
          fixedRate: true
        }
      ),
      // Liveness in its own loop: a slow source cannot delay it, and failover judges staleness by it.
      this.#every(config.checkpointIntervalMs, async () => {
        if (await this.#liveness.fenced()) return
        await this.#liveness.renewLease()
      })
    ]
    // Topic, config and schema sync run on the group's leader only (a non-leader still looks at the
    // topics, to follow re-created or deleted ones it copies). Checkpoints run on every worker, each
    // for the partitions it copies: only their copier knows the copies not committed yet.
    const leader = (): boolean => this.#workers.current.leader
    this.#loops = [
      ...this.#lanes.run(),
      ...this.#stateLoops,
      this.#every(config.sync.topicsIntervalMs, () => this.#syncTopics(false)),
      ...(this.#schemaSync === null
        ? []
        : [
            this.#every(config.schemas!.intervalMs, async () => {
              if (leader()) await this.#schemaSync!.syncAll()
            })
          ]),
      this.#every(ROUND_TRIP_PROBE_MS, () => this.#lanes.probeRoundTrip()),
      // Paused partitions are not fetched: their lag is listed instead, so it keeps growing in status.
      this.#every(config.checkpointIntervalMs, () => this.#pauses.measureLag(this.#sourceAdmin!)),
      this.#every(config.sync.configsIntervalMs, async () => {
        if (leader()) await this.#topicSync!.syncConfigs()
      }),
      ...startAclSync(
        config,
        {
          source: this.#sourceAdmin!,
          target: this.#targetAdmin!,
          producer: this.#producer!,
          connection: this.#targetConnection,
          leader,
          log: this.#log
        },
        (ms, pass) => this.#every(ms, pass)
      ),
      this.#every(config.checkpointIntervalMs, async () => {
        if (this.#liveness.fence === null) await this.checkpoint()
      })
    ]
  }

  /**
   * Graceful stop: no new fetches, in-flight produces finish, final commit, clients closed. Bounded
   * whatever the target does: loops and in-flight writes get drainTimeoutMs together; writes still
   * retrying then are given up (never counted as acknowledged), the final commit and heartbeat get
   * what is left (at least FINAL_WRITE_MS), closing CLOSE_MS. What could not be committed is logged
   * per partition and kept in `leftUncommitted`.
   */
  stop(): Promise<void> {
    // A second call (SIGTERM during a stop after a failure) waits for the same stop.
    this.#stopped ??= this.#stop()
    return this.#stopped
  }

  async #stop(): Promise<void> {
    this.#stopping = true
    this.#state = 'stopping'
    const deadline = performance.now() + this.config.drainTimeoutMs
    this.#timers.abort()
    this.#lanes.stop()
    // A start waiting for its first generation ends now.
    this.#ownership.abortStart(
      new KdrError('KDR_ERR_RUNTIME', `link ${this.config.name} was stopped while starting`, {
        cluster: this.config.target
      })
    )
    // A start in progress ends at its next step (it checks #stopping); its clients are closed below.
    if (this.#starting !== null)
      await withinDeadline(
        this.#starting.catch(() => {}),
        deadline
      )
    // Not the loops that wait on the source (a degraded source must not delay a fenced replicator's
    // acknowledgement); those are awaited after the final heartbeat, below.
    const loopsDone = (await withinDeadline(Promise.all(this.#stateLoops), deadline)).inTime
    const copiers = [...this.#copiers.values()]
    const abandoned = await this.#drain(copiers, deadline)
    const timedOut = !loopsDone || abandoned !== null
    if (!loopsDone && abandoned === null) {
      for (const copier of copiers) copier.abandon()
      this.#log.warn(
        { drainTimeoutMs: this.config.drainTimeoutMs },
        'drain timeout passed: the commit and heartbeat loops did not end (the target is slow); the final commit is tried, no final heartbeat is written'
      )
    }
    const writesBy = Math.max(deadline, performance.now() + FINAL_WRITE_MS)
    const committed = await this.#finalCommit(timedOut, writesBy)
    const finalState = this.#liveness.fence === null ? 'stopped' : 'fenced'
    // The last state record of this process: failover takes a `fenced` heartbeat written after its fence
    // as the proof that nothing more is written, so none is written while a given-up produce may still land.
    if (!timedOut) await withinDeadline(this.#liveness.heartbeat(finalState, committed), writesBy).catch(() => {})
    // Only now may the group hand this worker's partitions to another: it starts from what was committed.
    this.#ownership.finalCommitted()
    await withinDeadline(this.#workers.stop(), performance.now() + CLOSE_MS)
    await withinDeadline(Promise.all(this.#loops), Math.max(deadline, performance.now() + CLOSE_MS))
    await this.#closeClients()
    this.#leftUncommitted = uncommittedRanges(
      copiers.map(c => ({
        topic: c.topic,
        partition: c.partition,
        committedNext: c.status().committedNext,
        replicatedNext: c.replicatedNext,
        fetchOffset: c.fetchOffset,
        abandoned: abandoned?.has(c) ?? false
      }))
    )
    logUncommitted(this.#log, this.config.target, this.#leftUncommitted)
    this.#state = finalState
    this.#log.info('stopped')
  }

  /**
   * The writes under way finish, within the drain deadline; a heartbeat every interval meanwhile, so
   * failover does not judge this process stale. Past the deadline, the writes still in flight are
   * given up (never counted as acknowledged): the copiers that had some, or null when all finished.
   */
  async #drain(copiers: readonly PartitionCopier[], deadline: number): Promise<Set<PartitionCopier> | null> {
    // exactly-once: writes waiting for a commit to end give up (no commit loop reopens the boundary now);
    // the writes under way finish and the final commit covers them.
    this.#delivery?.stopWrites()
    const beating = setInterval(
      () => void this.#liveness.heartbeat('stopping').catch(() => {}),
      this.config.checkpointIntervalMs
    ).unref()
    const drained = await withinDeadline(Promise.all(copiers.map(c => c.drain())), deadline).finally(() =>
      clearInterval(beating)
    )
    if (drained.inTime) return null
    const abandoned = new Set(copiers.filter(c => c.producing))
    for (const copier of copiers) copier.abandon()
    this.#log.warn(
      { drainTimeoutMs: this.config.drainTimeoutMs, partitionsInFlight: abandoned.size },
      'drain timeout passed: writes still in flight are given up; their records will be copied again on restart'
    )
    return abandoned
  }

  /**
   * The stop's last commit of progress; whether it was stored. Without its group membership, it might
   * store progress for partitions another worker copies now: it is left out (records since the last
   * commit are copied again).
   */
  async #finalCommit(timedOut: boolean, writesBy: number): Promise<boolean> {
    if (this.#commits === null || this.#sourceClusterId === null) return true
    const holds = this.#workers.holds() || this.#workers.current.generation < 0
    if (holds) return this.#commits.final(this.#sourceClusterId, !timedOut && this.#error === null, writesBy)
    this.#log.warn('stopping without the worker group membership: no final commit')
    await withinDeadline(this.#delivery!.abandon(), writesBy)
    return false
  }

  async #closeClients(): Promise<void> {
    await withinDeadline(
      Promise.allSettled([
        ...this.#lanes.close(),
        this.#producer?.close(),
        this.#delivery?.close(),
        this.#sourceAdmin?.close(),
        this.#targetAdmin?.close(),
        this.#liveness.close(),
        this.#copyMaps.close()
      ]),
      performance.now() + CLOSE_MS
    )
  }

  /** After stop(): the source offsets whose progress it could not commit, per partition (empty after a clean stop). */
  get leftUncommitted(): readonly UncommittedRange[] {
    return this.#leftUncommitted
  }

  /** Commits progress and the segment index of every partition that moved (commit-cycle.ts). */
  async commit(): Promise<void> {
    if (this.#commits === null || this.#sourceClusterId === null) return
    await this.#commits.commit(this.#sourceClusterId)
  }

  /**
   * exactly-once: the transaction failed (delivery.ts). Nothing of it becomes visible. Fenced by a
   * failover (its fence document is in the state topic): the link stops for good, as fenced. Any
   * other failure: the link stops and the Replicator starts it again from the committed state (its
   * InitProducerId aborts what is left open, the copiers resume at committed progress).
   */
  #onTransactionFailed(error: TransactionError): void {
    if (this.#stopping) return
    void (async () => {
      // Any failure may come from failover's hard fence (a produce refused with INVALID_PRODUCER_EPOCH,
      // an abort): its fence document, written before it, tells.
      const byFailover = error.kind !== 'fatal' && (await this.#liveness.fenced().catch(() => false))
      if (byFailover) {
        this.#log.error(
          { transactionalId: error.message },
          'exactly-once: producer fenced by failover; link stopped, nothing written after the fence is visible'
        )
        return // the fence reader stops the link as fenced
      }
      this.#error = error.message
      this.#log.error(
        { code: error.code, kind: error.kind, err: error.message },
        error.kind === 'fenced'
          ? 'exactly-once: producer fenced (another process initialised the transactional id, or the coordinator aborted the transaction after transaction.timeoutMs); stopping the link, restarting it from committed state'
          : error.kind === 'fatal'
            ? 'exactly-once: the target refused the transaction for good; its records are not visible. Link stopped'
            : 'exactly-once: transaction failed; its records are not visible. Stopping the link, restarting it from committed state'
      )
      await this.stop()
      this.onFailed(error)
    })()
  }

  /** One checkpoint pass now (also run every checkpointIntervalMs). */
  async checkpoint(): Promise<{ groups: number; written: number; synced: number }> {
    if (this.#checkpoints === null) return { groups: 0, written: 0, synced: 0 }
    return this.#checkpoints.run()
  }

  status(): LinkStatus {
    return {
      link: this.config.name,
      source: this.config.source,
      target: this.config.target,
      state: this.#state,
      error: this.#error,
      sourceClusterId: this.#sourceClusterId,
      targetClusterId: this.#targetClusterId,
      lastCommitAt: this.#commits?.lastCommitAt ?? null,
      schemas: this.#schemaSync?.state() ?? null,
      groups: groupStatus(this.#checkpoints?.checkpoints ?? []),
      worker: this.#workers.status(this.#partitions.owned.size),
      partitions: [...this.#copiers.values()]
        .map(c => ({ ...c.status(), worker: this.worker }))
        .sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1))
    }
  }

  /**
   * One topic pass. The leader (and every worker at start) creates and grows target topics; the
   * others only look. New partitions make the leader ask for a new generation to share them.
   */
  async #syncTopics(initial: boolean): Promise<void> {
    const leads = initial || this.#workers.current.leader
    const before = this.#assignable().length
    await this.#partitions.follow(await this.#topicSync!.syncTopics({ create: leads }), initial)
    if (!initial && this.#workers.current.leader && this.#assignable().length > before) this.#workers.rejoin()
  }

  /** Runs `task` every `ms` until stop (periodic.ts); a failing pass is logged and retried at the next interval. */
  #every(ms: number, task: () => Promise<void>, options: Omit<PeriodicOptions, 'onError'> = {}): Promise<void> {
    return runEvery(this.#timers.signal, ms, task, {
      ...options,
      onError: error => this.#log.error({ err: describeCause(error) }, 'background task failed; retrying next interval')
    })
  }
}
