/**
 * A consumer process killed with SIGKILL mid-stream and started again with the same instanceName (so the
 * same client id): nothing is lost, the new process starts exactly at the offsets the broker had committed,
 * and what comes twice is bounded by one persist interval of the killed process's work.
 */
import test from 'ava'

import { Admin, Producer } from '../index'
import { committedOffsets } from './helpers/broker-offsets'
import { BackgroundFlow, sendInChunks } from './helpers/bulk-send'
import { BROKERS, NAMESRV_ADDR, createTestTopic, uniqueName } from './helpers/cluster'
import { ConsumerProcess, Ledger, startWorkers, waitUntil } from './helpers/consumer-process'

const admin = new Admin({ namesrvAddr: NAMESRV_ADDR })
test.after.always(() => admin.close())

const PERSIST_INTERVAL_MS = 1000
/** Each listener call takes this long, so the member consumes slower than the producer sends. */
const LISTENER_DELAY_MS = 10

test('a member SIGKILLed mid-stream and restarted loses nothing and repeats only its uncommitted work (at most two persist intervals of it)', async (t) => {
  t.timeout(120_000)
  const topic = await createTestTopic(admin, 'kill')
  const group = uniqueName('kill')
  const instanceName = uniqueName('kill_instance')
  const producer = new Producer({ namesrvAddr: NAMESRV_ADDR, producerGroup: uniqueName('kill_producer') })
  await producer.start()
  t.teardown(() => producer.shutdown())
  const ledger = new Ledger()
  const worker = (name: string): ConsumerProcess =>
    new ConsumerProcess(t, name, { topic, group, instanceName, persistIntervalMs: PERSIST_INTERVAL_MS, listenerDelayMs: LISTENER_DELAY_MS }, ledger)

  // A backlog and a flow on top, for a listener slower than the producer: the member is busy when it is killed,
  // with listener calls running and pulled messages waiting.
  const backlog = await sendInChunks(producer, topic, 14_000, 'backlog')
  t.is(backlog.failed, 0, `sends failed: ${String(backlog.firstError)}`)
  const flow = new BackgroundFlow(producer, topic, 'kill', 200, 200)
  t.teardown(() => flow.stop())
  const first = worker('first')
  await startWorkers([first])
  // Many persist intervals of consumption (about 1,500 messages a second), so the kill falls between two
  // persists of a member in full swing, and the last two intervals are a small part of its work.
  await waitUntil('the first member to consume for a while', () => first.consumed.length >= 8000, [first])
  const killedAt = Date.now()
  await first.kill()
  t.is(first.exit?.signal, 'SIGKILL')
  // Nothing writes this group's offsets now: this is where a member taking over must start.
  const committed = await committedOffsets(admin, group, topic, BROKERS)

  const second = worker('second')
  await startWorkers([second])
  t.is(second.clientId, first.clientId, 'the same instanceName should give the same client id')
  await waitUntil('the second member to consume for a while', () => second.consumed.length >= 2000, [second])
  const flowed = await flow.stop()
  t.is(flowed.failed, 0, `sends failed: ${String(flowed.firstError)}`)
  const sent = { results: [...backlog.results, ...flowed.results] }
  await waitUntil('every message to be consumed', () => sent.results.every((r) => ledger.has(r.msgId)), [second], 90_000)

  // Nothing lost.
  t.deepEqual(
    sent.results.filter((r) => !ledger.has(r.msgId)).map((r) => r.msgId),
    [],
  )

  // The second member starts each queue exactly at the committed offset (from the first offset where the first
  // member never committed).
  const starts = new Map<string, number>()
  for (const entry of second.consumed) {
    starts.set(entry.queue, Math.min(starts.get(entry.queue) ?? Infinity, entry.offset))
  }
  const wrongStarts = [...committed]
    .filter(([queue, offset]) => starts.get(queue) !== Math.max(offset, 0))
    .map(([queue, offset]) => `${queue}: committed ${offset}, restarted at ${starts.get(queue)}`)
  t.deepEqual(wrongStarts, [], 'the restarted member did not start at the committed offsets')

  // So what comes twice is exactly what the first member consumed at or above those offsets: work it had not
  // committed yet. The commit is persisted every PERSIST_INTERVAL_MS and holds back only for the listener calls
  // in flight at that moment, so that work is at most what the first member consumed during its last persist
  // interval before the kill, plus the calls in flight. The window below is two intervals: one for the
  // interval, one for a persist's own duration and a timer late on a busy machine.
  const duplicates = ledger.duplicates()
  const uncommitted = first.consumed.filter((e) => e.offset >= (committed.get(e.queue) ?? -1))
  t.is(duplicates.size, uncommitted.length, 'duplicates other than the uncommitted work of the killed member')
  t.true(
    [...duplicates.values()].every((entries) => entries.map((e) => e.worker).join() === 'first,second'),
    'a message was consumed twice by one member',
  )
  const lastWindow = first.consumed.filter((e) => e.at > killedAt - 2 * PERSIST_INTERVAL_MS).length
  t.log(
    `first consumed ${first.consumed.length}, ${lastWindow} in the last ${2 * PERSIST_INTERVAL_MS} ms before the kill; ` +
      `${duplicates.size} consumed again; ${sent.results.length} sent`,
  )
  // For a failure message: per queue, when the first member's own commit passed the offset the broker held
  // (it had consumed everything up to it), i.e. how long before the kill the broker's copy stopped following.
  const lag = [...committed].map(([queue, offset]) => {
    const mine = first.consumed.filter((e) => e.queue === queue)
    const upTo = mine.filter((e) => e.offset <= offset)
    const passedAt = upTo.length === offset + 1 ? Math.max(...upTo.map((e) => e.at)) : undefined
    const above = mine.filter((e) => e.offset >= offset).length
    return `${queue}: committed ${offset}, ${above} consumed at or above it; the member's commit passed it ${
      passedAt === undefined ? 'never' : `${killedAt - passedAt} ms before the kill`
    }`
  })
  if (process.env.KILL_DEBUG) t.log(lag.join('\n'))
  t.true(
    duplicates.size <= lastWindow,
    `${duplicates.size} consumed again, more than the ${lastWindow} consumed in the last two persist intervals before the kill:\n${lag.join('\n')}\nstderr of the first member:\n${first.stderrTail}`,
  )
})
