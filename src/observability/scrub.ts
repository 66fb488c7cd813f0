/**
 * The one set of rules that keeps secrets out of what kafka-dr shows: log lines (logger.ts) and HTTP
 * answers (http/server.ts). Two layers: fields whose name says they hold a secret are replaced
 * whatever their value, and every known secret value (the config's resolved passwords, tokens,
 * passphrases) is replaced wherever it appears, raw or JSON-escaped (error messages and stack traces
 * that quote a credential included).
 */

export const REDACTED = '[redacted]'

/** Keys whose values are secrets wherever they appear in a logged object (pino redact paths). */
export const REDACTED_KEYS = [
  'password',
  'passphrase',
  'token',
  'secret',
  'sasl.password',
  '*.password',
  '*.passphrase',
  '*.token',
  '*.sasl.password',
  'connection.sasl.password',
  'bearerToken',
  '*.bearerToken',
  'clientSecret',
  '*.clientSecret',
  '*.sasl.clientSecret',
  'authorization',
  '*.authorization',
  '*.auth.password',
  '*.auth.bearerToken'
]

/** The field names of REDACTED_KEYS: in a JSON answer such a field is a secret at any depth. */
const SECRET_FIELDS = new Set(REDACTED_KEYS.map(path => path.split('.').at(-1)!))

export interface Scrubber {
  /** `text` with every known secret value replaced. */
  text(text: string): string
  /** `value` as indented JSON (bigints as strings), secret fields and secret values replaced. */
  json(value: unknown): string
}

export function createScrubber(secrets: readonly string[]): Scrubber {
  const needles = scrubForms(secrets)
  const text = (input: string): string => {
    let out = input
    for (const needle of needles) if (out.includes(needle)) out = out.replaceAll(needle, REDACTED)
    return out
  }
  return {
    text,
    json: value =>
      text(
        JSON.stringify(
          value,
          (key, v: unknown) =>
            typeof v === 'bigint'
              ? v.toString()
              : SECRET_FIELDS.has(key) && v !== null && v !== undefined
                ? REDACTED
                : v,
          2
        )
      )
  }
}

/** A secret as it appears raw and as it appears inside a JSON string, longest first. */
function scrubForms(secrets: readonly string[]): string[] {
  const forms = new Set<string>()
  for (const secret of secrets) {
    if (secret.length < 4) continue // too short to scrub without mangling ordinary text
    forms.add(secret)
    forms.add(JSON.stringify(secret).slice(1, -1))
  }
  return [...forms].sort((a, b) => b.length - a.length)
}
