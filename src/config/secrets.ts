import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'

/**
 * Secret references in config string values: `${env:NAME}` and `${file:PATH}` (relative paths are
 * relative to the config file's directory), `$${` for a literal `${`. References are resolved on the
 * parsed YAML tree, before validation, so every key accepts them; map keys are never resolved.
 *
 * Every resolved value is treated as a secret: it is collected for log scrubbing, and problems are
 * reported by naming the variable or file, never the value.
 */

export type ValuePath = (string | number)[]

export interface ReferenceProblem {
  path: ValuePath
  message: string
}

export interface ResolvedReferences {
  /** The input tree with every reference replaced; a string whose reference failed becomes ''. */
  value: unknown
  /** Resolved values, non-empty, in order of first appearance. */
  secrets: string[]
  problems: ReferenceProblem[]
}

export interface ReferenceOptions {
  /** Directory that relative `${file:}` paths are resolved against. */
  baseDir: string
  env?: NodeJS.ProcessEnv
}

const referenceSyntax = 'expected ${env:NAME} or ${file:PATH}; write $${ for a literal ${'
const envName = /^[A-Za-z_][A-Za-z0-9_]*$/

export function resolveReferences(value: unknown, options: ReferenceOptions): ResolvedReferences {
  const env = options.env ?? process.env
  const secrets = new Set<string>()
  const problems: ReferenceProblem[] = []

  const walk = (node: unknown, path: ValuePath): unknown => {
    if (typeof node === 'string') {
      const result = resolveString(node, options.baseDir, env)
      for (const secret of result.secrets) if (secret !== '') secrets.add(secret)
      for (const message of result.problems) problems.push({ path, message })
      return result.problems.length === 0 ? result.value : ''
    }
    if (Array.isArray(node)) return node.map((item, index) => walk(item, [...path, index]))
    if (isPlainObject(node)) {
      return Object.fromEntries(Object.entries(node).map(([key, item]) => [key, walk(item, [...path, key])]))
    }
    return node
  }

  return { value: walk(value, []), secrets: [...secrets], problems }
}

interface ResolvedString {
  value: string
  secrets: string[]
  problems: string[]
}

export function resolveString(text: string, baseDir: string, env: NodeJS.ProcessEnv = process.env): ResolvedString {
  const secrets: string[] = []
  const problems: string[] = []
  let value = ''
  let index = 0
  while (index < text.length) {
    const dollar = text.indexOf('$', index)
    if (dollar === -1) {
      value += text.slice(index)
      break
    }
    value += text.slice(index, dollar)
    if (text.startsWith('$${', dollar)) {
      value += '${'
      index = dollar + 3
      continue
    }
    if (!text.startsWith('${', dollar)) {
      value += '$'
      index = dollar + 1
      continue
    }
    const end = text.indexOf('}', dollar + 2)
    if (end === -1) {
      problems.push(`unterminated reference: ${referenceSyntax}`)
      break
    }
    const body = text.slice(dollar + 2, end)
    index = end + 1
    if (body.startsWith('env:')) {
      const name = body.slice('env:'.length)
      const resolved = envName.test(name) ? env[name] : undefined
      if (!envName.test(name)) problems.push(`invalid environment variable name in reference: ${referenceSyntax}`)
      else if (resolved === undefined) problems.push(`environment variable ${name} is not set`)
      else {
        secrets.push(resolved)
        value += resolved
      }
    } else if (body.startsWith('file:')) {
      const file = body.slice('file:'.length)
      if (file === '') {
        problems.push(`empty file path in reference: ${referenceSyntax}`)
        continue
      }
      const absolute = resolve(baseDir, file)
      try {
        const content = withoutTrailingNewline(readFileSync(absolute, 'utf8'))
        secrets.push(content)
        value += content
      } catch (error) {
        problems.push(`cannot read file ${quoted(absolute)} (${describeReadError(error)})`)
      }
    } else {
      // The text after "${" may be part of a literal password, so it is not quoted.
      problems.push(`unknown reference: ${referenceSyntax}`)
    }
  }
  return { value, secrets, problems }
}

/** Files written by editors and `echo` end in a newline that is never part of the secret. */
function withoutTrailingNewline(content: string): string {
  if (content.endsWith('\r\n')) return content.slice(0, -2)
  if (content.endsWith('\n')) return content.slice(0, -1)
  return content
}

export function describeReadError(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code
  switch (code) {
    case 'ENOENT':
      return 'no such file'
    case 'EACCES':
    case 'EPERM':
      return 'permission denied'
    case 'EISDIR':
      return 'is a directory'
    default:
      return typeof code === 'string' ? code : 'unreadable'
  }
}

/**
 * Replaces every occurrence of every secret with "***". Longer secrets win where they overlap, so
 * no fragment of a longer secret survives because a shorter one matched first.
 */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  const distinct = [...new Set(secrets)].filter(secret => secret !== '')
  if (distinct.length === 0) return text
  distinct.sort((a, b) => b.length - a.length)
  const pattern = new RegExp(distinct.map(escapeRegExp).join('|'), 'g')
  return text.replace(pattern, '***')
}

// JSON.stringify escapes control characters, so these delimiters never occur inside a quoted value.
const openQuote = '\u0002'
const closeQuote = '\u0003'
const quotedValue = new RegExp(`${openQuote}([^${closeQuote}]*)${closeQuote}`, 'g')

/**
 * Quotes a config value inside an error message. The value stays marked until redactQuoted decides,
 * with every secret known, whether it may be shown; fixed message text is never scrubbed, so short
 * secrets cannot garble it.
 */
export function quoted(value: string): string {
  return `${openQuote}${JSON.stringify(value)}${closeQuote}`
}

/** Shows each quoted value, or "***" if it contains any secret. */
export function redactQuoted(message: string, secrets: readonly string[]): string {
  return message.replace(quotedValue, (_, json: string) => {
    const value = JSON.parse(json) as string
    return secrets.some(secret => secret !== '' && value.includes(secret)) ? '"***"' : json
  })
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false
  const prototype = Object.getPrototypeOf(value) as unknown
  return prototype === Object.prototype || prototype === null
}
