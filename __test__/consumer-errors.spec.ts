/**
 * The consumer's own failures against the real cluster, each raised where a user meets it and caused by the typed
 * engine failure: ConsumerStartError (a broadcasting offsets file and its backup both corrupt), SubscribeError (a
 * SQL92 subscription of a topic without a route), UnsubscribeError and ConsumerShutdownError (offsets that cannot
 * be written), RebalanceError as the 'rebalanceFailed' event (a topic that does not exist), and a concurrent
 * listener answering an orderly-only result (MessageConsumeError, messages delivered again). MessagePullError
 * ('pullFailed') needs a broker stopped: see consumer-broker-restart.spec.ts.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'

import test from 'ava'

import {
  Admin,
  ConsumeFromWhere,
  ConsumeResult,
  Consumer,
  type ConsumerConfig,
  ConsumerShutdownError,
  ConsumerStartError,
  InvalidSelectorError,
  MessageConsumeError,
  MessageModel,
  MessageSelector,
  OffsetError,
  RebalanceError,
  type RocketMQError,
  SubscribeError,
  SubscriptionManager,
  TopicNotFoundError,
  UnsubscribeError,
} from '../index'
import { NAMESRV_ADDR, createTestTopic, uniqueName } from './helpers/cluster'
import { type Delivery, produce, startedProducer, waitFor } from './helpers/consumer'

/** Bound on each wait for deliveries (a limit, not a timing assertion). */
const WAIT_MS = 120_000

const admin = new Admin({ namesrvAddr: NAMESRV_ADDR })
test.after.always(() => admin.close())

const offsetsRoot = mkdtempSync(join(tmpdir(), 'rocketmq-napi-consumer-errors-'))
test.after.always(() => rmSync(offsetsRoot, { recursive: true, force: true }))

/** A consumer of `topics` that records deliveries and every 'error'; not started. */
function member(topics: readonly string[], config: Partial<ConsumerConfig>) {
  const deliveries: Delivery[] = []
  const errors: RocketMQError[] = []
  const subscriptions = new SubscriptionManager()
  for (const topic of topics) {
    subscriptions.subscribe(topic, MessageSelector.all())
  }
  const consumer = new Consumer({
    config: { consumerGroup: uniqueName('errors'), namesrvAddr: NAMESRV_ADDR, ...config },
    subscriptionManager: subscriptions,
    messageListener: (messages) => {
      for (const message of messages) {
        deliveries.push({ body: message.body.toString(), message })
      }
    },
  })
  consumer.on('error', (error) => errors.push(error))
  return { consumer, subscriptions, deliveries, errors }
}

/** Settings of a broadcasting member with its own offsets directory, persisting only at shutdown (or a drop). */
function broadcasting(instanceName: string, offsetStoreDir: string): Partial<ConsumerConfig> {
  return {
    messageModel: MessageModel.BROADCASTING,
    consumeFromWhere: ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET,
    instanceName,
    offsetStoreDir,
    persistConsumerOffsetInterval: 3_600_000,
  }
}

/** Java's path of a client's offsets file. */
function offsetsFile(dir: string, clientId: string, group: string): string {
  return join(dir, clientId, group, 'offsets.json')
}

/**
 * Makes the offsets file unwritable, for root too: a directory where the file goes (the write renames a temporary
 * file over it). Nothing was persisted yet, so no file is in the way.
 */
function blockOffsetsFile(path: string): void {
  mkdirSync(path, { recursive: true })
}

/** Checks that `error` carries its cause's retriable, responseCode and brokerAddr. */
function carriesCause(t: { is: (a: unknown, b: unknown, m?: string) => void }, error: RocketMQError, cause: RocketMQError): void {
  t.is(error.retriable, cause.retriable, 'retriable carried over')
  t.is(error.responseCode, cause.responseCode, 'responseCode carried over')
  t.is(error.brokerAddr, cause.brokerAddr, 'brokerAddr carried over')
}

