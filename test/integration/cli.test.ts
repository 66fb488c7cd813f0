import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { promisify } from 'node:util'
import { bootstrapOf, status } from '../../tools/harness/harness.ts'

const run = promisify(execFile)
const cli = ['src/cli/main.ts']
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }

test('kafka-dr --version prints the package version', async () => {
  const { stdout } = await run(process.execPath, [...cli, '--version'])
  assert.equal(stdout.trim(), pkg.version)
})

test('kafka-dr --help lists the commands', async () => {
  const { stdout } = await run(process.execPath, [...cli, '--help'])
  assert.match(stdout, /^Usage: kafka-dr \[options\] \[command\]/)
  assert.match(stdout, /cluster-info/)
})

test('kafka-dr cluster-info reports the id the harness formatted the cluster with', async () => {
  const { stdout } = await run(process.execPath, [...cli, 'cluster-info', '--bootstrap', bootstrapOf(2), '--json'])
  const info = JSON.parse(stdout) as { clusterId: string; brokers: { port: number }[] }
  assert.equal(info.clusterId, status().find(s => s.index === 2)?.clusterId)
  assert.deepEqual(
    info.brokers.map(b => b.port),
    [29092]
  )
})

test('an unreachable cluster ends in exit 1 with a labelled error naming the cluster', async () => {
  await assert.rejects(
    run(process.execPath, [...cli, 'cluster-info', '--bootstrap', '127.0.0.1:9']),
    (error: { code: number; stderr: string }) => {
      assert.equal(error.code, 1)
      assert.match(error.stderr, /^kafka-dr: KDR_ERR_KAFKA_ADMIN: describe cluster failed: .*cluster 127\.0\.0\.1:9\)/)
      return true
    }
  )
})

test('replicate: the options of its HTTP server and logs are checked before anything starts', async () => {
  const help = (await run(process.execPath, [...cli, 'replicate', '--help'])).stdout
  for (const option of ['--log-format <format>', '--http-listen <host:port>', '--no-http']) {
    assert.ok(help.includes(option), option)
  }
  await assert.rejects(
    run(process.execPath, [...cli, 'replicate', '--config', 'examples/kafka-dr.yaml', '--log-format', 'xml']),
    (e: { code: number; stderr: string }) => {
      assert.equal(e.code, 2)
      assert.match(e.stderr, /--log-format: expected json or pretty, got "xml"/)
      return true
    }
  )
})

test('verify: a bad --from-time or --range-size is a usage error, exit 2, before any cluster is contacted', async () => {
  const verify = [...cli, 'verify', '--config', 'examples/kafka-dr.yaml', '--link', 'dc1->dc2']
  for (const [option, value, message] of [
    ['--from-time', 'yesterday', /--from-time: expected an ISO date-time or epoch milliseconds, got "yesterday"/],
    ['--range-size', '0', /--range-size: expected a whole number from 1 to 100000000, got "0"/],
    ['--range-size', 'lots', /--range-size: expected a whole number from 1 to 100000000, got "lots"/]
  ] as const) {
    await assert.rejects(run(process.execPath, [...verify, option, value]), (e: { code: number; stderr: string }) => {
      assert.equal(e.code, 2, `${option} ${value}`)
      assert.match(e.stderr, /^kafka-dr: KDR_ERR_CONFIG: /)
      assert.match(e.stderr, message)
      return true
    })
  }
})
