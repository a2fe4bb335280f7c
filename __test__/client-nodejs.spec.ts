/**
 * `rocketmq-napi/client-nodejs` against the local cluster: the scenarios of rocketmq-client-nodejs' own test suite
 * (producer startup and send receipts, a missing topic at startup, normal / delay / FIFO messages received by a
 * SimpleConsumer, 100+ messages received and acknowledged in batches, ConsumeResult), written here as ours, plus what
 * a SimpleConsumer and a PushConsumer promise (hidden until acknowledged, redelivered otherwise, a changed invisible
 * duration, retries by ConsumeResult) and every option honoured or refused by name.
 */
import { randomUUID } from 'node:crypto'

import test, { type ExecutionContext } from 'ava'

import { Admin } from '../index'
import {
  BadRequestException,
  ClientException,
  ConsumeResult,
  ConsumeResultSuspend,
  FilterExpression,
  FilterType,
  type MessageView,
  NotFoundException,
  Producer,
  PushConsumer,
  SimpleConsumer,
  UnsupportedException,
} from '../lib/compat/client-nodejs'
import { NAMESRV_ADDR, createTestTopic, uniqueName } from './helpers/cluster'
import { waitFor } from './helpers/consumer'

const endpoints = NAMESRV_ADDR
const configError = (message: RegExp) => ({ name: 'ConfigError', code: 'ERR_CONFIG', message })

async function topicOf(t: ExecutionContext, prefix: string): Promise<string> {
  const admin = new Admin({ namesrvAddr: NAMESRV_ADDR })
  t.teardown(() => admin.close())
  return createTestTopic(admin, prefix)
}

async function startedProducer(t: ExecutionContext, options: Partial<ConstructorParameters<typeof Producer>[0]> = {}): Promise<Producer> {
  const producer = new Producer({ endpoints, namespace: '', maxAttempts: 2, ...options })
  await producer.startup()
  t.teardown(() => producer.shutdown())
  return producer
}

async function startedSimpleConsumer(t: ExecutionContext, topic: string, filter: FilterExpression | string): Promise<SimpleConsumer> {
  const consumer = new SimpleConsumer({
    endpoints,
    namespace: '',
    consumerGroup: uniqueName('cnjs_simple'),
    subscriptions: new Map().set(topic, filter),
    awaitDuration: 3000,
  })
  await consumer.startup()
  t.teardown(() => consumer.shutdown())
  return consumer
}

/** Receives until `count` messages came (or 20 receives), acknowledging none. */
async function receiveAtLeast(consumer: SimpleConsumer, count: number, invisibleDuration = 10000): Promise<MessageView[]> {
  const received: MessageView[] = []
  for (let round = 0; round < 20 && received.length < count; round++) {
    received.push(...(await consumer.receive(32, invisibleDuration)))
  }
  return received
}

const hello = (text: string): Buffer => Buffer.from(JSON.stringify({ hello: text, now: Date() }))

test('the subpath exports classes with the original prototype methods', (t) => {
  t.is(typeof SimpleConsumer.prototype.startup, 'function')
  t.is(typeof Producer.prototype.startup, 'function')
  t.is(typeof PushConsumer.prototype.startup, 'function')
  t.is((SimpleConsumer.prototype as unknown as { clientId?: string }).clientId, undefined)
})

test('ConsumeResult: SUCCESS and FAILURE singletons, and suspensions of at least 50 ms', (t) => {
  t.is(ConsumeResult.SUCCESS.name, 'SUCCESS')
  t.is(ConsumeResult.FAILURE.name, 'FAILURE')
  t.is(ConsumeResult.SUCCESS.toString(), 'SUCCESS')
  t.is(ConsumeResult.FAILURE.toString(), 'FAILURE')
  const suspend = ConsumeResultSuspend.of(100)
  t.is(suspend.name, 'SUSPEND')
  t.is(suspend.suspendTimeMs, 100)
  t.is(suspend.toString(), 'SUSPEND(100ms)')
  t.throws(() => ConsumeResultSuspend.of(49), { message: /suspend time cannot be less than 50ms/ })
})

