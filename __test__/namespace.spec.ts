/**
 * Namespaces (Java's `namespace` setting) against the open cluster: a namespaced producer and consumer exchange
 * messages under the bare names, a failed message comes back through the namespaced retry topic, and a client without
 * the namespace sees the wrapped names (`<ns>%<topic>`, `%RETRY%<ns>%<group>`).
 */
import test from 'ava'

import {
  Admin,
  ConfigError,
  ConsumeFromWhere,
  ConsumeResult,
  Consumer,
  type MessageQueue,
  MessageModel,
  MessageSelector,
  OffsetStoreFactory,
  Producer,
  ReadOffsetType,
  SubscriptionManager,
  TopicNotFoundError,
  createOffsetStore,
  closeOffsetStore,
} from '../index'
import { NAMESRV_ADDR, QUEUES_PER_BROKER, uniqueName } from './helpers/cluster'
import { recordingConsumer, waitFor } from './helpers/consumer'

/** Bound on each wait (a limit, not a timing assertion); the retry comes back after the broker's delay. */
const WAIT_MS = 120_000

const admin = new Admin({ namesrvAddr: NAMESRV_ADDR })
test.after.always(() => admin.close())

test('a namespaced producer and consumer use bare names while the brokers and plain clients see wrapped ones', async (t) => {
  const namespace = `ns${Date.now().toString(36)}`
  const topic = uniqueName('ns_topic')
  const group = uniqueName('ns_group')
  const wrappedTopic = `${namespace}%${topic}`
  await admin.createTopic({ topic: wrappedTopic, queueNums: QUEUES_PER_BROKER })

  const producer = new Producer({ namesrvAddr: NAMESRV_ADDR, producerGroup: uniqueName('ns_producer'), namespace })
  await producer.start()
  t.teardown(() => producer.shutdown())
  const bodies = ['n1', 'n2', 'n3']
  for (const body of bodies) {
    const sent = await producer.send({ topic, body: Buffer.from(body) })
    t.is(sent.topic, topic)
  }

  // The namespaced consumer: bare topic in and out; the first delivery of n1 fails and comes back through
  // %RETRY%<ns>%<group>, still showing the bare topic.
  let failedOnce = false
  const namespaced = await recordingConsumer(
    t,
    topic,
    { consumerGroup: group, namespace, consumeFromWhere: ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET },
    {
      verdict: (messages) => {
        if (!failedOnce && messages.some((m) => m.body.toString() === 'n1')) {
          failedOnce = true
          return ConsumeResult.RECONSUME_LATER
        }
        return ConsumeResult.SUCCESS
      },
    },
  )
  t.true(await waitFor(() => namespaced.deliveries.length >= bodies.length + 1, WAIT_MS), `deliveries ${namespaced.deliveries.length}`)
  t.deepEqual([...new Set(namespaced.deliveries.map((d) => d.body))].sort(), bodies)
  t.true(namespaced.deliveries.every((d) => d.message.topic === topic), namespaced.deliveries.map((d) => d.message.topic).join())
  const redelivered = namespaced.deliveries.filter((d) => d.body === 'n1')
  t.is(redelivered.length, 2)
  t.is(redelivered[1]?.message.reconsumeTimes, 1)
  // The consumer's own store, seen through its view: bare queues out, bare queues in.
  const own = namespaced.consumer.offsetStore
  const delivered = namespaced.deliveries[0]?.message.queue
  t.true(delivered !== undefined && delivered.topic === topic)
  t.true(await waitFor(() => own.offsets().some((o) => o.queue.topic === topic), WAIT_MS))
  t.true(own.offsets().every((o) => o.queue.topic === topic || o.queue.topic === `%RETRY%${group}`), own.offsets().map((o) => o.queue.topic).join())
  if (delivered !== undefined) {
    t.true(((await own.readOffset(delivered, ReadOffsetType.READ_FROM_MEMORY)) ?? 0n) > 0n)
  }

  // A plain client sees the wrapped names: the topic, and the retry topic the broker made for the group.
  const plain = await recordingConsumer(t, wrappedTopic, { consumeFromWhere: ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET })
  t.true(await waitFor(() => plain.deliveries.length >= bodies.length, WAIT_MS))
  t.true(plain.deliveries.every((d) => d.message.topic === wrappedTopic))
  const retryRoute = await admin.getTopicRoute(`%RETRY%${namespace}%${group}`)
  t.true(retryRoute.queueDatas.length > 0)
})

