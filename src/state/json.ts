import { KdrError } from '../errors.ts'

/**
 * Reading JSON values of the state topic with their types checked (records.ts, documents.ts).
 * A value that does not have the shape this version writes fails with a StateFormatError naming the
 * value and the field: the caller reports it and skips the record, it never becomes a wrong number.
 */

/** The format version (`v`) this kafka-dr writes into every state value, and the newest it reads. */
export const STATE_FORMAT_VERSION = 1

/** A state value that cannot be read: malformed, or (`newer`) written by a newer kafka-dr. */
export class StateFormatError extends KdrError {
  readonly newer: boolean

  constructor(message: string, newer = false) {
    super('KDR_ERR_STATE', message)
    this.name = 'StateFormatError'
    this.newer = newer
  }
}

export type JsonObject = Record<string, unknown>

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Parses a record's key or value bytes; malformed JSON is a StateFormatError. */
export function parseJson(raw: Buffer, what: string): unknown {
  try {
    return JSON.parse(raw.toString()) as unknown
  } catch (error) {
    throw new StateFormatError(`${what} is not JSON (${error instanceof Error ? error.message : String(error)})`)
  }
}

/**
 * Checks the format version `v` of a value: this version's is read; a higher integer was written by
 * a newer kafka-dr (reported as such, never guessed at); anything else is malformed.
 */
export function checkVersion(value: JsonObject, what: string): void {
  const v = value.v
  if (v === STATE_FORMAT_VERSION) return
  if (typeof v === 'number' && Number.isInteger(v) && v > STATE_FORMAT_VERSION) {
    throw new StateFormatError(
      `${what} has format version ${v}, written by a newer kafka-dr; this version reads version ${STATE_FORMAT_VERSION}`,
      true
    )
  }
  throw new StateFormatError(`${what} has no valid format version (v: ${JSON.stringify(v) ?? 'absent'})`)
}

/** The fields of a value whose format version this kafka-dr reads (checkVersion). */
export function versioned(value: unknown, what: string): Fields {
  if (!isObject(value)) throw new StateFormatError(`${what} is not a JSON object`)
  checkVersion(value, what)
  return new Fields(value, what)
}

const DECIMAL = /^-?\d+$/

/** Typed field access to one JSON object; every failure names `what` and the field. */
export class Fields {
  readonly #value: JsonObject
  readonly #what: string

  constructor(value: unknown, what: string) {
    if (!isObject(value)) throw new StateFormatError(`${what} is not a JSON object`)
    this.#value = value
    this.#what = what
  }

  /** The names of the object's fields. */
  names(): string[] {
    return Object.keys(this.#value)
  }

  /** Whether the field is present (not absent, not null). */
  has(name: string): boolean {
    return this.#value[name] != null
  }

  string(name: string): string {
    const v = this.#value[name]
    if (typeof v !== 'string') throw this.#wrong(name, 'a string')
    return v
  }

  number(name: string): number {
    const v = this.#value[name]
    if (typeof v !== 'number' || !Number.isFinite(v)) throw this.#wrong(name, 'a number')
    return v
  }

  integer(name: string): number {
    const v = this.#value[name]
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw this.#wrong(name, 'an integer')
    return v
  }

  boolean(name: string): boolean {
    const v = this.#value[name]
    if (typeof v !== 'boolean') throw this.#wrong(name, 'true or false')
    return v
  }

  /** An offset stored as a decimal string (int64 does not fit a JSON number). */
  offset(name: string): bigint {
    return decimal(this.#value[name], `${this.#what}: field ${name}`)
  }

  array(name: string): unknown[] {
    const v = this.#value[name]
    if (!Array.isArray(v)) throw this.#wrong(name, 'an array')
    return v
  }

  object(name: string): Fields {
    return new Fields(this.#value[name], `${this.#what}: field ${name}`)
  }

  /** The field read with `read`, or null when it is absent or null. */
  nullable<T>(name: string, read: (name: string) => T): T | null {
    return this.has(name) ? read(name) : null
  }

  #wrong(name: string, expected: string): StateFormatError {
    const found = this.#value[name]
    return new StateFormatError(
      `${this.#what}: field ${name} must be ${expected}, found ${found === undefined ? 'nothing' : JSON.stringify(found)}`
    )
  }
}

/** An int64 written as a decimal string. */
export function decimal(value: unknown, what: string): bigint {
  if (typeof value !== 'string' || !DECIMAL.test(value)) {
    throw new StateFormatError(
      `${what} must be a decimal string, found ${value === undefined ? 'nothing' : JSON.stringify(value)}`
    )
  }
  return BigInt(value)
}
