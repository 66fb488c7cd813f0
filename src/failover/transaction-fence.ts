import { type LinkConfig } from '../config/index.ts'
import { linkTransactionalIds } from '../core/transactional-ids.ts'
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
  // Each id on its own: an InitProducerId waits while the coordinator writes the abort markers.
  return Promise.all(
    linkTransactionalIds(link.name).map(async id => {
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
}
