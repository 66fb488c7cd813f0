import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { CopyIndex } from '../../../src/core/copy-index.ts'
import { segmentCopyMap } from '../../../src/core/copy-search.ts'
import { type StateEntry } from '../../../src/state/index.ts'
import { TopicFilter, isInternalGroup } from '../../../src/core/topic-filter.ts'
import { type KafkaAdmin } from '../../../src/kafka/index.ts'
import { createLogger } from '../../../src/observability/logger.ts'
import { CheckpointSync } from '../../../src/sync/checkpoints.ts'

/** A source admin with one group committed at `committed` on orders/0. */
function fakeSource(committed: { offset: bigint }): KafkaAdmin {
  return {
    listGroups: () => Promise.resolve([{ groupId: 'g1', state: 'Stable', protocolType: 'consumer' }]),
    groupOffsets: () => Promise.resolve(new Map([['orders', new Map([[0, committed.offset]])]]))
  } as unknown as KafkaAdmin
}

describe('CheckpointSync: a failed checkpoint write is retried', () => {
  test('the in-memory checkpoints change only after the write succeeded', async () => {
    // Source 0..99 copied to target 0..99 in this session.
    const copies = new CopyIndex()
    copies.record(
      Array.from({ length: 100 }, (_, offset) => ({ offset })),
      0n
    )
    const written: StateEntry[][] = []
    let failures = 1
    const committed = { offset: 40n }
    const sync = new CheckpointSync(
      {
        link: 'l',
        groups: new TopicFilter(['.*'], [], isInternalGroup),
        syncGroupOffsets: false,
        targetTopic: topic => topic,
        mapping: () => ({
          copies: segmentCopyMap(
            copies.segments,
            copies.targetEnd,
            { firstCopy: () => Promise.resolve(null) },
            copies.recent
          ),
          replicatedNext: 100n
        }),
        write: entries => {
          if (failures-- > 0) return Promise.reject(new Error('NOT_ENOUGH_REPLICAS'))
          written.push(entries)
          return Promise.resolve()
        }
      },
      fakeSource(committed),
      {} as KafkaAdmin,
      createLogger({ level: 'silent' })
    )
    await assert.rejects(sync.run(), /NOT_ENOUGH_REPLICAS/)
    assert.equal(sync.checkpoints.size, 0, 'nothing remembered from the failed write')
    const second = await sync.run()
    assert.equal(second.written, 1, 'the same checkpoint is written on the next pass')
    assert.equal(written.length, 1)
    const entry = written[0]![0]!
    assert.equal(entry.kind, 'checkpoint')
    assert.equal(entry.kind === 'checkpoint' ? entry.value?.targetOffset : null, 40n)
    assert.equal(sync.checkpoints.get('g1\u0000orders\u00000')?.targetOffset, 40n)
    const third = await sync.run()
    assert.equal(third.written, 0, 'unchanged and stored: not written again')
  })
})
