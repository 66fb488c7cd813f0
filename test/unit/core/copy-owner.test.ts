import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { copiedOffset, copiedOffsetOf } from '../../../src/core/copy-owner.ts'
import { OriginFilter } from '../../../src/core/origin-filter.ts'
import { PROVENANCE_HEADER_KEY, ProvenanceEncoder } from '../../../src/core/provenance.ts'

const header = (origin: string, hops: number, offset: bigint, topic = 'orders', partition = 0): Buffer =>
  new ProvenanceEncoder(topic, partition).encode(origin, hops, offset)

describe('copy owner: which target records a link wrote', () => {
  test('two clusters: first copies must name the link source as origin', () => {
    const owner = { topic: 'orders', partition: 0, sourceClusterId: 'dc1' }
    assert.equal(copiedOffset(header('dc1', 1, 7n), owner), 7n)
    assert.equal(copiedOffset(header('dc9', 1, 7n), owner), null, 'a first copy straight from another cluster')
    assert.equal(copiedOffset(header('dc1', 1, 7n, 'orders', 1), owner), null, 'another partition')
    assert.equal(copiedOffset(header('dc1', 1, 7n, 'payments'), owner), null, 'another topic')
    assert.equal(copiedOffset(null, owner), null)
  })

  test('mesh dc1, dc2, dc3 -> link dc1->dc3 on dc3: its copies only, not dc2->dc3 forwards of the same partition', () => {
    // Link dc1->dc3 copies origin dc1; dc2's records reach dc3 over dc2->dc3.
    const origins = new OriginFilter({ targetId: 'dc3', forwardIds: ['dc1'], otherRouteIds: ['dc2'], hopLimit: 3 })
    const owner = { topic: 'orders', partition: 0, sourceClusterId: 'dc1', origins }
    assert.equal(copiedOffset(header('dc1', 1, 5n), owner), 5n)
    assert.equal(copiedOffset(header('dc2', 1, 5n), owner), null)
    assert.equal(copiedOffset(header('dc2', 2, 5n), owner), null, 'forwarded by another link')
  })

  test('chain dc1 -> dc2 -> dc3 -> link dc2->dc3 owns forwarded dc1 records', () => {
    const origins = new OriginFilter({ targetId: 'dc3', forwardIds: ['dc2', 'dc1'], hopLimit: 3 })
    const owner = { topic: 'orders', partition: 0, sourceClusterId: 'dc2', origins }
    assert.equal(copiedOffset(header('dc2', 1, 3n), owner), 3n)
    assert.equal(copiedOffset(header('dc1', 2, 4n), owner), 4n)
    assert.equal(copiedOffset(header('dc3', 2, 4n), owner), null, 'origin is the target itself')
  })

  test('the last provenance header of a record counts', () => {
    const owner = { topic: 'orders', partition: 0, sourceClusterId: 'dc1' }
    const other = Buffer.from('x')
    assert.equal(copiedOffsetOf([[other, null]], owner), null)
    assert.equal(
      copiedOffsetOf(
        [
          [PROVENANCE_HEADER_KEY, header('dc9', 1, 1n)],
          [PROVENANCE_HEADER_KEY, header('dc1', 1, 2n)]
        ],
        owner
      ),
      2n
    )
  })
})