test('FilterExpression: TAG by default, SUB_ALL, equality and its printed form', (t) => {
  const tag = new FilterExpression('a || b')
  t.is(tag.filterType, FilterType.TAG)
  t.true(tag.equals(new FilterExpression('a || b', FilterType.TAG)))
  t.false(tag.equals(new FilterExpression('a || b', FilterType.SQL)))
  t.is(FilterExpression.SUB_ALL.expression, '*')
  t.is(new FilterExpression('x > 1', FilterType.SQL92).toString(), 'FilterExpression(2,x > 1)')
})

test('a producer starts and its send receipt has a message id (also the transaction id) and an offset', async (t) => {
  const topic = await topicOf(t, 'cnjs_receipt')
  const producer = await startedProducer(t)
  const receipt = await producer.send({
    topic,
    tag: 'nodejs-unittest',
    keys: [`foo-key-${Date.now()}`, `bar-key-${Date.now()}`],
    body: hello('rocketmq-client-nodejs world'),
  })
  t.true(receipt.offset >= 0)
  t.is(typeof receipt.messageId, 'string')
  t.is(receipt.messageId, receipt.transactionId)
  t.is(receipt.messageQueue.topic.name, topic)
  t.true(['broker-a', 'broker-b'].includes(receipt.messageQueue.broker.name))
})

test('startup fails for a topic that does not exist, with a NotFoundException 40402 as cause', async (t) => {
  const producer = new Producer({ topic: `TopicTest-not-exists-${randomUUID()}`, endpoints, namespace: '', maxAttempts: 2 })
  const error = await t.throwsAsync(producer.startup(), { message: /Startup the rocketmq client failed, clientId=[^,]*, error=NotFoundException/ })
  const cause = (error as Error & { cause: unknown }).cause
  t.true(cause instanceof NotFoundException)
  t.true(cause instanceof ClientException)
  t.like(cause, { name: 'NotFoundException', code: 40402 })
  const consumer = new SimpleConsumer({ endpoints, consumerGroup: uniqueName('cnjs_missing'), subscriptions: new Map([[`missing-${randomUUID()}`, '*']]) })
  const consumerError = await t.throwsAsync(consumer.startup())
  t.like((consumerError as Error & { cause: unknown }).cause, { name: 'NotFoundException', code: 40402 })
})

test('a normal message is received once by a SimpleConsumer of its tag, with its fields, and acknowledged', async (t) => {
  const topic = await topicOf(t, 'cnjs_normal')
  const tag = `nodejs-unittest-tag-${randomUUID()}`
  const producer = await startedProducer(t)
  await producer.send({ topic, tag: 'other', body: hello('not for this tag') })
  const keys = ['foo-key', 'bar-key']
  const receipt = await producer.send({ topic, tag, keys, body: hello('tagged'), properties: new Map([['color', 'red']]) })
  const consumer = await startedSimpleConsumer(t, topic, tag)
  const messages = await consumer.receive(1, 10000)
  t.is(messages.length, 1)
  const [message] = messages as [MessageView]
  t.is(message.messageId, receipt.messageId)
  t.is(message.topic, topic)
  t.is(message.tag, tag)
  t.deepEqual(message.keys, keys)
  t.is(message.properties.get('color'), 'red')
  t.is(JSON.parse(message.body.toString()).hello, 'tagged')
  t.is(message.deliveryAttempt, 1)
  t.is(message.offset, receipt.offset)
  t.is(message.messageGroup, undefined)
  t.regex(message.receiptHandle, /^\d+ \d+ 10000 \d+ 0 broker-[ab] \d+ \d+$/)
  await consumer.ack(message)
  // Acknowledged, and the other tag filtered out: nothing more for this group.
  t.deepEqual(await consumer.receive(32, 10000), [])
})

