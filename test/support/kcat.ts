import { execFile } from 'node:child_process'
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

/** Reads a whole topic from the beginning to its current end. */
export async function kcatReadAll(bootstrap: string, topic: string): Promise<KcatRecord[]> {
  const { stdout } = await run('kcat', ['-b', bootstrap, '-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-J'], {
    maxBuffer: 256 * 1024 * 1024
  })
  return stdout
    .split('\n')
    .filter(line => line.trim() !== '')
    .map(line => JSON.parse(line) as KcatRecord)
}

/** Pairs a flat kcat header list into [name, value] tuples. */
export function headerPairs(flat: (string | null)[] | undefined): [string, string | null][] {
  const pairs: [string, string | null][] = []
  for (let i = 0; flat !== undefined && i < flat.length; i += 2) pairs.push([flat[i] ?? '', flat[i + 1] ?? null])
  return pairs
}
