import assert from 'node:assert/strict'
import { test } from 'node:test'
import { CopyIndex } from '../../../src/core/copy-index.ts'
import { CopierCommits } from '../../../src/engine/copier-commits.ts'

/**
 * Which transaction each part of a copier's progress belongs to when two transactions take turns
 * (transaction-boundary.ts): the commit of generation g stores exactly the progress of the writes
 * into g, never of g + 1, and nothing is lost between them.
 */

function ledger(start = 0n) {
  const position = { ackedNext: start }
  const copies = new CopyIndex()
  const commits = new CopierCommits(start, null, () => ({
    topic: 'orders',
    partition: 0,
    topicId: 't',
    ackedNext: position.ackedNext,
    copies,
    logStart: -1n
  }))
  /** One acknowledged write into `generation`, up to `next`. */
  const write = (generation: number, next: bigint): void => {
    commits.enter(generation)
    position.ackedNext = next
  }
  const commit = (generation: number): bigint | null => {
    const part = commits.pending(generation)
    if (part !== null) commits.markCommitted(part.next, null)
    return part?.next ?? null
  }
  return { commits, position, write, commit }
}

test('a copier that moves on to the next transaction before the commit gathers leaves that commit only its earlier writes', () => {
  const { write, commit } = ledger()
  write(0, 10n)
  write(0, 20n)
  write(1, 30n) // the commit of 0 sealed the boundary; this write went to 1 before 0 gathered
  assert.equal(commit(0), 20n, 'generation 0 stores the progress of its own writes')
  assert.equal(commit(1), 30n)
  assert.equal(commit(2), null, 'nothing left')
})

test('a copier still in the committing transaction gives everything; its next write starts clean', () => {
  const { write, commit } = ledger()
  write(0, 10n)
  assert.equal(commit(0), 10n)
  write(1, 15n)
  assert.equal(commit(1), 15n)
})

test('a commit of an earlier transaction takes nothing from a copier that wrote only in a later one', () => {
  const { write, commit, position } = ledger(5n)
  assert.equal(commit(0), null)
  write(1, 8n)
  assert.equal(commit(0), null, 'its progress belongs to generation 1')
  position.ackedNext = 9n // a skip (filtered records) after the write into 1
  assert.equal(commit(1), 9n)
})

test('progress without a write (skips, gaps) goes to the next commit that gathers this copier', () => {
  const { commits, write, commit, position } = ledger()
  write(0, 10n)
  position.ackedNext = 12n // records skipped before the copier writes again
  commits.addGaps([{ from: 12n, to: 14n, reason: 'test' }])
  write(1, 20n)
  const part = commits.pending(0)
  assert.equal(part?.next, 12n, 'the skip before the write into 1 is committed with 0')
  assert.deepEqual(part?.gaps, [{ from: 12n, to: 14n, reason: 'test' }])
  commits.markCommitted(12n, null)
  assert.equal(commit(1), 20n)
})

test('at-least-once: every commit takes everything acknowledged', () => {
  const { commits, write } = ledger()
  write(0, 10n)
  assert.equal(commits.pending()?.next, 10n)
  commits.markCommitted(10n, null)
  write(0, 11n)
  assert.equal(commits.pending()?.next, 11n)
})
