/**
 * Orderly consumption (a MessageListenerOrderly) against the real cluster: per-queue order with members joining
 * and leaving mid-stream (in this process, and as separate processes) and never two calls on one queue at once; a suspended message comes again in place,
 * before anything after it; shutdown unlocks the queues, so the next member takes them at once. Each test has its
 * own topic and group. Order is checked by queue offset, which is what orderly consumption promises per queue
 * (ordered sending, which puts one key's messages on one queue, is the producer's part).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import test, { type ExecutionContext } from 'ava'

import {
  Admin,
  ConsumeFromWhere,
  type ConsumeOrderlyContext,
  ConsumeResult,
  type ConsumedMessage,
  Consumer,
  type ConsumerConfig,
  MessageListenerOrderly,
  MessageModel,
  SubscriptionManager,
} from '../index'
import { BROKERS, NAMESRV_ADDR, QUEUES_PER_BROKER, createTestTopic, maxOffsets, queueKey, uniqueName } from './helpers/cluster'
import { committedOffsets } from './helpers/broker-offsets'
import { JavaProcess } from './helpers/java'
import { produce, sleep, startedProducer, waitFor } from './helpers/consumer'
import { ConsumerProcess, Ledger as ProcessLedger, startWorkers, waitUntil } from './helpers/consumer-process'

const admin = new Admin({ namesrvAddr: NAMESRV_ADDR })
test.after.always(() => admin.close())

const QUEUE_COUNT = BROKERS.length * QUEUES_PER_BROKER

/** One delivery: who got it, from which queue, at which offset, and how often it had been consumed before. */
interface Delivery {
  member: string
  queue: string
  offset: number
  body: string
  reconsumeTimes: number
}

/** What every member of a test shares: deliveries in arrival order, the calls running per queue, overlaps seen. */
class Ledger {
  readonly deliveries: Delivery[] = []
  readonly running = new Map<string, string>()
  readonly overlaps: string[] = []
  /** Every call: its queue and when it began and ended (ms since the epoch). */
  readonly calls: Array<{ member: string; queue: string; begun: number; ended: number }> = []

  /** Offsets delivered per queue, first deliveries only. */
  delivered(): Map<string, Set<number>> {
    const byQueue = new Map<string, Set<number>>()
    for (const d of this.deliveries) {
      const set = byQueue.get(d.queue) ?? new Set<number>()
      set.add(d.offset)
      byQueue.set(d.queue, set)
    }
    return byQueue
  }
}

type Verdict = (message: ConsumedMessage, context: ConsumeOrderlyContext) => ConsumeResult | undefined

/** Records each call's start and end per queue (an overlap is any call starting while one of its queue runs). */
class RecordingOrderly extends MessageListenerOrderly {
  constructor(
    readonly member: string,
    readonly ledger: Ledger,
    readonly verdict: Verdict = () => undefined,
    readonly options: { pauseMs?: number } = {},
  ) {
    super()
  }

  async consumeMessage(messages: ConsumedMessage[], context: ConsumeOrderlyContext): Promise<ConsumeResult | undefined> {
    const queue = queueKey(context.messageQueue.brokerName, context.messageQueue.queueId)
    const busy = this.ledger.running.get(queue)
    if (busy !== undefined) {
      this.ledger.overlaps.push(`${this.member} began ${queue} while ${busy} ran it`)
    }
    this.ledger.running.set(queue, this.member)
    const begun = Date.now()
    try {
      let result: ConsumeResult | undefined
      for (const message of messages) {
        this.ledger.deliveries.push({
          member: this.member,
          queue,
          offset: Number(message.queueOffset),
          body: message.body.toString(),
          reconsumeTimes: message.reconsumeTimes,
        })
        result ??= this.verdict(message, context)
      }
      // A turn of the event loop inside the call, so that another member's call on the queue could interleave.
      await sleep(this.options.pauseMs ?? Math.floor(Math.random() * 3))
      return result
    } finally {
      this.ledger.running.delete(queue)
      this.ledger.calls.push({ member: this.member, queue, begun, ended: Date.now() })
    }
  }
}

