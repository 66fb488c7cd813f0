import { spawn } from 'node:child_process'
import {
  KEY_BYTES,
  type PayloadKind,
  VALUE_HEADER_BYTES,
  mix,
  payloadPool,
  poolOffset,
  recordTimestamp
} from './records.ts'

/**
 * Checks a trial's target with kcat (librdkafka: shares no code with kafka-dr or MirrorMaker 2):
 * every partition must hold records seq 0..n-1 of records.ts, in order, byte for byte, in the
 * partition they came from; at-least-once may repeat a record, exactly-once may not. A trial that
 * fails this is invalid, whatever its speed.
 *
 * Every read is read_committed, as a consumer of the target after a failover reads (librdkafka's
 * default, stated explicitly): records of an aborted or still open transaction are not there. For
 * targets written without transactions this is the same as read_uncommitted.
 */

export interface TopicRead {
  bootstrap: string
  topic: string
}

interface KcatRecord {
  partition: number
  offset: number
  timestamp: number
  /** The record's bytes stay in `data`; key and value are ranges into it (length -1 = null). */
  data: Buffer
  keyAt: number
  keyLength: number
  valueAt: number
  valueLength: number
}

/** kcat's isolation level for every read of the bench (see the top of this file). */
export const KCAT_READ_COMMITTED = ['-X', 'isolation.level=read_committed'] as const

/**
 * Streams a topic from kcat up to its current end, calling `onRecord` for each record: the whole
 * topic, or with `lastOffsets` n only the last n offsets of each partition (control records and
 * aborted records among them are not delivered). With `withData` false only partition, offset and
 * timestamp are read (much less to move).
 */
export async function kcatStream(
  read: TopicRead,
  withData: boolean,
  onRecord: (record: KcatRecord) => void,
  lastOffsets?: number
): Promise<void> {
  const format = withData ? '%p %o %T %K %S\n%k%s' : '%p %o %T -1 -1\n'
  const from = lastOffsets === undefined ? 'beginning' : `-${lastOffsets}`
  const child = spawn(
    'kcat',
    ['-C', '-b', read.bootstrap, '-t', read.topic, '-o', from, '-e', '-q', ...KCAT_READ_COMMITTED, '-f', format],
    { stdio: ['ignore', 'pipe', 'pipe'] }
  )
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  let rest: Buffer = Buffer.alloc(0)
  const record: KcatRecord = {
    partition: 0,
    offset: 0,
    timestamp: 0,
    data: rest,
    keyAt: 0,
    keyLength: -1,
    valueAt: 0,
    valueLength: -1
  }
  for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
    const data = rest.length === 0 ? chunk : Buffer.concat([rest, chunk])
    let at = 0
    for (;;) {
      const newline = data.indexOf(10, at)
      if (newline === -1) break
      const fields = data.toString('latin1', at, newline).split(' ')
      const keyLength = Number(fields[3])
      const valueLength = Number(fields[4])
      const bodyEnd = newline + 1 + Math.max(0, keyLength) + Math.max(0, valueLength)
      if (bodyEnd > data.length) break
      record.partition = Number(fields[0])
      record.offset = Number(fields[1])
      record.timestamp = Number(fields[2])
      record.data = data
      record.keyAt = newline + 1
      record.keyLength = keyLength
      record.valueAt = newline + 1 + Math.max(0, keyLength)
      record.valueLength = valueLength
      onRecord(record)
      at = bodyEnd
    }
    rest = at >= data.length ? Buffer.alloc(0) : data.subarray(at)
  }
  const code = await new Promise<number | null>(resolve => {
    if (child.exitCode !== null) resolve(child.exitCode)
    else child.once('exit', resolve)
  })
  if (code !== 0) throw new Error(`kcat reading ${read.topic} at ${read.bootstrap} exited ${code}: ${stderr.trim()}`)
}

export interface TargetCheck {
  records: number
  /** Expected records that are not on the target. */
  missing: number
  /** Records seen a second time (replays). */
  duplicates: number
  /** Records that arrived after a later record of their partition. */
  reordered: number
  /** Wrong key, value, timestamp or partition. */
  altered: number
  /** Records with a seq beyond what was produced. */
  unexpected: number
  firstProblem: string | null
  valid: boolean
  /** Target timestamps by partition and offset, when asked for. */
  timestamps?: Float64Array[]
}

export interface ExpectedContent {
  partitions: number
  /** Records produced into each partition (seq 0..n-1). */
  perPartition: number[]
  recordBytes: number
  payload: PayloadKind
  /** CreateTime base of recordTimestamp(); null when timestamps are the broker's (LogAppendTime). */
  timestampBase: number | null
  /** Exactly-once delivery: a duplicate makes the target invalid (at-least-once: counted only). */
  exactlyOnce: boolean
}

