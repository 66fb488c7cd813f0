import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'

/** Repository root: two levels above tools/harness/. */
export const repoRoot = resolve(import.meta.dirname, '..', '..')

/** The one place the default Kafka version lives; KAFKA_VERSION overrides it. */
export const DEFAULT_KAFKA_VERSION = '4.1.2'

export function kafkaVersion(): string {
  return process.env.KAFKA_VERSION ?? DEFAULT_KAFKA_VERSION
}

/** Ignored cache of downloaded jars, one folder per Kafka version. */
export function libsDir(version: string): string {
  return join(repoRoot, '.kafka', version, 'libs')
}

/** Where running clusters keep config, data, logs and pid files. */
export function runDir(): string {
  return process.env.KAFKA_DR_RUN_DIR ?? join(repoRoot, '.kafka', 'run')
}

export const harnessConfigDir = join(repoRoot, 'tools', 'kafka')

/** Kafka 3.x ships the Log4j 1 API (reload4j); 4.x uses Log4j2. */
export function usesLegacyLogging(version: string): boolean {
  return Number(version.split('.')[0]) < 4
}

/** Java 17 for every broker JVM (Kafka 4.x does not list Java 25 as supported). */
export function javaBinary(): string {
  const home = process.env.JAVA17_HOME
  if (home !== undefined) return join(home, 'bin', 'java')
  const debian = '/usr/lib/jvm/java-17-openjdk-amd64/bin/java'
  return existsSync(debian) ? debian : 'java'
}

export const JVM_PERFORMANCE_OPTS = [
  '-server',
  '-XX:+UseG1GC',
  '-XX:MaxGCPauseMillis=20',
  '-XX:InitiatingHeapOccupancyPercent=35',
  '-XX:+ExplicitGCInvokesConcurrent',
  '-XX:MaxInlineLevel=15',
  '-Djava.awt.headless=true'
]