test('queues, offset stores, admin and errors of a namespaced client show bare names; the wire has wrapped ones', async (t) => {
  const namespace = `nsq${Date.now().toString(36)}`
  const topic = uniqueName('ns_q_topic')
  const group = uniqueName('ns_q_group')
  const wrappedTopic = `${namespace}%${topic}`

  // The admin in the namespace creates and reads the topic under its bare name; a plain admin sees it wrapped.
  const nsAdmin = new Admin({ namesrvAddr: NAMESRV_ADDR, namespace })
  t.teardown(() => nsAdmin.close())
  await nsAdmin.createTopic({ topic, queueNums: QUEUES_PER_BROKER })
  const brokersOf = (route: { queueDatas: { brokerName: string }[] }) => route.queueDatas.map((q) => q.brokerName).sort()
  const wrappedRoute = await admin.getTopicRoute(wrappedTopic)
  t.true(wrappedRoute.queueDatas.length > 0)
  t.deepEqual(brokersOf(await nsAdmin.getTopicRoute(topic)), brokersOf(wrappedRoute))

  const producer = new Producer({ namesrvAddr: NAMESRV_ADDR, producerGroup: uniqueName('ns_q_producer'), namespace })
  await producer.start()
  t.teardown(() => producer.shutdown())
  const first = await producer.send({ topic, body: Buffer.from('q1') })
  const queue: MessageQueue = { topic: first.topic, brokerName: first.brokerName, queueId: first.queueId }
  t.is(queue.topic, topic)
  const second = await producer.send({ topic, body: Buffer.from('q2') }, { queue: { brokerName: queue.brokerName, queueId: queue.queueId } })
  // The broker indexes a message a moment after answering its send: both reads come once q2 is indexed.
  const end = second.queueOffset + 1
  let indexed = await admin.getMaxOffset(wrappedTopic, queue.brokerName, queue.queueId)
  for (const deadline = Date.now() + 30_000; indexed < end && Date.now() < deadline; ) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    indexed = await admin.getMaxOffset(wrappedTopic, queue.brokerName, queue.queueId)
  }
  t.is(indexed, end)
  t.is(await nsAdmin.getMaxOffset(topic, queue.brokerName, queue.queueId), end)
  t.is((await nsAdmin.viewMessage(first.offsetMsgId)).topic, topic)
  t.is((await admin.viewMessage(first.offsetMsgId)).topic, wrappedTopic)

  // Errors name what the user gave.
  const missing = uniqueName('ns_missing')
  const notFound = await t.throwsAsync(nsAdmin.getTopicRoute(missing), { instanceOf: TopicNotFoundError })
  t.true(notFound?.message.includes(missing) && !notFound.message.includes(`${namespace}%`), notFound?.message)

  // A store made in the namespace is the namespaced consumer's; a store of the bare group without it is not.
  const bareStore = await OffsetStoreFactory.createOffsetStore({
    consumerGroup: group,
    messageModel: MessageModel.CLUSTERING,
    namesrvAddr: NAMESRV_ADDR,
    autoStart: false,
  })
  t.teardown(() => bareStore.stop())
  const config = {
    consumerGroup: group,
    namesrvAddr: NAMESRV_ADDR,
    namespace,
    consumeFromWhere: ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET,
    allocateStrategy: { name: 'CONFIG', queues: [queue] },
  } as const
  const refused = t.throws(
    () => new Consumer({ config, offsetStore: bareStore, subscriptionManager: new SubscriptionManager(), messageListener: () => undefined }),
    { instanceOf: ConfigError },
  )
  t.true(refused?.message.includes(`"${group}" (CLUSTERING)`) && refused.message.includes(`in namespace "${namespace}"`), refused?.message)
  t.false(refused?.message.includes(`${namespace}%`), refused?.message)

  const store = await createOffsetStore({ consumerGroup: group, messageModel: MessageModel.CLUSTERING, namesrvAddr: NAMESRV_ADDR, namespace })
  t.teardown(() => closeOffsetStore(group, MessageModel.CLUSTERING, namespace))
  t.is(store.consumerGroup, group)
  t.is(store.namespace, namespace)

  // CONFIG allocation of the bare queue; events, assignedQueues, the context and the store show it bare.
  const subscriptions = new SubscriptionManager()
  subscriptions.subscribe(topic, MessageSelector.all())
  const seen: MessageQueue[] = []
  const rebalanced: MessageQueue[][] = []
  const consumer = new Consumer({
    config,
    offsetStore: store,
    subscriptionManager: subscriptions,
    messageListener: (_messages, context) => {
      seen.push(context.messageQueue)
      return ConsumeResult.SUCCESS
    },
  })
  consumer.on('rebalanced', (queues) => rebalanced.push(queues))
  await consumer.start()
  t.teardown(() => consumer.shutdown())
  t.true(await waitFor(() => seen.length > 0 && store.offsets().some((o) => o.offset >= 2n), WAIT_MS), JSON.stringify(store.offsets(), (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v)))
  t.deepEqual(seen[0], queue)
  t.deepEqual(await consumer.assignedQueues(), [queue])
  t.true(rebalanced.some((queues) => queues.length === 1 && queues[0]?.topic === topic), JSON.stringify(rebalanced))
  t.deepEqual(
    store.offsets().map((o) => o.queue),
    [queue],
  )
  t.is(await consumer.offsetStore.readOffset(queue), 2n)
  t.true((await consumer.metrics()).queues.every((q) => q.topic === topic))

  // Written by the user through the bare queue, persisted under the wrapped group and topic: a plain store of the
  // wrapped group reads it from the brokers.
  store.updateOffset(queue, 1n)
  t.true(await store.persist(queue))
  const plainStore = await OffsetStoreFactory.createOffsetStore({
    consumerGroup: `${namespace}%${group}`,
    messageModel: MessageModel.CLUSTERING,
    namesrvAddr: NAMESRV_ADDR,
    autoStart: false,
  })
  t.teardown(() => plainStore.stop())
  const wrappedQueue = { ...queue, topic: wrappedTopic }
  t.is(await plainStore.readOffset(wrappedQueue, ReadOffsetType.READ_FROM_STORE), 1n)
})

test('a namespaced producer refused for its group names the group as given', async (t) => {
  const namespace = `nsp${Date.now().toString(36)}`
  const producerGroup = uniqueName('ns_dup_producer')
  const first = new Producer({ namesrvAddr: NAMESRV_ADDR, producerGroup, namespace })
  await first.start()
  t.teardown(() => first.shutdown())
  const second = new Producer({ namesrvAddr: NAMESRV_ADDR, producerGroup, namespace })
  const refused = await t.throwsAsync(second.start())
  t.true(refused?.message.includes(`producer group ${producerGroup} `), refused?.message)
  t.false(refused?.message.includes(`${namespace}%`), refused?.message)
})