test('timer messages: delay and deliveryTimestamp carry their time, and one due later is not delivered early', async (t) => {
  const topic = await topicOf(t, 'cnjs_delay')
  const producer = await startedProducer(t)
  const later = new Date(Date.now() + 120_000)
  await producer.send({ topic, tag: 'later', deliveryTimestamp: later, body: hello('later') })
  const sentAt = Date.now()
  const soon = await producer.send({ topic, tag: 'soon', delay: 1000, keys: ['k'], body: hello('soon') })
  const consumer = await startedSimpleConsumer(t, topic, FilterExpression.SUB_ALL)
  const received = await receiveAtLeast(consumer, 1)
  t.is(received.length, 1, `received ${received.map((m) => m.tag).join(', ')}`)
  const [message] = received as [MessageView]
  t.is(message.messageId, soon.messageId)
  t.true(message.deliveryTimestamp !== undefined && message.deliveryTimestamp.getTime() >= sentAt + 1000)
  t.true(message.transportDeliveryTimestamp !== undefined && message.transportDeliveryTimestamp.getTime() - sentAt >= 1000)
  await consumer.ack(message)
  await t.throwsAsync(producer.send({ topic, delay: 1000, messageGroup: 'g', body: hello('both') }), {
    instanceOf: BadRequestException,
    message: /mutually exclusive with messageGroup/,
  })
})

test('FIFO: messages of one messageGroup come in the order sent, carrying their group', async (t) => {
  const topic = await topicOf(t, 'cnjs_fifo')
  const tag = `nodejs-unittest-tag-${randomUUID()}`
  const producer = await startedProducer(t)
  const receipts = []
  for (const text of ['first', 'second', 'third']) {
    receipts.push(await producer.send({ topic, tag, body: hello(text), messageGroup: 'fifoMessageGroup' }))
  }
  // One group, one queue.
  t.is(new Set(receipts.map((r) => `${r.messageQueue.broker.name}/${r.messageQueue.queueId}`)).size, 1)
  const consumer = await startedSimpleConsumer(t, topic, tag)
  for (const [index, text] of ['first', 'second', 'third'].entries()) {
    const messages = await consumer.receive(1, 10000)
    t.is(messages.length, 1)
    const [message] = messages as [MessageView]
    t.is(JSON.parse(message.body.toString()).hello, text)
    t.is(message.messageId, receipts[index]?.messageId)
    t.is(message.messageGroup, 'fifoMessageGroup')
    t.is(message.properties.get('__SHARDINGKEY'), 'fifoMessageGroup')
    await consumer.ack(message)
  }
})

test('103 messages are all received in batches of at most 20 and acknowledged, each once', async (t) => {
  const topic = await topicOf(t, 'cnjs_many')
  const tag = `nodejs-unittest-tag-${randomUUID()}`
  const producer = await startedProducer(t)
  const consumer = await startedSimpleConsumer(t, topic, new FilterExpression(tag))
  const sent = new Set<string>()
  for (let i = 0; i < 103; i++) {
    sent.add((await producer.send({ topic, tag, body: Buffer.from(JSON.stringify({ hello: 'world' })) })).messageId)
  }
  const seen = new Set<string>()
  for (let round = 0; round < 40 && seen.size < sent.size; round++) {
    const messages = await consumer.receive(20, 10000)
    t.true(messages.length <= 20)
    for (const message of messages) {
      t.is(message.topic, topic)
      t.is(message.tag, tag)
      t.deepEqual(JSON.parse(message.body.toString()), { hello: 'world' })
      t.false(seen.has(message.messageId), 'received once')
      seen.add(message.messageId)
      await consumer.ack(message)
    }
  }
  t.deepEqual([...seen].sort(), [...sent].sort())
})

test('a message not acknowledged comes again after its invisible duration, with deliveryAttempt 2', async (t) => {
  const topic = await topicOf(t, 'cnjs_redeliver')
  const producer = await startedProducer(t)
  const receipt = await producer.send({ topic, body: hello('again') })
  const consumer = await startedSimpleConsumer(t, topic, '*')
  const [first] = (await receiveAtLeast(consumer, 1, 1000)) as [MessageView]
  t.is(first.messageId, receipt.messageId)
  const [again] = (await receiveAtLeast(consumer, 1, 10000)) as [MessageView]
  t.is(again.messageId, receipt.messageId)
  t.is(again.topic, topic)
  t.is(again.deliveryAttempt, 2)
  t.not(again.receiptHandle, first.receiptHandle)
  await consumer.ack(again)
})

