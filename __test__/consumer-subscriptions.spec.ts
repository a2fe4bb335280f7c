/**
 * Subscriptions changed on a running consumer through its SubscriptionManager (subscribe, unsubscribe,
 * updateSelector take effect without a restart, the brokers see them at once),
 * AbortSignal on start and on the consumer, and pause() of a topic added at runtime. Each test has its own topics
 * and groups.
 */
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'

import test, { type ExecutionContext } from 'ava'

import {
  AbortError,
  Admin,
  ConfigError,
  ConsumeFromWhere,
  type ConsumedMessage,
  Consumer,
  type ConsumerConfig,
  InvalidSelectorError,
  type MessageQueue,
  MessageSelector,
  Producer,
  type RocketMQError,
  SubscriptionManager,
  ValidationError,
} from '../index'
import { committedOffsets } from './helpers/broker-offsets'
import { BROKERS, NAMESRV_ADDR, QUEUES_PER_BROKER, createTestTopic, maxOffsets, uniqueName } from './helpers/cluster'
import { produce, sleep, startedProducer, waitFor } from './helpers/consumer'
import { type RunResult, mqadmin, parseTable } from './helpers/java'

const admin = new Admin({ namesrvAddr: NAMESRV_ADDR })
test.after.always(() => admin.close())

const QUEUE_COUNT = BROKERS.length * QUEUES_PER_BROKER
/** From the first offset, and no periodic persist while a test runs: what the broker holds was committed by a drop. */
const SETTINGS: Partial<ConsumerConfig> = {
  consumeFromWhere: ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET,
  persistConsumerOffsetInterval: 600_000,
}

/** A started consumer whose listener records every message, its manager, and the errors it emitted. */
interface Member {
  consumer: Consumer
  subscriptions: SubscriptionManager
  group: string
  received: ConsumedMessage[]
  errors: RocketMQError[]
  bodies(prefix: string): string[]
}

async function startMember(
  t: ExecutionContext,
  initial: ReadonlyArray<readonly [string, MessageSelector?]>,
  config: Partial<ConsumerConfig> = {},
  before: (consumer: Consumer) => void = () => undefined,
): Promise<Member> {
  const subscriptions = new SubscriptionManager()
  for (const [topic, selector] of initial) {
    subscriptions.subscribe(topic, selector)
  }
  const group = uniqueName('subs')
  const received: ConsumedMessage[] = []
  const errors: RocketMQError[] = []
  const consumer = new Consumer({
    config: { consumerGroup: group, namesrvAddr: NAMESRV_ADDR, ...SETTINGS, ...config },
    subscriptionManager: subscriptions,
    messageListener: (messages) => {
      received.push(...messages)
    },
  })
  consumer.on('error', (error) => errors.push(error))
  t.teardown(() => consumer.shutdown())
  before(consumer)
  await consumer.start()
  const bodies = (prefix: string): string[] =>
    received.map((m) => m.body.toString()).filter((body) => body.startsWith(prefix))
  return { consumer, subscriptions, group, received, errors, bodies }
}

function topicsHeld(queues: readonly MessageQueue[]): Map<string, number> {
  const held = new Map<string, number>()
  for (const queue of queues) {
    held.set(queue.topic, (held.get(queue.topic) ?? 0) + 1)
  }
  return held
}

function describe(result: RunResult): string {
  return `status ${String(result.status)}${result.timedOut ? ' (timed out)' : ''}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr.slice(-4000)}`
}

/** What the brokers hold as the group's subscriptions (`mqadmin consumerConnection`), as `topic expression`. */
async function brokerSubscriptions(t: ExecutionContext, group: string): Promise<string[]> {
  const connection = await mqadmin('consumerConnection', ['-g', group])
  t.is(connection.status, 0, describe(connection))
  return parseTable(connection.stdout, ['Topic', 'SubExpression'])
    .map((row) => `${row.Topic ?? ''} ${row.SubExpression ?? ''}`)
    .sort()
}

