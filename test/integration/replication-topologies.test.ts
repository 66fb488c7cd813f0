import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseConfig } from '../../src/config/index.ts'
import { KafkaAdmin, RecordProducer } from '../../src/kafka/index.ts'
import { verifyLink } from '../../src/verify/verify.ts'
import { bootstrapOf, down, up } from '../../tools/harness/harness.ts'
import { clusterConnection, uniqueTopic } from '../support/clusters.ts'
import { headerPairs, kcatReadAll } from '../support/kcat.ts'
import {
  type RunningReplicator,
  endOffsets,
  produceSequence,
  startReplicator,
  waitFor
} from '../support/replication.ts'

/**
 * Active-active beyond two datacenters: three clusters (harness clusters 1 and 2, plus cluster 4
 * started by this file), identical topic names, records produced in every datacenter while the
 * links run. Whatever the topology (chain, ring, full mesh), every record lands exactly once in
 * every datacenter the links lead it to, and nothing cycles: after the replicators are provably
 * idle (every link has processed its source up to the source's end, end offsets equal the expected
 * counts) the counts stay put for 10 seconds, and kcat finds each record once, in order.
 */

const DC3 = 4
const INDEX = { dc1: 1, dc2: 2, dc3: DC3 } as const
type Dc = keyof typeof INDEX
const DCS: Dc[] = ['dc1', 'dc2', 'dc3']
const PARTITIONS = 2
const PER_PARTITION = 300
const ROUNDS = 3

function topologyYaml(topic: string, links: [Dc, Dc][]): string {
  const lines = ['clusters:']
  for (const dc of DCS) lines.push(`  ${dc}: { bootstrap: "${bootstrapOf(INDEX[dc])}" }`)
  lines.push('links:')
  for (const [source, target] of links) {
    lines.push(`  - source: ${source}`, `    target: ${target}`, '    commitIntervalMs: 200')
    lines.push(`    topics: { include: ["${topic}"] }`)
  }
  return `${lines.join('\n')}\n`
}

/** Which datacenters' records each datacenter must hold (itself and every one with a path to it). */
function reach(links: [Dc, Dc][]): Map<Dc, Set<Dc>> {
  const holds = new Map(DCS.map(dc => [dc, new Set<Dc>([dc])]))
  for (let changed = true; changed;) {
    changed = false
    for (const [source, target] of links) {
      for (const origin of holds.get(source)!) {
        if (!holds.get(target)!.has(origin)) {
          holds.get(target)!.add(origin)
          changed = true
        }
      }
    }
  }
  return holds
}

