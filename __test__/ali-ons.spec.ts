/**
 * `rocketmq-napi/ali-ons` against the local cluster: the scenarios of ali-ons' own test suite (send and consume,
 * tag filters, broadcasting, retries after a handler throws, close) written as ours, and its options, each
 * honoured or refused by name.
 */
import { rmSync } from 'node:fs'

import test, { type ExecutionContext } from 'ava'

import { Admin, ConfigError, Producer as EngineProducer, ValidationError } from '../index'
import { Consumer, Message, Producer } from '../lib/compat/ali-ons'
import type { AliOnsConsumerOptions, AliOnsSendResult } from '../lib/compat/ali-ons'
import { toConsumerConfig, toProducerConfig } from '../lib/compat/ali-ons/options'
import { NAMESRV_ADDR, createTestTopic, uniqueName } from './helpers/cluster'
import { waitFor } from './helpers/consumer'

const admin = new Admin({ namesrvAddr: NAMESRV_ADDR })
test.after.always(() => admin.close())

const NAME_SRV = [NAMESRV_ADDR]

function producer(t: ExecutionContext): Producer {
  const made = new Producer({ httpclient: {}, nameSrv: NAME_SRV, producerGroup: uniqueName('alions_producer') })
  t.teardown(() => made.close())
  return made
}

function consumer(t: ExecutionContext, options: Partial<AliOnsConsumerOptions> = {}): Consumer {
  const made = new Consumer({
    httpclient: {},
    nameSrv: NAME_SRV,
    consumerGroup: uniqueName('alions_group'),
    consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
    ...options,
  })
  t.teardown(() => made.close())
  return made
}

test('sent messages reach the handler once each, with the fields ali-ons gives', async (t) => {
  const topic = await createTestTopic(admin, 'alions_fields')
  const p = producer(t)
  await p.ready()
  const sent = new Map<string, AliOnsSendResult>()
  for (let i = 0; i < 40; i += 1) {
    const message = new Message(topic, i % 2 === 0 ? 'even' : 'odd', `body-${i}`)
    message.keys = [`key-${i}`, 'shared']
    message.properties.origin = 'spec'
    const result = await p.send(message)
    t.is(result.sendStatus, 'SEND_OK')
    t.is(result.messageQueue.topic, topic)
    sent.set(`body-${i}`, result)
  }
  const c = consumer(t)
  const received = new Map<string, Message[]>()
  c.subscribe(topic, '*', async (msg, mq) => {
    const body = msg.body.toString()
    received.set(body, [...(received.get(body) ?? []), msg])
    t.is(mq.topic, topic)
    t.is(mq.queueId, msg.queueId ?? -1)
  })
  await c.ready()
  t.true(await waitFor(() => received.size === 40), `received ${received.size} of 40`)
  for (const [body, result] of sent) {
    const [msg, ...again] = received.get(body) ?? []
    t.is(again.length, 0, `${body} delivered once`)
    if (msg === undefined) continue
    t.is(msg.msgId, result.msgId)
    t.is(msg.topic, topic)
    t.is(msg.queueId, result.messageQueue.queueId)
    t.is(msg.queueOffset, result.queueOffset)
    const i = Number(body.slice('body-'.length))
    t.is(msg.tags, i % 2 === 0 ? 'even' : 'odd')
    t.is(msg.keys, `key-${i} shared`)
    t.is(msg.properties.origin, 'spec')
    t.is(msg.reconsumeTimes, 0)
    t.is(typeof msg.commitLogOffset, 'number')
    t.true((msg.storeTimestamp ?? 0) >= (msg.bornTimestamp ?? Infinity))
  }
})

test('a tag expression delivers only the tags it names', async (t) => {
  const topic = await createTestTopic(admin, 'alions_tags')
  const p = producer(t)
  // Every queue gets TagB messages before TagA ones (round robin over its 16 queues), so an unfiltered TagB
  // would reach the handler before the last TagA.
  for (const tag of ['TagB', 'TagA', 'TagC']) {
    for (let i = 0; i < 16; i += 1) {
      await p.send(new Message(topic, tag, `${tag}-${i}`))
    }
  }
  const c = consumer(t)
  const tags: string[] = []
  c.subscribe(topic, 'TagA || TagC', async (msg) => {
    tags.push(msg.tags ?? '')
  })
  t.true(await waitFor(() => tags.length >= 32))
  t.deepEqual([...new Set(tags)].sort(), ['TagA', 'TagC'])
})

