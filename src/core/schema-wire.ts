/**
 * The Confluent wire format of a record key or value: magic byte 0, a 4-byte big-endian schema id,
 * then the serialized payload (Avro, Protobuf with message indexes, JSON). Only the 4 id bytes ever
 * change in a replicated record (translate-ids), so a rewrite never changes a record's length.
 */

export const WIRE_MAGIC = 0
/** Magic byte plus schema id. */
export const WIRE_PREFIX_BYTES = 5

/**
 * The schema id of the payload at data[at, at + length), or -1 when it is not in the wire format.
 * Registries number schemas from 1, so a zero id is taken for what it most likely is: raw bytes that
 * start with zeros (zero-filled buffers, small big-endian numbers), not a schema reference.
 */
export function wireSchemaId(data: Buffer, at: number, length: number): number {
  if (length < WIRE_PREFIX_BYTES || data[at] !== WIRE_MAGIC) return -1
  const id = data.readUInt32BE(at + 1)
  return id === 0 ? -1 : id
}

/** A copy of `payload` whose schema id is `id` (payload must be in the wire format). */
export function withSchemaId(payload: Buffer, id: number): Buffer {
  const copy = Buffer.from(payload)
  copy.writeUInt32BE(id, 1)
  return copy
}

export interface SchemaRef {
  subject: string
  version: number
}

/**
 * The order in which subject versions must be registered so that every reference exists before
 * the schema that uses it, and the versions of one subject go in ascending order. `wanted` lists the
 * versions to register; `referencesOf` gives each one's references (which join the order first,
 * whether or not they were wanted). Throws on a reference cycle, which no registry accepts.
 */
export function registrationOrder(
  wanted: readonly SchemaRef[],
  referencesOf: (ref: SchemaRef) => readonly SchemaRef[]
): SchemaRef[] {
  const order: SchemaRef[] = []
  const done = new Set<string>()
  const visiting = new Set<string>()
  const keyOf = (r: SchemaRef): string => `${r.subject}\u0000${r.version}`
  const visit = (ref: SchemaRef, path: SchemaRef[]): void => {
    const key = keyOf(ref)
    if (done.has(key)) return
    if (visiting.has(key)) {
      throw new Error(
        `schema references form a cycle: ${[...path, ref].map(r => `${r.subject} v${r.version}`).join(' -> ')}`
      )
    }
    visiting.add(key)
    for (const inner of referencesOf(ref)) visit(inner, [...path, ref])
    visiting.delete(key)
    done.add(key)
    order.push(ref)
  }
  const bySubject = new Map<string, SchemaRef[]>()
  for (const ref of wanted) bySubject.set(ref.subject, [...(bySubject.get(ref.subject) ?? []), ref])
  for (const refs of bySubject.values()) for (const ref of refs.sort((a, b) => a.version - b.version)) visit(ref, [])
  return order
}
