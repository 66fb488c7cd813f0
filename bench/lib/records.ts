/**
 * Deterministic benchmark records: the content of record `seq` of partition `p` is a pure function
 * of (p, seq), so a trial's target can be checked record by record without reading the source again.
 *
 *   key   (8 bytes)   mix(p, seq) as two big-endian uint32
 *   value (size >= 8) uint32 partition, uint32 seq, then a slice of a fixed byte pool chosen by
 *                     (p, seq). The "random" pool is incompressible; the "text" pool is word-like
 *                     text that lz4 and zstd compress about 2 to 3 times.
 */

export type PayloadKind = 'random' | 'text'

const POOL_BYTES = 8 * 1024 * 1024
export const VALUE_HEADER_BYTES = 8
export const KEY_BYTES = 8

/** xorshift32: small, fast and fixed, so every run and every reader builds the same pool. */
function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 1
  return () => {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    return x
  }
}

export function mix(p: number, seq: number): number {
  let h = Math.imul(p + 1, 0x9e3779b1) ^ Math.imul(seq, 0x85ebca6b)
  h ^= h >>> 16
  h = Math.imul(h, 0x7feb352d)
  h ^= h >>> 15
  return h >>> 0
}

const pools = new Map<PayloadKind, Buffer>()

export function payloadPool(kind: PayloadKind): Buffer {
  const cached = pools.get(kind)
  if (cached !== undefined) return cached
  const pool = Buffer.allocUnsafe(POOL_BYTES)
  const next = xorshift(kind === 'random' ? 0x5eed1 : 0x7e47)
  if (kind === 'random') {
    for (let i = 0; i + 4 <= POOL_BYTES; i += 4) pool.writeUInt32LE(next(), i)
  } else {
    const words: string[] = []
    for (let w = 0; w < 2000; w++) {
      const length = 3 + (next() % 8)
      let word = ''
      for (let c = 0; c < length; c++) word += String.fromCharCode(97 + (next() % 26))
      words.push(word)
    }
    let at = 0
    while (at < POOL_BYTES) {
      // Zipf-like choice: a few words are frequent, as in real text.
      const r = next() / 0x1_0000_0000
      const word = words[Math.floor(words.length * r * r * r)]!
      at += pool.write(`${word} `, at, 'latin1')
    }
  }
  pools.set(kind, pool)
  return pool
}

/** Where the body of (p, seq) starts in the pool, for a body of `bodyBytes`. */
export function poolOffset(p: number, seq: number, bodyBytes: number): number {
  return mix(p, seq) % (POOL_BYTES - bodyBytes)
}

export function recordKey(p: number, seq: number): Buffer {
  const key = Buffer.allocUnsafe(KEY_BYTES)
  key.writeUInt32BE(mix(p, seq), 0)
  key.writeUInt32BE(seq, 4)
  return key
}

/** The value of (p, seq); `size` includes the 8-byte header. */
export function recordValue(pool: Buffer, p: number, seq: number, size: number): Buffer {
  const body = size - VALUE_HEADER_BYTES
  const value = Buffer.allocUnsafe(size)
  value.writeUInt32BE(p, 0)
  value.writeUInt32BE(seq, 4)
  const at = poolOffset(p, seq, body)
  pool.copy(value, VALUE_HEADER_BYTES, at, at + body)
  return value
}

/** Timestamp of (p, seq) in catch-up workloads (CreateTime sources): fixed, so it can be checked. */
export function recordTimestamp(base: number, seq: number): number {
  return base + Math.floor(seq / 16)
}