test.serial('start() rejects with a ConsumerStartError caused by an OffsetError when the offsets file and its backup are both corrupt; nothing is consumed', async (t) => {
  t.timeout(180_000)
  const topic = await createTestTopic(admin, 'errors_start')
  const dir = join(offsetsRoot, 'start')
  const name = uniqueName('errors_start')
  const group = uniqueName('errors_start')
  const producer = await startedProducer(t)
  await produce(producer, 20, (i) => ({ topic, body: `start-${i}` }))

  // A first run tells the client id, and so the file's path.
  const first = member([topic], { consumerGroup: group, ...broadcasting(name, dir) })
  await first.consumer.start()
  const clientId = first.consumer.clientId ?? ''
  await first.consumer.shutdown()
  const file = offsetsFile(dir, clientId, group)
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, '{"offsetTable":{')
  writeFileSync(`${file}.bak`, 'not json at all')

  const broken = member([topic], { consumerGroup: group, ...broadcasting(name, dir) })
  const failure = await t.throwsAsync(() => broken.consumer.start(), { instanceOf: ConsumerStartError })
  t.is(failure?.code, 'ERR_CONSUMER_START')
  t.true(failure?.cause instanceof OffsetError, `cause: ${String(failure?.cause)}`)
  const cause = failure?.cause as OffsetError
  t.is(cause.code, 'ERR_OFFSET')
  t.true(cause.message.includes(file), cause.message)
  carriesCause(t, failure as ConsumerStartError, cause)
  t.false(failure?.retriable)
  // Nothing started: no pull was made, no queue is held, nothing was delivered.
  t.false(broken.consumer.running)
  t.is(broken.consumer.stats().pulls, 0)
  t.deepEqual(await broken.consumer.assignedQueues(), [])
  t.is(broken.deliveries.length, 0)
  await t.notThrowsAsync(() => broken.consumer.shutdown())
  t.false(broken.consumer.running)

  // The same settings with the files gone start and consume from the first offset.
  rmSync(file)
  rmSync(`${file}.bak`)
  const repaired = member([topic], { consumerGroup: group, ...broadcasting(name, dir) })
  await repaired.consumer.start()
  t.teardown(() => repaired.consumer.shutdown())
  t.true(await waitFor(() => new Set(repaired.deliveries.map((d) => d.body)).size >= 20, WAIT_MS))
})

test('a SQL92 subscription of a topic without a route, made while running, is a SubscribeError caused by a TopicNotFoundError', async (t) => {
  t.timeout(120_000)
  const topic = await createTestTopic(admin, 'errors_subscribe')
  const missing = uniqueName('errors_no_such_topic')
  const running = member([topic], {})
  await running.consumer.start()
  t.teardown(() => running.consumer.shutdown())

  running.subscriptions.subscribe(missing, MessageSelector.bySql('a > 1'))
  const failure = await t.throwsAsync(() => running.consumer.whenSubscriptionsApplied(), { instanceOf: SubscribeError })
  t.false(failure instanceof InvalidSelectorError)
  t.is(failure?.code, 'ERR_SUBSCRIBE')
  t.true(failure?.cause instanceof TopicNotFoundError, `cause: ${String(failure?.cause)}`)
  carriesCause(t, failure as SubscribeError, failure?.cause as TopicNotFoundError)
  t.true(failure?.message.includes(missing))
  // Reported as 'error' too, and the manager is back as it was.
  t.deepEqual(running.errors, [failure as RocketMQError])
  t.false(running.subscriptions.isSubscribed(missing))
  t.true(running.subscriptions.isSubscribed(topic))
})

test.serial('unsubscribing a topic whose offsets cannot be written is an UnsubscribeError; the topic is unsubscribed all the same', async (t) => {
  t.timeout(180_000)
  const topic = await createTestTopic(admin, 'errors_unsubscribe')
  const dir = join(offsetsRoot, 'unsubscribe')
  const group = uniqueName('errors_unsubscribe')
  const producer = await startedProducer(t)
  const running = member([topic], { consumerGroup: group, ...broadcasting(uniqueName('errors_unsubscribe'), dir) })
  await running.consumer.start()
  const file = offsetsFile(dir, running.consumer.clientId ?? '', group)
  blockOffsetsFile(file)
  t.teardown(async () => {
    rmSync(file, { recursive: true, force: true })
    await running.consumer.shutdown()
  })
  await produce(producer, 20, (i) => ({ topic, body: `unsubscribe-${i}` }))
  t.true(await waitFor(() => running.deliveries.length >= 20, WAIT_MS))

  running.subscriptions.unsubscribe(topic)
  const failure = await t.throwsAsync(() => running.consumer.whenSubscriptionsApplied(), { instanceOf: UnsubscribeError })
  t.is(failure?.code, 'ERR_UNSUBSCRIBE')
  t.true(failure?.cause instanceof Error && (failure.cause as RocketMQError).message.includes(file), `cause: ${String(failure?.cause)}`)
  carriesCause(t, failure as UnsubscribeError, failure?.cause as RocketMQError)
  t.regex(failure?.message ?? '', /delivered again/)
  t.deepEqual(running.errors, [failure as RocketMQError])
  // It took effect: the manager keeps the change and no queue of the topic is held.
  t.false(running.subscriptions.isSubscribed(topic))
  t.deepEqual((await running.consumer.assignedQueues()).filter((q) => q.topic === topic), [])
})

