import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { stripVTControlCharacters } from 'node:util'
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
  // Output is kept for the error report only: quiet Maven still prints colour resets on success.
  let result = spawnSync('mvn', args, { encoding: 'utf8' })
  if (result.status !== 0 && result.error === undefined) {
    // Brokers and tools are enough for tests; MirrorMaker 2 only matters to the benchmarks.
    log(`Kafka ${version}: retrying without connect-mirror (MirrorMaker 2 will not be available)`)
    result = spawnSync('mvn', [...args, '-Dkafka.skip.mirror=true'], { encoding: 'utf8' })
  }
  if (result.error !== undefined || result.status !== 0) {
    const output = stripVTControlCharacters(`${result.stdout ?? ''}${result.stderr ?? ''}`).trim()
    const lines = output.split('\n')
    const errors = lines.filter(l => l.startsWith('[ERROR]') && l.length > 8).slice(0, 2)
    const detail = (errors.length > 0 ? errors : lines.slice(-15)).join('\n')
    throw new Error(
      `mvn could not gather Kafka ${version} jars (exit ${result.status ?? result.error?.message}):\n${detail}`
    )
  }
  const jars = readdirSync(dir)
  const slf4j = jars.filter(j => j.startsWith('slf4j-api-'))
  if (!jars.some(j => j.startsWith('kafka_2.13-')) || slf4j.length !== 1) {
    throw new Error(`jar folder ${dir} is incomplete: kafka_2.13 missing or ${slf4j.length} slf4j-api jars`)
  }
  writeFileSync(marker, `${new Date().toISOString()}\n`)
  return dir
}
