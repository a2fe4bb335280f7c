/**
 * Selectors and listeners against the local cluster: glob tags filtered on the client (the others acknowledged
 * and committed), and SimpleMessageListener end to end.
 */
import test from 'ava'

import {
  Admin,
  ConsumeFromWhere,
  ConsumeResult,
  Consumer,
  MessageSelector,
  SimpleMessageListener,
  SubscriptionManager,
} from '../index'
import { committedOffsets } from './helpers/broker-offsets'
import { BROKERS, NAMESRV_ADDR, createTestTopic, maxOffsets, uniqueName } from './helpers/cluster'
import { deliveryCounts, produce, recordingConsumer, sleep, startedProducer, waitFor } from './helpers/consumer'

const admin = new Admin({ namesrvAddr: NAMESRV_ADDR })
test.after.always(() => admin.close())

const FROM_FIRST = { consumeFromWhere: ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET, persistConsumerOffsetInterval: 500 }

/** Whether the group's committed offset of every queue of the topic has reached the queue's max offset. */
async function everythingCommitted(group: string, topic: string): Promise<boolean> {
  const [committed, max] = await Promise.all([committedOffsets(admin, group, topic, BROKERS), maxOffsets(admin, topic)])
  return [...max].every(([queue, offset]) => offset === 0 || committed.get(queue) === offset)
}

/** Polls {@link everythingCommitted} every 500 ms for at most 30 s (a bound, not a timing assertion). */
async function waitForCommits(group: string, topic: string): Promise<boolean> {
  for (let attempt = 0; attempt < 60; attempt += 1) {
    if (await everythingCommitted(group, topic)) {
      return true
    }
    await sleep(500)
  }
  return false
}

test("a glob TAG selector (the seed's MessageSelector('tag', 'order_*')) delivers exactly the matching messages and commits the others", async (t) => {
  const topic = await createTestTopic(admin, 'consumer_glob')
  const producer = await startedProducer(t)
  const tags = ['order_created', 'order_paid', 'refund', 'xorder_created']
  await produce(producer, 800, (i) => ({ topic, body: `glob-${i}`, tags: tags[i % 4] ?? 'refund' }))
  await produce(producer, 50, (i) => ({ topic, body: `untagged-${i}` }))
  const group = uniqueName('consumer_glob')
  // Batches of up to 32 mix matching and other messages: the listener must see only the matching ones.
  const { consumer, deliveries } = await recordingConsumer(
    t,
    topic,
    { ...FROM_FIRST, consumerGroup: group, consumeMessageBatchMaxSize: 32 },
    { selector: new MessageSelector('tag', 'order_*') },
  )
  t.true(await waitFor(() => deliveries.length >= 400), `delivered ${deliveries.length} of 400`)
  t.true(await waitForCommits(group, topic), 'the committed offsets never reached the max offsets')
  const counts = deliveryCounts(deliveries)
  t.is(counts.size, 400)
  t.deepEqual([...counts.values()].filter((n) => n !== 1), [], 'a message was delivered twice')
  t.deepEqual(
    deliveries.filter(({ message }) => message.tags !== 'order_created' && message.tags !== 'order_paid').map((d) => d.body),
    [],
    'a message whose tag does not match order_* reached the listener',
  )
  t.is(consumer.stats().messagesFilteredOut, 450)
})

test('a glob selector whose pattern matches nothing commits every message without calling the listener', async (t) => {
  const topic = await createTestTopic(admin, 'consumer_glob_none')
  const producer = await startedProducer(t)
  await produce(producer, 200, (i) => ({ topic, body: `none-${i}`, tags: 'created' }))
  const group = uniqueName('consumer_glob_none')
  const { consumer, deliveries } = await recordingConsumer(
    t,
    topic,
    { ...FROM_FIRST, consumerGroup: group },
    { selector: MessageSelector.byTag('deleted_* || ?') },
  )
  t.true(await waitForCommits(group, topic), 'the committed offsets never reached the max offsets')
  t.is(deliveries.length, 0)
  t.is(consumer.stats().messagesFilteredOut, 200)
  t.is(consumer.stats().consumedFailed, 0)
})

test('a failed batch of a glob subscription comes back and its matching messages are delivered again, never the others', async (t) => {
  const topic = await createTestTopic(admin, 'consumer_glob_later')
  const producer = await startedProducer(t)
  const tags = ['order_a', 'other', 'order_b']
  await produce(producer, 300, (i) => ({ topic, body: `later-${i}`, tags: tags[i % 3] ?? 'other' }))
  const group = uniqueName('consumer_glob_later')
  let failed: string[] | undefined
  const { consumer, deliveries } = await recordingConsumer(
    t,
    topic,
    { ...FROM_FIRST, consumerGroup: group, consumeMessageBatchMaxSize: 16 },
    {
      selector: MessageSelector.byTag('order_?'),
      verdict: (messages, context) => {
        if (failed === undefined) {
          failed = messages.map((message) => message.body.toString())
          context.delayLevelWhenNextConsume = 1
          return ConsumeResult.RECONSUME_LATER
        }
        return ConsumeResult.SUCCESS
      },
    },
  )
  t.true(await waitFor(() => failed !== undefined && deliveries.length >= 200 + failed.length), `delivered ${deliveries.length}`)
  t.true(await waitForCommits(group, topic), 'the committed offsets never reached the max offsets')
  const counts = deliveryCounts(deliveries)
  t.is(counts.size, 200)
  for (const body of failed ?? []) {
    t.true((counts.get(body) ?? 0) >= 2, `${body} of the failed batch was not delivered again`)
  }
  t.deepEqual(
    deliveries.filter(({ message }) => message.tags === 'other').map((d) => d.body),
    [],
    'a message tagged other reached the listener',
  )
  // The failed task's other-tagged messages went back with it and were filtered again on their return.
  const filteredOut = consumer.stats().messagesFilteredOut
  t.true(filteredOut >= 100, `filtered out ${filteredOut}`)
  t.log(`failed batch of ${failed?.length ?? 0}; filtered out ${filteredOut} (100 other-tagged messages stored)`)
})

test('SimpleMessageListener calls its function once per message; a RECONSUME_LATER answer sends that message back', async (t) => {
  const topic = await createTestTopic(admin, 'consumer_simple')
  const producer = await startedProducer(t)
  await produce(producer, 200, (i) => ({ topic, body: `simple-${i}` }))
  const bodies: string[] = []
  const subscriptions = new SubscriptionManager()
  subscriptions.subscribe(topic)
  const consumer = new Consumer({
    config: { ...FROM_FIRST, consumerGroup: uniqueName('consumer_simple'), namesrvAddr: NAMESRV_ADDR },
    subscriptionManager: subscriptions,
    messageListener: new SimpleMessageListener(async (message, context) => {
      const body = message.body.toString()
      bodies.push(body)
      if (body === 'simple-7' && message.reconsumeTimes === 0) {
        context.delayLevelWhenNextConsume = 1
        return ConsumeResult.RECONSUME_LATER
      }
      return undefined
    }),
    onListenerError: () => undefined,
  })
  await consumer.start()
  t.teardown(() => consumer.shutdown())
  t.true(await waitFor(() => bodies.length >= 201), `handled ${bodies.length} of 201`)
  await sleep(1000)
  const counts = new Map<string, number>()
  for (const body of bodies) {
    counts.set(body, (counts.get(body) ?? 0) + 1)
  }
  t.is(counts.size, 200)
  t.is(counts.get('simple-7'), 2)
  t.deepEqual([...counts].filter(([body, n]) => body !== 'simple-7' && n !== 1), [])
})
