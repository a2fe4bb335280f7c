/**
 * Namespaces (Java's `namespace` setting) against the open cluster: a namespaced producer and consumer exchange
 * messages under the bare names, a failed message comes back through the namespaced retry topic, and a client without
 * the namespace sees the wrapped names (`<ns>%<topic>`, `%RETRY%<ns>%<group>`).
 */
import test from 'ava'

import { Admin, ConsumeFromWhere, ConsumeResult, Producer } from '../index'
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

  // A plain client sees the wrapped names: the topic, and the retry topic the broker made for the group.
  const plain = await recordingConsumer(t, wrappedTopic, { consumeFromWhere: ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET })
  t.true(await waitFor(() => plain.deliveries.length >= bodies.length, WAIT_MS))
  t.true(plain.deliveries.every((d) => d.message.topic === wrappedTopic))
  const retryRoute = await admin.getTopicRoute(`%RETRY%${namespace}%${group}`)
  t.true(retryRoute.queueDatas.length > 0)
})