test('broadcasting: every member gets every message', async (t) => {
  const topic = await createTestTopic(admin, 'alions_broadcast')
  const group = uniqueName('alions_broadcast_group')
  const members = [1, 2].map((n) => consumer(t, { consumerGroup: group, isBroadcast: true, instanceName: `member${n}` }))
  const seen = members.map(() => new Set<string>())
  members.forEach((member, index) =>
    member.subscribe(topic, async (msg) => {
      seen[index]?.add(msg.body.toString())
    }),
  )
  await Promise.all(members.map((member) => member.ready()))
  const p = producer(t)
  for (let i = 0; i < 20; i += 1) {
    await p.send(new Message(topic, 'note', `note-${i}`))
  }
  t.true(await waitFor(() => seen.every((set) => set.size === 20)), `seen ${seen.map((s) => s.size).join(', ')}`)
})

test('a handler that throws gets the message again, with reconsumeTimes + 1, and the error is emitted', async (t) => {
  const topic = await createTestTopic(admin, 'alions_retry')
  const p = producer(t)
  const thrown = await p.send(new Message(topic, 'x', 'throw-once'))
  const retried = await p.send(new Message(topic, 'x', 'retry-once'))
  const c = consumer(t)
  const errors: Error[] = []
  c.on('error', (error: Error) => errors.push(error))
  const deliveries: Message[] = []
  c.subscribe(topic, '*', async (msg) => {
    deliveries.push(msg)
    if (msg.reconsumeTimes === 0 && msg.body.toString() === 'throw-once') {
      throw new Error('mock failure')
    }
    if (msg.reconsumeTimes === 0) {
      return Consumer.ACTION_RETRY
    }
    return undefined
  })
  t.true(await waitFor(() => deliveries.filter((msg) => msg.reconsumeTimes === 1).length === 2, 90_000))
  for (const first of [thrown, retried]) {
    const again = deliveries.find((msg) => msg.reconsumeTimes === 1 && msg.originMessageId === first.msgId)
    t.truthy(again, `${first.msgId} delivered again`)
    t.is(again?.topic, topic, 'the original topic, not the retry topic')
    t.is(again?.retryTopic, topic)
  }
  t.is(errors.length, 1, 'only the throw is an error; ACTION_RETRY is not')
  t.regex(errors[0]?.message ?? '', /mock failure/)
})

test('close() waits for the handler calls running, and commits what they consumed', async (t) => {
  const topic = await createTestTopic(admin, 'alions_close')
  const group = uniqueName('alions_close_group')
  const p = producer(t)
  const slow = await p.send(new Message(topic, 'x', 'slow'))
  const c = consumer(t, { consumerGroup: group })
  let release: () => void = () => undefined
  const gate = new Promise<void>((resolve) => {
    release = resolve
  })
  let started = false
  let finished = false
  c.subscribe(topic, async () => {
    started = true
    await gate
    finished = true
  })
  t.true(await waitFor(() => started))
  let closed = false
  const closing = c.close().then(() => {
    closed = true
  })
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.false(closed, 'close() still waits for the running handler')
  release()
  await closing
  t.true(finished)
  // The next member of the group starts after it: a marker sent behind it to its queue comes, it does not.
  const engineProducer = new EngineProducer({ namesrvAddr: NAMESRV_ADDR, producerGroup: uniqueName('alions_close_p') })
  await engineProducer.start()
  t.teardown(() => engineProducer.shutdown())
  await engineProducer.send({ topic, body: 'marker' }, { queue: { brokerName: slow.messageQueue.brokerName, queueId: slow.messageQueue.queueId } })
  const next = consumer(t, { consumerGroup: group })
  const bodies: string[] = []
  next.subscribe(topic, async (msg) => {
    bodies.push(msg.body.toString())
  })
  t.true(await waitFor(() => bodies.includes('marker')))
  t.deepEqual(bodies, ['marker'])
})