async function orderlyMember(
  t: ExecutionContext,
  topic: string,
  config: Partial<ConsumerConfig> & { consumerGroup: string },
  listener: MessageListenerOrderly,
): Promise<Consumer> {
  const subscriptions = new SubscriptionManager()
  subscriptions.subscribe(topic)
  const consumer = new Consumer({
    config: { namesrvAddr: NAMESRV_ADDR, consumeFromWhere: ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET, ...config },
    subscriptionManager: subscriptions,
    messageListener: listener,
    onListenerError: () => undefined,
  })
  await consumer.start()
  t.teardown(() => consumer.shutdown())
  return consumer
}

/**
 * Per queue, the offsets in delivery order never skip ahead: each is at most one past the highest delivered
 * before it (a redelivery after a handover may repeat a stretch, never leave a gap). Returns the first breach.
 */
function firstSkip(deliveries: readonly Delivery[], startOf: (queue: string) => number): string | undefined {
  const highest = new Map<string, number>()
  for (const d of deliveries) {
    const top = highest.get(d.queue) ?? startOf(d.queue) - 1
    if (d.offset > top + 1) {
      return `${d.queue}: offset ${d.offset} delivered (to ${d.member}) while the highest before it was ${top}`
    }
    highest.set(d.queue, Math.max(top, d.offset))
  }
  return undefined
}

/** Whether every offset below each queue's max offset was delivered. */
function allDelivered(ledger: Ledger, max: ReadonlyMap<string, number>): boolean {
  const delivered = ledger.delivered()
  for (const [queue, end] of max) {
    if ((delivered.get(queue)?.size ?? 0) < end) {
      return false
    }
  }
  return true
}

test('orderly members joining and leaving mid-stream consume each queue in offset order, one call at a time', async (t) => {
  const topic = await createTestTopic(admin, 'orderly_members')
  const group = uniqueName('orderly_members')
  const producer = await startedProducer(t)
  const ledger = new Ledger()
  const send = (from: number, count: number): Promise<void> =>
    produce(producer, count, (i) => ({ topic, body: `m-${from + i}` }))
  const config = { consumerGroup: group, consumeMessageBatchMaxSize: 3, consumeThreadNum: 8 }
  const slow = { pauseMs: 15 }

  const member = (name: string): Promise<Consumer> =>
    orderlyMember(t, topic, { ...config, instanceName: uniqueName(name) }, new RecordingOrderly(name, ledger, undefined, slow))
  // A backlog first, consumed slowly, so that each join and the leave move queues whose calls are running.
  await send(0, 2000)
  const first = await member('first')
  t.true(await waitFor(() => ledger.deliveries.length >= 300))
  await member('second')
  t.true(await waitFor(() => ledger.deliveries.length >= 800))
  await member('third')
  t.true(await waitFor(() => ledger.deliveries.length >= 1300))
  // The first leaves mid-stream: its queues move to the others.
  await first.shutdown()

  const max = await maxOffsets(admin, topic)
  t.is([...max.values()].reduce((a, b) => a + b, 0), 2000)
  t.true(await waitFor(() => allDelivered(ledger, max), 90_000), 'every message is delivered')
  t.deepEqual(ledger.overlaps, [], 'no queue had two calls at once')
  t.is(firstSkip(ledger.deliveries, () => 0), undefined)
  const members = new Set(ledger.deliveries.map((d) => d.member))
  t.deepEqual([...members].sort(), ['first', 'second', 'third'], 'every member consumed')
  // The messages that came again are few: a handover repeats at most what was not committed yet.
  const bodies = new Set(ledger.deliveries.map((d) => d.body))
  t.is(bodies.size, 2000)
})

