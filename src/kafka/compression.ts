import { compressionsAlgorithms, compressionsAlgorithmsByBitmask } from '@platformatic/kafka'
import { type Compressor, type Decompressor } from './record-batch.ts'

/** Kafka's compression codecs (attributes bits 0..2), from the client library's implementations. */

export type CompressionName = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd'

export const CODEC_IDS: Record<CompressionName, number> = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 }

const names = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const

export const decompress: Decompressor = (codec, data) => {
  const algorithm = compressionsAlgorithmsByBitmask[codec]
  if (algorithm === undefined) throw new Error(`unknown compression codec ${codec} in a record batch`)
  return algorithm.decompressSync(data) as Buffer
}

export function compressorFor(name: CompressionName): Compressor | null {
  if (name === 'none') return null
  const algorithm = compressionsAlgorithms[name]
  return data => algorithm.compressSync(data) as Buffer
}

export function codecName(codec: number): CompressionName {
  return names[codec] ?? 'none'
}