test('changeInvisibleDuration renews the receipt handle and moves the redelivery', async (t) => {
  const topic = await topicOf(t, 'cnjs_invisible')
  const producer = await startedProducer(t)
  const receipt = await producer.send({ topic, body: hello('hidden') })
  const consumer = await startedSimpleConsumer(t, topic, '*')
  // Hidden for 10 minutes, then shortened to 1 s: it comes back well before the 10 minutes.
  const [message] = (await receiveAtLeast(consumer, 1, 600_000)) as [MessageView]
  const before = message.receiptHandle
  await consumer.changeInvisibleDuration(message, 1000)
  t.not(message.receiptHandle, before)
  const [again] = (await receiveAtLeast(consumer, 1, 10000)) as [MessageView]
  t.is(again.messageId, receipt.messageId)
  await consumer.ack(again)
  await t.throwsAsync(consumer.changeInvisibleDuration(again, 10), { instanceOf: BadRequestException, message: /invisibleDuration/ })
})

test('a PushConsumer gets each message as a MessageView; SUSPEND, FAILURE and a throw have it delivered again', async (t) => {
  const topic = await topicOf(t, 'cnjs_push')
  const producer = await startedProducer(t)
  const sent = new Map<string, string>()
  for (const tag of ['ok', 'suspend', 'failure', 'throw']) {
    sent.set(tag, (await producer.send({ topic, tag, keys: [tag], body: hello(tag) })).messageId)
  }
  // Started after the sends: a new group starts at 0 on the queues whose first message the broker still holds in
  // memory (5.x), and at the end of the others; a send racing the start could come before it.
  const seen: MessageView[] = []
  const consumer = new PushConsumer({
    endpoints,
    namespace: '',
    consumerGroup: uniqueName('cnjs_push'),
    subscriptions: new Map([[topic, '*']]),
    messageListener: {
      async consume(view: MessageView): Promise<ConsumeResult> {
        seen.push(view)
        if (view.deliveryAttempt === 1 && view.tag === 'suspend') {
          return ConsumeResultSuspend.of(500)
        }
        if (view.deliveryAttempt === 1 && view.tag === 'failure') {
          return ConsumeResult.FAILURE
        }
        if (view.deliveryAttempt === 1 && view.tag === 'throw') {
          throw new Error('listener failed')
        }
        return ConsumeResult.SUCCESS
      },
    },
  })
  await consumer.startup()
  t.teardown(() => consumer.shutdown())
  t.is(consumer.getConsumerGroup().startsWith('cnjs_push'), true)
  t.regex(consumer.getClientId(), /@/)
  const attempts = (tag: string): number[] => seen.filter((v) => v.tag === tag).map((v) => v.deliveryAttempt ?? 0)
  t.true(await waitFor(() => ['suspend', 'failure', 'throw'].every((tag) => attempts(tag).includes(2))), JSON.stringify(seen.map((v) => [v.tag, v.deliveryAttempt])))
  t.deepEqual(attempts('ok'), [1])
  for (const tag of ['suspend', 'failure', 'throw']) {
    t.deepEqual(attempts(tag), [1, 2], tag)
    t.true(seen.filter((v) => v.tag === tag).every((v) => v.messageId === sent.get(tag) && v.topic === topic), tag)
  }
})

