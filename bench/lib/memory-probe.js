// Plain JavaScript so that loading it does not bring in type stripping and distort the figures.
/* global process, setInterval */
import { appendFileSync } from 'node:fs'
import { monitorEventLoopDelay } from 'node:perf_hooks'

/**
 * Loaded with `node --import` into a profiled kafka-dr process (`npm run bench -- --profile`):
 * writes process.memoryUsage() every 500 ms as JSON lines to $KAFKA_DR_MEMORY_PROBE, so a trial's
 * peak RSS can be split into V8 heap, Buffers (external, arrayBuffers) and the rest.
 */
const file = process.env.KAFKA_DR_MEMORY_PROBE
if (file !== undefined) {
  const started = Date.now()
  const delay = monitorEventLoopDelay({ resolution: 5 })
  delay.enable()
  setInterval(() => {
    const m = process.memoryUsage()
    const mib = n => Math.round((n / 2 ** 20) * 10) / 10
    appendFileSync(
      file,
      `${JSON.stringify({ t: Date.now() - started, rss: mib(m.rss), heapTotal: mib(m.heapTotal), heapUsed: mib(m.heapUsed), external: mib(m.external), arrayBuffers: mib(m.arrayBuffers), loopDelayMaxMs: Math.round(delay.max / 1e6) })}\n`
    )
    delay.reset()
  }, 500).unref()
}