test('a message suspended three times comes again in place: it and everything after it in its queue arrive in order', async (t) => {
  const topic = await createTestTopic(admin, 'orderly_suspend')
  const producer = await startedProducer(t)
  await produce(producer, 64, (i) => ({ topic, body: `s-${i}` }))
  const ledger = new Ledger()
  const target = 's-20'
  let suspended = 0
  await orderlyMember(
    t,
    topic,
    { consumerGroup: uniqueName('orderly_suspend') },
    new RecordingOrderly('only', ledger, (message, context) => {
      if (message.body.toString() === target && suspended < 3) {
        suspended += 1
        context.suspendCurrentQueueTimeMillis = 100
        return ConsumeResult.SUSPEND_CURRENT_QUEUE_A_MOMENT
      }
      return ConsumeResult.SUCCESS
    }),
  )
  const max = await maxOffsets(admin, topic)
  // The target may be the last of its queue: wait for its success too.
  t.true(
    await waitFor(() => allDelivered(ledger, max) && suspended === 3 && ledger.deliveries.filter((d) => d.body === target).length >= 4),
    'every message is delivered, the target until it succeeded',
  )

  const targetDeliveries = ledger.deliveries.filter((d) => d.body === target)
  t.deepEqual(
    targetDeliveries.map((d) => d.reconsumeTimes),
    [0, 1, 2, 3],
    'three suspends, then the success; counted locally',
  )
  const { queue, offset } = targetDeliveries[0] as Delivery
  const inQueue = ledger.deliveries.filter((d) => d.queue === queue)
  // After the first delivery of the target, its queue delivers only the target until the target succeeded, then
  // the offsets after it, each once and in order.
  const firstIndex = inQueue.findIndex((d) => d.body === target)
  const after = inQueue.slice(firstIndex)
  t.deepEqual(
    after.slice(0, 4).map((d) => d.body),
    [target, target, target, target],
  )
  const rest = after.slice(4).map((d) => d.offset)
  const expected = Array.from({ length: (max.get(queue) ?? 0) - offset - 1 }, (_, i) => offset + 1 + i)
  t.deepEqual(rest, expected)
  t.deepEqual(ledger.overlaps, [])
})

test('shutdown unlocks the queues: the next member of the group takes all of them at once', async (t) => {
  const topic = await createTestTopic(admin, 'orderly_unlock')
  const group = uniqueName('orderly_unlock')
  const ledger = new Ledger()
  // Distinct client ids: a broker lock is granted again to the client id that holds it.
  const before = await orderlyMember(
    t,
    topic,
    { consumerGroup: group, instanceName: uniqueName('before') },
    new RecordingOrderly('before', ledger),
  )
  const holds = async (consumer: Consumer): Promise<number> =>
    (await consumer.assignedQueues()).filter((q) => q.topic === topic).length
  let held = 0
  t.true(
    await waitFor(() => {
      void holds(before).then((n) => (held = n))
      return held === QUEUE_COUNT
    }),
    'the first member holds (so has locked) every queue',
  )
  await before.shutdown()

  const after = await orderlyMember(
    t,
    topic,
    { consumerGroup: group, instanceName: uniqueName('after') },
    new RecordingOrderly('after', ledger),
  )
  held = 0
  // A queue is added only once its broker lock is granted. Without the unlock at shutdown the brokers would refuse
  // every lock until theirs expired, 60 s after the first member's last renewal; the wait's bound is below that.
  t.true(
    await waitFor(() => {
      void holds(after).then((n) => (held = n))
      return held === QUEUE_COUNT
    }, 30_000),
    `the next member holds every queue (held ${held})`,
  )
})