test('every option is honoured or refused by name', (t) => {
  const group = 'cnjs_options'
  const subscriptions = new Map([['TopicTest', '*']])
  const listener = { consume: () => ConsumeResult.SUCCESS }
  type AnyOptions = ConstructorParameters<typeof PushConsumer>[0]
  const push = (extra: Record<string, unknown>) => () => new PushConsumer({ endpoints, consumerGroup: group, subscriptions, messageListener: listener, ...extra } as AnyOptions)
  const simple = (extra: Record<string, unknown>) => () =>
    new SimpleConsumer({ endpoints, consumerGroup: group, subscriptions, ...extra } as ConstructorParameters<typeof SimpleConsumer>[0])
  const producer = (extra: Record<string, unknown>) => () => new Producer({ endpoints, ...extra } as ConstructorParameters<typeof Producer>[0])

  // Credentials and namespaces are taken (tested against an ACL cluster in __test__/secured/); malformed ones are
  // refused naming the field, never showing a secret.
  t.notThrows(producer({ sessionCredentials: { accessKey: 'a', accessSecret: 'b', securityToken: 't' }, namespace: 'ns' }))
  t.notThrows(simple({ sessionCredentials: { accessKey: 'a', accessSecret: 'b' }, namespace: 'ns' }))
  t.notThrows(push({ sessionCredentials: { accessKey: 'a', accessSecret: 'b' }, namespace: 'ns' }))
  t.throws(producer({ sessionCredentials: { accessKey: 'a' } }), configError(/^rocketmq-client-nodejs option sessionCredentials.accessSecret is required/))
  t.throws(simple({ sessionCredentials: { accessKey: 'a', accessSecret: 'b', secret: 'c' } }), configError(/sessionCredentials.secret is not a field/))
  t.throws(push({ sessionCredentials: { accessKey: '', accessSecret: 'hidden-value' } }), configError(/sessionCredentials.accessKey is required/))
  t.throws(producer({ sessionCredentials: 'a:b' }), configError(/sessionCredentials must be an object/))
  t.throws(producer({ namespace: 'n%s' }), configError(/namespace/))
  t.throws(simple({ namespace: 'n%s' }), configError(/namespace/))
  // sslEnabled: true is TLS trusting the public roots, or the file gRPC's clients read (GRPC_DEFAULT_SSL_ROOTS_FILE_PATH);
  // connecting over it is tested against the TLS cluster in __test__/secured/tls.secured.ts.
  t.notThrows(producer({ sslEnabled: true }))
  t.notThrows(simple({ sslEnabled: true }))
  t.notThrows(push({ sslEnabled: true }))
  t.throws(producer({ sslEnabled: 'yes' }), configError(/sslEnabled "yes" must be true or false/))
  const rootsBefore = process.env.GRPC_DEFAULT_SSL_ROOTS_FILE_PATH
  process.env.GRPC_DEFAULT_SSL_ROOTS_FILE_PATH = '/nonexistent/roots.pem'
  try {
    t.throws(simple({ sslEnabled: true }), configError(/GRPC_DEFAULT_SSL_ROOTS_FILE_PATH=\/nonexistent\/roots.pem cannot be read/))
    t.notThrows(producer({ sslEnabled: false }), 'the roots file is read only for TLS')
  } finally {
    if (rootsBefore === undefined) {
      delete process.env.GRPC_DEFAULT_SSL_ROOTS_FILE_PATH
    } else {
      process.env.GRPC_DEFAULT_SSL_ROOTS_FILE_PATH = rootsBefore
    }
  }
  t.throws(producer({ logger: console }), configError(/logger.*setLogger/))
  t.throws(producer({ checker: { check: () => undefined } }), configError(/checker.*transactional/))
  t.throws(producer({ requestTimeout: 999 }), configError(/requestTimeout/))
  t.throws(producer({ maxAttempts: 0 }), configError(/maxAttempts/))
  t.throws(producer({ retries: 3 }), configError(/retries is not an option/))
  t.throws(() => new Producer({} as ConstructorParameters<typeof Producer>[0]), configError(/endpoints is required/))
  t.throws(producer({ endpoints: 'proxy.example.com' }), configError(/endpoints.*NameServer "host:port"/))
  t.throws(push({ enableFifoConsumeAccelerator: true }), configError(/enableFifoConsumeAccelerator/))
  t.throws(push({ messageListener: undefined }), configError(/messageListener is required/))
  t.throws(push({ consumerGroup: '' }), configError(/consumerGroup is required/))
  t.throws(push({ subscriptions: new Map() }), configError(/subscriptions is required/))
  t.throws(push({ subscriptions: new Map([['t', 42]]) }), configError(/FilterExpression or a tag expression/))
  t.throws(push({ maxCacheMessageCount: -1 }), configError(/maxCacheMessageCount/))
  t.throws(simple({ awaitDuration: 'long' }), configError(/awaitDuration/))
  t.throws(simple({ messageListener: listener }), configError(/messageListener is not an option/))
  // Accepted: the defaults of the original, spelled out.
  t.notThrows(push({ maxCacheMessageCount: 1024, maxCacheMessageSizeInBytes: 67108864, longPollingTimeout: 30000, requestTimeout: 3000, enableFifoConsumeAccelerator: false, namespace: '', sslEnabled: false }))
  t.notThrows(simple({ awaitDuration: 30000, maxRetryAttempts: 3, requestTimeout: 3000 }))
  t.notThrows(producer({ topic: 'TopicTest', maxAttempts: 3, requestTimeout: 5000, topics: ['TopicTest'] }))
})