test('a topic subscribed on a running consumer is assigned, pulled and delivered without a restart, and the brokers see it at once', async (t) => {
  t.timeout(180_000)
  const first = await createTestTopic(admin, 'subs_first')
  const second = await createTestTopic(admin, 'subs_second')
  const producer = await startedProducer(t)
  await produce(producer, 40, (i) => ({ topic: first, body: `first-${i}` }))
  await produce(producer, 40, (i) => ({ topic: second, body: `second-before-${i}` }))
  const rebalances: MessageQueue[][] = []
  const member = await startMember(t, [[first]], {}, (consumer) => consumer.on('rebalanced', (queues) => rebalances.push(queues)))
  t.true(await waitFor(() => member.bodies('first-').length >= 40), `delivered ${member.bodies('first-').length} of 40`)
  t.false(topicsHeld(await member.consumer.assignedQueues()).has(second))

  member.subscriptions.subscribe(second, MessageSelector.all())
  await member.consumer.whenSubscriptionsApplied()
  // Applied means rebalanced: every queue of the new topic is held, and a 'rebalanced' event said so.
  t.is(topicsHeld(await member.consumer.assignedQueues()).get(second), QUEUE_COUNT)
  t.true(await waitFor(() => rebalances.some((queues) => queues.some((q) => q.topic === second))))
  // And heartbeated: the brokers hold the new subscription already (no waiting for the 30 s heartbeat).
  t.deepEqual(await brokerSubscriptions(t, member.group), [`%RETRY%${member.group} *`, `${first} *`, `${second} *`].sort())

  await produce(producer, 40, (i) => ({ topic: second, body: `second-after-${i}` }))
  t.true(
    await waitFor(() => member.bodies('second-').length >= 80),
    `delivered ${member.bodies('second-').length} of the second topic's 80`,
  )
  t.is(new Set(member.bodies('second-')).size, 80)
  t.deepEqual(member.errors, [])
})

test('a change made while start() is under way reaches the engine once it runs', async (t) => {
  t.timeout(60_000)
  const first = await createTestTopic(admin, 'subs_during_start')
  const second = await createTestTopic(admin, 'subs_during_start_added')
  const subscriptions = new SubscriptionManager()
  subscriptions.subscribe(first)
  const consumer = new Consumer({
    config: { consumerGroup: uniqueName('subs_during_start'), namesrvAddr: NAMESRV_ADDR },
    subscriptionManager: subscriptions,
    messageListener: () => undefined,
  })
  t.teardown(() => consumer.shutdown())
  const starting = consumer.start()
  subscriptions.subscribe(second)
  subscriptions.unsubscribe(first)
  await starting
  await consumer.whenSubscriptionsApplied()
  const held = topicsHeld(await consumer.assignedQueues())
  t.is(held.get(second), QUEUE_COUNT)
  t.false(held.has(first))
})

