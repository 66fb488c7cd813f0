import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { CopyIndex } from '../../../src/core/copy-index.ts'
import { type CopierSettings, PartitionCopier } from '../../../src/engine/partition-copier.ts'
import { KdrError } from '../../../src/errors.ts'
import { type BatchProducer, type PartitionFetch, type RecordProducer } from '../../../src/kafka/index.ts'
import { type FetchFailure } from '../../../src/kafka/fetcher.ts'
import { createLogger } from '../../../src/observability/logger.ts'

/**
 * How a partition copier takes fetch errors (the decisions, with fake producers and hand-made fetch
 * results): its own backoff, `retrying` with the reason for errors only an operator can fix (logged
 * once), stops for the others, source log divergence under onDataLoss, and an undecodable batch
 * under onRecordError.
 */

interface Harness {
  copier: PartitionCopier
  logs: string[]
  errors: string[]
  letters: { topic: string; headers: [Buffer, Buffer | null][] }[]
}

function harness(overrides: Partial<CopierSettings> = {}): Harness {
  const logs: string[] = []
  const errors: string[] = []
  const letters: Harness['letters'] = []
  const settings: CopierSettings = {
    link: 'l',
    sourceCluster: 'dc1',
    targetCluster: 'dc2',
    sourceClusterId: 'source-id',
    targetClusterId: 'target-id',
    maxBatchBytes: 1_000_000,
    maxBufferedBytes: 2_000_000,
    onRecordError: 'stop',
    onDataLoss: 'stop',
    deadLetterTopic: 'dlq',
    compression: 'none',
    schemas: null,
    events: { produced: () => {}, error: (_link, kind) => errors.push(kind), retry: () => {} },
    ...overrides
  }
  const producers = {
    batches: { send: () => Promise.resolve(0n) } as unknown as BatchProducer,
    deadLetters: {
      send: (topic: string, records: { headers: [Buffer, Buffer | null][] }[]) => {
        for (const r of records) letters.push({ topic, headers: r.headers })
        return Promise.resolve([])
      }
    } as unknown as RecordProducer,
    mayWrite: () => true
  }
  const log = createLogger({ level: 'info', write: line => logs.push(line) })
  const copier = new PartitionCopier(settings, producers, log, 'orders', 0, 'orders', {
    offset: 10n,
    copies: new CopyIndex(),
    topicId: 'tid'
  })
  return { copier, logs, errors, letters }
}

function result(fetchOffset: bigint, error?: FetchFailure): PartitionFetch {
  return {
    topic: 'orders',
    partition: 0,
    topicId: 'tid',
    fetchOffset,
    records: [],
    raw: [],
    nextOffset: fetchOffset,
    highWatermark: 100n,
    lastStableOffset: 100n,
    logStartOffset: 0n,
    abortedRecords: 0,
    controlRecords: 0,
    ...(error === undefined ? {} : { error })
  }
}

const where = { cluster: 'dc1', topic: 'orders', partition: 0, offset: 10n }

function refused(name: string, retriable: boolean, operator = false): FetchFailure {
  return {
    retriable,
    operator,
    brokerError: name,
    error: new KdrError('KDR_ERR_KAFKA_FETCH', `the source broker refused the fetch: ${name}`, where)
  }
}

/** Resolves when the copier asks the fetch lanes to look again (its backoff timer). */
function nextWake(copier: PartitionCopier): Promise<void> {
  return new Promise(resolve => (copier.onSpace = resolve))
}

describe('PartitionCopier: fetch errors', () => {
  test('a transient error backs off this partition only, briefly, and a success clears it', async () => {
    const { copier, logs } = harness()
    assert.equal(copier.wantsFetch, true)
    const woken = nextWake(copier)
    copier.onFetch(result(10n, refused('NOT_LEADER_OR_FOLLOWER', true)))
    assert.equal(copier.wantsFetch, false, 'not fetched during its backoff')
    assert.equal(copier.status().state, 'running', 'a transient error is not shown as retrying')
    await woken
    assert.equal(copier.wantsFetch, true, 'fetched again once its backoff passed')
    copier.onFetch(result(10n))
    assert.equal(copier.status().fetchError, null)
    assert.equal(logs.filter(l => l.includes('NOT_LEADER')).length, 0, 'the lane sums transient errors up')
  })

  test('an ACL error shows the partition as retrying with the broker error, logged once; a success resumes it', () => {
    const { copier, logs, errors } = harness()
    for (let i = 0; i < 3; i++) copier.onFetch(result(10n, refused('TOPIC_AUTHORIZATION_FAILED', true, true)))
    const status = copier.status()
    assert.equal(status.state, 'retrying')
    assert.equal(status.fetchError, 'TOPIC_AUTHORIZATION_FAILED')
    assert.match(status.reason ?? '', /TOPIC_AUTHORIZATION_FAILED.*cluster dc1, topic orders, partition 0, offset 10/)
    assert.equal(logs.filter(l => l.includes('partition cannot be read')).length, 1)
    assert.deepEqual(errors, ['KDR_ERR_KAFKA_FETCH'])
    assert.equal(copier.wantsFetch, false)
    copier.onFetch(result(10n))
    assert.equal(copier.status().state, 'running')
    assert.equal(copier.status().reason, null)
    assert.ok(logs.some(l => l.includes('fetching resumed')))
  })

  test('an error retrying cannot help stops the partition with the broker error name', () => {
    const { copier, logs } = harness()
    copier.onFetch(result(10n, refused('UNSUPPORTED_COMPRESSION_TYPE', false)))
    assert.equal(copier.status().state, 'errored')
    assert.match(copier.status().reason ?? '', /UNSUPPORTED_COMPRESSION_TYPE/)
    assert.equal(copier.status().fetchError, 'UNSUPPORTED_COMPRESSION_TYPE')
    assert.equal(logs.filter(l => l.includes('partition stopped')).length, 1)
  })
})

