import { spawn, spawnSync } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { stripVTControlCharacters } from 'node:util'
import { repoRoot, runDir } from './paths.ts'
import { ownedPidFrom, terminateOwned } from './pids.ts'

/**
 * A Confluent-compatible Schema Registry per harness cluster: Apicurio Registry 3.x from Maven
 * Central, in-memory storage, its Confluent API at /apis/ccompat/v7. Cluster n's registry listens on
 * n*10000+8081 (18081, 28081, ...). Apicurio 3.x is built for Java 21, so it runs on the newest JDK
 * found under /usr/lib/jvm (or APICURIO_JAVA_HOME); brokers stay on Java 17.
 */

export const APICURIO_VERSION = process.env.APICURIO_VERSION ?? '3.3.3'
export const REGISTRY_API_PATH = '/apis/ccompat/v7'

export function registryPort(index: number): number {
  return index * 10_000 + 8081
}

/** The URL kafka-dr and the tests use for cluster `index`'s registry. */
export function registryUrl(index: number): string {
  return `http://127.0.0.1:${registryPort(index)}${REGISTRY_API_PATH}`
}

function appDir(): string {
  return join(repoRoot, '.apicurio', APICURIO_VERSION)
}

function registryDir(index: number): string {
  return join(runDir(), `registry-${index}`)
}

/** Downloads and unpacks the Apicurio app once (cached in .apicurio/<version>). Returns quarkus-run.jar. */
export function ensureApicurio(log: (line: string) => void = console.log): string {
  const dir = appDir()
  const runJar = join(dir, 'app', 'quarkus-run.jar')
  if (existsSync(join(dir, '.complete')) && existsSync(runJar)) return runJar
  mkdirSync(dir, { recursive: true })
  log(`fetching Apicurio Registry ${APICURIO_VERSION} from Maven Central into ${dir} ...`)
  const maven = spawnSync(
    'mvn',
    [
      '-B',
      '-q',
      '-Dstyle.color=never',
      'org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy',
      `-Dartifact=io.apicurio:apicurio-registry-app:${APICURIO_VERSION}:tar.gz:all`,
      `-DoutputDirectory=${dir}`
    ],
    { encoding: 'utf8', cwd: dir }
  )
  if (maven.error !== undefined || maven.status !== 0) {
    const output = stripVTControlCharacters(`${maven.stdout ?? ''}${maven.stderr ?? ''}`).trim()
    throw new Error(
      `mvn could not fetch Apicurio Registry ${APICURIO_VERSION} (exit ${maven.status ?? maven.error?.message}):\n${output.split('\n').slice(-10).join('\n')}`
    )
  }
  const archive = join(dir, `apicurio-registry-app-${APICURIO_VERSION}-all.tar.gz`)
  rmSync(join(dir, 'app'), { recursive: true, force: true })
  mkdirSync(join(dir, 'app'), { recursive: true })
  const tar = spawnSync('tar', ['-xzf', archive, '-C', join(dir, 'app')], { encoding: 'utf8' })
  if (tar.status !== 0) throw new Error(`unpacking ${archive} failed: ${tar.stderr}`)
  rmSync(archive, { force: true })
  // The archive's layout has varied between versions: find the runner wherever it is.
  const found = findFile(join(dir, 'app'), 'quarkus-run.jar')
  if (found === null) throw new Error(`no quarkus-run.jar in the Apicurio ${APICURIO_VERSION} archive`)
  if (found !== runJar) writeFileSync(join(dir, 'runner-path'), found)
  writeFileSync(join(dir, '.complete'), `${new Date().toISOString()}\n`)
  return found
}

function findFile(dir: string, name: string): string | null {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isFile() && entry.name === name) return path
    if (entry.isDirectory()) {
      const inner = findFile(path, name)
      if (inner !== null) return inner
    }
  }
  return null
}

function runnerJar(): string {
  const pointer = join(appDir(), 'runner-path')
  return existsSync(pointer) ? readFileSync(pointer, 'utf8').trim() : join(appDir(), 'app', 'quarkus-run.jar')
}

