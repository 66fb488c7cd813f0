import assert from 'node:assert/strict'
import { mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { type Browser, chromium } from 'playwright-core'
import { parseConfig } from '../../src/config/index.ts'
import { type ObservedReplicator, startObserved } from '../../src/http/observed.ts'
import { type HttpServer } from '../../src/http/server.ts'
import { RecordProducer } from '../../src/kafka/index.ts'
import { createLogger } from '../../src/observability/logger.ts'
import { repoRoot } from '../../tools/harness/paths.ts'
import { clusterConnection, uniqueTopic } from '../support/clusters.ts'
import { registryConfigYaml } from '../support/schemas.ts'
import { admins, waitFor } from '../support/replication.ts'
import { SequenceWriter } from '../support/sequence-writer.ts'

/**
 * The dashboard in a real browser (Debian's Chromium driven by playwright-core) while replication
 * runs: the charts update, a stopped partition stands out with its reason, the continuous
 * verification panel shows checked windows, no secret reaches the page. KAFKA_DR_UPDATE_SCREENSHOT=1 writes the screenshot to docs/dashboard.png for the README.
 */

const TOKEN = 'CANARY-dashboard-token'
const PASSWORD = 'CANARY-dashboard-registry-password'
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

describe('dashboard in a browser', () => {
  const { dc1, dc2, close } = admins()
  const live = uniqueTopic('dash.orders')
  const broken = uniqueTopic('dash.payments')
  const logs: string[] = []
  let server: HttpServer
  let observed: ObservedReplicator
  let browser: Browser
  let writing: Promise<void> = Promise.resolve()
  let finished = false

  before(async () => {
    await dc1.createTopics([
      { name: live, partitions: 3 },
      { name: broken, partitions: 2 }
    ])
    // payments partition 0 meets a record its target topic refuses: it stops there.
    await dc2.createTopics([{ name: broken, partitions: 2, configs: { 'max.message.bytes': '100000' } }])
    const producer = new RecordProducer(clusterConnection(1))
    await producer.send(broken, [
      ...Array.from({ length: 50 }, (_, i) => ({
        partition: i % 2,
        timestamp: BigInt(Date.now()),
        key: null,
        value: Buffer.from(`payment-${i}`),
        headers: []
      })),
      { partition: 0, timestamp: BigInt(Date.now()), key: null, value: Buffer.alloc(300_000, 7), headers: [] }
    ])
    await producer.close()
    const config = parseConfig(
      `${registryConfigYaml(
        `  - name: dc1->dc2
    source: dc1
    target: dc2
    commitIntervalMs: 200
    topics: { include: ["${live}", "${broken}"] }
    verify: { intervalMs: 1000, recordsPerPartition: 20 }
    schemas: { subjects: { include: ["${live}-value"] } }
`,
        `{ username: dr, password: "${PASSWORD}" }`
      )}http: { listen: "127.0.0.1:0", token: "${TOKEN}" }\n`,
      '<test>'
    )
    const log = createLogger({ level: 'info', secrets: config.secrets, write: line => logs.push(line) })
    observed = await startObserved(config, log, config.http)
    server = observed.http!
    // Steady traffic on orders until the test ends (not for a fixed time a slow machine may outlast),
    // so the throughput chart has something to draw.
    const writer = new SequenceWriter(clusterConnection(1), live, 3, 'dash', 200)
    writing = (async () => {
      try {
        while (!finished) {
          await writer.write(600, 300)
          await sleep(500)
        }
      } finally {
        await writer.close()
      }
    })()
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking']
    })
  })

  after(async () => {
    finished = true
    await browser?.close()
    await writing.catch(() => {})
    await observed.stop()
    await close()
  })

  test('the page updates live and shows the stopped partition with its reason; no secret reaches it', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } })
    const failedRequests: string[] = []
    page.on('requestfailed', r => failedRequests.push(r.url()))
    await page.goto(`${server.url}/#token=${TOKEN}`)
    const section = page.locator('section.link[data-link="dc1->dc2"]')
    await section.waitFor({ timeout: 60_000 })
    // The token leaves the address bar at once (kept for the tab only).
    assert.equal(new URL(page.url()).hash, '')

    const stoppedRow = section.locator(`tr.errored[data-partition="${broken}/0"]`)
    await stoppedRow.waitFor({ timeout: 60_000 })
    assert.match(await stoppedRow.locator('td.reason').innerText(), /MESSAGE_TOO_LARGE.*offset 25/)
    assert.equal(await section.locator('.stopped').innerText(), '1')
    // Stopped partitions are listed first.
    assert.equal(await section.locator('table.partitions tbody tr').first().getAttribute('class'), 'errored')

    // The throughput chart redraws as new samples arrive. Evidence of a new sample is the page's own
    // count of polls the chart holds (data-points), not the time that passed between two looks.
    const chart = section.locator('.throughput canvas')
    const points = async (): Promise<number> => Number(await section.locator('.throughput').getAttribute('data-points'))
    await waitFor('a non-zero throughput on the page', 60_000, async () => {
      const text = await section.locator('.rate').innerText()
      return text !== '–' && Number(text.replaceAll(',', '')) > 0
    })
    const first = await chart.screenshot()
    const drawn = await points()
    assert.ok(drawn >= 2, `a rate needs two polls; the chart holds ${drawn}`)
    await waitFor('the page to draw a later poll', 60_000, async () => (await points()) > drawn)
    // uPlot draws on the microtask after setData, so the canvas already shows the new point; the
    // generous bound only covers a screenshot taken while the browser is starved of CPU.
    await waitFor('the chart to show the later poll', 30_000, async () => !first.equals(await chart.screenshot()))
    assert.equal(await section.locator('.failover').innerText(), 'no failover recorded for this link')
    // Continuous verification (verify: on the link): windows checked, nothing missing or altered.
    await waitFor('the verification panel to show checked windows', 30_000, async () => {
      const windows = await section.locator('.verification td.windows').innerText()
      return windows !== '–' && Number(windows.replaceAll(',', '')) > 0
    })
    assert.equal(await section.locator('.verification td.missing').innerText(), '0')
    assert.equal(await section.locator('.verification td.altered').innerText(), '0')
    assert.match(await section.locator('.verification td.last-check').innerText(), /^\d+ s ago$/)
    const updated = await page.locator('#updated').innerText()
    assert.match(updated, /^updated /)

    const html = await page.content()
    assert.ok(!html.includes(TOKEN) && !html.includes(PASSWORD), 'no secret in the page')
    assert.deepEqual(failedRequests, [], 'every asset is served locally (no CDN)')

    const target =
      process.env.KAFKA_DR_UPDATE_SCREENSHOT === '1'
        ? join(repoRoot, 'docs', 'dashboard.png')
        : join(tmpdir(), 'kafka-dr-dashboard.png')
    mkdirSync(join(target, '..'), { recursive: true })
    await page.screenshot({ path: target, fullPage: true })
    await page.close()
  })
})