test('orderly members in separate processes, one joining and one leaving mid-stream: per-queue order, nothing lost, no two at once', async (t) => {
  const topic = await createTestTopic(admin, 'orderly_procs')
  const group = uniqueName('orderly_procs')
  const producer = await startedProducer(t)
  const total = 3000
  await produce(producer, total, (i) => ({ topic, body: `p-${i}` }))
  const ledger = new ProcessLedger()
  const worker = (name: string): ConsumerProcess =>
    new ConsumerProcess(t, name, { topic, group, orderly: true, listenerDelayMs: 10, consumeThreads: 4 }, ledger)
  const one = worker('one')
  const two = worker('two')
  await startWorkers([one, two])
  await waitUntil('a first part consumed', () => ledger.distinct >= 600, [one, two])
  const three = worker('three')
  await startWorkers([three])
  await waitUntil('the third consuming', () => three.consumed.length > 0, [one, two, three])
  one.terminate()
  await one.exited
  await waitUntil('every message consumed', () => ledger.distinct === total, [two, three], 120_000)

  // Calls of one queue in different processes never overlap in time (same machine, same clock): the next owner
  // begins only after the previous one ended.
  t.deepEqual(ledger.crossWorkerOverlaps(), [])
  // Per queue, in the order the calls ran (they do not overlap, above), the offsets never skip ahead: each owner
  // starts where the previous one committed.
  const inOrder = [...ledger.entries].sort((a, b) => a.begunAt - b.begunAt || a.at - b.at || a.offset - b.offset)
  const highest = new Map<string, number>()
  for (const e of inOrder) {
    const top = highest.get(e.queue) ?? -1
    if (e.offset > top + 1) {
      t.fail(`${e.worker} began ${e.queue} at ${e.offset} while the highest consumed before was ${top}`)
    }
    highest.set(e.queue, Math.max(top, e.offset))
  }
  t.is(one.stopped?.running, 0)
  t.true([one, two, three].every((w) => w.consumed.length > 0), 'every member consumed')
})

/** Messages in `%DLQ%<group>` (0 while the broker has not made it). */
async function dlqTotal(group: string): Promise<number> {
  const dlq = `%DLQ%${group}`
  try {
    const route = await admin.getTopicRoute(dlq)
    let total = 0
    for (const queue of route.queueDatas) {
      for (let id = 0; id < queue.readQueueNums; id += 1) {
        total += await admin.getMaxOffset(dlq, queue.brokerName, id)
      }
    }
    return total
  } catch {
    return 0
  }
}

test('past maxReconsumeTimes a suspended message goes to %DLQ%<group> and its queue moves on; a throw counts as a suspend', async (t) => {
  const topic = await createTestTopic(admin, 'orderly_dlq')
  const group = uniqueName('orderly_dlq')
  const producer = await startedProducer(t)
  await produce(producer, 48, (i) => ({ topic, body: `d-${i}` }))
  const ledger = new Ledger()
  const target = 'd-7'
  await orderlyMember(
    t,
    topic,
    { consumerGroup: group, maxReconsumeTimes: 2, suspendCurrentQueueTimeMillis: 10 },
    new RecordingOrderly('only', ledger, (message) => {
      if (message.body.toString() === target) {
        throw new Error('never consumable')
      }
      return undefined
    }),
  )
  const max = await maxOffsets(admin, topic)
  t.true(await waitFor(() => allDelivered(ledger, max)), 'every message is delivered, those after the target too')
  let inDlq = 0
  t.true(
    await waitFor(() => {
      void dlqTotal(group).then((n) => (inDlq = n))
      return inDlq === 1
    }),
    'the target is in the DLQ',
  )
  const targetDeliveries = ledger.deliveries.filter((d) => d.body === target)
  t.deepEqual(
    targetDeliveries.map((d) => d.reconsumeTimes),
    [0, 1, 2],
    'the first delivery and maxReconsumeTimes retries',
  )
  const { queue } = targetDeliveries[0] as Delivery
  const inQueue = ledger.deliveries.filter((d) => d.queue === queue).map((d) => d.body)
  const lastTarget = inQueue.lastIndexOf(target)
  t.true(
    inQueue.slice(0, lastTarget).every((body, i, all) => body === target || all.indexOf(target) > i),
    'nothing after the target before it was given up',
  )
})

/** An orderly listener with manual commits: each call answers what `answer` says of its message's offset. */
class ManualCommit extends MessageListenerOrderly {
  readonly attempts = new Map<string, number>()

  constructor(
    readonly ledger: Ledger,
    readonly answer: (offset: number, attempt: number) => ConsumeResult,
  ) {
    super()
  }

