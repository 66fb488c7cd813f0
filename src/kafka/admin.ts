import { Admin, ConfigResourceTypes, FetchIsolationLevels, ListOffsetTimestamps } from '@platformatic/kafka'
import { ALL_ACLS, type AclBinding, exactFilter, fromLibraryAcl, toLibraryAcl } from './acls.ts'
import { errorNameInChain, labelled } from './call.ts'
import { toClientOptions } from './options.ts'
import { type ClusterConnection } from './types.ts'

export interface ClusterDescription {
  clusterId: string
  controllerId: number
  brokers: { nodeId: number; host: string; port: number; rack: string | null }[]
}

export interface TopicDescription {
  name: string
  topicId: string
  partitions: { partition: number; leader: number; replicas: number[]; isr: number[] }[]
}

export interface NewTopic {
  name: string
  partitions: number
  replicationFactor?: number
  configs?: Record<string, string>
}

export type OffsetSpec = 'earliest' | 'latest' | { timestamp: bigint }

/** Admin operations kafka-dr needs, each labelled with operation and cluster on failure. */
export class KafkaAdmin {
  readonly cluster: string
  readonly #admin: Admin

  constructor(connection: ClusterConnection) {
    this.cluster = connection.alias
    this.#admin = new Admin(toClientOptions(connection, 'admin'))
  }

  async describeCluster(): Promise<ClusterDescription> {
    const metadata = await this.#call('describe cluster', () => this.#admin.metadata({ topics: [], forceUpdate: true }))
    return {
      clusterId: metadata.id,
      controllerId: metadata.controllerId,
      brokers: [...metadata.brokers].map(([nodeId, b]) => ({
        nodeId,
        host: b.host,
        port: b.port,
        rack: b.rack ?? null
      }))
    }
  }

  async listTopics(includeInternal = false): Promise<string[]> {
    return this.#call('list topics', () => this.#admin.listTopics({ includeInternals: includeInternal }))
  }

