import { type LinkConfig } from '../config/index.ts'
import { linkTransactionalIds } from '../core/transactional-ids.ts'
import { KdrError, describeCause } from '../errors.ts'
import { type ClusterConnection, TransactionSession } from '../kafka/index.ts'

/**
 * The hard fence of an exactly-once link (delivery.ts): InitProducerId on every transactional id of
 * the link, on the target cluster. The coordinator aborts the transaction a running replicator has
 * open and bumps the epoch, so that replicator's next produce, AddPartitionsToTxn or EndTxn is
 * refused (PRODUCER_FENCED / INVALID_PRODUCER_EPOCH): nothing it wrote after this returns becomes
 * visible to read_committed readers. Runs after the fence document is written: a replicator that
 * starts afterwards reads the document before it writes anything.
 */
export interface FencedId {
  transactionalId: string
  producerId: string
  epoch: number
}

export async function fenceLinkTransactions(target: ClusterConnection, link: LinkConfig): Promise<FencedId[]> {
  if (link.delivery !== 'exactly-once') return []
  const ids = linkTransactionalIds(link.name)
  // Each id on its own: an InitProducerId waits while the coordinator writes the abort markers. Every
  // id is tried before a failure is reported (a failover must know which ids stay unfenced).
  const results = await Promise.allSettled(
    ids.map(async id => {
      const session = new TransactionSession(
        { ...target, clientId: `kafka-dr-failover-${link.name}` },
        id,
        link.transaction.timeoutMs
      )
      try {
        const producer = await session.init()
        return { transactionalId: id, producerId: String(producer.id), epoch: producer.epoch }
      } finally {
        await session.close()
      }
    })
  )
  const failed = results.flatMap((r, i) =>
    r.status === 'rejected' ? [{ id: ids[i]!, reason: r.reason as unknown }] : []
  )
  if (failed.length > 0) {
    const first = failed[0]!
    throw new KdrError(
      first.reason instanceof KdrError ? first.reason.code : 'KDR_ERR_KAFKA_PRODUCE',
      `fencing the transactions of link ${link.name} failed for ${failed.map(f => f.id).join(', ')}: ${describeCause(first.reason)}`,
      { cluster: target.alias },
      { cause: first.reason }
    )
  }
  return results.flatMap(r => (r.status === 'fulfilled' ? [r.value] : []))
}
