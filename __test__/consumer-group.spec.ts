/**
 * A consumer group of several processes (fixtures/consumer-worker.ts) on one topic of 8 queues per broker:
 * the queues are shared as AVG says, a steady group consumes every message once, and members joining and
 * leaving mid-stream lose nothing and repeat only messages of queues that changed hands, from the broker's
 * committed offset on.
 */
import test from 'ava'

import { Admin, Producer } from '../index'
import { allocateAveragely, type QueueRef } from './helpers/allocate'
import { committedOffsets } from './helpers/broker-offsets'
import { BackgroundFlow, sendInChunks } from './helpers/bulk-send'
import { BROKERS, NAMESRV_ADDR, QUEUES_PER_BROKER, createTestTopic, uniqueName } from './helpers/cluster'
import { type Consumption, ConsumerProcess, Ledger, startWorkers, waitUntil } from './helpers/consumer-process'

const admin = new Admin({ namesrvAddr: NAMESRV_ADDR })
test.after.always(() => admin.close())

const ALL_QUEUES: QueueRef[] = BROKERS.flatMap((brokerName) =>
  Array.from({ length: QUEUES_PER_BROKER }, (_, queueId) => ({ brokerName, queueId })),
)
const STEADY_MESSAGES = 50_000
/** Short, so that the broker's committed offsets follow the members closely. */
const PERSIST_INTERVAL_MS = 1000

/** Whether every worker holds exactly the queues AVG gives it among `members`. */
function holdsAvg(members: readonly ConsumerProcess[]): boolean {
  const expected = allocateAveragely(
    ALL_QUEUES,
    members.map((m) => m.clientId ?? ''),
  )
  return members.every((m) => {
    const want = [...(expected.get(m.clientId ?? '') ?? [])].sort()
    return want.length === m.queues.length && want.every((q, i) => q === m.queues[i])
  })
}

function assignment(members: readonly ConsumerProcess[]): string {
  return members.map((m) => `${m.name} (${m.clientId}): ${m.queues.join(' ')}`).join('\n')
}

