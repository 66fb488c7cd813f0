import assert from 'node:assert/strict'
import { once } from 'node:events'
import { describe, test } from 'node:test'
import { createZstdCompress, gzipSync } from 'node:zlib'
import {
  CODEC_IDS,
  type CompressionName,
  DecompressionLimitError,
  boundedDecompressor,
  compressorFor,
  decompress,
  lz4OutputBound,
  snappyOutputBytes
} from '../../../src/kafka/compression.ts'
import { RecordBatchWriter, readBatches } from '../../../src/kafka/record-batch.ts'

const MiB = 1024 * 1024

/** zstd of `bytes` zero bytes, compressed as a stream (never holding the inflated bytes). */
async function zstdBomb(bytes: number): Promise<Buffer> {
  const chunk = Buffer.alloc(MiB)
  const zstd = createZstdCompress()
  const out: Buffer[] = []
  zstd.on('data', (d: Buffer) => out.push(d))
  for (let written = 0; written < bytes; written += chunk.length) {
    if (!zstd.write(chunk)) await once(zstd, 'drain')
  }
  zstd.end()
  await once(zstd, 'end')
  return Buffer.concat(out)
}

/** A v2 batch of one record at `baseOffset` whose compressed record region is `region`. */
function batchWithRegion(codec: number, region: Buffer, baseOffset: bigint): Buffer {
  const writer = new RecordBatchWriter()
  writer.begin(64)
  writer.appendRecord(1000, null, Buffer.from('x'))
  const batch = writer.finish(codec, () => region)
  batch.writeBigInt64BE(baseOffset, 0)
  return batch
}

function compressedBatch(name: CompressionName, values: Buffer[], baseOffset: bigint): Buffer {
  const writer = new RecordBatchWriter()
  writer.begin(1024)
  for (const v of values) writer.appendRecord(1000, null, v)
  const batch = writer.finish(CODEC_IDS[name], compressorFor(name))
  batch.writeBigInt64BE(baseOffset, 0)
  return batch
}

describe('bounded decompression', () => {
  test('a small zstd batch that inflates to 2 GiB is refused without inflating it', async () => {
    const bomb = await zstdBomb(2048 * MiB)
    assert.ok(bomb.length < 256 * 1024, `the bomb is small (${bomb.length} bytes)`)
    const batch = batchWithRegion(CODEC_IDS.zstd, bomb, 7n)
    const before = process.memoryUsage().rss
    assert.throws(
      () => readBatches(batch, boundedDecompressor(64 * MiB)),
      (error: unknown) => error instanceof DecompressionLimitError && /zstd record batch/.test(error.message)
    )
    // At most the limit was ever allocated (plus the runtime's own noise).
    assert.ok(process.memoryUsage().rss - before < 256 * MiB)
  })

  test('gzip is cut at the limit too', () => {
    const bomb = gzipSync(Buffer.alloc(64 * MiB))
    assert.throws(() => boundedDecompressor(MiB)(CODEC_IDS.gzip, bomb), DecompressionLimitError)
  })

  test('snappy and lz4 are checked against the size they declare or allow, before inflating', () => {
    // Raw snappy whose length preamble claims 2 GiB.
    const snappy = Buffer.from([0x80, 0x80, 0x80, 0x80, 0x08, 0x00, 0x01, 0x02])
    assert.equal(snappyOutputBytes(snappy), 2 ** 31)
    assert.throws(() => boundedDecompressor(64 * MiB)(CODEC_IDS.snappy, snappy), DecompressionLimitError)
    // An lz4 frame (4 MiB blocks) of 100 compressed blocks of 16 KiB: up to 400 MiB.
    const parts = [Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x60, 0x70, 0x73])]
    const block = Buffer.alloc(4 + 16 * 1024)
    block.writeUInt32LE(16 * 1024, 0)
    for (let i = 0; i < 100; i++) parts.push(block)
    parts.push(Buffer.alloc(4))
    const lz4 = Buffer.concat(parts)
    assert.equal(lz4OutputBound(lz4), 100 * 4 * MiB)
    // Small compressed blocks: at most 256 times their size each.
    const small = Buffer.concat([parts[0]!, Buffer.from([0x02, 0, 0, 0, 0, 0]), Buffer.alloc(4)])
    assert.equal(lz4OutputBound(small), 2 * 256 + 64)
    assert.throws(() => boundedDecompressor(64 * MiB)(CODEC_IDS.lz4, lz4), DecompressionLimitError)
    // Not an lz4 frame at all: never handed to the decompressor.
    assert.equal(lz4OutputBound(Buffer.from('garbage!')), Number.POSITIVE_INFINITY)
  })

  test('every codec decompresses within the limit exactly as without it', () => {
    const data = Buffer.from('kafka-dr '.repeat(50_000))
    for (const name of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
      const compressed = compressorFor(name)!(data)
      const codec = CODEC_IDS[name]
      assert.deepEqual(boundedDecompressor(MiB)(codec, compressed), decompress(codec, compressed), name)
      assert.throws(() => boundedDecompressor(64 * 1024)(codec, compressed), DecompressionLimitError, name)
    }
  })

  test('batches after an undecompressable one, or past the budget, are left for the next fetch', () => {
    const good = compressedBatch('zstd', [Buffer.alloc(100_000, 1)], 0n)
    const bomb = batchWithRegion(CODEC_IDS.zstd, gzipSync(Buffer.alloc(10)), 1n) // not zstd: fails to decompress
    const decoder = boundedDecompressor(MiB)
    const [first, ...rest] = readBatches(Buffer.concat([good, bomb]), decoder)
    assert.equal(first?.baseOffset, 0n)
    assert.equal(rest.length, 0)
    // Two batches of 100 kB each with a 50 kB budget: the first is always read, the second waits.
    const second = compressedBatch('zstd', [Buffer.alloc(100_000, 2)], 1n)
    assert.equal(readBatches(Buffer.concat([good, second]), decoder, 50_000).length, 1)
    assert.equal(readBatches(Buffer.concat([good, second]), decoder).length, 2)
  })
})