test('a SQL92 subscription, as in the README, delivers the messages whose properties match', async (t) => {
  const topic = await createTestTopic(admin, 'alions_sql')
  const p = producer(t)
  for (let i = 0; i < 16; i += 1) {
    const plain = new Message(topic, `plain-${i}`)
    await p.send(plain)
    const marked = new Message(topic, 'TagA', `marked-${i}`)
    marked.properties.a = String(i)
    await p.send(marked)
  }
  const c = consumer(t)
  const bodies: string[] = []
  c.subscribe(topic, { expressionType: 'SQL92', subString: 'a is not null' }, async (msg) => {
    bodies.push(msg.body.toString())
    t.is(msg.tags, 'TagA')
  })
  await c.ready()
  t.true(await waitFor(() => bodies.length >= 16))
  t.true(bodies.every((body) => body.startsWith('marked-')), bodies.join(' '))
})

test('a second handler for a topic, or a handler that is not a function, is refused', async (t) => {
  const topic = await createTestTopic(admin, 'alions_one_handler')
  const c = consumer(t)
  c.subscribe(topic, async () => undefined)
  t.throws(() => c.subscribe(topic, async () => undefined), { instanceOf: ValidationError, message: /one handler per topic/ })
  t.throws(() => c.subscribe(topic, '*', 'nope' as never), { instanceOf: ValidationError })
  await c.ready()
})