test('an unsubscribed topic stops arriving while the other continues, its queues are dropped and its offsets stay where consumption stopped', async (t) => {
  t.timeout(180_000)
  const leaving = await createTestTopic(admin, 'subs_leaving')
  const staying = await createTestTopic(admin, 'subs_staying')
  const producer = await startedProducer(t)
  await produce(producer, 60, (i) => ({ topic: leaving, body: `leaving-before-${i}` }))
  await produce(producer, 60, (i) => ({ topic: staying, body: `staying-before-${i}` }))
  const member = await startMember(t, [[leaving], [staying]])
  t.true(await waitFor(() => member.received.length >= 120), `delivered ${member.received.length} of 120`)

  member.subscriptions.unsubscribe(leaving)
  await member.consumer.whenSubscriptionsApplied()
  const held = topicsHeld(await member.consumer.assignedQueues())
  t.false(held.has(leaving), 'a queue of the unsubscribed topic is still held')
  t.is(held.get(staying), QUEUE_COUNT)
  // The drop committed what was consumed (the periodic persist is 10 minutes away): every queue's offset is its
  // max offset, since all 60 messages were consumed.
  const max = await maxOffsets(admin, leaving)
  const committedAtDrop = await committedOffsets(admin, member.group, leaving, BROKERS)
  t.deepEqual(
    [...max].filter(([queue, offset]) => offset > 0 && committedAtDrop.get(queue) !== offset),
    [],
    'the dropped queues were not committed where consumption stopped',
  )
  // The brokers no longer list it for the group; the retry topic stays.
  t.deepEqual(await brokerSubscriptions(t, member.group), [`%RETRY%${member.group} *`, `${staying} *`].sort())

  await produce(producer, 40, (i) => ({ topic: leaving, body: `leaving-after-${i}` }))
  await produce(producer, 40, (i) => ({ topic: staying, body: `staying-after-${i}` }))
  t.true(await waitFor(() => member.bodies('staying-after-').length >= 40), `delivered ${member.bodies('staying-after-').length} of 40`)
  await sleep(1000)
  t.deepEqual(member.bodies('leaving-after-'), [], 'a message of the unsubscribed topic arrived')
  t.deepEqual(await committedOffsets(admin, member.group, leaving, BROKERS), committedAtDrop, 'the offsets moved after the drop')
  t.deepEqual(member.errors, [])
})

test('updateSelector on a running consumer changes what arrives: tag A, then tag B only', async (t) => {
  t.timeout(120_000)
  const topic = await createTestTopic(admin, 'subs_retag')
  const producer = await startedProducer(t)
  const member = await startMember(t, [[topic, MessageSelector.byTag('A')]])
  await produce(producer, 40, (i) => ({ topic, body: `before-${i % 2 === 0 ? 'A' : 'B'}-${i}`, tags: i % 2 === 0 ? 'A' : 'B' }))
  t.true(await waitFor(() => member.bodies('before-').length >= 20), `delivered ${member.bodies('before-').length} of 20`)
  t.deepEqual(member.bodies('before-B'), [], 'a B message came under selector A')

  const changed = member.subscriptions.updateSelector(topic, MessageSelector.byTag('B'))
  await member.consumer.whenSubscriptionsApplied()
  t.is(member.subscriptions.getSubscription(topic), changed)
  await produce(producer, 40, (i) => ({ topic, body: `after-${i % 2 === 0 ? 'A' : 'B'}-${i}`, tags: i % 2 === 0 ? 'A' : 'B' }))
  t.true(await waitFor(() => member.bodies('after-B').length >= 20), `delivered ${member.bodies('after-B').length} of 20 B`)
  await sleep(1000)
  t.deepEqual(member.bodies('after-A'), [], 'an A message came after the selector became B')
  t.is(new Set(member.bodies('after-B')).size, 20)
  t.deepEqual(member.errors, [])
})

test('updateSelector between glob selectors (filtered on the client, the brokers sending everything) switches the filter', async (t) => {
  t.timeout(120_000)
  const topic = await createTestTopic(admin, 'subs_reglob')
  const producer = await startedProducer(t)
  const member = await startMember(t, [[topic, MessageSelector.byTag('order_*')]])
  const send = (prefix: string): Promise<void> =>
    produce(producer, 40, (i) => ({ topic, body: `${prefix}-${i % 2 === 0 ? 'order' : 'pay'}-${i}`, tags: i % 2 === 0 ? 'order_new' : 'pay_done' }))
  await send('before')
  t.true(await waitFor(() => member.bodies('before-order').length >= 20), `delivered ${member.bodies('before-order').length} of 20`)
  member.subscriptions.updateSelector(topic, MessageSelector.byTag('pay_*'))
  await member.consumer.whenSubscriptionsApplied()
  await send('after')
  t.true(await waitFor(() => member.bodies('after-pay').length >= 20), `delivered ${member.bodies('after-pay').length} of 20`)
  await sleep(500)
  t.deepEqual(member.bodies('after-order'), [])
  t.deepEqual(member.bodies('before-pay'), [])
})

