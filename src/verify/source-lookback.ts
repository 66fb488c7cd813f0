import { type Digest } from '../core/verify-merge.ts'
import { type FetchedRecord } from '../kafka/index.ts'

/**
 * Digests of source records read again for further copies of old offsets (see MergeOptions
 * sourceDigestAt): one fetch from the asked offset on, kept until an offset outside it is asked, so a
 * replayed run of copies costs one fetch per fetch size, not one per copy.
 */
export class SourceLookback {
  readonly #read: (from: bigint) => Promise<FetchedRecord[]>
  readonly #digestOf: (record: FetchedRecord) => Promise<Digest | null>
  #from = 0
  #to = 0
  readonly #digests = new Map<number, Digest>()

  constructor(
    read: (from: bigint) => Promise<FetchedRecord[]>,
    digestOf: (r: FetchedRecord) => Promise<Digest | null>
  ) {
    this.#read = read
    this.#digestOf = digestOf
  }

  async digestAt(offset: number): Promise<Digest | null> {
    if (offset < this.#from || offset >= this.#to) {
      const records = await this.#read(BigInt(offset))
      this.#digests.clear()
      for (const r of records) {
        const d = await this.#digestOf(r)
        if (d !== null) this.#digests.set(Number(r.offset), d)
      }
      this.#from = offset
      this.#to = records.length === 0 ? offset + 1 : Number(records.at(-1)!.offset) + 1
    }
    return this.#digests.get(offset) ?? null
  }
}
