import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { Kafka, logLevel } from 'kafkajs'
import { planGroup } from '../../src/core/group-plan.ts'
import {
  WORKER_PROTOCOL,
  WORKER_PROTOCOL_TYPE,
  type WorkerMetadata,
  configDigests,
  decodeWorkerAssignment,
  decodeWorkerMetadata,
  encodeWorkerAssignment,
  encodeWorkerMetadata
} from '../../src/core/worker-metadata.ts'
import { type Joined, WorkerGroup } from '../../src/kafka/worker-group.ts'
import { bootstrapOf } from '../../tools/harness/harness.ts'
import { clusterConnection, uniqueTopic } from '../support/clusters.ts'

/**
 * Scale-out's membership layer against a real broker (issue 16): workers form a group with
 * kafka-dr's own protocol type on the target cluster's coordinator; the leader shares the
 * partitions (core/group-plan.ts); joins and leaves rebalance. The group is checked with kafkajs
 * (an independent client), never only with the code under test.
 */

const partitions = [
  ...Array.from({ length: 12 }, (_, p) => `orders:${p}`),
  ...Array.from({ length: 12 }, (_, p) => `payments:${p}`)
]
const config = configDigests({ name: 'dc1-to-dc2', delivery: 'exactly-once' })
const kafka = new Kafka({ clientId: 'worker-group-test', brokers: [bootstrapOf(2)], logLevel: logLevel.NOTHING })
const admin = kafka.admin()

before(async () => {
  await admin.connect()
})
after(async () => {
  await admin.disconnect()
})

/** A worker: its group membership and what it owns (the metadata it reports at each join). */
function worker(
  groupId: string,
  id: string,
  linkConfig = config,
  timing = { sessionTimeoutMs: 10_000, assignDelayMs: 0 }
) {
  let owned: string[] = []
  const metadata = (): WorkerMetadata => ({
    version: 1,
    worker: id,
    http: null,
    config: linkConfig,
    owned,
    rates: {},
    slot: -1
  })
  const group = new WorkerGroup(clusterConnection(2), {
    groupId,
    instanceId: id,
    protocolType: WORKER_PROTOCOL_TYPE,
    protocol: WORKER_PROTOCOL,
    sessionTimeoutMs: timing.sessionTimeoutMs,
    rebalanceTimeoutMs: 15_000,
    metadata: () => encodeWorkerMetadata(metadata()),
    assign: async (members, generation) => {
      // The engine's leader fences free writer slots here, which can take a while.
      if (timing.assignDelayMs > 0) await new Promise(resolve => setTimeout(resolve, timing.assignDelayMs))
      const plan = planGroup(
        members.map(m => ({ memberId: m.memberId, metadata: decodeWorkerMetadata(m.metadata, m.memberId) })),
        metadata(),
        partitions,
        generation,
        16
      )
      return new Map([...plan.assignments].map(([member, a]) => [member, encodeWorkerAssignment(a)]))
    }
  })
  const join = async (): Promise<Joined & { partitions: string[]; refused: string | null }> => {
    const joined = await group.join()
    const assignment = decodeWorkerAssignment(joined.assignment)
    owned = assignment.partitions
    return { ...joined, partitions: assignment.partitions, refused: assignment.refused }
  }
  return { id, group, join, owned: () => owned }
}

/** Heartbeats until the coordinator says a rebalance started (bounded). */
async function untilRebalance(group: WorkerGroup, boundMs = 20_000): Promise<void> {
  const deadline = Date.now() + boundMs
  while (Date.now() < deadline) {
    if ((await group.heartbeat()) !== 'ok') return
    await new Promise(resolve => setTimeout(resolve, 300))
  }
  assert.fail(`no rebalance within ${boundMs} ms`)
}

type Worker = ReturnType<typeof worker>
type Round = Awaited<ReturnType<Worker['join']>>

/**
 * Joins workers that start at once until they agree on one generation in which every partition is
 * assigned (bounded). The harness sets group.initial.rebalance.delay.ms to 0, so the first joiner may
 * form a generation alone; the coordinator then waits for it to join again, which it does when its
 * heartbeat says a rebalance started (as the engine's heartbeat does). Partitions it owned in that
 * first generation are withheld for one round (core/group-plan.ts), hence a last round together.
 */
async function formGroup(workers: Worker[], boundMs = 45_000): Promise<Round[]> {
  const deadline = Date.now() + boundMs
  const latest = new Map<Worker, Round>()
  const agreed = (): boolean =>
    latest.size === workers.length && new Set([...latest.values()].map(j => j.generation)).size === 1
  const member = async (w: Worker): Promise<void> => {
    latest.set(w, await w.join())
    while (!agreed()) {
      if (Date.now() > deadline) assert.fail(`the workers did not agree on a generation within ${boundMs} ms`)
      if ((await w.group.heartbeat()) !== 'ok') latest.set(w, await w.join())
      else await new Promise(resolve => setTimeout(resolve, 200))
    }
  }
  await Promise.all(workers.map(member))
  const joined = workers.map(w => latest.get(w)!)
  if (joined.flatMap(j => j.partitions).length === partitions.length) return joined
  return (await settle(workers)).joined
}

/**
 * Joins until no member gives partitions up (incremental cooperative rounds, core/group-plan.ts): a
 * member whose new assignment lacks partitions it owned stops them and joins again, and so do the
 * others (here all at once). Returns the last round, and how many rounds it took.
 */
