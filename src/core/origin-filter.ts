/**
 * The per-record decision of one link (source X -> target Y): copy a record that carries a
 * provenance header, or skip it. Built once per link from the routes (core/routes.ts) and the Kafka
 * cluster ids of the clusters involved; each decision compares the header's origin bytes with a few
 * precomputed ids in place (no decoding, no allocation).
 *
 *   origin = Y                                 -> LOOP         (never sent back where it began)
 *   origin = X, or an origin routed over X->Y  -> COPY         (unless the hop limit is reached)
 *   any other origin with a route to Y         -> OTHER_ROUTE  (another link delivers it to Y)
 *   an origin that is no cluster of the config -> COPY         (unless the hop limit is reached)
 *
 * The hop limit is the last guard: a record whose header already counts `hopLimit` hops (the number
 * of clusters in the config) is not copied again. Records following routes never get there (a route
 * has at most clusters - 1 links); only records written by links outside this config can.
 *
 * A header that cannot be read (too short, version 0) is not ours to trust: COPY, and the copier
 * replaces it with its own (the record then counts as produced on X).
 */

export const COPY = 0
export const LOOP = 1
export const OTHER_ROUTE = 2
export const HOP_LIMIT = 3
export type OriginDecision = typeof COPY | typeof LOOP | typeof OTHER_ROUTE | typeof HOP_LIMIT

export interface OriginRules {
  /** Cluster id of the link's target. */
  targetId: string
  /** Ids of the origins this link copies: its source and the origins routed over it. */
  forwardIds?: readonly string[]
  /** Ids of the other origins with a route to the target (delivered by other links). */
  otherRouteIds?: readonly string[]
  /** A record that already made this many hops is not copied; default: no limit. */
  hopLimit?: number
}

/** Hop counts are one byte: 256 is beyond any header. */
const NO_LIMIT = 256

export class OriginFilter {
  readonly #target: Buffer
  readonly #forward: readonly Buffer[]
  readonly #other: readonly Buffer[]
  readonly #hopLimit: number

  constructor(rules: OriginRules) {
    this.#target = Buffer.from(rules.targetId)
    this.#forward = (rules.forwardIds ?? []).map(id => Buffer.from(id))
    this.#other = (rules.otherRouteIds ?? []).map(id => Buffer.from(id))
    this.#hopLimit = rules.hopLimit ?? NO_LIMIT
  }

  /** Decision for the provenance header value at data[at, at + length). */
  decide(data: Buffer, at: number, length: number): OriginDecision {
    if (length < 3 || data[at] === 0) return COPY
    const originLength = data[at + 2]!
    if (length < 3 + originLength) return COPY
    const from = at + 3
    const to = from + originLength
    if (sameBytes(this.#target, data, from, to)) return LOOP
    const overLimit = data[at + 1]! >= this.#hopLimit
    for (const id of this.#forward) if (sameBytes(id, data, from, to)) return overLimit ? HOP_LIMIT : COPY
    for (const id of this.#other) if (sameBytes(id, data, from, to)) return OTHER_ROUTE
    return overLimit ? HOP_LIMIT : COPY
  }
}

function sameBytes(id: Buffer, data: Buffer, from: number, to: number): boolean {
  return id.length === to - from && data.compare(id, 0, id.length, from, to) === 0
}
