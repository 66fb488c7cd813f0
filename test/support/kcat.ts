import { execFile, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { promisify } from 'node:util'

/**
 * kcat (librdkafka, from Debian) as the independent reader: what our code wrote is checked by a
 * client that shares none of our code or our Kafka library.
 */
const run = promisify(execFile)

export interface KcatRecord {
  topic: string
  partition: number
  offset: number
  tstype: 'create' | 'logappend' | 'none'
  ts: number
  key: string | null
  payload: string | null
  /** Flat list as kcat prints it: name, value, name, value ... in wire order. */
  headers?: (string | null)[]
}

/**
 * How a read treats transactions (librdkafka's isolation.level). read_committed (librdkafka's default,
 * named explicitly) returns committed records only and ends at the last stable offset: a transaction
 * still open ends the read before its first record. read_uncommitted also returns records of open and
 * aborted transactions, up to the high watermark. Neither returns control records (markers).
 */
export type Isolation = 'read_committed' | 'read_uncommitted'

const isolationArgs = (isolation: Isolation): string[] => ['-X', `isolation.level=${isolation}`]

/** kcat consuming `topic` from the beginning, quiet, with `isolation`; `extra` adds e.g. -e, -J, -f. */
const consumeArgs = (bootstrap: string, topic: string, isolation: Isolation, ...extra: string[]): string[] => [
  '-b',
  bootstrap,
  '-C',
  '-t',
  topic,
  '-o',
  'beginning',
  '-q',
  ...extra,
  ...isolationArgs(isolation)
]

/** Reads a whole topic from the beginning to its current end. */
export async function kcatReadAll(
  bootstrap: string,
  topic: string,
  isolation: Isolation = 'read_committed'
): Promise<KcatRecord[]> {
  const args = consumeArgs(bootstrap, topic, isolation, '-e', '-J')
  const { stdout } = await run('kcat', args, { maxBuffer: 256 * 1024 * 1024 })
  return stdout
    .split('\n')
    .filter(line => line.trim() !== '')
    .map(line => JSON.parse(line) as KcatRecord)
}

/**
 * Reads partition 0 of a topic that is being written all the time (the state topic while workers
 * run) up to its end offset when the read starts: kcat's `-e` may never see the end when the log keeps
 * ending in transaction markers. The end comes from `kcat -Q` (offset for timestamp -1); the read stops
 * once it passed that offset (markers take offsets too: a little past it is enough) or went quiet.
 */
export async function kcatReadSnapshot(
  bootstrap: string,
  topic: string,
  isolation: Isolation,
  boundMs = 30_000
): Promise<KcatRecord[]> {
  const { stdout } = await run('kcat', ['-b', bootstrap, '-Q', '-t', `${topic}:0:-1`])
  const end = Number(/offset (\d+)/.exec(stdout)?.[1])
  if (!Number.isInteger(end)) throw new Error(`kcat -Q gave no end offset for ${topic}: ${stdout}`)
  const args = consumeArgs(bootstrap, topic, isolation, '-p', '0', '-J')
  const child = spawn('kcat', args, { stdio: ['ignore', 'pipe', 'ignore'] })
  const records: KcatRecord[] = []
  let lastAt = Date.now()
  let highest = -1
  const lines = createInterface({ input: child.stdout })
  lines.on('line', line => {
    if (line.trim() === '') return
    const record = JSON.parse(line) as KcatRecord
    highest = Math.max(highest, record.offset)
    if (record.offset < end) records.push(record)
    lastAt = Date.now()
  })
  const started = Date.now()
  try {
    while (highest < end - 1 && Date.now() - lastAt < 3000) {
      if (Date.now() - started > boundMs) throw new Error(`kcat read ${topic} only to offset ${highest} of ${end}`)
      if (child.exitCode !== null) throw new Error(`kcat reading ${topic} exited ${child.exitCode}`)
      await new Promise(resolve => setTimeout(resolve, 50))
    }
  } finally {
    child.kill()
    lines.close()
  }
  return records
}

/** Pairs a flat kcat header list into [name, value] tuples. */
export function headerPairs(flat: (string | null)[] | undefined): [string, string | null][] {
  const pairs: [string, string | null][] = []
  for (let i = 0; flat !== undefined && i < flat.length; i += 2) pairs.push([flat[i] ?? '', flat[i + 1] ?? null])
  return pairs
}

export interface SequenceAudit {
  records: number
  /** Expected sequence numbers not on the topic. */
  missing: number
  /** Records seen a second time (replays). */
  duplicates: number
  /** Times a partition jumped forward past a record not seen before it (a gap, maybe filled later). */
  forwardJumps: number
  /** Records of this tag whose value names another partition, or whose seq is out of range. */
  misplaced: number
  /** Records of other writers (another tag), e.g. the other side of an active-active pair. */
  otherTags: number
}

/**
 * Streams a whole topic through kcat and audits "<tag>:<partition>:<seq>" values against
 * `expected[p]` records per partition: bounded memory, for topics of millions of records.
 */
export async function kcatAuditSequences(
  bootstrap: string,
  topic: string,
  tag: string,
  expected: number[],
  isolation: Isolation = 'read_committed'
): Promise<SequenceAudit> {
  const seen = expected.map(n => new Uint8Array(n))
  const highest = expected.map(() => -1)
  const audit: SequenceAudit = { records: 0, missing: 0, duplicates: 0, forwardJumps: 0, misplaced: 0, otherTags: 0 }
  for await (const line of kcatLines(bootstrap, topic, '%p %s\n', isolation)) {
    if (line === '') continue
    audit.records++
    const [partitionText, value = ''] = line.split(' ')
    const p = Number(partitionText)
    const [t, vp, vs] = value.split(':')
    const seq = Number(vs)
    const marks = seen[p]
    if (t !== tag) {
      audit.otherTags++
      continue
    }
    if (Number(vp) !== p || marks === undefined || !(seq >= 0 && seq < marks.length)) {
      audit.misplaced++
      continue
    }
    if (marks[seq] === 1) {
      audit.duplicates++
      continue
    }
    marks[seq] = 1
    // Going forward past an unseen record is a gap; going back (a replay) is not.
    if (seq > highest[p]! + 1) {
      let gap = false
      for (let s = highest[p]! + 1; s < seq && !gap; s++) gap = marks[s] === 0
      if (gap) audit.forwardJumps++
    }
    highest[p] = Math.max(highest[p]!, seq)
  }
  for (const marks of seen) for (const m of marks) if (m === 0) audit.missing++
  return audit
}

/** Records per partition (index) a reader with `isolation` sees on the whole topic, streamed. */
export async function kcatCounts(
  bootstrap: string,
  topic: string,
  partitions: number,
  isolation: Isolation = 'read_committed'
): Promise<number[]> {
  const counts = new Array<number>(partitions).fill(0)
  for await (const line of kcatLines(bootstrap, topic, '%p\n', isolation)) {
    const p = Number(line)
    if (line === '' || !(p >= 0 && p < partitions)) continue
    counts[p]!++
  }
  return counts
}

/** Partition and offset of every record a reader with `isolation` sees on the whole topic, streamed. */
export async function kcatPositions(
  bootstrap: string,
  topic: string,
  isolation: Isolation = 'read_committed'
): Promise<{ partition: number; offset: number }[]> {
  const positions: { partition: number; offset: number }[] = []
  for await (const line of kcatLines(bootstrap, topic, '%p %o\n', isolation)) {
    if (line === '') continue
    const [partition, offset] = line.split(' ').map(Number)
    positions.push({ partition: partition!, offset: offset! })
  }
  return positions
}

/**
 * The lines kcat prints for every record of a whole topic (format `format`, see kcat -f), streamed:
 * bounded memory for topics of millions of records. Throws if kcat fails.
 */
async function* kcatLines(
  bootstrap: string,
  topic: string,
  format: string,
  isolation: Isolation
): AsyncGenerator<string> {
  const args = consumeArgs(bootstrap, topic, isolation, '-e', '-f', format)
  const child = spawn('kcat', args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<number | null>(resolve =>
    child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', resolve)
  )
  let readToEnd = false
  try {
    yield* createInterface({ input: child.stdout })
    readToEnd = true
  } finally {
    // A caller that stops early (or throws) must not leave kcat running.
    if (!readToEnd && child.exitCode === null) child.kill()
  }
  const code = await exited
  if (code !== 0) throw new Error(`kcat reading ${topic} exited ${code}: ${stderr}`)
}
