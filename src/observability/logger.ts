import { pino, type Logger as PinoLogger } from 'pino'
import { prettyFactory } from 'pino-pretty'
import { REDACTED, REDACTED_KEYS, createScrubber } from './scrub.ts'

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

export { REDACTED_KEYS }

/**
 * Structured JSON logs (pino), or the same lines made readable for a terminal (pino-pretty). Two
 * layers keep secrets out (scrub.ts, shared with the HTTP answers): key-based redaction for objects,
 * and a final scrub of every known secret value from each serialized line, which also covers error
 * messages and stack traces that quote a credential.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const write = options.write ?? ((line: string) => process.stderr.write(line))
  const scrub = createScrubber(options.secrets ?? [])
  // Secrets are scrubbed from the JSON line first; the pretty form is made from the scrubbed line.
  const pretty =
    options.format === 'pretty'
      ? prettyFactory({ colorize: process.stderr.isTTY, translateTime: 'SYS:HH:MM:ss.l', ignore: 'app,pid,hostname' })
      : null
  const stream = {
    write(line: string): void {
      const out = scrub.text(line)
      write(pretty === null ? out : pretty(out))
    }
  }
  return pino(
    {
      level: options.level ?? process.env.KAFKA_DR_LOG_LEVEL ?? 'info',
      base: { app: 'kafka-dr' },
      redact: { paths: REDACTED_KEYS, censor: REDACTED },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: label => ({ level: label }) }
    },
    stream
  )
}