async function settle(workers: Worker[]): Promise<{ joined: Awaited<ReturnType<Worker['join']>>[]; rounds: number }> {
  for (let round = 1; round <= 3; round++) {
    const before = workers.map(w => w.owned())
    const joined = await Promise.all(workers.map(w => w.join()))
    const gaveUp = joined.some((j, i) => before[i]!.some(p => !j.partitions.includes(p)))
    if (!gaveUp) return { joined, rounds: round }
  }
  return assert.fail('the group did not settle in 3 rounds')
}

test("three workers share 2 topics x 12 partitions; a fourth joining takes a quarter; a leaver's partitions go to the others", async () => {
  const groupId = uniqueTopic('kdr.workers')
  const workers = ['w1', 'w2', 'w3', 'w4'].map(id => worker(groupId, id))
  const fourth = workers.pop()!
  try {
    const first = await formGroup(workers)
    assert.equal(new Set(first.map(j => j.generation)).size, 1, 'one generation')
    assert.equal(first.filter(j => j.isLeader).length, 1, 'one leader')
    assert.deepEqual(
      first.map(j => j.partitions.length),
      [8, 8, 8]
    )
    assert.deepEqual(first.flatMap(j => j.partitions).sort(), [...partitions].sort(), 'every partition exactly once')

    // Independent view: kafkajs describes the group.
    const described = (await admin.describeGroups([groupId])).groups[0]!
    assert.equal(described.protocolType, WORKER_PROTOCOL_TYPE)
    assert.equal(described.protocol, WORKER_PROTOCOL)
    assert.equal(described.state, 'Stable')
    assert.equal(described.members.length, 3)

    // A fourth worker: the others learn of the rebalance by heartbeat. A partition moves only after
    // its owner gave it up: a first round withholds what moves, a second one hands it over.
    const joining = fourth.join()
    await Promise.all(workers.map(w => untilRebalance(w.group)))
    const during = await Promise.all([...workers.map(w => w.join()), joining])
    assert.deepEqual(during[3]!.partitions, [], 'nothing another worker still copies goes to w4 at once')
    const handedOver = await settle([...workers, fourth])
    assert.equal(handedOver.rounds, 1, 'one more round hands the released partitions over')
    const second = handedOver.joined
    assert.deepEqual(
      second.map(j => j.partitions.length),
      [6, 6, 6, 6]
    )
    workers.forEach((w, i) => {
      const before = new Set(first[i]!.partitions)
      assert.ok(
        second[i]!.partitions.every(p => before.has(p)),
        `${w.id} kept only partitions it had`
      )
    })
    assert.deepEqual(second.flatMap(j => j.partitions).sort(), [...partitions].sort())

    // w2 leaves: its 6 partitions go to the others, nothing else moves.
    const leaving = second[1]!.partitions
    await workers[1]!.group.leave('test: w2 leaves')
    const stay = [workers[0]!, workers[2]!, fourth]
    await Promise.all(stay.map(w => untilRebalance(w.group)))
    const third = await Promise.all(stay.map(w => w.join()))
    assert.deepEqual(
      third.map(j => j.partitions.length),
      [8, 8, 8]
    )
    const gained = third.flatMap((j, i) => j.partitions.filter(p => !second[[0, 2, 3][i]!]!.partitions.includes(p)))
    assert.deepEqual(gained.sort(), [...leaving].sort(), "exactly the leaver's partitions moved")
    assert.equal((await admin.describeGroups([groupId])).groups[0]!.members.length, 3)
  } finally {
    await Promise.allSettled([...workers, fourth].map(w => w.group.close()))
  }
})

test('a worker whose link configuration differs gets nothing and the keys that differ', async () => {
  const groupId = uniqueTopic('kdr.workers')
  const a = worker(groupId, 'a')
  const b = worker(groupId, 'b', configDigests({ name: 'dc1-to-dc2', delivery: 'at-least-once' }))
  try {
    const [ja, jb] = await Promise.all([a.join(), b.join()])
    const refused = ja.isLeader ? jb : ja
    const kept = ja.isLeader ? ja : jb
    assert.match(refused.refused ?? '', /differs from the group leader's \(worker [ab]\) in delivery/)
    assert.deepEqual(refused.partitions, [])
    assert.equal(kept.partitions.length, partitions.length)
  } finally {
    await Promise.allSettled([a.group.close(), b.group.close()])
  }
})

test('a leader whose assignment takes longer than the session timeout keeps the group: heartbeats go on until SyncGroup', async () => {
  const groupId = uniqueTopic('kdr.workers.slow')
  // 6 s is the brokers' smallest session timeout (group.min.session.timeout.ms); the leader takes 9 s.
  const timing = { sessionTimeoutMs: 6000, assignDelayMs: 9000 }
  const members = ['s1', 's2'].map(id => worker(groupId, id, config, timing))
  try {
    const first = await formGroup(members)
    assert.equal(new Set(first.map(j => j.generation)).size, 1)
    const generation = first[0]!.generation
    assert.deepEqual(
      first.map(j => j.partitions.length),
      [12, 12]
    )
    // Nobody was expelled meanwhile: the same generation still stands.
    for (const m of members) assert.equal(await m.group.heartbeat(), 'ok', `${m.id} is still a member`)
    assert.equal((await admin.describeGroups([groupId])).groups[0]!.members.length, 2)
    assert.equal(members[0]!.group.generation, generation)
  } finally {
    await Promise.allSettled(members.map(m => m.group.close()))
  }
})