export async function verifyTarget(
  read: TopicRead,
  expected: ExpectedContent,
  collectTimestamps: boolean
): Promise<TargetCheck> {
  const pool = payloadPool(expected.payload)
  const body = expected.recordBytes - VALUE_HEADER_BYTES
  const seen = expected.perPartition.map(n => new Uint8Array(n))
  const highest = new Array<number>(expected.partitions).fill(-1)
  const timestamps = collectTimestamps ? expected.perPartition.map(n => new Float64Array(n).fill(NaN)) : undefined
  const check: TargetCheck = {
    records: 0,
    missing: 0,
    duplicates: 0,
    reordered: 0,
    altered: 0,
    unexpected: 0,
    firstProblem: null,
    valid: false
  }
  const problem = (what: string, p: number, offset: number): void => {
    check.firstProblem ??= `${what} at partition ${p} offset ${offset}`
  }
  await kcatStream(read, true, r => {
    check.records++
    const p = r.partition
    const data = r.data
    if (r.valueLength !== expected.recordBytes || p >= expected.partitions) {
      check.altered++
      problem(`value of ${r.valueLength} bytes`, p, r.offset)
      return
    }
    const seq = data.readUInt32BE(r.valueAt + 4)
    const n = expected.perPartition[p]!
    if (seq >= n) {
      check.unexpected++
      problem(`seq ${seq} beyond the ${n} produced`, p, r.offset)
      return
    }
    const at = poolOffset(p, seq, body)
    const intact =
      data.readUInt32BE(r.valueAt) === p &&
      data.compare(pool, at, at + body, r.valueAt + VALUE_HEADER_BYTES, r.valueAt + r.valueLength) === 0 &&
      r.keyLength === KEY_BYTES &&
      data.readUInt32BE(r.keyAt) === mix(p, seq) &&
      data.readUInt32BE(r.keyAt + 4) === seq &&
      (expected.timestampBase === null || r.timestamp === recordTimestamp(expected.timestampBase, seq))
    if (!intact) {
      check.altered++
      problem(`record seq ${seq} differs from what was produced`, p, r.offset)
    }
    const marks = seen[p]!
    if (marks[seq] === 1) {
      check.duplicates++
      problem(`duplicate of seq ${seq}`, p, r.offset)
      return
    }
    marks[seq] = 1
    if (seq < highest[p]!) {
      check.reordered++
      problem(`seq ${seq} after seq ${highest[p]}`, p, r.offset)
    } else {
      highest[p] = seq
    }
    if (timestamps !== undefined) timestamps[p]![seq] = r.timestamp
  })
  for (let p = 0; p < expected.partitions; p++) {
    const marks = seen[p]!
    let missing = 0
    for (let i = 0; i < marks.length; i++) if (marks[i] === 0) missing++
    if (missing > 0) {
      check.missing += missing
      check.firstProblem ??= `${missing} records missing in partition ${p} (first: seq ${marks.indexOf(0)})`
    }
  }
  check.valid =
    check.missing === 0 &&
    check.reordered === 0 &&
    check.altered === 0 &&
    check.unexpected === 0 &&
    (!expected.exactlyOnce || check.duplicates === 0)
  if (timestamps !== undefined) check.timestamps = timestamps
  return check
}

/** Broker append timestamps of a source topic, by partition and offset (= seq in a fresh topic). */
export async function readTimestamps(read: TopicRead, perPartition: number[]): Promise<Float64Array[]> {
  const result = perPartition.map(n => new Float64Array(n).fill(NaN))
  await kcatStream(read, false, r => {
    const list = result[r.partition]
    if (list !== undefined && r.offset < list.length) list[r.offset] = r.timestamp
  })
  return result
}

/**
 * Whether the target holds every record committed, read as a read_committed consumer sees it: the
 * last committed record of each partition (among its last few offsets) has the last seq produced.
 * The end offsets alone cannot say so under exactly-once: they count the transactions' control
 * records too, so their sum reaches the record count before the last transaction commits. After
 * the last committed record of a partition comes one control record (its commit), hence the small
 * window; a partition whose window holds no record counts as not complete, and the caller asks again.
 */
export async function targetComplete(read: TopicRead, perPartition: number[]): Promise<boolean> {
  const lastSeq = perPartition.map(() => -1)
  await kcatStream(
    read,
    true,
    r => {
      if (r.partition < lastSeq.length && r.valueLength >= VALUE_HEADER_BYTES) {
        lastSeq[r.partition] = r.data.readUInt32BE(r.valueAt + 4)
      }
    },
    16
  )
  return perPartition.every((n, p) => n === 0 || lastSeq[p] === n - 1)
}
