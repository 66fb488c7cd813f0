/**
 * The provenance header: one compact binary header on every record kafka-dr writes, saying where the
 * record was first produced (origin cluster id), how many replication hops it has made, and the
 * exact location it was copied from (source topic, partition, offset).
 *
 * Header key: `kdr-prov`. Value, big-endian (format version 1):
 *
 *   offset  size  field
 *   0       1     format version (1)
 *   1       1     hop count: 1 for the first copy, +1 per further replication
 *   2       1     length L of the origin cluster id
 *   3       L     origin cluster id, UTF-8 (the Kafka cluster id where the record was produced)
 *   3+L     2     length T of the source topic name
 *   5+L     T     source topic, UTF-8
 *   5+L+T   4     source partition (int32)
 *   9+L+T   8     source offset (int64)
 *
 * Compatibility rule: later versions only append fields, so any reader can take the fields above
 * from any version >= 1. A record whose origin equals the target cluster id is never copied to that
 * target: this is what stops records cycling in active-active setups with identical topic names.
 */

export const PROVENANCE_HEADER = 'kdr-prov'
export const PROVENANCE_HEADER_KEY: Buffer = Buffer.from(PROVENANCE_HEADER)
export const PROVENANCE_VERSION = 1
const MAX_HOPS = 255
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true })

export interface Provenance {
  version: number
  hops: number
  originClusterId: string
  topic: string
  partition: number
  offset: bigint
}

/**
 * Encodes headers for one source partition. The prefix up to the offset is the same for every
 * record of a partition with the same origin and hop count, so it is built once and copied.
 */
export class ProvenanceEncoder {
  readonly #topic: Buffer
  readonly #partition: number
  #cachedOrigin = ''
  #cachedHops = -1
  #prefix: Buffer = Buffer.alloc(0)

  constructor(topic: string, partition: number) {
    this.#topic = Buffer.from(topic)
    this.#partition = partition
    if (this.#topic.length > 0xffff) throw new RangeError(`topic name too long for the provenance header: ${topic}`)
  }

  /**
   * The bytes of the value before the source offset, for this origin and hop count. A new buffer
   * whenever origin or hops change, so one returned earlier stays valid.
   */
  prefix(originClusterId: string, hops: number): Buffer {
    if (originClusterId !== this.#cachedOrigin || hops !== this.#cachedHops) this.#buildPrefix(originClusterId, hops)
    return this.#prefix
  }

  encode(originClusterId: string, hops: number, offset: bigint): Buffer {
    const prefix = this.prefix(originClusterId, hops)
    // Small allocUnsafe buffers come from Node's shared pool: no per-record malloc.
    const out = Buffer.allocUnsafe(prefix.length + 8)
    prefix.copy(out, 0)
    out.writeBigInt64BE(offset, prefix.length)
    return out
  }

  #buildPrefix(origin: string, hops: number): void {
    const originBytes = Buffer.from(origin)
    if (originBytes.length > 255) throw new RangeError('origin cluster id longer than 255 bytes')
    if (!Number.isInteger(hops) || hops < 1 || hops > MAX_HOPS)
      throw new RangeError(`hop count ${hops} outside 1..${MAX_HOPS}`)
    const prefix = Buffer.alloc(3 + originBytes.length + 2 + this.#topic.length + 4)
    let at = prefix.writeUInt8(PROVENANCE_VERSION, 0)
    at = prefix.writeUInt8(hops, at)
    at = prefix.writeUInt8(originBytes.length, at)
    at += originBytes.copy(prefix, at)
    at = prefix.writeUInt16BE(this.#topic.length, at)
    at += this.#topic.copy(prefix, at)
    prefix.writeInt32BE(this.#partition, at)
    this.#prefix = prefix
    this.#cachedOrigin = origin
    this.#cachedHops = hops
  }
}

/** Decodes a provenance header value; null when it is too short or not a known layout. */
export function decodeProvenance(value: Buffer | null): Provenance | null {
  if (value === null || value.length < 3) return null
  const version = value.readUInt8(0)
  if (version < 1) return null
  const hops = value.readUInt8(1)
  const originLength = value.readUInt8(2)
  let at = 3 + originLength
  if (value.length < at + 2) return null
  let originClusterId: string
  let topic: string
  try {
    // Invalid UTF-8 means a foreign or corrupt header: not ours to trust (and not re-encodable as is).
    originClusterId = STRICT_UTF8.decode(value.subarray(3, at))
  } catch {
    return null
  }
  const topicLength = value.readUInt16BE(at)
  at += 2
  if (value.length < at + topicLength + 12) return null
  try {
    topic = STRICT_UTF8.decode(value.subarray(at, at + topicLength))
  } catch {
    return null
  }
  at += topicLength
  const partition = value.readInt32BE(at)
  const offset = value.readBigInt64BE(at + 4)
  return { version, hops, originClusterId, topic, partition, offset }
}

/** Index of the provenance header in a record's headers, or -1. */
export function findProvenance(headers: readonly (readonly [Buffer, Buffer | null])[]): number {
  for (let i = 0; i < headers.length; i++) {
    if (PROVENANCE_HEADER_KEY.equals(headers[i]![0])) return i
  }
  return -1
}
