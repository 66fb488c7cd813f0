import { crc32c } from '@node-rs/crc32'

/**
 * Kafka record batches (magic v2), read and written without a JavaScript object per field: the data
 * path of a replicator copies key, value and headers as byte ranges and only touches the few fields
 * it changes (offset and timestamp deltas, the header count, the provenance header).
 *
 * Batch header, 61 bytes, big-endian:
 *
 *   0  int64  baseOffset            35 int64  maxTimestamp
 *   8  int32  batchLength           43 int64  producerId
 *   12 int32  partitionLeaderEpoch  51 int16  producerEpoch
 *   16 int8   magic (2)             53 int32  baseSequence
 *   17 uint32 crc (CRC-32C of bytes 21..end)
 *   21 int16  attributes            57 int32  recordCount
 *   23 int32  lastOffsetDelta       61 records (compressed as a whole when attributes & 7)
 *   27 int64  baseTimestamp
 *
 * Record: varint length, int8 attributes, varlong timestampDelta, varint offsetDelta, varint key
 * length (-1 = null) and key, varint value length and value, varint header count, then per header
 * varint key length, key, varint value length (-1 = null), value. Every varint is zig-zag encoded.
 *
 * Offsets and timestamps are JavaScript numbers inside this module: exact up to 2^53, which no Kafka
 * offset or millisecond timestamp reaches.
 */

export const BATCH_HEADER_BYTES = 61
const CRC_FROM = 21
export const ATTR_COMPRESSION = 0x07
export const ATTR_TIMESTAMP_LOG_APPEND = 0x08
export const ATTR_TRANSACTIONAL = 0x10
export const ATTR_CONTROL = 0x20

export class BatchFormatError extends Error {
  override name = 'BatchFormatError'
}

/** One record batch as fetched; `records` is the (decompressed) record region. */
export interface RawBatch {
  baseOffset: bigint
  lastOffsetDelta: number
  /** The leader epoch the batch was written in (fetches send the last one as last_fetched_epoch). */
  partitionLeaderEpoch: number
  attributes: number
  baseTimestamp: number
  maxTimestamp: number
  producerId: bigint
  producerEpoch: number
  recordCount: number
  records: Buffer
}

/**
 * One record as byte ranges of its batch's record region. Key, value and the header count are one
 * contiguous range [keyAt, headersAt) as on the wire, so copying them is one memcpy.
 */
export interface RawRecord {
  data: Buffer
  offset: number
  /** The timestamp the broker serves: for LogAppendTime batches the batch's maxTimestamp. */
  timestamp: number
  logAppendTime: boolean
  /** Start of the key length varint. */
  keyAt: number
  /** Start of the header count varint. */
  headerCountAt: number
  /** Start of the first header. */
  headersAt: number
  end: number
  headerCount: number
  /** The header whose key is `provenanceKey` passed to the decoder: [provAt, provEnd), or -1. */
  provAt: number
  provEnd: number
  /** Start and length of that header's value (valid when provAt >= 0). */
  provValueAt: number
  provValueLength: number
}

// ---- varints -------------------------------------------------------------------------------

/** Cursor for the readers below: one module-level position avoids an object per read. */
let at = 0

function readVarint(buf: Buffer): number {
  let value = 0
  let shift = 0
  let byte: number
  do {
    byte = buf[at++]!
    if (byte === undefined) throw new BatchFormatError('record ends inside a varint')
    value |= (byte & 0x7f) << shift
    shift += 7
  } while ((byte & 0x80) !== 0 && shift < 35)
  // At most 5 bytes, as Kafka writes them: a sixth would be read as the next field.
  if ((byte & 0x80) !== 0) throw new BatchFormatError('varint longer than 5 bytes')
  return (value >>> 1) ^ -(value & 1)
}

/** Zig-zag varlong into a number (timestamp deltas: exact within 2^53). */
function readVarlong(buf: Buffer): number {
  let value = 0
  let scale = 1
  let byte: number
  do {
    byte = buf[at++]!
    if (byte === undefined) throw new BatchFormatError('record ends inside a varint')
    value += (byte & 0x7f) * scale
    scale *= 128
  } while ((byte & 0x80) !== 0 && scale < 2 ** 70)
  if ((byte & 0x80) !== 0) throw new BatchFormatError('varlong longer than 10 bytes')
  return value % 2 === 0 ? value / 2 : -(value + 1) / 2
}