test('message options the brokers cannot carry are refused by name; transactions and recall are unsupported', async (t) => {
  const topic = await topicOf(t, 'cnjs_refused')
  const producer = await startedProducer(t)
  const body = hello('x')
  await t.throwsAsync(producer.send({ topic, body, priority: 1 }), { instanceOf: BadRequestException, message: /priority/ })
  await t.throwsAsync(producer.send({ topic, body, liteTopic: 'l' }), { instanceOf: BadRequestException, message: /liteTopic/ })
  await t.throwsAsync(producer.send({ topic, body, color: 'red' } as Parameters<Producer['send']>[0]), { instanceOf: BadRequestException, message: /color is not a message option/ })
  await t.throwsAsync(producer.send({ topic, body }, {}), { instanceOf: BadRequestException, message: /transaction/ })
  t.throws(() => producer.beginTransaction(), { instanceOf: UnsupportedException })
  await t.throwsAsync(producer.recallMessage(topic, 'handle'), { instanceOf: UnsupportedException })
  // A topic name the engine refuses is a BadRequestException with the engine's error as cause.
  const bad = await t.throwsAsync(producer.send({ topic: 'bad topic!', body }))
  t.true(bad instanceof BadRequestException, String(bad))
  t.is((bad as ClientException).code, 40000)
  t.like((bad as Error).cause, { name: 'ValidationError', code: 'ERR_VALIDATION' })
})

test('subscribe and unsubscribe while running: a PushConsumer and a SimpleConsumer take a second topic', async (t) => {
  const first = await topicOf(t, 'cnjs_subscribe_a')
  const second = await topicOf(t, 'cnjs_subscribe_b')
  const producer = await startedProducer(t)
  const seen: MessageView[] = []
  const push = new PushConsumer({
    endpoints,
    consumerGroup: uniqueName('cnjs_subscribe_push'),
    subscriptions: new Map([[first, '*']]),
    messageListener: {
      consume(view: MessageView): ConsumeResult {
        seen.push(view)
        return ConsumeResult.SUCCESS
      },
    },
  })
  await push.startup()
  t.teardown(() => push.shutdown())
  const simple = await startedSimpleConsumer(t, first, '*')
  await t.throwsAsync(simple.subscribe(`missing-${randomUUID()}`, FilterExpression.SUB_ALL), { instanceOf: NotFoundException })
  await push.subscribe(second, new FilterExpression('wanted'))
  await simple.subscribe(second, new FilterExpression('wanted'))
  await producer.send({ topic: second, tag: 'other', body: hello('other') })
  const wanted = await producer.send({ topic: second, tag: 'wanted', body: hello('wanted') })
  t.true(await waitFor(() => seen.some((view) => view.messageId === wanted.messageId)))
  t.false(seen.some((view) => view.tag === 'other'))
  // The simple consumer's receives take the subscribed topics in turn.
  const received: MessageView[] = []
  for (let round = 0; round < 6 && received.length === 0; round++) {
    received.push(...(await simple.receive(32, 10000)))
  }
  t.deepEqual(received.map((view) => [view.topic, view.messageId]), [[second, wanted.messageId]])
  simple.unsubscribe(second)
  simple.unsubscribe(first)
  await t.throwsAsync(simple.receive(), { instanceOf: BadRequestException, message: /No subscriptions/ })
  push.unsubscribe(second)
})