/** A Java 21+ binary: APICURIO_JAVA_HOME, else the newest JDK under /usr/lib/jvm that is 21 or later. */
export function registryJava(): string {
  const home = process.env.APICURIO_JAVA_HOME
  if (home !== undefined) return join(home, 'bin', 'java')
  const candidates = existsSync('/usr/lib/jvm') ? readdirSync('/usr/lib/jvm') : []
  const versioned = candidates
    .map(name => ({ name, major: Number(/(?:^|-)(\d+)(?:[-.]|$)/.exec(name)?.[1] ?? NaN) }))
    .filter(c => c.major >= 21 && existsSync(join('/usr/lib/jvm', c.name, 'bin', 'java')))
    .sort((a, b) => b.major - a.major)
  const best = versioned[0]
  if (best === undefined) {
    throw new Error(
      'Apicurio Registry 3.x needs Java 21 or later: none found under /usr/lib/jvm; set APICURIO_JAVA_HOME to a JDK 21+'
    )
  }
  return join('/usr/lib/jvm', best.name, 'bin', 'java')
}

const registryMarker = (index: number): string => `-Dkdr.registry=${index}`

/** The registry's pid, only if alive and started for this registry folder. */
export function registryPid(index: number): number | null {
  return ownedPidFrom(join(registryDir(index), 'registry.pid'), registryMarker(index))
}

async function answers(index: number): Promise<boolean> {
  try {
    const response = await fetch(`${registryUrl(index)}/subjects`, { signal: AbortSignal.timeout(2000) })
    return response.ok
  } catch {
    return false
  }
}

/** Starts the registry of cluster `index` unless it runs already; resolves when its API answers. */
export async function startRegistry(
  index: number,
  log: (line: string) => void = console.log,
  readyTimeoutMs = 120_000
): Promise<void> {
  if (registryPid(index) !== null) {
    log(`registry ${index}: already running at ${registryUrl(index)}`)
    return
  }
  if (await answers(index)) {
    throw new Error(
      `port ${registryPort(index)} for registry ${index} is in use by a process this harness did not start`
    )
  }
  ensureApicurio(log)
  const dir = registryDir(index)
  mkdirSync(dir, { recursive: true })
  const out = openSync(join(dir, 'registry.log'), 'w')
  const startedAt = Date.now()
  const child = spawn(
    registryJava(),
    [
      '-Xms128m',
      '-Xmx384m',
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      registryMarker(index),
      '-Dquarkus.http.host=127.0.0.1',
      `-Dquarkus.http.port=${registryPort(index)}`,
      // Quarkus' management interface (health) defaults to 0.0.0.0:9000: one per registry, on loopback.
      '-Dquarkus.management.host=127.0.0.1',
      `-Dquarkus.management.port=${registryPort(index) + 10}`,
      '-Dquarkus.log.level=WARN',
      '-jar',
      runnerJar()
    ],
    { detached: true, stdio: ['ignore', out, out] }
  )
  closeSync(out)
  if (child.pid === undefined) throw new Error(`could not start the registry JVM of cluster ${index}`)
  child.unref()
  writeFileSync(join(dir, 'registry.pid'), `${child.pid}\n`)
  const deadline = Date.now() + readyTimeoutMs
  while (!(await answers(index))) {
    if (registryPid(index) === null) {
      const tail = readFileSync(join(dir, 'registry.log'), 'utf8').split('\n').slice(-20).join('\n')
      throw new Error(`registry ${index} exited during start-up:\n${tail}`)
    }
    if (Date.now() > deadline) throw new Error(`registry ${index} did not answer within ${readyTimeoutMs} ms`)
    await sleep(250)
  }
  log(`registry ${index}: up at ${registryUrl(index)} (pid ${child.pid}, ready in ${Date.now() - startedAt} ms)`)
}

/** Stops the registry of cluster `index` (its in-memory schemas are gone with it). */
export function stopRegistry(index: number): Promise<boolean> {
  return terminateOwned(join(registryDir(index), 'registry.pid'), registryMarker(index), 'SIGTERM', 20_000)
}

/** Indexes of registry folders under the run dir. */
export function registryIndexes(): number[] {
  if (!existsSync(runDir())) return []
  return readdirSync(runDir())
    .map(name => /^registry-(\d+)$/.exec(name)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
}