test('three processes share the queues as AVG says and consume 50,000 messages once; a fourth joins and one leaves mid-stream without losing any', async (t) => {
  t.timeout(180_000)
  const began = Date.now()
  const phases: string[] = []
  const phase = (name: string): void => {
    phases.push(`${name} ${((Date.now() - began) / 1000).toFixed(1)}s`)
  }
  const topic = await createTestTopic(admin, 'group_avg')
  const group = uniqueName('group_avg')
  const producer = new Producer({ namesrvAddr: NAMESRV_ADDR, producerGroup: uniqueName('group_avg_producer') })
  await producer.start()
  t.teardown(() => producer.shutdown())
  const ledger = new Ledger()
  const worker = (name: string): ConsumerProcess =>
    new ConsumerProcess(t, name, { topic, group, persistIntervalMs: PERSIST_INTERVAL_MS }, ledger)

  // --- steady state: three members, each holding its AVG share before anything is sent ---------------------
  const [a, b, c] = [worker('A'), worker('B'), worker('C')] as const
  await startWorkers([a, b, c])
  await waitUntil('the three members to hold their AVG queues', () => holdsAvg([a, b, c]), [a, b, c])
  phase('three hold AVG')
  t.log(`AVG among three:\n${assignment([a, b, c])}`)
  const steady = await sendInChunks(producer, topic, STEADY_MESSAGES, 'steady')
  phase('50,000 sent')
  t.is(steady.failed, 0, `sends failed: ${String(steady.firstError)}`)
  await waitUntil('the 50,000 messages to be consumed', () => ledger.distinct >= STEADY_MESSAGES, [a, b, c], 120_000)
  phase('50,000 consumed')
  t.true(holdsAvg([a, b, c]), `the assignment moved in steady state:\n${assignment([a, b, c])}`)
  t.is(ledger.entries.length, STEADY_MESSAGES, 'a message was consumed twice in steady state')
  t.deepEqual(
    steady.results.filter((r) => !ledger.has(r.msgId)).map((r) => r.msgId),
    [],
    'messages were not consumed',
  )
  for (const member of [a, b, c]) {
    const foreign = member.consumed.filter((entry) => !member.queues.includes(entry.queue))
    t.deepEqual(foreign.slice(0, 5), [], `${member.name} consumed from queues it does not hold`)
  }

  // --- a fourth joins and one leaves while messages keep coming ---------------------------------------------
  const flow = new BackgroundFlow(producer, topic, 'moving')
  t.teardown(() => flow.stop())
  await waitUntil('the flow to be consumed for a while', () => ledger.distinct >= STEADY_MESSAGES + 2000, [a, b, c])
  // Every member that takes a queue over starts at the broker's committed offset of that moment, which is at
  // least this one: offsets only grow. So a message consumed twice must lie at or above it.
  const committedBeforeChanges = await committedOffsets(admin, group, topic, BROKERS)
  const consumedAtJoin = ledger.distinct

  phase('2,000 more consumed')
  const d = worker('D')
  await startWorkers([d])
  await waitUntil('the four members to hold their AVG queues', () => holdsAvg([a, b, c, d]), [a, b, c, d])
  phase('four hold AVG')
  t.log(`AVG among four:\n${assignment([a, b, c, d])}`)
  await waitUntil('the four to consume for a while', () => ledger.distinct >= consumedAtJoin + 2000, [a, b, c, d])

  phase('four consumed 2,000')
  const leftAt = Date.now()
  c.terminate()
  await waitUntil('C to shut down and exit', () => !c.alive, [a, b, d], 60_000)
  phase('C exited')
  t.deepEqual(c.exit, { code: 0, signal: null }, `C did not exit cleanly: ${c.stderrTail}`)
  t.is(c.stopped?.running, 0, 'C shut down with listener calls still running')
  await waitUntil('the three remaining to hold their AVG queues', () => holdsAvg([a, b, d]), [a, b, d])
  phase('remaining three hold AVG')
  t.log(`AVG among the remaining three:\n${assignment([a, b, d])}`)
  const consumedAfterLeave = ledger.distinct
  await waitUntil('the three to consume for a while', () => ledger.distinct >= consumedAfterLeave + 2000, [a, b, d])

  phase('three consumed 2,000')
  const moving = await flow.stop()
  t.is(moving.failed, 0, `sends failed: ${String(moving.firstError)}`)
  const total = STEADY_MESSAGES + moving.results.length
  await waitUntil('every message to be consumed', () => ledger.distinct >= total, [a, b, d], 60_000)

  phase('all consumed')
  // Nothing lost.
  t.deepEqual(
    moving.results.filter((r) => !ledger.has(r.msgId)).map((r) => r.msgId),
    [],
    'messages sent while members joined and left were not consumed',
  )

  // Duplicates only around the handovers: a message consumed again was consumed by another member in between, in a
  // queue that changed hands, at or above the offset the broker had committed before the changes began; and a
  // member that left by shutdown() handed its queues over at its final commit, so nothing it consumed came again
  // after it left.
  const members = [a, b, c, d]
  const owners = (queue: string): string[] => members.filter((m) => m.everHeld.has(queue)).map((m) => m.name)
  const duplicates = ledger.duplicates()
  const misplaced: string[] = []
  const repeatedAfterLeave: Consumption[] = []
  const perQueue = new Map<string, { count: number; committed: number; lowest: number; highest: number }>()
  for (const [msgId, entries] of duplicates) {
    const first = entries[0] as Consumption
    const workers = entries.map((e) => e.worker)
    const committed = committedBeforeChanges.get(first.queue) ?? -1
    const seen = perQueue.get(first.queue) ?? { count: 0, committed, lowest: first.offset, highest: first.offset }
    perQueue.set(first.queue, {
      count: seen.count + entries.length - 1,
      committed,
      lowest: Math.min(seen.lowest, first.offset),
      highest: Math.max(seen.highest, first.offset),
    })
    // A queue can come back to a member (A gives it to a joining D, takes it back when C leaves), so A,B,A is a
    // double handover; a member consuming a message twice in a row (A,A) is not.
    if (workers.some((worker, i) => i > 0 && workers[i - 1] === worker)) {
      misplaced.push(`${msgId} (${first.queue}@${first.offset}) consumed twice in a row by one member: ${workers.join(',')}`)
    } else if (owners(first.queue).length < 2) {
      misplaced.push(`${msgId} (${first.queue}@${first.offset}) in a queue only ${owners(first.queue).join(',')} held`)
    } else if (first.offset < committed) {
      misplaced.push(`${msgId} (${first.queue}@${first.offset}) below the committed offset ${committed}`)
    }
    if (workers.includes('C')) {
      repeatedAfterLeave.push(...entries.filter((e) => e.worker !== 'C' && e.at > leftAt))
    }
  }
  const summary = [...perQueue].map(([q, s]) => `${q}: ${s.count} at ${s.lowest}..${s.highest} (committed before: ${s.committed})`)
  t.log(`${moving.results.length} messages sent during the changes; ${duplicates.size} consumed twice:\n${summary.join('\n')}`)
  t.log(`phases: ${phases.join(', ')}`)
  t.deepEqual(misplaced.slice(0, 10), [], `${misplaced.length} duplicates outside a handover`)
  t.deepEqual(repeatedAfterLeave.slice(0, 10), [], `${repeatedAfterLeave.length} messages C consumed came again after C left`)
})