test('options the engine cannot honour are refused with an error naming them', (t) => {
  const base = { nameSrv: NAME_SRV, consumerGroup: 'alions_options' }
  const refusedConsumer: Array<[Record<string, unknown>, RegExp]> = [
    [{ accessKeySecret: 'secret' }, /accessKeySecret is set but accessKeyId is not/],
    [{ accessKeyId: 'id', accessKey: 'other', accessKeySecret: 'secret' }, /accessKeyId and accessKey .* differ/],
    [{ accessKeyId: 'id', accessKeySecret: 42 }, /^ali-ons option accessKeySecret must be a string; got number$/],
    [{ namespace: 'n%s' }, /namespace/],
    [{ onsChannel: 'CLOUD' }, /onsChannel "CLOUD" is not supported: only "ALIYUN"/],
    [{ onsAddr: 'http://example' }, /onsAddr/],
    [{ unitMode: true }, /unitMode/],
    [{ allocateMessageQueueStrategy: {} }, /allocateMessageQueueStrategy/],
    [{ consumeMessageBatchMaxSize: 4 }, /consumeMessageBatchMaxSize/],
    [{ pullTimeDelayMillsWhenException: 1000 }, /pullTimeDelayMillsWhenException/],
    [{ logger: console }, /logger.*setLogger/],
    [{ parallelConsumeLimit: 64 }, /parallelConsumeLimit 64 must not exceed pullBatchSize 32/],
    [{ consumeFromWhere: 'CONSUME_FROM_NOWHERE' }, /consumeFromWhere/],
    [{ consumeTimestamp: 'yesterday' }, /consumeTimestamp/],
    [{ pullBatchSize: 0 }, /pullBatchSize/],
    [{ persistentt: true }, /persistentt is not an option/],
  ]
  for (const [extra, message] of refusedConsumer) {
    t.throws(() => new Consumer({ ...base, ...extra } as AliOnsConsumerOptions), { instanceOf: ConfigError, message }, JSON.stringify(extra))
  }
  t.throws(() => new Consumer({ nameSrv: NAME_SRV } as unknown as AliOnsConsumerOptions), { instanceOf: ConfigError, message: /consumerGroup is required/ })
  const refusedProducer: Array<[Record<string, unknown>, RegExp]> = [
    [{ accessKeyId: 'id' }, /accessKeyId is set but accessKeySecret is not/],
    [{ retryAnotherBrokerWhenNotStoreOK: true }, /retryAnotherBrokerWhenNotStoreOK/],
    [{ createTopicKey: 'MY_KEY' }, /createTopicKey/],
    [{ isBroadcast: true }, /isBroadcast is not an option of ali-ons' producer/],
    [{ sendMsgTimeout: -1 }, /sendMsgTimeout/],
  ]
  for (const [extra, message] of refusedProducer) {
    t.throws(() => new Producer({ nameSrv: NAME_SRV, producerGroup: 'alions_options', ...extra }), { instanceOf: ConfigError, message }, JSON.stringify(extra))
  }
})

test("ali-ons' defaults where they shape what a handler sees, and the options mapped to the engine's settings", (t) => {
  const defaults = toConsumerConfig({ nameSrv: NAME_SRV, consumerGroup: 'g' })
  t.like(defaults.config, {
    namesrvAddr: NAMESRV_ADDR,
    messageModel: 'CLUSTERING',
    consumeThreadNum: 1,
    consumeMessageBatchMaxSize: 1,
    pullBatchSize: 32,
    pullThresholdForQueue: 500,
    rebalanceInterval: 10000,
    maxReconsumeTimes: 16,
  })
  t.is(defaults.config.consumeFromWhere, undefined, "the engine's default, CONSUME_FROM_LAST_OFFSET, as ali-ons'")
  t.is(defaults.temporaryOffsetDir, undefined)
  const mapped = toConsumerConfig({
    nameSrv: ['127.0.0.1:9876', '127.0.0.2:9876'],
    consumerGroup: 'g',
    isBroadcast: true,
    consumeFromWhere: 'CONSUME_FROM_MAX_OFFSET',
    consumeTimestamp: '20261126103000',
    parallelConsumeLimit: 8,
    pullTimeDelayMillsWhenFlowControl: 2000,
    pullInterval: 10,
    brokerSuspendMaxTimeMillis: 1000,
    consumerTimeoutMillisWhenSuspend: 2000,
    persistConsumerOffsetInterval: 1000,
    maxReconsumeTimes: 3,
    pullTimeDelayMillsWhenException: 3000,
    postSubscriptionWhenPull: true,
    heartbeatBrokerInterval: 30000,
    namespace: '',
  })
  t.like(mapped.config, {
    namesrvAddr: '127.0.0.1:9876;127.0.0.2:9876',
    messageModel: 'BROADCASTING',
    consumeFromWhere: 'CONSUME_FROM_LAST_OFFSET',
    consumeTimestamp: new Date(2026, 10, 26, 10, 30, 0).getTime(),
    consumeThreadNum: 8,
    flowControlInterval: 2000,
    pullInterval: 10,
    brokerSuspendMaxTimeMillis: 1000,
    consumerTimeoutMillisWhenSuspend: 2000,
    persistConsumerOffsetInterval: 1000,
    maxReconsumeTimes: 3,
  })
  t.truthy(mapped.temporaryOffsetDir, 'non-persistent broadcasting keeps its offsets in a temporary directory')
  t.is(mapped.config.offsetStoreDir, mapped.temporaryOffsetDir)
  t.is(mapped.config.namespace, undefined, "namespace '' is none")
  t.is(mapped.config.accessKey, undefined)
  // The keys (under either of ali-ons' names) and the namespace become the engine's settings.
  const secured = toConsumerConfig({ nameSrv: NAME_SRV, consumerGroup: 'g', namespace: 'tenant-a', accessKey: 'ak', secretKey: 'sk', onsChannel: 'ALIYUN' })
  t.like(secured.config, { namespace: 'tenant-a', accessKey: 'ak', secretKey: 'sk' })
  t.like(toProducerConfig({ nameSrv: NAME_SRV, namespace: 'tenant-a', accessKeyId: 'ak', accessKeySecret: 'sk' }), { namespace: 'tenant-a', accessKey: 'ak', secretKey: 'sk' })
  rmSync(mapped.temporaryOffsetDir ?? '', { recursive: true, force: true })
  const persistent = toConsumerConfig({ nameSrv: NAME_SRV, consumerGroup: 'g', isBroadcast: true, persistent: true })
  t.is(persistent.temporaryOffsetDir, undefined)
  t.is(persistent.config.offsetStoreDir, undefined)
  t.like(toProducerConfig({ nameSrv: NAME_SRV }), { producerGroup: 'DEFAULT_PRODUCER', sendMsgTimeout: 3000, retryTimesWhenSendFailed: 3 })
  t.like(toProducerConfig({ nameSrv: NAME_SRV, producerGroup: 'p', compressMsgBodyOverHowmuch: 100, maxMessageSize: 1024 }), {
    producerGroup: 'p',
    compressMsgBodyOverHowmuch: 100,
    maxMessageSize: 1024,
  })
})

test('a SQL92 expression the brokers refuse: ready() rejects and the error is emitted', async (t) => {
  const topic = await createTestTopic(admin, 'alions_bad_sql')
  const c = consumer(t)
  const errors: Error[] = []
  c.on('error', (error: Error) => errors.push(error))
  c.subscribe(topic, { expressionType: 'SQL92', subString: 'a >' }, async () => undefined)
  const error = await t.throwsAsync(c.ready())
  t.is(error?.name, 'InvalidSelectorError')
  t.true(await waitFor(() => errors.length === 1))
})
