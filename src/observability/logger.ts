import { pino, type Logger as PinoLogger } from 'pino'
import { prettyFactory } from 'pino-pretty'

export type Logger = PinoLogger

export interface LoggerOptions {
  level?: string
  /** Resolved secret values: scrubbed from every line, whatever field or message they end up in. */
  secrets?: readonly string[]
  /** Where lines go; stderr by default so command output on stdout stays machine-readable. */
  write?: (line: string) => void
  /** json (default): one JSON object per line; pretty: human-readable lines for a terminal. */
  format?: 'json' | 'pretty'
}

/** Keys whose values are secrets wherever they appear in a logged object. */
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
  'authorization',
  '*.authorization',
  '*.auth.password',
  '*.auth.bearerToken'
]

/**
 * Structured JSON logs (pino), or the same lines made readable for a terminal (pino-pretty). Two
 * layers keep secrets out: key-based redaction for objects, and a
 * final scrub of every known secret value from each serialized line, which also covers error
 * messages and stack traces that quote a credential.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const write = options.write ?? ((line: string) => process.stderr.write(line))
  const needles = scrubForms(options.secrets ?? [])
  // Secrets are scrubbed from the JSON line first; the pretty form is made from the scrubbed line.
  const pretty =
    options.format === 'pretty'
      ? prettyFactory({ colorize: process.stderr.isTTY, translateTime: 'SYS:HH:MM:ss.l', ignore: 'app,pid,hostname' })
      : null
  const stream = {
    write(line: string): void {
      let out = line
      for (const needle of needles) if (out.includes(needle)) out = out.replaceAll(needle, '[redacted]')
      write(pretty === null ? out : pretty(out))
    }
  }
  return pino(
    {
      level: options.level ?? process.env.KAFKA_DR_LOG_LEVEL ?? 'info',
      base: { app: 'kafka-dr' },
      redact: { paths: REDACTED_KEYS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: label => ({ level: label }) }
    },
    stream
  )
}

/** A secret as it appears raw and as it appears inside a JSON string. */
function scrubForms(secrets: readonly string[]): string[] {
  const forms = new Set<string>()
  for (const secret of secrets) {
    if (secret.length < 4) continue // too short to scrub without mangling ordinary text
    forms.add(secret)
    forms.add(JSON.stringify(secret).slice(1, -1))
  }
  return [...forms].sort((a, b) => b.length - a.length)
}
