import { KdrError, describeCause } from '../errors.ts'
import { TransactionSession } from './transaction.ts'
import { type ClusterConnection } from './types.ts'

/**
 * The hard fence of transactional ids: InitProducerId on each, on the target cluster. The coordinator
 * aborts the transaction its holder has open (or completes one already being committed) and bumps the
 * epoch, so that holder's next produce, AddPartitionsToTxn or EndTxn is refused (PRODUCER_FENCED /
 * INVALID_PRODUCER_EPOCH): nothing it writes after this returns becomes visible to read_committed
 * readers. Used by failover (every id of a link) and by a worker group's leader (the writer slots no
 * member holds: engine/link-workers.ts).
 */
export interface FencedId {
  transactionalId: string
  producerId: string
  epoch: number
}

export async function fenceTransactionalIds(
  target: ClusterConnection,
  ids: readonly string[],
  timeoutMs: number,
  /** Names the fencing party in client ids and the error, e.g. "link dc1-to-dc2". */
  what: string,
  clientId: string
): Promise<FencedId[]> {
  // Each id on its own: an InitProducerId waits while the coordinator writes the abort markers. Every
  // id is tried before a failure is reported (the caller must know which ids stay unfenced).
  const results = await Promise.allSettled(
    ids.map(async id => {
      const session = new TransactionSession({ ...target, clientId }, id, timeoutMs)
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
      `fencing the transactions of ${what} failed for ${failed.map(f => f.id).join(', ')}: ${describeCause(first.reason)}`,
      { cluster: target.alias },
      { cause: first.reason }
    )
  }
  return results.flatMap(r => (r.status === 'fulfilled' ? [r.value] : []))
}
