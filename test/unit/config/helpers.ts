import assert from 'node:assert/strict'
import { stringify } from 'yaml'
import { ConfigError, parseConfig, type ConfigIssue } from '../../../src/config/index.ts'

/** A valid two-cluster, one-link config as a plain object, for tests to vary one key at a time. */
export function baseConfig(): { clusters: Record<string, Record<string, unknown>>; links: Record<string, unknown>[] } {
  return {
    clusters: { dc1: { bootstrap: '127.0.0.1:19092' }, dc2: { bootstrap: '127.0.0.1:29092' } },
    links: [{ source: 'dc1', target: 'dc2', topics: { include: ['orders'] } }]
  }
}

export function yaml(value: unknown): string {
  return stringify(value)
}

/** Parses text that must be invalid and returns its issues. */
export function issuesOf(text: string, baseDir?: string): ConfigIssue[] {
  return errorOf(text, baseDir).issues
}

export function errorOf(text: string, baseDir?: string): ConfigError {
  try {
    parseConfig(text, 'test.yaml', baseDir)
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`)
    return error
  }
  assert.fail('expected the config to be rejected')
}

/** The issue at exactly this path; fails the test if there is none. */
export function issueAt(issues: ConfigIssue[], path: string): ConfigIssue {
  const found = issues.find(issue => issue.path === path)
  assert.ok(found, `no issue at ${path}; issues: ${JSON.stringify(issues, null, 2)}`)
  return found
}