export function varintSize(value: number): number {
  let z = ((value << 1) ^ (value >> 31)) >>> 0
  let n = 1
  while (z > 0x7f) {
    n++
    z >>>= 7
  }
  return n
}

function writeVarint(buf: Buffer, pos: number, value: number): number {
  let z = ((value << 1) ^ (value >> 31)) >>> 0
  while (z > 0x7f) {
    buf[pos++] = (z & 0x7f) | 0x80
    z >>>= 7
  }
  buf[pos++] = z
  return pos
}

function varlongSize(value: number): number {
  let z = value >= 0 ? value * 2 : -value * 2 - 1
  let n = 1
  while (z >= 128) {
    n++
    z = Math.floor(z / 128)
  }
  return n
}

/** Varint length (-1 for null) followed by the bytes. */
function writeBytes(buf: Buffer, pos: number, bytes: Buffer | null): number {
  if (bytes === null) return writeVarint(buf, pos, -1)
  pos = writeVarint(buf, pos, bytes.length)
  return pos + bytes.copy(buf, pos)
}

function writeVarlong(buf: Buffer, pos: number, value: number): number {
  if (value >= -0x20000000 && value < 0x20000000) return writeVarint(buf, pos, value)
  let z = value >= 0 ? value * 2 : -value * 2 - 1
  while (z >= 128) {
    buf[pos++] = (z % 128) | 0x80
    z = Math.floor(z / 128)
  }
  buf[pos++] = z
  return pos
}

function writeInt64(buf: Buffer, pos: number, value: number): void {
  const high = Math.floor(value / 0x1_0000_0000)
  buf.writeInt32BE(high, pos)
  buf.writeUInt32BE(value - high * 0x1_0000_0000, pos + 4)
}

function readInt64(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos) * 0x1_0000_0000 + buf.readUInt32BE(pos + 4)
}

// ---- reading -------------------------------------------------------------------------------

export type Decompressor = (codec: number, data: Buffer) => Buffer

/**
 * The complete batches in `buf` (a partition's records field of a fetch response). A trailing
 * partial batch, which brokers may send when a size limit cuts one, is left for the next fetch.
 * Each batch's CRC is checked: a corrupt batch is an error, never data.
 *
 * Decompressed bytes are bounded: once `inflateBudget` bytes were decompressed, the compressed
 * batches after it are left for the next fetch, and so is a batch that fails to decompress after
 * complete ones (its error is reported when it comes first). So what one call holds is at most the
 * budget plus one batch, whose size the decompressor bounds.
 */
export function readBatches(
  buf: Buffer,
  decompress: Decompressor,
  inflateBudget = Number.POSITIVE_INFINITY
): RawBatch[] {
  const batches: RawBatch[] = []
  let inflated = 0
  let pos = 0
  while (buf.length - pos >= 12) {
    const length = buf.readInt32BE(pos + 8)
    const end = pos + 12 + length
    const baseOffset = buf.readBigInt64BE(pos)
    // Shorter than a batch header is corruption, not a batch cut by a size limit.
    if (length < BATCH_HEADER_BYTES - 12) {
      throw new BatchFormatError(`record batch at offset ${baseOffset} has length ${length}, less than its header`)
    }
    if (end > buf.length) break
    const magic = buf[pos + 16]
    if (magic !== 2) {
      throw new BatchFormatError(
        `record batch at offset ${baseOffset} has magic ${magic}; only v2 batches are supported`
      )
    }
    const crc = buf.readUInt32BE(pos + 17)
    if (crc32c(buf.subarray(pos + CRC_FROM, end)) !== crc) {
      throw new BatchFormatError(`record batch at offset ${baseOffset} fails its CRC check (corrupt data)`)
    }
    const attributes = buf.readInt16BE(pos + 21)
    const region = buf.subarray(pos + BATCH_HEADER_BYTES, end)
    const codec = attributes & ATTR_COMPRESSION
    const lastOffsetDelta = buf.readInt32BE(pos + 23)
    const recordCount = buf.readInt32BE(pos + 57)
    if (lastOffsetDelta < 0 || recordCount < 0) {
      throw new BatchFormatError(
        `record batch at offset ${baseOffset} has last offset delta ${lastOffsetDelta} and record count ${recordCount}`
      )
    }
    let records = region
    if (codec !== 0) {
      if (batches.length > 0 && inflated >= inflateBudget) break
      try {
        records = decompress(codec, region)
      } catch (error) {
        if (batches.length > 0) break
        throw error
      }
      inflated += records.length
    }
    batches.push({
      baseOffset,
      lastOffsetDelta,
      partitionLeaderEpoch: buf.readInt32BE(pos + 12),
      attributes,
      baseTimestamp: readInt64(buf, pos + 27),
      maxTimestamp: readInt64(buf, pos + 35),
      producerId: buf.readBigInt64BE(pos + 43),
      producerEpoch: buf.readInt16BE(pos + 51),
      recordCount,
      records
    })
    pos = end
  }
  return batches
}