test('a SQL92 update the brokers refuse is an InvalidSelectorError; the manager and the engine keep the old selector', async (t) => {
  t.timeout(120_000)
  const topic = await createTestTopic(admin, 'subs_bad_sql')
  const other = await createTestTopic(admin, 'subs_bad_sql_new')
  const producer = await startedProducer(t)
  const member = await startMember(t, [[topic, MessageSelector.byTag('A')]])
  const old = member.subscriptions.getSubscription(topic)

  member.subscriptions.updateSelector(topic, MessageSelector.bySql('amount >'))
  await t.throwsAsync(() => member.consumer.whenSubscriptionsApplied(), { instanceOf: InvalidSelectorError })
  t.is(member.subscriptions.getSubscription(topic), old, 'the manager was not put back')
  t.is(member.errors.length, 1)
  t.true(member.errors[0] instanceof InvalidSelectorError)
  // A new topic with a refused expression is not subscribed either.
  member.subscriptions.subscribe(other, MessageSelector.bySql('amount >'))
  await t.throwsAsync(() => member.consumer.whenSubscriptionsApplied(), { instanceOf: InvalidSelectorError })
  t.false(member.subscriptions.isSubscribed(other))
  t.false(topicsHeld(await member.consumer.assignedQueues()).has(other))

  // The old selector still works: A arrives, B does not.
  await produce(producer, 20, (i) => ({ topic, body: `${i % 2 === 0 ? 'A' : 'B'}-${i}`, tags: i % 2 === 0 ? 'A' : 'B' }))
  t.true(await waitFor(() => member.bodies('A-').length >= 10), `delivered ${member.bodies('A-').length} of 10`)
  await sleep(500)
  t.deepEqual(member.bodies('B-'), [])
  // And a good SQL92 update afterwards is taken.
  member.subscriptions.updateSelector(topic, MessageSelector.bySql("TAGS = 'B'"))
  await member.consumer.whenSubscriptionsApplied()
  t.deepEqual(await brokerSubscriptions(t, member.group), [`%RETRY%${member.group} *`, `${topic} TAGS = 'B'`].sort())
})

test('pause() of a topic added at runtime holds its messages back until resume(topic)', async (t) => {
  t.timeout(120_000)
  const flowing = await createTestTopic(admin, 'subs_flowing')
  const added = await createTestTopic(admin, 'subs_paused')
  const producer = await startedProducer(t)
  await produce(producer, 30, (i) => ({ topic: added, body: `added-${i}` }))
  const member = await startMember(t, [[flowing]])
  // Paused by name before it is subscribed: its pull loops begin paused, so not one message can slip through.
  member.consumer.pause(added)
  member.subscriptions.subscribe(added)
  await member.consumer.whenSubscriptionsApplied()
  t.is(topicsHeld(await member.consumer.assignedQueues()).get(added), QUEUE_COUNT)
  await produce(producer, 30, (i) => ({ topic: flowing, body: `flowing-${i}` }))
  t.true(await waitFor(() => member.bodies('flowing-').length >= 30))
  await sleep(1000)
  t.deepEqual(member.bodies('added-'), [], 'a message of the paused topic arrived')
  t.true(member.consumer.isPaused(added))
  member.consumer.resume(added)
  t.true(await waitFor(() => member.bodies('added-').length >= 30), `delivered ${member.bodies('added-').length} of 30`)
})

function member(topic: string, signal?: AbortSignal): Consumer {
  const subscriptions = new SubscriptionManager()
  subscriptions.subscribe(topic)
  return new Consumer({
    config: { consumerGroup: uniqueName('subs_abort'), namesrvAddr: NAMESRV_ADDR },
    subscriptionManager: subscriptions,
    messageListener: () => undefined,
    ...(signal === undefined ? {} : { signal }),
  })
}