describe('active-active over three datacenters: chain, ring, full mesh', () => {
  const admins = new Map<Dc, KafkaAdmin>()
  const producers = new Map<Dc, RecordProducer>()

  before(async () => {
    await down({ indexes: [DC3], log: () => {} })
    await up({ indexes: [DC3], schemaRegistry: false, log: () => {} })
    for (const dc of DCS) {
      admins.set(dc, new KafkaAdmin(clusterConnection(INDEX[dc])))
      producers.set(dc, new RecordProducer(clusterConnection(INDEX[dc])))
    }
  })
  after(async () => {
    await Promise.allSettled([...producers.values()].map(p => p.close()))
    await Promise.allSettled([...admins.values()].map(a => a.close()))
    await down({ indexes: [DC3], log: () => {} })
  })

  async function scenario(name: string, links: [Dc, Dc][], expectedLoopSkips: number): Promise<void> {
    const topic = uniqueTopic(`topo.${name}`)
    await Promise.all(DCS.map(dc => admins.get(dc)!.createTopics([{ name: topic, partitions: PARTITIONS }])))
    const running: RunningReplicator = await startReplicator(topologyYaml(topic, links))
    try {
      // Every datacenter writes while the links run, in rounds, so local and copied records interleave.
      const perRound = PER_PARTITION / ROUNDS
      for (let round = 0; round < ROUNDS; round++) {
        await Promise.all(
          DCS.map(dc => produceSequence(producers.get(dc)!, topic, PARTITIONS, perRound, dc, round * perRound))
        )
        await sleep(100)
      }
      const holds = reach(links)
      const expected = new Map(DCS.map(dc => [dc, BigInt(holds.get(dc)!.size * PER_PARTITION)]))
      const ends = async (): Promise<Map<Dc, bigint[]>> =>
        new Map(
          await Promise.all(DCS.map(async dc => [dc, await endOffsets(admins.get(dc)!, topic, PARTITIONS)] as const))
        )
      const sourceOf = new Map(links.map(([s, t]) => [`${s}->${t}`, s]))
      /**
       * Positive evidence of quiescence: every datacenter holds the expected count, and every link
       * has processed (copied or skipped) its source up to that source's current end. With no input
       * left anywhere, nothing more can be copied.
       */
      const quiescent = async (): Promise<boolean> => {
        const now = await ends()
        for (const dc of DCS) if (!now.get(dc)!.every(o => o === expected.get(dc))) return false
        for (const link of running.replicator.status()) {
          if (link.state !== 'running' || link.partitions.length !== PARTITIONS) return false
          const sourceEnds = now.get(sourceOf.get(link.link)!)!
          for (const p of link.partitions) {
            if (p.state !== 'running' || p.replicatedNext !== sourceEnds[p.partition]) return false
          }
        }
        return true
      }
      await waitFor(`${name}: every datacenter holds its records and every link is idle`, 90_000, quiescent)
      // Quiet for 10 seconds: the links keep fetching; nothing may appear and nothing may move.
      const quietUntil = Date.now() + 10_000
      while (Date.now() < quietUntil) {
        assert.ok(await quiescent(), `${name}: records appeared or moved after the links were idle`)
        await sleep(500)
      }
      const counted = await ends()
      for (const dc of DCS) {
        assert.deepEqual(counted.get(dc), Array(PARTITIONS).fill(expected.get(dc)), `${name}: ${dc} end offsets`)
      }

      // The independent reader: each expected record exactly once, in its partition's order.
      for (const dc of DCS) {
        const records = await kcatReadAll(bootstrapOf(INDEX[dc]), topic)
        const values = records.map(r => r.payload!)
        assert.equal(new Set(values).size, values.length, `${name}: ${dc} holds no record twice`)
        for (const origin of DCS) {
          for (let p = 0; p < PARTITIONS; p++) {
            const seqs = records
              .filter(r => r.partition === p && r.payload!.startsWith(`${origin}:`))
              .sort((a, b) => a.offset - b.offset)
              .map(r => Number(r.payload!.split(':')[2]))
            const want = holds.get(dc)!.has(origin) ? [...Array(PER_PARTITION).keys()] : []
            assert.deepEqual(seqs, want, `${name}: ${dc} partition ${p}, records of ${origin}`)
          }
        }
        for (const r of records) {
          const provenance = headerPairs(r.headers).filter(([key]) => key === 'kdr-prov').length
          assert.equal(provenance, r.payload!.startsWith(`${dc}:`) ? 0 : 1, `${name}: ${dc} ${r.payload}`)
        }
      }
      const skipped = running.replicator
        .status()
        .flatMap(l => l.partitions)
        .reduce((n, p) => n + p.loopSkippedRecords, 0)
      assert.equal(skipped, expectedLoopSkips, `${name}: records recognised as carried by another link or looping`)
      // verify follows the same routes: the copies another link delivers are not expected from this one.
      const config = parseConfig(topologyYaml(topic, links), '<test>')
      for (const link of config.links) {
        const report = await verifyLink(config, link.name)
        assert.ok(report.ok, `${name}: verify ${link.name}: ${JSON.stringify(report.totals)}`)
      }
    } finally {
      await running.stop()
    }
  }

  // Per datacenter N = PARTITIONS * PER_PARTITION records are produced.
  const N = PARTITIONS * PER_PARTITION

  test('chain dc1 -> dc2 -> dc3: dc3 gets dc1 records through dc2, once', async () => {
    await scenario(
      'chain',
      [
        ['dc1', 'dc2'],
        ['dc2', 'dc3']
      ],
      0
    )
  })

  test('ring dc1 -> dc2 -> dc3 -> dc1: every record once everywhere, none back to its origin', async () => {
    // Each link reads its target's own records back and skips them (origin = target).
    await scenario(
      'ring',
      [
        ['dc1', 'dc2'],
        ['dc2', 'dc3'],
        ['dc3', 'dc1']
      ],
      3 * N
    )
  })

  test('full mesh of six links: every record once everywhere (each link copies only its source own records)', async () => {
    // Each link skips the two other origins its source holds: the target's (loop) and the third (direct link).
    await scenario(
      'mesh',
      [
        ['dc1', 'dc2'],
        ['dc2', 'dc1'],
        ['dc1', 'dc3'],
        ['dc3', 'dc1'],
        ['dc2', 'dc3'],
        ['dc3', 'dc2']
      ],
      6 * 2 * N
    )
  })
})