/**
 * Appends the records of `batch` at offsets >= fromOffset to `out`. When `provenanceKey` is given,
 * the header with that key (the first, if several) is located in each record.
 */
export function readRecords(batch: RawBatch, fromOffset: number, provenanceKey: Buffer | null, out: RawRecord[]): void {
  const data = batch.records
  const baseOffset = Number(batch.baseOffset)
  const logAppend = (batch.attributes & ATTR_TIMESTAMP_LOG_APPEND) !== 0
  const keyLength = provenanceKey?.length ?? -1
  // Every length and count below is checked against the bytes that hold it before it is used, so a
  // batch that lies (a count of 2^31, a length past the end) ends in a BatchFormatError, and what is
  // kept is bounded by the batch's own size (each record takes at least 6 bytes of it).
  const corrupt = (what: string): BatchFormatError =>
    new BatchFormatError(`record batch at offset ${batch.baseOffset}: ${what}`)
  let previousDelta = -1
  at = 0
  for (let i = 0; i < batch.recordCount; i++) {
    if (at >= data.length) throw corrupt(`record count ${batch.recordCount} but only ${i} records`)
    const length = readVarint(data)
    const start = at
    const end = start + length
    if (length < 0 || end > data.length) throw corrupt(`record ${i} overruns the batch`)
    at++ // attributes
    const timestampDelta = readVarlong(data)
    const offsetDelta = readVarint(data)
    // Offsets within a batch increase and end at lastOffsetDelta (nextOffset is computed from it).
    if (offsetDelta <= previousDelta || offsetDelta > batch.lastOffsetDelta) {
      throw corrupt(
        `record ${i} has offset delta ${offsetDelta} (previous ${previousDelta}, last ${batch.lastOffsetDelta})`
      )
    }
    previousDelta = offsetDelta
    const offset = baseOffset + offsetDelta
    if (offset < fromOffset) {
      at = end
      continue
    }
    const keyAt = at
    const kl = readVarint(data)
    if (kl > 0) at += kl
    const vl = readVarint(data)
    if (vl > 0) at += vl
    if (kl < -1 || vl < -1 || at > end) throw corrupt(`record at offset ${offset} has key or value lengths beyond it`)
    const headerCountAt = at
    const headerCount = readVarint(data)
    const headersAt = at
    // A header takes at least 2 bytes (key length and value length).
    if (headerCount < 0 || headerCount * 2 > end - at) {
      throw corrupt(`record at offset ${offset} claims ${headerCount} headers`)
    }
    let provAt = -1
    let provEnd = -1
    let provValueAt = -1
    let provValueLength = -1
    if (keyLength >= 0) {
      for (let h = 0; h < headerCount; h++) {
        const entry = at
        const hk = readVarint(data)
        const keyStart = at
        if (hk < 0 || at + hk > end) throw corrupt(`record at offset ${offset} has a header key beyond it`)
        at += hk
        const hv = readVarint(data)
        const valueStart = at
        if (hv > 0) at += hv
        if (hv < -1 || at > end) throw corrupt(`record at offset ${offset} has a header value beyond it`)
        if (
          provAt < 0 &&
          hk === keyLength &&
          data.compare(provenanceKey!, 0, keyLength, keyStart, keyStart + hk) === 0
        ) {
          provAt = entry
          provEnd = at
          provValueAt = valueStart
          provValueLength = hv
        }
      }
    }
    // Headers end the record: walked, they must end exactly at its length (as Kafka checks).
    if (keyLength >= 0 ? at !== end : at > end) throw corrupt(`record at offset ${offset} does not end at its length`)
    out.push({
      data,
      offset,
      timestamp: logAppend ? batch.maxTimestamp : batch.baseTimestamp + timestampDelta,
      logAppendTime: logAppend,
      keyAt,
      headerCountAt,
      headersAt,
      end,
      headerCount,
      provAt,
      provEnd,
      provValueAt,
      provValueLength
    })
    at = end
  }
  if (at !== data.length) throw corrupt(`${data.length - at} bytes after its ${batch.recordCount} records`)
}