  consumeMessage(messages: ConsumedMessage[], context: ConsumeOrderlyContext): ConsumeResult {
    context.autoCommit = false
    context.suspendCurrentQueueTimeMillis = 10
    const queue = queueKey(context.messageQueue.brokerName, context.messageQueue.queueId)
    const message = messages[0] as ConsumedMessage
    const offset = Number(message.queueOffset)
    const attempt = (this.attempts.get(`${queue}@${offset}`) ?? 0) + 1
    this.attempts.set(`${queue}@${offset}`, attempt)
    this.ledger.deliveries.push({ member: 'manual', queue, offset, body: message.body.toString(), reconsumeTimes: 0 })
    return this.answer(offset, attempt)
  }
}

test('autoCommit false: SUCCESS commits nothing, ROLLBACK delivers everything since the last commit again, COMMIT commits it', async (t) => {
  const topic = await createTestTopic(admin, 'orderly_manual')
  const group = uniqueName('orderly_manual')
  const producer = await startedProducer(t)
  await produce(producer, 64, (i) => ({ topic, body: `c-${i}` }))
  const ledger = new Ledger()
  // Per queue: offset 0 SUCCESS (kept), offset 1 ROLLBACK the first time (0 and 1 again), then SUCCESS; offset 2
  // COMMIT (0..2 committed); the rest SUCCESS (kept, never committed).
  const listener = new ManualCommit(ledger, (offset, attempt) => {
    if (offset === 1 && attempt === 1) return ConsumeResult.ROLLBACK
    if (offset === 2) return ConsumeResult.COMMIT
    return ConsumeResult.SUCCESS
  })
  const consumer = await orderlyMember(t, topic, { consumerGroup: group }, listener)
  const max = await maxOffsets(admin, topic)
  t.true(await waitFor(() => allDelivered(ledger, max)))
  await consumer.shutdown()
  const committed = await committedOffsets(admin, group, topic, BROKERS)
  const checked = [...max].filter(([, end]) => end >= 3)
  t.true(checked.length > 0, 'some queue has three messages or more')
  for (const [queue, end] of checked) {
    const expected = [0, 1, 0, 1, ...Array.from({ length: end - 2 }, (_, i) => 2 + i)]
    t.deepEqual(
      ledger.deliveries.filter((d) => d.queue === queue).map((d) => d.offset),
      expected,
      queue,
    )
    t.is(committed.get(queue), 3, `${queue}: committed up to the COMMIT, not past the SUCCESS answers after it`)
  }
})

