/**
 * shutdown() of a consumer with slow listener calls in flight, in a process of its own: the calls finish, what
 * they acknowledged is committed (the group's next member starts right after it and gets nothing again), and
 * the process then exits by itself.
 */
import test from 'ava'

import { Admin, Producer } from '../index'
import { committedOffsets } from './helpers/broker-offsets'
import { sendInChunks } from './helpers/bulk-send'
import { BROKERS, NAMESRV_ADDR, createTestTopic, uniqueName } from './helpers/cluster'
import { ConsumerProcess, Ledger, startWorkers, waitUntil } from './helpers/consumer-process'

const admin = new Admin({ namesrvAddr: NAMESRV_ADDR })
test.after.always(() => admin.close())

const MESSAGES = 3000
/** Each listener call takes this long: twenty of them are always running when shutdown() is called, and the
 * member is busy enough (about 400 messages a second) for its pull batches to pile up behind the listener. */
const SLOW_LISTENER_MS = 50

test('shutdown() lets slow listener calls finish, commits what they acknowledged, and the process exits by itself', async (t) => {
  t.timeout(120_000)
  const topic = await createTestTopic(admin, 'shutdown')
  const group = uniqueName('shutdown')
  const producer = new Producer({ namesrvAddr: NAMESRV_ADDR, producerGroup: uniqueName('shutdown_producer') })
  await producer.start()
  t.teardown(() => producer.shutdown())
  const sent = await sendInChunks(producer, topic, MESSAGES, 'shutdown')
  t.is(sent.failed, 0, `sends failed: ${String(sent.firstError)}`)

  const ledger = new Ledger()
  // The default persist interval (5 s) is longer than this member lives: what the broker holds afterwards is
  // what shutdown() committed.
  const slow = new ConsumerProcess(t, 'slow', { topic, group, listenerDelayMs: SLOW_LISTENER_MS }, ledger)
  await startWorkers([slow])
  await waitUntil('the slow member to consume a little', () => slow.consumed.length >= 1000, [slow])
  slow.terminate()
  // A guard against a process kept alive by the consumer, not a performance bound.
  await waitUntil('the slow member to exit after shutdown()', () => !slow.alive, [], 60_000)
  t.deepEqual(slow.exit, { code: 0, signal: null }, `it did not exit cleanly:\n${slow.stderrTail}`)
  t.true((slow.runningAtStop ?? 0) > 0, 'no listener call was running when shutdown() was called; the test proves nothing')
  t.is(slow.stopped?.running, 0, 'shutdown() resolved with listener calls still running')
  t.is(slow.stopped?.begun, slow.stopped?.finished, 'a listener call begun did not finish')
  t.true(slow.consumed.length < MESSAGES, 'everything was consumed before shutdown(); the test proves nothing')

  // What the broker holds is exactly what the member consumed: per queue, every offset below the committed one
  // and none above it (so the commit is neither stale nor ahead of the acknowledgements).
  const committed = await committedOffsets(admin, group, topic, BROKERS)
  const consumedBy = new Map<string, number[]>()
  for (const entry of slow.consumed) {
    consumedBy.set(entry.queue, [...(consumedBy.get(entry.queue) ?? []), entry.offset])
  }
  const mismatched = [...committed]
    .map(([queue, offset]) => {
      const offsets = (consumedBy.get(queue) ?? []).sort((x, y) => x - y)
      const prefix = offsets.every((o, i) => o === i) ? offsets.length : -1
      return prefix === Math.max(offset, 0) ? '' : `${queue}: committed ${offset}, consumed ${describe(offsets)}`
    })
    .filter((line) => line !== '')
  t.deepEqual(mismatched, [], 'the committed offsets are not the end of what was acknowledged')

  // The next member starts right after it: nothing acknowledged comes again, nothing is missing.
  const next = new ConsumerProcess(t, 'next', { topic, group }, ledger)
  await startWorkers([next])
  await waitUntil('every message to be consumed', () => sent.results.every((r) => ledger.has(r.msgId)), [next])
  const again = next.consumed.filter((entry) => slow.consumed.some((s) => s.msgId === entry.msgId))
  t.deepEqual(
    again.slice(0, 10).map((e) => `${e.queue}@${e.offset}`),
    [],
    `${again.length} messages the first member acknowledged were delivered again`,
  )
  t.is(ledger.entries.length, MESSAGES)
  next.terminate()
  await waitUntil('the next member to exit', () => !next.alive, [], 60_000)
})

/** Offsets as runs, `0-41, 43, 45-50`, for failure messages. */
function describe(offsets: readonly number[]): string {
  const runs: string[] = []
  for (let i = 0; i < offsets.length; ) {
    let j = i
    while (j + 1 < offsets.length && offsets[j + 1] === (offsets[j] as number) + 1) {
      j += 1
    }
    runs.push(i === j ? `${offsets[i]}` : `${offsets[i]}-${offsets[j]}`)
    i = j + 1
  }
  return runs.length === 0 ? 'nothing' : runs.join(', ')
}
