import assert from 'node:assert/strict'
import { test } from 'node:test'
import { PROVENANCE_HEADER_KEY, ProvenanceEncoder } from '../../../src/core/provenance.ts'
import { classifyTail } from '../../../src/core/target-tail.ts'

const origin = { sourceClusterId: 'SRC', topic: 'orders', partition: 2 }
const copy = (cluster: string, topic: string, partition: number, offset: bigint) => ({
  headers: [[PROVENANCE_HEADER_KEY, new ProvenanceEncoder(topic, partition).encode(cluster, 1, offset)] as const]
})
const plain = { headers: [[Buffer.from('trace'), Buffer.from('x')] as const] }

test('classifyTail: foreign, own copies (newest source offset), copies of another origin, unknown', () => {
  assert.deepEqual(classifyTail([plain, plain], origin), { kind: 'foreign' })
  assert.deepEqual(classifyTail([copy('SRC', 'orders', 2, 7n), copy('SRC', 'orders', 2, 9n), plain], origin), {
    kind: 'own',
    newestSourceOffset: 9n
  })
  assert.deepEqual(classifyTail([copy('OTHER', 'orders', 2, 9n)], origin), { kind: 'copies' })
  assert.deepEqual(classifyTail([copy('SRC', 'orders', 3, 9n)], origin), { kind: 'copies' }, 'another partition')
  assert.deepEqual(classifyTail([copy('SRC', 'orders', 2, 9n)], { ...origin, sourceClusterId: null }), {
    kind: 'copies'
  })
  assert.deepEqual(classifyTail([], origin), { kind: 'unknown' })
})
