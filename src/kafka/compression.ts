import { compressionsAlgorithms, compressionsAlgorithmsByBitmask } from '@platformatic/kafka'
import { gunzipSync, zstdDecompressSync } from 'node:zlib'
import { type Compressor, type Decompressor } from './record-batch.ts'

/** Kafka's compression codecs (attributes bits 0..2), from the client library's implementations. */

export type CompressionName = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd'

export const CODEC_IDS: Record<CompressionName, number> = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 }

const names = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const

/** The default of `fetch.maxDecompressedBytes`: the most one record batch may decompress to. */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024

/** A compressed record batch that would decompress to more than the allowed size; it is never inflated. */
export class DecompressionLimitError extends Error {
  override name = 'DecompressionLimitError'
  readonly limit: number

  /** `bound`: the most the batch may decompress to, when known before inflating. */
  constructor(codec: number, limit: number, bound?: number) {
    super(
      `a ${codecName(codec)} record batch ${bound === undefined ? 'decompresses to more' : `may decompress to ${bound} bytes, more`} than the limit of ${limit} bytes`
    )
    this.limit = limit
  }
}

/** Unbounded: for batches kafka-dr wrote itself (tests, the state topic). The fetcher uses `boundedDecompressor`. */
export const decompress: Decompressor = (codec, data) => {
  const algorithm = compressionsAlgorithmsByBitmask[codec]
  if (algorithm === undefined) throw new Error(`unknown compression codec ${codec} in a record batch`)
  return algorithm.decompressSync(data) as Buffer
}

/**
 * Decompresses with a limit on the output, so a small batch built to inflate to gigabytes (a
 * decompression bomb) costs at most `maxBytes`: gzip and zstd stop inflating at the limit (zlib's
 * maxOutputLength); snappy and lz4 state or bound their output size up front (snappy's length
 * preamble, lz4's frame blocks times the block size), checked before anything is inflated.
 */
export function boundedDecompressor(maxBytes: number): Decompressor {
  const options = { maxOutputLength: maxBytes }
  return (codec, data) => {
    try {
      if (codec === 1) return gunzipSync(data, options)
      if (codec === 4) return zstdDecompressSync(data, options)
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE')
        throw new DecompressionLimitError(codec, maxBytes)
      throw error
    }
    const bound = codec === 2 ? snappyOutputBytes(data) : codec === 3 ? lz4OutputBound(data) : 0
    if (bound > maxBytes) throw new DecompressionLimitError(codec, maxBytes, bound)
    return decompress(codec, data)
  }
}

/** Kafka's snappy: raw snappy, or xerial-framed chunks of raw snappy. */
const XERIAL = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00])

/** The decompressed size snappy data declares (each raw block starts with its length as a varint). */
export function snappyOutputBytes(data: Buffer): number {
  if (data.length < XERIAL.length || data.compare(XERIAL, 0, XERIAL.length, 0, XERIAL.length) !== 0)
    return snappyPreamble(data, 0)
  let total = 0
  for (let pos = 16; pos + 4 <= data.length;) {
    const length = data.readUInt32BE(pos)
    total += snappyPreamble(data, pos + 4)
    pos += 4 + length
  }
  return total
}

function snappyPreamble(data: Buffer, at: number): number {
  let value = 0
  for (let shift = 0, i = at; i < data.length && shift <= 28; shift += 7, i++) {
    value += (data[i]! & 0x7f) * 2 ** shift
    if ((data[i]! & 0x80) === 0) return value
  }
  return Number.POSITIVE_INFINITY // unreadable: never inflated
}

const LZ4_MAGIC = 0x184d2204
const LZ4_BLOCK_MAX = [0, 0, 0, 0, 64 * 1024, 256 * 1024, 1024 * 1024, 4 * 1024 * 1024]

/**
 * An upper bound of what LZ4 frames decompress to: the sum over their blocks of the stored size
 * (an uncompressed block) or, for a compressed block, the frame's block maximum or 256 times its
 * size, whichever is less (an LZ4 sequence yields at most 255 bytes per input byte: each further
 * match-length byte adds 255). Infinity for data that is not a sequence of LZ4 frames.
 */
export function lz4OutputBound(data: Buffer): number {
  let total = 0
  let pos = 0
  while (pos < data.length) {
    if (pos + 7 > data.length) return Number.POSITIVE_INFINITY
    const magic = data.readUInt32LE(pos)
    if ((magic & 0xfffffff0) === 0x184d2a50) {
      // A skippable frame: no output.
      pos += 8 + data.readUInt32LE(pos + 4)
      continue
    }
    if (magic !== LZ4_MAGIC) return Number.POSITIVE_INFINITY
    const flags = data[pos + 4]!
    const blockMax = LZ4_BLOCK_MAX[(data[pos + 5]! >> 4) & 7]!
    if (blockMax === 0) return Number.POSITIVE_INFINITY
    pos += 6 + (flags & 0x08 ? 8 : 0) + (flags & 0x01 ? 4 : 0) + 1 // content size, dictionary id, header checksum
    const blockChecksum = flags & 0x10 ? 4 : 0
    for (;;) {
      if (pos + 4 > data.length) return Number.POSITIVE_INFINITY
      const word = data.readUInt32LE(pos)
      pos += 4
      if (word === 0) break // end mark
      const size = word & 0x7fffffff
      total += (word & 0x80000000) !== 0 ? size : Math.min(blockMax, size * 256 + 64)
      pos += size + blockChecksum
    }
    if (flags & 0x04) pos += 4 // content checksum
  }
  return total
}

export function compressorFor(name: CompressionName): Compressor | null {
  if (name === 'none') return null
  const algorithm = compressionsAlgorithms[name]
  return data => algorithm.compressSync(data) as Buffer
}

export function codecName(codec: number): CompressionName {
  return names[codec] ?? 'none'
}
