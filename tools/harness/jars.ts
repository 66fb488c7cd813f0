import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { libsDir, repoRoot, usesLegacyLogging } from './paths.ts'

/** Log4j2 version each Kafka line builds against (gradle/dependencies.gradle at the release tag). */
function log4j2VersionFor(version: string): string {
  const [major = 0, minor = 0] = version.split('.').map(Number)
  return major > 4 || (major === 4 && minor >= 2) ? '2.25.3' : '2.24.3'
}

/**
 * Gathers Kafka's runtime jars for `version` into .kafka/<version>/libs with Maven, unless a
 * previous run completed (marker file). Returns the folder.
 */
export function ensureJars(version: string, log: (line: string) => void = console.log): string {
  const dir = libsDir(version)
  const marker = join(dir, '.complete')
  if (existsSync(marker)) return dir
  mkdirSync(dir, { recursive: true })
  log(`gathering Apache Kafka ${version} jars from Maven Central into ${dir} ...`)
  const args = [
    '-B',
    '-q',
    '-Dstyle.color=never',
    '-f',
    join(repoRoot, 'tools', 'kafka', 'pom.xml'),
    `-Dkafka.version=${version}`,
    `-Dlog4j2.version=${log4j2VersionFor(version)}`,
    'org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies',
    '-DincludeScope=runtime',
    `-DoutputDirectory=${dir}`
  ]
  if (usesLegacyLogging(version)) args.push('-Dkafka.legacy.logging=true')
  const result = spawnSync('mvn', args, { stdio: 'inherit' })
  if (result.error !== undefined || result.status !== 0) {
    throw new Error(`mvn could not gather Kafka ${version} jars (exit ${result.status ?? result.error?.message})`)
  }
  const jars = readdirSync(dir)
  const slf4j = jars.filter(j => j.startsWith('slf4j-api-'))
  if (!jars.some(j => j.startsWith('kafka_2.13-')) || slf4j.length !== 1) {
    throw new Error(`jar folder ${dir} is incomplete: kafka_2.13 missing or ${slf4j.length} slf4j-api jars`)
  }
  writeFileSync(marker, `${new Date().toISOString()}\n`)
  return dir
}