/** Key, value and headers of a raw record as buffers (views into its data, no copies). */
export function recordParts(record: RawRecord): {
  key: Buffer | null
  value: Buffer | null
  headers: [Buffer, Buffer | null][]
} {
  const data = record.data
  at = record.keyAt
  const kl = readVarint(data)
  const key = kl < 0 ? null : data.subarray(at, at + kl)
  at += Math.max(0, kl)
  const vl = readVarint(data)
  const value = vl < 0 ? null : data.subarray(at, at + vl)
  at = record.headersAt
  const headers: [Buffer, Buffer | null][] = []
  for (let h = 0; h < record.headerCount; h++) {
    const hk = readVarint(data)
    const name = data.subarray(at, at + Math.max(0, hk))
    at += Math.max(0, hk)
    const hv = readVarint(data)
    headers.push([name, hv < 0 ? null : data.subarray(at, at + hv)])
    at += Math.max(0, hv)
  }
  return { key, value, headers }
}

/** Where a raw record's key and value bytes are: start within `data` and length (-1 for null). */
export interface PayloadSpans {
  keyAt: number
  keyLength: number
  valueAt: number
  valueLength: number
}

/** Fills `out` with the positions of `record`'s key and value (no allocation: the caller reuses `out`). */
export function payloadSpans(record: RawRecord, out: PayloadSpans): void {
  const data = record.data
  at = record.keyAt
  const kl = readVarint(data)
  out.keyAt = at
  out.keyLength = kl
  at += Math.max(0, kl)
  const vl = readVarint(data)
  out.valueAt = at
  out.valueLength = vl
}

/** The key of the first record of a batch (control batches: version and type). */
export function firstRecordKey(batch: RawBatch): Buffer | null {
  if (batch.recordCount === 0) return null
  at = 0
  readVarint(batch.records) // length
  at++
  readVarlong(batch.records)
  readVarint(batch.records)
  const kl = readVarint(batch.records)
  return kl < 0 ? null : batch.records.subarray(at, at + kl)
}

// ---- writing -------------------------------------------------------------------------------

export type Compressor = (data: Buffer) => Buffer

/** Compresses off the calling thread; the result has `headroom` free bytes in front. */
export type AsyncCompressor = (data: Buffer, headroom: number) => Promise<Buffer>

/** A header a writer adds to each record: the key encoded once, the value as a prefix and an int64. */
export interface HeaderToAdd {
  /** Varint key length followed by the key bytes (see encodeHeaderKey). */
  keyEntry: Buffer
  valuePrefix: Buffer
  /** When >= 0, appended to the value after the prefix as a big-endian int64. */
  valueInt64: number
}

/**
 * 4-byte values to overwrite in a copied record's key/value region (the schema ids of
 * translate-ids); positions are relative to the record's keyAt, -1 for none. The length never changes.
 */
export interface Int32Patch {
  keyIdAt: number
  keyId: number
  valueIdAt: number
  valueId: number
}

export function encodeHeaderKey(key: Buffer): Buffer {
  const entry = Buffer.allocUnsafe(varintSize(key.length) + key.length)
  key.copy(entry, writeVarint(entry, 0, key.length))
  return entry
}

/** Bytes a copied record needs at most beyond its key, value and headers (length, deltas, count). */
export const RECORD_WRITE_OVERHEAD = 5 + 1 + 10 + 5 + 5