test('start({ signal }): already aborted rejects at once and starts nothing; aborted during the start shuts down and rejects with the reason as cause', async (t) => {
  t.timeout(60_000)
  const topic = await createTestTopic(admin, 'subs_abort')
  const reason = new Error('changed my mind')
  const consumer = member(topic)
  t.teardown(() => consumer.shutdown())
  const early = await t.throwsAsync(() => consumer.start({ signal: AbortSignal.abort(reason) }), { instanceOf: AbortError })
  t.is(early?.cause, reason)
  t.is(early?.name, 'AbortError')
  t.is(early?.code, 'ABORT_ERR')
  t.false(consumer.running)

  const controller = new AbortController()
  const events: string[] = []
  consumer.on('started', () => events.push('started'))
  consumer.on('stopped', () => events.push('stopped'))
  const starting = consumer.start({ signal: controller.signal })
  controller.abort(reason)
  const during = await t.throwsAsync(() => starting, { instanceOf: AbortError })
  t.is(during?.cause, reason)
  t.false(consumer.running)
  t.deepEqual(events, ['stopped'])
  t.deepEqual(await consumer.assignedQueues(), [])
  await t.throwsAsync(() => consumer.start(), { message: /this one is stopped/ })
})

test("the consumer's signal option shuts a running consumer down, and makes a later start() reject", async (t) => {
  t.timeout(60_000)
  const topic = await createTestTopic(admin, 'subs_abort_option')
  const controller = new AbortController()
  const consumer = member(topic, controller.signal)
  t.teardown(() => consumer.shutdown())
  await consumer.start()
  t.true(consumer.running)
  const stopped = new Promise<void>((resolve) => consumer.once('stopped', resolve))
  controller.abort()
  await stopped
  t.false(consumer.running)

  t.throws(() => member(topic, {} as AbortSignal), { instanceOf: ConfigError, message: /signal must be an AbortSignal/ })
  const aborted = new AbortController()
  const never = member(topic, aborted.signal)
  aborted.abort('no')
  const error = await t.throwsAsync(() => never.start(), { instanceOf: AbortError })
  t.is(error?.cause, 'no')
})

test('Producer.start({ signal }) rejects with an AbortError when the signal is aborted', async (t) => {
  const producer = new Producer({ namesrvAddr: NAMESRV_ADDR, producerGroup: uniqueName('subs_abort_producer') })
  const reason = new Error('not now')
  const error = await t.throwsAsync(() => producer.start({ signal: AbortSignal.abort(reason) }), { instanceOf: AbortError })
  t.is(error?.cause, reason)
  const controller = new AbortController()
  const starting = producer.start({ signal: controller.signal })
  controller.abort(reason)
  await t.throwsAsync(() => starting, { instanceOf: AbortError })
  t.is(producer.clientId, undefined, 'the producer aborted while starting is still started')
  await t.throwsAsync(() => producer.start({ signal: 'stop' as unknown as AbortSignal }), { instanceOf: ValidationError })
})

for (const mode of ['during', 'after'] as const) {
  test(`a process whose consumer is aborted ${mode === 'during' ? 'during its start' : 'once running'} exits by itself`, async (t) => {
    t.timeout(90_000)
    const topic = await createTestTopic(admin, 'subs_abort_exit')
    const child = spawnSync(process.execPath, ['--import', 'tsx', join(__dirname, 'fixtures', 'abort-consumer.ts')], {
      env: { ...process.env, NAMESRV_ADDR, TOPIC: topic, ABORT_MODE: mode },
      encoding: 'utf8',
      // A guard against a hang, not a performance bound: a process that stays alive is killed and fails.
      timeout: 60_000,
    })
    t.is(child.error, undefined, `child did not finish: ${String(child.error)}`)
    t.is(child.signal, null, `child was killed by ${String(child.signal)}; stderr:\n${child.stderr}`)
    t.is(child.status, 0, child.stderr)
    const report = JSON.parse(child.stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>
    t.like(report, mode === 'during' ? { name: 'AbortError', cause: 'enough', running: false, stopped: true } : { running: false, stopped: true })
  })
}
