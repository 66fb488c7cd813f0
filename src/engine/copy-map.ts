import { type LinkConfig } from '../config/index.ts'
import { segmentCopyMap } from '../core/copy-search.ts'
import { type OriginFilter } from '../core/origin-filter.ts'
import { type ClusterConnection, type PartitionFetcher, TargetCopyReader, copyIsolation } from '../kafka/index.ts'
import { partitionKey } from '../state/index.ts'
import { type PartitionMapping } from '../sync/checkpoints.ts'
import { type PartitionCopier } from './partition-copier.ts'

/**
 * Where a partition's copies are on the target, for checkpoints (sync/checkpoints.ts): the copier's
 * segment index and recent mappings, read through `reader` where the index is sparse.
 */
export function copierMapping(
  copier: PartitionCopier,
  reader: Parameters<typeof segmentCopyMap>[2],
  exactlyOnce: boolean
): PartitionMapping {
  const { segments, targetEnd, recent } = copier.copies
  if (exactlyOnce) {
    // Only committed copies: a group offset on the target never points into a transaction that
    // may still be aborted. Copies below committedNext are all committed.
    return {
      copies: segmentCopyMap(segments, copier.committedTargetEnd, reader, recent),
      replicatedNext: copier.committedNext
    }
  }
  const replicatedNext = copier.replicatedNext
  // A batch written but not yet complete (a split batch's first half) may lie past
  // replicatedNext: the end of the copies is then where the copy of replicatedNext is.
  const ahead = recent.translate(replicatedNext)
  const end = ahead === undefined || ahead === null ? targetEnd : ahead.targetOffset
  return { copies: segmentCopyMap(segments, end, reader, recent), replicatedNext }
}

/**
 * The copy maps of this worker's partitions, for its checkpoints: each copier's index, and one
 * fetcher (opened at first need) reading copies on the target where the index is sparse.
 */
export class CopyMaps {
  readonly #config: LinkConfig
  readonly #target: ClusterConnection
  readonly #copiers: ReadonlyMap<string, PartitionCopier>
  readonly #context: CopyMapContext
  #fetcher: PartitionFetcher | null = null

  constructor(
    config: LinkConfig,
    target: ClusterConnection,
    copiers: ReadonlyMap<string, PartitionCopier>,
    context: CopyMapContext
  ) {
    this.#config = config
    this.#target = target
    this.#copiers = copiers
    this.#context = context
  }

  /** Where a partition's copies are on the target; undefined without a copier here. */
  mapping(topic: string, partition: number): PartitionMapping | undefined {
    const copier = this.#copiers.get(partitionKey(topic, partition))
    if (copier === undefined) return undefined
    this.#fetcher ??= TargetCopyReader.fetcher(
      this.#target,
      `kafka-dr-${this.#config.name}-copies`,
      copyIsolation(this.#config.delivery)
    )
    const reader = new TargetCopyReader(this.#fetcher, copier.targetTopic, partition, {
      topic,
      partition,
      sourceClusterId: this.#context.sourceClusterId(),
      origins: this.#context.origins()
    })
    return copierMapping(copier, reader, this.#config.delivery === 'exactly-once')
  }

  close(): Promise<void> | undefined {
    return this.#fetcher?.close()
  }
}

export interface CopyMapContext {
  sourceClusterId(): string | null
  /** The link's origin rules (multi-hop routes); null: two clusters. */
  origins(): OriginFilter | null
}