  /** Partitions and ids of the named topics; topics that do not exist are left out of the result. */
  async describeTopics(names: string[]): Promise<TopicDescription[]> {
    // The library fails the whole metadata call on one unknown topic, so ask only for existing ones.
    const existing = new Set(await this.listTopics(true))
    const present = names.filter(n => existing.has(n))
    if (present.length === 0) return []
    const metadata = await this.#call('describe topics', () =>
      this.#admin.metadata({ topics: present, forceUpdate: true })
    )
    const result: TopicDescription[] = []
    for (const name of present) {
      const topic = metadata.topics.get(name)
      if (topic === undefined) continue
      result.push({
        name,
        topicId: topic.id,
        partitions: topic.partitions.map((p, partition) => ({
          partition,
          leader: p.leader,
          replicas: p.replicas,
          isr: p.isr
        }))
      })
    }
    return result
  }

  /**
   * Creates each topic; the names it created. A topic that exists already (another process created
   * it meanwhile: several workers of a link start together) is what the caller asked for, not an
   * error; it is left out of the result.
   */
  async createTopics(topics: NewTopic[]): Promise<string[]> {
    const created: string[] = []
    for (const topic of topics) {
      const configs = Object.entries(topic.configs ?? {}).map(([name, value]) => ({ name, value }))
      try {
        await this.#call(
          'create topic',
          () =>
            this.#admin.createTopics({
              topics: [topic.name],
              partitions: topic.partitions,
              replicas: topic.replicationFactor ?? -1,
              configs
            }),
          topic.name
        )
        created.push(topic.name)
      } catch (error) {
        if (errorNameInChain(error) !== 'TOPIC_ALREADY_EXISTS') throw error
      }
    }
    return created
  }

  async deleteTopics(names: string[]): Promise<void> {
    if (names.length === 0) return
    await this.#call('delete topics', () => this.#admin.deleteTopics({ topics: names }))
  }

  /**
   * Offsets for every partition of `topic` (by partition index), for the given spec. 'latest' is the
   * high watermark read_uncommitted, the last stable offset read_committed (below it every
   * transaction is decided; the two are equal while no transaction is open).
   */
  async listOffsets(
    topic: string,
    partitions: number[],
    spec: OffsetSpec,
    isolation: 'read_uncommitted' | 'read_committed' = 'read_uncommitted'
  ): Promise<Map<number, bigint>> {
    const timestamp =
      spec === 'earliest'
        ? ListOffsetTimestamps.EARLIEST
        : spec === 'latest'
          ? ListOffsetTimestamps.LATEST
          : spec.timestamp
    const listed = await this.#call(
      'list offsets',
      () =>
        this.#admin.listOffsets({
          topics: [{ name: topic, partitions: partitions.map(partitionIndex => ({ partitionIndex, timestamp })) }],
          isolationLevel:
            isolation === 'read_committed' ? FetchIsolationLevels.READ_COMMITTED : FetchIsolationLevels.READ_UNCOMMITTED
        }),
      topic
    )
    const result = new Map<number, bigint>()
    for (const t of listed) for (const p of t.partitions) result.set(p.partitionIndex, p.offset)
    return result
  }

  /** Adds partitions so the topic has `count` in total. */
  async createPartitions(topic: string, count: number): Promise<void> {
    await this.#call(
      'create partitions',
      () => this.#admin.createPartitions({ topics: [{ name: topic, count }] }),
      topic
    )
  }

  /** Sets topic-level config values (incremental: other keys are left as they are). */
  async setTopicConfigs(topic: string, configs: Record<string, string>): Promise<void> {
    const entries = Object.entries(configs)
    if (entries.length === 0) return
    await this.#call(
      'alter topic configs',
      () =>
        this.#admin.incrementalAlterConfigs({
          resources: [
            {
              resourceType: ConfigResourceTypes.TOPIC,
              resourceName: topic,
              configs: entries.map(([name, value]) => ({ name, value, configOperation: 0 /* SET */ }))
            }
          ]
        }),
      topic
    )
  }

  /** Deletes records below `offset` in each given partition (log start moves up). */
  async deleteRecords(topic: string, offsets: Map<number, bigint>): Promise<void> {
    await this.#call(
      'delete records',
      () =>
        this.#admin.deleteRecords({
          topics: [{ name: topic, partitions: [...offsets].map(([partition, offset]) => ({ partition, offset })) }]
        }),
      topic
    )
  }

  /**
   * The topic's effective configuration. `topicLevel` marks values set on the topic itself (as
   * opposed to broker or built-in defaults): those are what replication copies.
   */
  async describeTopicConfig(topic: string): Promise<Map<string, { value: string | null; topicLevel: boolean }>> {
    const described = await this.#call(
      'describe topic configs',
      () =>
        this.#admin.describeConfigs({ resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: topic }] }),
      topic
    )
    const result = new Map<string, { value: string | null; topicLevel: boolean }>()
    for (const resource of described) {
      for (const c of resource.configs) {
        // configSource 1 = DYNAMIC_TOPIC_CONFIG: set on the topic itself
        result.set(c.name, { value: c.value ?? null, topicLevel: c.configSource === 1 })
      }
    }
    return result
  }

  /** Consumer groups of the cluster with their state (e.g. Stable, Empty, Dead). */
  async listGroups(): Promise<{ groupId: string; state: string; protocolType: string }[]> {
    const groups = await this.#call('list groups', () => this.#admin.listGroups())
    return [...groups.values()].map(g => ({ groupId: g.id, state: String(g.state), protocolType: g.protocolType }))
  }

  /** State and member count of one group; state 'Dead' with no members when it does not exist. */
  async describeGroup(groupId: string): Promise<{ state: string; members: number }> {
    const groups = await this.#call('describe group', () => this.#admin.describeGroups({ groups: [groupId] }))
    const group = groups.get(groupId)
    return group === undefined
      ? { state: 'Dead', members: 0 }
      : { state: String(group.state), members: group.members.size }
  }

  /** Committed offsets of a group: topic -> partition -> offset (partitions without a commit are left out). */
  async groupOffsets(groupId: string): Promise<Map<string, Map<number, bigint>>> {
    const listed = await this.#call('list group offsets', () =>
      this.#admin.listConsumerGroupOffsets({ groups: [groupId] })
    )
    const result = new Map<string, Map<number, bigint>>()
    for (const group of listed) {
      for (const topic of group.topics) {
        const partitions = new Map<number, bigint>()
        for (const p of topic.partitions)
          if (p.committedOffset >= 0n) partitions.set(p.partitionIndex, p.committedOffset)
        if (partitions.size > 0) result.set(topic.name, partitions)
      }
    }
    return result
  }

  /** Commits offsets for a group (the broker accepts this only while the group has no members). */
  async commitGroupOffsets(groupId: string, offsets: Map<string, Map<number, bigint>>): Promise<void> {
    const topics = [...offsets].map(([name, partitions]) => ({
      name,
      partitionOffsets: [...partitions].map(([partition, offset]) => ({ partition, offset }))
    }))
    if (topics.length === 0) return
    await this.#call('commit group offsets', () => this.#admin.alterConsumerGroupOffsets({ groupId, topics }))
  }

  /**
   * Every ACL binding of the cluster. A cluster without an authorizer answers SECURITY_DISABLED (the
   * error's chain carries the name: errorNameInChain). Bindings with a value this version has no
   * name for are left out.
   */
  async describeAcls(): Promise<AclBinding[]> {
    const resources = await this.#call('describe ACLs', () => this.#admin.describeAcls({ filter: ALL_ACLS }))
    const bindings: AclBinding[] = []
    for (const resource of resources) {
      for (const entry of resource.acls) {
        const binding = fromLibraryAcl({ ...resource, ...entry })
        if (binding !== null) bindings.push(binding)
      }
    }
    return bindings
  }

  /** Creates the bindings (one that exists already is no error: the broker keeps one copy). */
  async createAcls(bindings: readonly AclBinding[]): Promise<void> {
    if (bindings.length === 0) return
    await this.#call('create ACLs', () => this.#admin.createAcls({ creations: bindings.map(toLibraryAcl) }))
  }

  /** Deletes exactly these bindings (each filter names every field); how many the broker deleted. */
  async deleteAcls(bindings: readonly AclBinding[]): Promise<number> {
    if (bindings.length === 0) return 0
    const deleted = await this.#call('delete ACLs', () =>
      this.#admin.deleteAcls({ filters: bindings.map(exactFilter) })
    )
    return deleted.length
  }

  async close(): Promise<void> {
    await this.#admin.close()
  }

  #call<T>(operation: string, fn: () => Promise<T>, topic?: string): Promise<T> {
    const location =
      topic === undefined ? { operation, cluster: this.cluster } : { operation, cluster: this.cluster, topic }
    return labelled('KDR_ERR_KAFKA_ADMIN', location, fn)
  }
}
