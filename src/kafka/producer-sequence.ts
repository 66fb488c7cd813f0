/**
 * Idempotent producer sequence numbers as Kafka counts them: one int32 per producer id and
 * partition, counting records, that wraps from 2^31-1 (Integer.MAX_VALUE) to 0 instead of
 * overflowing.
 *
 * A batch carries only its base sequence; the broker derives its last sequence from the base and
 * the batch's lastOffsetDelta (record count - 1) with this same wrapping addition, and accepts the
 * next batch of the producer id only when its base sequence is the wrapped successor of that last
 * sequence (MAX_SEQUENCE is followed by 0). So a producer that advances its next base sequence by
 * `addToSequence(base, count)` stays in step with the broker across the wrap.
 */

export const MAX_SEQUENCE = 0x7fff_ffff

/**
 * `sequence` (0..MAX_SEQUENCE) advanced by `count` (0..MAX_SEQUENCE), wrapping past MAX_SEQUENCE
 * to 0: the base sequence of the batch after a batch of `count` records that started at `sequence`.
 * Written so no intermediate value leaves the int32 range.
 */
export function addToSequence(sequence: number, count: number): number {
  return sequence > MAX_SEQUENCE - count ? count - (MAX_SEQUENCE - sequence) - 1 : sequence + count
}

/** Sequence of the last record of a batch of `count` (>= 1) records whose base sequence is `base`. */
export function lastSequenceOf(base: number, count: number): number {
  return addToSequence(base, count - 1)
}