test('broadcasting orderly members each consume every queue in offset order, without broker locks', async (t) => {
  const topic = await createTestTopic(admin, 'orderly_broadcast')
  const group = uniqueName('orderly_broadcast')
  const dir = mkdtempSync(join(tmpdir(), 'rocketmq-napi-orderly-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const producer = await startedProducer(t)
  await produce(producer, 400, (i) => ({ topic, body: `b-${i}` }))
  const ledgers = [new Ledger(), new Ledger()]
  for (const [i, ledger] of ledgers.entries()) {
    await orderlyMember(
      t,
      topic,
      {
        consumerGroup: group,
        messageModel: MessageModel.BROADCASTING,
        instanceName: uniqueName(`member${i}`),
        offsetStoreDir: dir,
        consumeMessageBatchMaxSize: 2,
      },
      new RecordingOrderly(`member${i}`, ledger, undefined, { pauseMs: 1 }),
    )
  }
  const max = await maxOffsets(admin, topic)
  for (const ledger of ledgers) {
    t.true(await waitFor(() => allDelivered(ledger, max)), 'every member gets every message')
    t.deepEqual(ledger.overlaps, [])
    // Each member: per queue, every offset once, in order.
    for (const [queue, end] of max) {
      t.deepEqual(
        ledger.deliveries.filter((d) => d.queue === queue).map((d) => d.offset),
        Array.from({ length: end }, (_, i) => i),
        queue,
      )
    }
  }
})

test('a Java orderly consumer and ours in one group: no queue is consumed by both at once, nothing is lost', async (t) => {
  const topic = await createTestTopic(admin, 'orderly_java')
  const group = uniqueName('orderly_java')
  const producer = await startedProducer(t)
  await produce(producer, 2000, (i) => ({ topic, body: `j-${i}` }))
  const java = await JavaProcess.start('OrderlyInteropConsumer', [NAMESRV_ADDR, group, topic, uniqueName('java')])
  t.teardown(() => java.stop())
  await java.line('READY', 90_000)
  const javaCalls = (): Array<{ member: string; queue: string; begun: number; ended: number; offsets: number[] }> =>
    java.linesOf('CALL').map((line) => {
      const [queue = '', begun = '0', ended = '0', offsets = ''] = line.split(' ')
      return { member: 'java', queue, begun: Number(begun), ended: Number(ended), offsets: offsets.split(',').map(Number) }
    })
  t.true(await waitFor(() => javaCalls().length >= 100, 90_000), 'the Java consumer consumes')
  const ledger = new Ledger()
  const ours = await orderlyMember(
    t,
    topic,
    { consumerGroup: group, instanceName: uniqueName('ours'), consumeMessageBatchMaxSize: 3 },
    new RecordingOrderly('ours', ledger, undefined, { pauseMs: 5 }),
  )
  let held = 0
  // Java hands a queue over once its running call ended (and may hold it up to its 20 s unlock delay).
  t.true(
    await waitFor(() => {
      void ours.assignedQueues().then((queues) => (held = queues.filter((q) => q.topic === topic).length))
      return held > 0
    }, 90_000),
    'ours takes a share of the queues',
  )
  await produce(producer, 2000, (i) => ({ topic, body: `j-${2000 + i}` }))
  t.true(await waitFor(() => ledger.deliveries.length >= 100, 90_000), 'ours consumes its share')
  // The Java member leaves: its shutdown unlocks its queues and ours takes them.
  await java.stop()
  const max = await maxOffsets(admin, topic)
  const consumed = (): Map<string, Set<number>> => {
    const byQueue = ledger.delivered()
    for (const call of javaCalls()) {
      const set = byQueue.get(call.queue) ?? new Set<number>()
      for (const offset of call.offsets) set.add(offset)
      byQueue.set(call.queue, set)
    }
    return byQueue
  }
  t.true(
    await waitFor(() => [...max].every(([queue, end]) => (consumed().get(queue)?.size ?? 0) >= end), 120_000),
    'every message is consumed by one of the two',
  )
  const overlaps: string[] = []
  for (const a of javaCalls()) {
    for (const b of ledger.calls.filter((c) => c.queue === a.queue)) {
      if (a.begun < b.ended && b.begun < a.ended) {
        overlaps.push(`${a.queue}: java [${a.begun}, ${a.ended}] and ours [${b.begun}, ${b.ended}]`)
      }
    }
  }
  t.deepEqual(overlaps, [])
  // Ours starts each queue where the Java member committed; from there it never skips ahead (and nothing is lost,
  // above).
  const startOf = (queue: string): number => ledger.deliveries.find((d) => d.queue === queue)?.offset ?? 0
  t.is(firstSkip(ledger.deliveries, startOf), undefined)
  // The Java member's calls of each queue are in order too.
  const javaHighest = new Map<string, number>()
  for (const call of javaCalls()) {
    for (const offset of call.offsets) {
      const top = javaHighest.get(call.queue)
      t.true(top === undefined || offset <= top + 1, `java ${call.queue}: ${offset} after ${top}`)
      javaHighest.set(call.queue, Math.max(top ?? offset, offset))
    }
  }
})

test('a queue moving while its call runs longer than the drop waits is not begun by the next owner until that call ended', async (t) => {
  const topic = await createTestTopic(admin, 'orderly_slow_drop')
  const group = uniqueName('orderly_slow_drop')
  const producer = await startedProducer(t)
  await produce(producer, 64, (i) => ({ topic, body: `w-${i}` }))
  const ledger = new Ledger()
  // Calls of 1.5 s: longer than the 1 s a rebalance drop waits for a running call before it persists the offset.
  await orderlyMember(
    t,
    topic,
    { consumerGroup: group, instanceName: uniqueName('slow'), consumeThreadNum: QUEUE_COUNT },
    new RecordingOrderly('slow', ledger, undefined, { pauseMs: 1500 }),
  )
  t.true(await waitFor(() => new Set(ledger.deliveries.map((d) => d.queue)).size >= QUEUE_COUNT / 2), 'slow calls are running')
  await orderlyMember(
    t,
    topic,
    { consumerGroup: group, instanceName: uniqueName('fast') },
    new RecordingOrderly('fast', ledger, undefined, { pauseMs: 1 }),
  )
  const max = await maxOffsets(admin, topic)
  t.true(await waitFor(() => allDelivered(ledger, max), 90_000), 'every message is delivered')
  t.true(
    await waitFor(() => ledger.deliveries.some((d) => d.member === 'fast')),
    'the new member took queues',
  )
  t.deepEqual(ledger.overlaps, [], 'no queue had two calls at once')
})

test('20,000 messages over 50 sharding keys, three orderly members in separate processes, one joining and one leaving: every key in order, nothing lost, no two at once', async (t) => {
  const topic = await createTestTopic(admin, 'orderly_keys')
  const group = uniqueName('orderly_keys')
  const producer = await startedProducer(t)
  const keys = 50
  const perKey = 400
  // Each key's messages are sent one after another (its order is the send order); the keys in parallel.
  await Promise.all(
    Array.from({ length: keys }, async (_, k) => {
      for (let seq = 0; seq < perKey; seq += 1) {
        await producer.send({ topic, body: `k${k}:${seq}`, shardingKey: `key-${k}` })
      }
    }),
  )
  const total = keys * perKey
  const ledger = new ProcessLedger()
  const worker = (name: string): ConsumerProcess =>
    new ConsumerProcess(t, name, { topic, group, orderly: true, listenerDelayMs: 1, consumeThreads: 8 }, ledger)
  const one = worker('one')
  const two = worker('two')
  await startWorkers([one, two])
  await waitUntil('a first part consumed', () => ledger.distinct >= total / 4, [one, two], 120_000)
  const three = worker('three')
  await startWorkers([three])
  await waitUntil('the third consuming', () => three.consumed.length > 0, [one, two, three], 120_000)
  one.terminate()
  await one.exited
  await waitUntil('every message consumed', () => ledger.distinct === total, [two, three], 180_000)

  // In the order the calls ran (per queue they never overlap, checked below), each key's sequence numbers never
  // skip ahead: a redelivery after a handover may repeat a stretch, never leave a gap or go past one.
  const inOrder = [...ledger.entries].sort((a, b) => a.begunAt - b.begunAt || a.at - b.at || a.offset - b.offset)
  const highest = new Map<string, number>()
  const queueOfKey = new Map<string, string>()
  let skips = 0
  for (const e of inOrder) {
    const [key = '', seqText = ''] = e.body.split(':')
    const seq = Number(seqText)
    const top = highest.get(key) ?? -1
    if (seq > top + 1 && skips++ < 5) {
      t.fail(`${key}: ${seq} consumed (by ${e.worker}) while the highest before it was ${top}`)
    }
    highest.set(key, Math.max(top, seq))
    if ((queueOfKey.get(key) ?? e.queue) !== e.queue) {
      t.fail(`${key} came from ${e.queue} and ${queueOfKey.get(key) ?? ''}`)
    }
    queueOfKey.set(key, e.queue)
  }
  t.is(skips, 0)
  t.is(highest.size, keys)
  t.true([...highest.values()].every((top) => top === perKey - 1), 'every key complete')

  t.deepEqual(ledger.crossWorkerOverlaps().slice(0, 5), [])
  t.true([one, two, three].every((w) => w.consumed.length > 0), 'every member consumed')
})