/**
 * Builds one batch for one partition by copying raw records into a buffer it owns and reuses: the
 * caller must not start the next batch until the bytes of the last one have been sent. Records are
 * renumbered 0..n-1 and their timestamps kept; a header may be replaced (the provenance header).
 */
export class RecordBatchWriter {
  #buf: Buffer
  #pos = BATCH_HEADER_BYTES
  #count = 0
  #baseTimestamp = 0
  #maxTimestamp = 0

  constructor(initialBytes = 64 * 1024) {
    this.#buf = Buffer.allocUnsafe(Math.max(BATCH_HEADER_BYTES + 256, initialBytes))
  }

  get count(): number {
    return this.#count
  }

  /** Starts a batch expected to hold about `bytes` of records. */
  begin(bytes: number): void {
    this.#pos = BATCH_HEADER_BYTES
    this.#count = 0
    this.#ensure(bytes)
  }

  /**
   * Appends a copy of `record`. Its header [provAt, provEnd) (if located) is dropped, and `added`
   * (if given) becomes its last header; `patch` (if given) overwrites ids in the key and value.
   */
  append(record: RawRecord, added: HeaderToAdd | null, patch: Int32Patch | null = null): void {
    const timestamp = record.timestamp
    const timestampDelta = this.#timestampDelta(timestamp)
    const offsetDelta = this.#count
    const dropping = record.provAt >= 0
    const kept = record.end - record.headersAt - (dropping ? record.provEnd - record.provAt : 0)
    const headerCount = record.headerCount - (dropping ? 1 : 0) + (added === null ? 0 : 1)
    let addedBytes = 0
    let valueLength = 0
    if (added !== null) {
      valueLength = added.valuePrefix.length + (added.valueInt64 >= 0 ? 8 : 0)
      addedBytes = added.keyEntry.length + varintSize(valueLength) + valueLength
    }
    const body =
      1 +
      varlongSize(timestampDelta) +
      varintSize(offsetDelta) +
      (record.headerCountAt - record.keyAt) +
      varintSize(headerCount) +
      kept +
      addedBytes
    this.#ensure(this.#pos - BATCH_HEADER_BYTES + varintSize(body) + body)
    const buf = this.#buf
    let pos = writeVarint(buf, this.#pos, body)
    buf[pos++] = 0
    pos = writeVarlong(buf, pos, timestampDelta)
    pos = writeVarint(buf, pos, offsetDelta)
    const data = record.data
    const region = pos
    pos += data.copy(buf, pos, record.keyAt, record.headerCountAt)
    if (patch !== null) {
      if (patch.keyIdAt >= 0) buf.writeUInt32BE(patch.keyId, region + patch.keyIdAt)
      if (patch.valueIdAt >= 0) buf.writeUInt32BE(patch.valueId, region + patch.valueIdAt)
    }
    pos = writeVarint(buf, pos, headerCount)
    if (dropping) {
      pos += data.copy(buf, pos, record.headersAt, record.provAt)
      pos += data.copy(buf, pos, record.provEnd, record.end)
    } else {
      pos += data.copy(buf, pos, record.headersAt, record.end)
    }
    if (added !== null) {
      pos += added.keyEntry.copy(buf, pos)
      pos = writeVarint(buf, pos, valueLength)
      pos += added.valuePrefix.copy(buf, pos)
      if (added.valueInt64 >= 0) {
        writeInt64(buf, pos, added.valueInt64)
        pos += 8
      }
    }
    this.#pos = pos
    this.#count++
  }

  /** Appends a new record (not a copy of a fetched one). */
  appendRecord(
    timestamp: number,
    key: Buffer | null,
    value: Buffer | null,
    headers: readonly (readonly [Buffer, Buffer | null])[] = []
  ): void {
    const timestampDelta = this.#timestampDelta(timestamp)
    const offsetDelta = this.#count
    const bytesOf = (b: Buffer | null): number => (b === null ? varintSize(-1) : varintSize(b.length) + b.length)
    let headerBytes = varintSize(headers.length)
    for (const [k, v] of headers) headerBytes += bytesOf(k) + bytesOf(v)
    const body = 1 + varlongSize(timestampDelta) + varintSize(offsetDelta) + bytesOf(key) + bytesOf(value) + headerBytes
    this.#ensure(this.#pos - BATCH_HEADER_BYTES + varintSize(body) + body)
    const buf = this.#buf
    let pos = writeVarint(buf, this.#pos, body)
    buf[pos++] = 0
    pos = writeVarlong(buf, pos, timestampDelta)
    pos = writeVarint(buf, pos, offsetDelta)
    pos = writeBytes(buf, pos, key)
    pos = writeBytes(buf, pos, value)
    pos = writeVarint(buf, pos, headers.length)
    for (const [k, v] of headers) {
      pos = writeBytes(buf, pos, k)
      pos = writeBytes(buf, pos, v)
    }
    this.#pos = pos
    this.#count++
  }

  /**
   * Ends the batch: the header is written (producer fields are placeholders: stampBatch sets them
   * when the batch is sent) and the bytes returned. With a compressor the record region is
   * compressed into a new buffer; otherwise the returned bytes are this writer's own buffer.
   */
  finish(codec: number, compress: Compressor | null): Buffer {
    if (this.#count === 0) throw new RangeError('an empty batch cannot be finished')
    if (codec === 0 || compress === null) return this.#seal(this.#buf.subarray(0, this.#pos), 0)
    const compressed = compress(this.#buf.subarray(BATCH_HEADER_BYTES, this.#pos))
    const batch = Buffer.allocUnsafe(BATCH_HEADER_BYTES + compressed.length)
    compressed.copy(batch, BATCH_HEADER_BYTES)
    return this.#seal(batch, codec)
  }

  /**
   * `finish` with the record region compressed elsewhere (another thread). The writer must not be
   * begun again until the returned promise settles; the batch is a new buffer.
   */
  async finishCompressed(codec: number, compress: AsyncCompressor): Promise<Buffer> {
    if (this.#count === 0) throw new RangeError('an empty batch cannot be finished')
    const batch = await compress(this.#buf.subarray(BATCH_HEADER_BYTES, this.#pos), BATCH_HEADER_BYTES)
    return this.#seal(batch, codec)
  }

  /** Writes the batch header for this writer's records in front of `batch`'s record region. */
  #seal(batch: Buffer, codec: number): Buffer {
    batch.writeBigInt64BE(0n, 0)
    batch.writeInt32BE(batch.length - 12, 8)
    batch.writeInt32BE(-1, 12) // partitionLeaderEpoch: set by the broker
    batch[16] = 2
    batch.writeInt16BE(codec & ATTR_COMPRESSION, 21)
    batch.writeInt32BE(this.#count - 1, 23)
    writeInt64(batch, 27, this.#baseTimestamp)
    writeInt64(batch, 35, this.#maxTimestamp)
    batch.writeInt32BE(this.#count, 57)
    stampBatch(batch, -1n, -1, -1)
    return batch
  }

  /** Takes the batch's base and max timestamps into account for the next record; its delta. */
  #timestampDelta(timestamp: number): number {
    if (this.#count === 0) {
      this.#baseTimestamp = timestamp
      this.#maxTimestamp = timestamp
    } else if (timestamp > this.#maxTimestamp) {
      this.#maxTimestamp = timestamp
    }
    return timestamp - this.#baseTimestamp
  }

  #ensure(recordBytes: number): void {
    const needed = BATCH_HEADER_BYTES + recordBytes
    if (needed <= this.#buf.length) return
    const grown = Buffer.allocUnsafe(Math.max(needed, this.#buf.length * 2))
    this.#buf.copy(grown, 0, 0, this.#pos)
    this.#buf = grown
  }
}

/** Sets the producer id, epoch and base sequence of a finished batch and recomputes its CRC. */
export function stampBatch(batch: Buffer, producerId: bigint, producerEpoch: number, baseSequence: number): void {
  batch.writeBigInt64BE(producerId, 43)
  batch.writeInt16BE(producerEpoch, 51)
  batch.writeInt32BE(baseSequence, 53)
  batch.writeUInt32BE(crc32c(batch.subarray(CRC_FROM)), 17)
}

/** Number of records of a finished batch. */
export function batchRecordCount(batch: Buffer): number {
  return batch.readInt32BE(57)
}