describe('PartitionCopier: a diverged source log (unclean leader election)', () => {
  const diverged = (): FetchFailure => ({
    retriable: false,
    diverged: { epoch: 3, endOffset: 7n },
    error: new KdrError('KDR_ERR_SOURCE_DATA_LOST', 'the source log diverged: records 7..9 are gone', {
      ...where,
      offset: 7n
    })
  })

  test('onDataLoss=stop: the partition stops, naming the offsets', () => {
    const { copier } = harness()
    copier.onFetch(result(10n, diverged()))
    const status = copier.status()
    assert.equal(status.state, 'errored')
    assert.match(status.reason ?? '', /records 7\.\.9.*Policy onDataLoss=stop.*offset 7/)
  })

  test('onDataLoss=skip: counted as lost, logged, fetching goes on', () => {
    const { copier, logs } = harness({ onDataLoss: 'skip' })
    copier.onFetch(result(10n, diverged()))
    assert.equal(copier.status().state, 'running')
    assert.equal(copier.status().lostRecords, 3n)
    assert.equal(copier.fetchOffset, 10n)
    assert.ok(logs.some(l => l.includes('Policy onDataLoss=skip')))
  })
})

describe('PartitionCopier: a batch that decompresses beyond the limit', () => {
  const bomb = (): FetchFailure => ({
    retriable: false,
    batch: { baseOffset: 10n, lastOffset: 14n, bytes: 300 },
    error: new KdrError('KDR_ERR_KAFKA_FETCH', 'a zstd record batch decompresses to more than the limit', where)
  })

  test('onRecordError=stop: the partition stops before it', () => {
    const { copier } = harness()
    copier.onFetch(result(10n, bomb()))
    assert.equal(copier.status().state, 'errored')
    assert.match(copier.status().reason ?? '', /Policy onRecordError=stop/)
    assert.equal(copier.replicatedNext, 10n)
  })

  test('onRecordError=dead-letter: a dead letter names the offsets, which are skipped as a recorded gap', async () => {
    const { copier, letters } = harness({ onRecordError: 'dead-letter' })
    copier.onFetch(result(10n, bomb()))
    assert.equal(copier.wantsFetch, false, 'no fetch while the dead letter is written')
    await new Promise<void>(resolve => (copier.onSpace = resolve))
    assert.equal(letters.length, 1)
    const headers = new Map(letters[0]!.headers.map(([k, v]) => [k.toString(), v?.toString()]))
    assert.equal(headers.get('kdr-dlq-source'), 'orders/0/10-14')
    assert.match(headers.get('kdr-dlq-error') ?? '', /decompresses/)
    assert.equal(copier.fetchOffset, 15n)
    await copier.drain()
    const commit = copier.pendingCommit()
    assert.equal(commit?.next, 15n)
    assert.deepEqual(
      commit?.gaps.map(g => [g.from, g.to]),
      [[10n, 15n]]
    )
    assert.equal(copier.status().deadLetteredRecords, 1)
  })
})

describe('PartitionCopier: pause and resume', () => {
  test('a paused copier fetches nothing, drops a fetch that was in flight, shows who paused; resume fetches from the same offset', () => {
    const { copier } = harness()
    assert.equal(copier.wantsFetch, true)
    copier.pause('paused by alice@h at 2026-12-03T10:00:00.000Z: disk swap')
    assert.equal(copier.wantsFetch, false)
    // The answer of a fetch sent before the pause: it would move the copier past records written after it.
    copier.onFetch({ ...result(10n), nextOffset: 20n, highWatermark: 20n })
    assert.equal(copier.fetchOffset, 10n, 'nothing taken while paused')
    const paused = copier.status()
    assert.equal(paused.state, 'paused')
    assert.equal(paused.reason, 'paused by alice@h at 2026-12-03T10:00:00.000Z: disk swap')
    // Lag keeps being measured from listed offsets.
    copier.observeSourceOffsets(-1n, 25n)
    assert.equal(copier.status().lagRecords, 15n)

    let woken = 0
    copier.onSpace = () => woken++
    copier.resume()
    assert.equal(woken, 1, 'the fetch lanes are woken')
    assert.equal(copier.wantsFetch, true)
    assert.equal(copier.status().state, 'running')
    assert.equal(copier.status().reason, null)
    copier.onFetch({ ...result(10n), nextOffset: 20n, highWatermark: 25n })
    assert.equal(copier.fetchOffset, 20n)
  })

  test('a partition that fails while paused shows its error, not the pause', () => {
    const { copier } = harness()
    copier.pause('link paused by bob@h at 2026-12-03T10:00:00.000Z')
    copier.fail(new KdrError('KDR_ERR_KAFKA_FETCH', 'boom', where))
    assert.equal(copier.status().state, 'errored')
    assert.match(copier.status().reason ?? '', /boom/)
  })
})