test.serial('shutdown() completes, then rejects with a ConsumerShutdownError when the offsets cannot be written; the messages come again', async (t) => {
  t.timeout(180_000)
  const topic = await createTestTopic(admin, 'errors_shutdown')
  const dir = join(offsetsRoot, 'shutdown')
  const name = uniqueName('errors_shutdown')
  const group = uniqueName('errors_shutdown')
  const producer = await startedProducer(t)
  await produce(producer, 20, (i) => ({ topic, body: `shutdown-${i}` }))
  const running = member([topic], { consumerGroup: group, ...broadcasting(name, dir) })
  let stopped = 0
  running.consumer.on('stopped', () => {
    stopped += 1
  })
  await running.consumer.start()
  t.true(await waitFor(() => running.deliveries.length >= 20, WAIT_MS))
  const file = offsetsFile(dir, running.consumer.clientId ?? '', group)
  blockOffsetsFile(file)

  const failure = await t.throwsAsync(() => running.consumer.shutdown(), { instanceOf: ConsumerShutdownError })
  t.is(failure?.code, 'ERR_CONSUMER_SHUTDOWN')
  t.true(failure?.cause instanceof Error && (failure.cause as RocketMQError).message.includes(file), `cause: ${String(failure?.cause)}`)
  carriesCause(t, failure as ConsumerShutdownError, failure?.cause as RocketMQError)
  t.regex(failure?.message ?? '', /messages after the last persisted offsets will be delivered again/)
  // The shutdown itself completed.
  t.false(running.consumer.running)
  t.is(stopped, 1)
  t.deepEqual(await running.consumer.assignedQueues(), [])
  await t.notThrowsAsync(() => running.consumer.shutdown(), 'a second shutdown has nothing left to do')

  // As the message says: nothing was persisted, so the next start of this member delivers them again.
  rmSync(file, { recursive: true })
  const again = member([topic], { consumerGroup: group, ...broadcasting(name, dir) })
  await again.consumer.start()
  t.teardown(() => again.consumer.shutdown())
  t.true(await waitFor(() => new Set(again.deliveries.map((d) => d.body)).size >= 20, WAIT_MS))
})

test('a subscribed topic that does not exist is reported as rebalanceFailed with a RebalanceError naming it, not as an error', async (t) => {
  t.timeout(60_000)
  const topic = await createTestTopic(admin, 'errors_rebalance')
  const missing = uniqueName('errors_no_such_topic')
  const running = member([topic, missing], {})
  const failures: RebalanceError[] = []
  running.consumer.on('rebalanceFailed', (error) => failures.push(error))
  await running.consumer.start()
  t.teardown(() => running.consumer.shutdown())
  t.true(await waitFor(() => failures.length > 0, 30_000), 'no rebalanceFailed event')
  for (const failure of failures) {
    t.true(failure instanceof RebalanceError)
    t.is(failure.code, 'ERR_REBALANCE')
    t.is(failure.topic, missing, 'only the missing topic fails')
    t.true(failure.cause instanceof TopicNotFoundError, `cause: ${String(failure.cause)}`)
    carriesCause(t, failure, failure.cause as TopicNotFoundError)
  }
  // The existing topic is consumed meanwhile, and nothing went to 'error'.
  t.true((await running.consumer.assignedQueues()).some((q) => q.topic === topic))
  t.deepEqual(running.errors, [])
})

test('a concurrent listener answering ROLLBACK or SUSPEND_CURRENT_QUEUE_A_MOMENT fails with a MessageConsumeError and gets the messages again', async (t) => {
  t.timeout(180_000)
  const topic = await createTestTopic(admin, 'errors_orderly_results')
  const producer = await startedProducer(t)
  const answers: Record<string, ConsumeResult> = {
    rollback: ConsumeResult.ROLLBACK,
    suspend: ConsumeResult.SUSPEND_CURRENT_QUEUE_A_MOMENT,
  }
  const deliveries: Array<{ body: string; reconsumeTimes: number }> = []
  const handled: MessageConsumeError[] = []
  const emitted: MessageConsumeError[] = []
  const subscriptions = new SubscriptionManager()
  subscriptions.subscribe(topic)
  const consumer = new Consumer({
    config: { consumerGroup: uniqueName('errors_orderly_results'), namesrvAddr: NAMESRV_ADDR, consumeFromWhere: ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET },
    subscriptionManager: subscriptions,
    messageListener: (messages) => {
      const message = messages[0]
      const body = message?.body.toString() ?? ''
      deliveries.push({ body, reconsumeTimes: message?.reconsumeTimes ?? -1 })
      // The first delivery gets the orderly-only answer, the next one SUCCESS.
      return message?.reconsumeTimes === 0 ? answers[body] : ConsumeResult.SUCCESS
    },
    onListenerError: (error) => handled.push(error),
  })
  consumer.on('listenerError', (error) => emitted.push(error))
  await consumer.start()
  t.teardown(() => consumer.shutdown())
  for (const body of Object.keys(answers)) {
    await producer.send({ topic, body })
  }
  const redelivered = (body: string): boolean => deliveries.some((d) => d.body === body && d.reconsumeTimes > 0)
  t.true(await waitFor(() => redelivered('rollback') && redelivered('suspend'), WAIT_MS), JSON.stringify(deliveries))
  for (const body of Object.keys(answers)) {
    t.true(deliveries.some((d) => d.body === body && d.reconsumeTimes === 0), `${body} first delivery`)
  }
  for (const errors of [handled, emitted]) {
    t.is(errors.length, 2, errors.map((e) => e.message).join('\n'))
    t.true(errors.every((e) => e instanceof MessageConsumeError))
    for (const answer of Object.values(answers)) {
      t.true(errors.some((e) => e.message.includes(JSON.stringify(answer))), `no error names ${answer}`)
    }
  }
})
