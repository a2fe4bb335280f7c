/**
 * Push consumer against the local cluster: what a listener receives, where a new group starts, filters,
 * and what happens to messages a listener fails.
 */
import test from 'ava'

import {
  Admin,
  ConfigError,
  ConsumeFromWhere,
  ConsumeResult,
  type ConsumedMessage,
  Consumer,
  ConsumerStateError,
  InvalidSelectorError,
  MessageListenerConcurrently,
  MessageSelector,
  type SendResult,
  SubscriptionManager,
} from '../index'
import { BROKER_PORTS, NAMESRV_ADDR, createTestTopic, runPipelined, uniqueName } from './helpers/cluster'
import { deliveryCounts, produce, recordingConsumer, sleep, startedProducer, waitFor } from './helpers/consumer'

const admin = new Admin({ namesrvAddr: NAMESRV_ADDR })
test.after.always(() => admin.close())

const FROM_FIRST = { consumeFromWhere: ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET }

test('2,000 messages are each delivered once, with every field the producer set and the broker stored', async (t) => {
  const topic = await createTestTopic(admin, 'consumer_fields')
  const producer = await startedProducer(t)
  const sent = new Map<string, SendResult>()
  for (let start = 0; start < 2000; start += 200) {
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        producer.send({
          topic,
          body: `fields-${start + i}`,
          tags: (start + i) % 2 === 0 ? 'even' : 'odd',
          keys: [`key-${start + i}`, 'shared'],
          properties: { index: String(start + i) },
          flag: 7,
        }),
      ),
    )
    results.forEach((result, i) => sent.set(`fields-${start + i}`, result))
  }
  const { deliveries } = await recordingConsumer(t, topic, FROM_FIRST)
  t.true(await waitFor(() => deliveries.length >= 2000), `delivered ${deliveries.length} of 2000`)
  await sleep(500)
  const counts = deliveryCounts(deliveries)
  t.is(counts.size, 2000)
  t.deepEqual([...counts.values()].filter((n) => n !== 1), [], 'a message was delivered twice')

  const ports = new Set(BROKER_PORTS.map(String))
  for (const { body, message } of deliveries) {
    const result = sent.get(body)
    if (result === undefined) {
      t.fail(`unexpected body ${body}`)
      continue
    }
    const index = Number(body.slice('fields-'.length))
    t.is(message.topic, topic)
    t.is(message.tags, index % 2 === 0 ? 'even' : 'odd')
    t.deepEqual(message.keys, [`key-${index}`, 'shared'])
    t.is(message.properties.index, String(index))
    t.is(message.msgId, result.msgId)
    t.is(message.offsetMsgId, result.offsetMsgId)
    t.deepEqual(message.queue, { topic, brokerName: result.brokerName, queueId: result.queueId })
    t.is(message.queueOffset, BigInt(result.queueOffset))
    t.is(typeof message.commitLogOffset, 'bigint')
    t.is(message.reconsumeTimes, 0)
    t.is(message.flag, 7)
    t.true(message.bornTimestamp > 0 && message.bornTimestamp <= message.storeTimestamp + 1000)
    t.true(ports.has(message.storeHost.split(':')[1] ?? ''), `storeHost ${message.storeHost}`)
    t.regex(message.bornHost, /^127\.0\.0\.1:\d+$/)
  }
})

test('a new group from the first offset gets what was sent before it started', async (t) => {
  const topic = await createTestTopic(admin, 'consumer_first')
  const producer = await startedProducer(t)
  await produce(producer, 300, (i) => ({ topic, body: `old-${i}` }))
  const { deliveries } = await recordingConsumer(t, topic, FROM_FIRST)
  t.true(await waitFor(() => deliveries.length >= 300), `delivered ${deliveries.length} of 300`)
  t.is(deliveryCounts(deliveries).size, 300)
})

for (const [name, where] of [
  ['the last offset', { consumeFromWhere: ConsumeFromWhere.CONSUME_FROM_LAST_OFFSET }],
  ['a timestamp in the future', { consumeFromWhere: ConsumeFromWhere.CONSUME_FROM_TIMESTAMP, consumeTimestamp: Date.now() + 3_600_000 }],
] as const) {
  test(`from ${name} on a young queue a new group starts at 0, because the broker answers 0 (as for the Java client)`, async (t) => {
    // The broker answers QUERY_CONSUMER_OFFSET for an unknown group with 0 while a queue's first message is
    // still in memory (docs/verified-facts.md), so LAST and TIMESTAMP start at the beginning here; their own
    // rules apply where the broker has no answer (crates/client/tests/start_offset.rs checks them).
    const topic = await createTestTopic(admin, 'consumer_young')
    const producer = await startedProducer(t)
    await produce(producer, 100, (i) => ({ topic, body: `before-${i}` }))
    const { deliveries } = await recordingConsumer(t, topic, where)
    await produce(producer, 100, (i) => ({ topic, body: `after-${i}` }))
    t.true(await waitFor(() => deliveries.length >= 200), `delivered ${deliveries.length} of 200`)
    t.is(deliveryCounts(deliveries).size, 200)
  })
}

test('a group that committed offsets continues after them, whatever consumeFromWhere says', async (t) => {
  const topic = await createTestTopic(admin, 'consumer_resume')
  const group = uniqueName('consumer_resume')
  const producer = await startedProducer(t)
  await produce(producer, 200, (i) => ({ topic, body: `first-${i}` }))
  const first = await recordingConsumer(t, topic, { ...FROM_FIRST, consumerGroup: group, persistConsumerOffsetInterval: 500 })
  t.true(await waitFor(() => first.deliveries.length >= 200))
  await first.consumer.shutdown()

  await produce(producer, 200, (i) => ({ topic, body: `second-${i}` }))
  const second = await recordingConsumer(t, topic, { ...FROM_FIRST, consumerGroup: group })
  t.true(await waitFor(() => second.deliveries.length >= 200), `delivered ${second.deliveries.length} of 200`)
  await sleep(1000)
  t.deepEqual(
    second.deliveries.filter((d) => d.body.startsWith('first-')).map((d) => d.body),
    [],
    'messages committed by the first member came again',
  )
  t.is(deliveryCounts(second.deliveries).size, 200)
})

test('a TAG selector delivers exactly the messages with the listed tags', async (t) => {
  const topic = await createTestTopic(admin, 'consumer_tags')
  const producer = await startedProducer(t)
  const tags = ['a', 'b', 'c']
  await produce(producer, 600, (i) => ({ topic, body: `tag-${i}`, tags: tags[i % 3] ?? 'a' }))
  await produce(producer, 50, (i) => ({ topic, body: `untagged-${i}` }))
  const { deliveries } = await recordingConsumer(t, topic, FROM_FIRST, { selector: MessageSelector.byTag('a || c') })
  t.true(await waitFor(() => deliveries.length >= 400), `delivered ${deliveries.length} of 400`)
  await sleep(1500)
  const counts = deliveryCounts(deliveries)
  t.is(counts.size, 400)
  t.true(deliveries.every(({ message }) => message.tags === 'a' || message.tags === 'c'))
})

test('RECONSUME_LATER: the message comes back with reconsumeTimes + 1 and its original topic; the others are not redelivered', async (t) => {
  const topic = await createTestTopic(admin, 'consumer_later')
  const producer = await startedProducer(t)
  await produce(producer, 100, (i) => ({ topic, body: `later-${i}`, keys: `k-${i}` }))
  const failOnce = new Set(['later-3', 'later-42'])
  const { consumer, deliveries } = await recordingConsumer(t, topic, FROM_FIRST, {
    verdict: (messages, context) => {
      const message = messages[0]
      if (message !== undefined && failOnce.has(message.body.toString()) && message.reconsumeTimes === 0) {
        // Level 1 (1 s) keeps the test short; the broker's default would be level 3 (10 s).
        context.delayLevelWhenNextConsume = 1
        return ConsumeResult.RECONSUME_LATER
      }
      return ConsumeResult.SUCCESS
    },
  })
  t.true(await waitFor(() => deliveries.length >= 102), `delivered ${deliveries.length} of 102`)
  await sleep(1500)
  const counts = deliveryCounts(deliveries)
  for (const body of failOnce) {
    const again = deliveries.filter((d) => d.body === body)
    t.is(again.length, 2, body)
    t.is(again[1]?.message.reconsumeTimes, 1)
    t.is(again[1]?.message.topic, topic)
    // It came through the group's retry topic.
    t.is(again[1]?.message.queue.topic, `%RETRY%${consumer.config.consumerGroup}`)
    t.deepEqual(again[1]?.message.keys, again[0]?.message.keys)
  }
  t.is([...counts.values()].filter((n) => n > 1).length, 2, 'only the failed messages came again')
})

test('a message failed maxReconsumeTimes + 1 times lands in %DLQ%<group>', async (t) => {
  const topic = await createTestTopic(admin, 'consumer_dlq')
  const group = uniqueName('consumer_dlq')
  const producer = await startedProducer(t)
  await produce(producer, 1, () => ({ topic, body: 'doomed' }))
  const { deliveries } = await recordingConsumer(t, topic, { ...FROM_FIRST, consumerGroup: group, maxReconsumeTimes: 1 }, {
    verdict: (_messages, context) => {
      context.delayLevelWhenNextConsume = 1
      return ConsumeResult.RECONSUME_LATER
    },
  })
  const dlq = `%DLQ%${group}`
  const dlqTotal = async (): Promise<number> => {
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
  let inDlq = 0
  const deadline = Date.now() + 60_000
  while (inDlq === 0 && Date.now() < deadline) {
    await sleep(500)
    inDlq = await dlqTotal()
  }
  t.is(inDlq, 1, 'the message is in the DLQ')
  // First delivery plus one retry: maxReconsumeTimes 1.
  t.is(deliveries.length, 2)
  t.deepEqual(deliveries.map((d) => d.message.reconsumeTimes), [0, 1])
})

class Failing extends MessageListenerConcurrently {
  calls = 0
  constructor(readonly mode: 'throw' | 'reject' | 'bogus') {
    super()
  }
  consumeMessage(messages: ConsumedMessage[]): ConsumeResult | Promise<ConsumeResult> {
    this.calls += 1
    const first = messages[0]
    if (first === undefined || first.reconsumeTimes > 0 || !first.body.toString().endsWith('-0')) {
      return ConsumeResult.SUCCESS
    }
    if (this.mode === 'throw') {
      throw new Error('listener threw')
    }
    if (this.mode === 'reject') {
      return Promise.reject(new Error('listener rejected'))
    }
    return 'COMMIT' as ConsumeResult
  }
}

for (const mode of ['throw', 'reject', 'bogus'] as const) {
  test(`a listener that ${mode === 'bogus' ? 'answers an orderly-only result' : `${mode}s`} gets the message again; nothing is lost`, async (t) => {
    const topic = await createTestTopic(admin, `consumer_${mode}`)
    const producer = await startedProducer(t)
    await produce(producer, 20, (i) => ({ topic, body: `${mode}-${i}` }))
    const listener = new Failing(mode)
    const { deliveries } = await recordingConsumer(t, topic, FROM_FIRST, { verdict: listener })
    t.true(await waitFor(() => deliveries.length >= 21), `delivered ${deliveries.length} of 21`)
    const again = deliveries.filter((d) => d.body === `${mode}-0`)
    t.deepEqual(again.map((d) => d.message.reconsumeTimes), [0, 1])
    t.is(deliveryCounts(deliveries).size, 20)
  })
}

test('start twice, or with nothing subscribed, is a ConsumerStateError', async (t) => {
  const topic = await createTestTopic(admin, 'consumer_state')
  const { consumer } = await recordingConsumer(t, topic)
  await t.throwsAsync(() => consumer.start(), { instanceOf: ConsumerStateError })
  t.truthy(consumer.clientId)
  t.true(consumer.running)

  const idle = new Consumer({
    config: { consumerGroup: uniqueName('consumer_idle'), namesrvAddr: NAMESRV_ADDR },
    subscriptionManager: new SubscriptionManager(),
    messageListener: () => ConsumeResult.SUCCESS,
  })
  await t.throwsAsync(() => idle.start(), { instanceOf: ConsumerStateError, message: /subscribe/ })
  t.false(idle.running)
})

test('a SQL92 selector delivers exactly the messages whose properties match', async (t) => {
  const topic = await createTestTopic(admin, 'consumer_sql')
  const producer = await startedProducer(t)
  await produce(producer, 40, (i) => ({ topic, body: `sql-${i}`, properties: { amount: String(i), region: i % 2 === 0 ? 'eu' : 'us' } }))
  const { deliveries } = await recordingConsumer(t, topic, FROM_FIRST, {
    selector: MessageSelector.bySql("amount >= 30 AND region = 'eu'"),
  })
  t.true(await waitFor(() => deliveries.length >= 5), `delivered ${deliveries.length} of 5`)
  await sleep(1500)
  t.deepEqual(
    deliveries.map((d) => d.body).sort(),
    ['sql-30', 'sql-32', 'sql-34', 'sql-36', 'sql-38'],
  )
})

test('a SQL92 expression the brokers cannot parse fails start() with InvalidSelectorError', async (t) => {
  const topic = await createTestTopic(admin, 'consumer_bad_sql')
  const subscriptions = new SubscriptionManager()
  subscriptions.subscribe(topic, MessageSelector.bySql('amount >'))
  const consumer = new Consumer({
    config: { consumerGroup: uniqueName('consumer_bad_sql'), namesrvAddr: NAMESRV_ADDR },
    subscriptionManager: subscriptions,
    messageListener: () => ConsumeResult.SUCCESS,
  })
  await t.throwsAsync(() => consumer.start(), { instanceOf: InvalidSelectorError })
  t.false(consumer.running)
})

test('a listener call past consumeTimeout counts as failed: its message comes again, the rest once', async (t) => {
  const topic = await createTestTopic(admin, 'consumer_timeout')
  const producer = await startedProducer(t)
  await produce(producer, 30, (i) => ({ topic, body: `slow-${i}` }))
  const { consumer, deliveries } = await recordingConsumer(t, topic, { ...FROM_FIRST, consumeTimeout: 0.05 }, {
    verdict: (messages, context) => {
      const message = messages[0]
      if (message?.body.toString() === 'slow-7' && message.reconsumeTimes === 0) {
        context.delayLevelWhenNextConsume = 1
        // Never settles: only the timeout ends this call.
        return new Promise<ConsumeResult>(() => undefined)
      }
      return ConsumeResult.SUCCESS
    },
  })
  t.true(await waitFor(() => deliveries.length >= 31), `delivered ${deliveries.length} of 31`)
  const again = deliveries.filter((d) => d.body === 'slow-7')
  t.deepEqual(again.map((d) => d.message.reconsumeTimes), [0, 1])
  t.is(deliveryCounts(deliveries).size, 30)
  t.true(consumer.stats().consumedFailed >= 1)
})

test('a slow listener over a 100,000-message backlog: what the consumer holds stays within its thresholds', async (t) => {
  const topic = await createTestTopic(admin, 'consumer_backlog')
  const producer = await startedProducer(t)
  const batch = Array.from({ length: 100 }, (_, i) => ({ topic, body: `backlog-${i}-${'x'.repeat(100)}` }))
  await runPipelined(1000, 16, () => producer.sendBatch(batch))
  const threshold = 64
  const pullBatchSize = 16
  const { consumer, deliveries } = await recordingConsumer(
    t,
    topic,
    { ...FROM_FIRST, pullThresholdForQueue: threshold, pullBatchSize, consumeThreadNum: 4 },
    { verdict: () => sleep(20).then(() => ConsumeResult.SUCCESS) },
  )
  let maxPerQueue = 0
  let maxTotal = 0
  const deadline = Date.now() + 8000
  while (Date.now() < deadline) {
    const stats = consumer.stats()
    maxPerQueue = Math.max(maxPerQueue, stats.maxMessagesHeldByAQueue)
    maxTotal = Math.max(maxTotal, stats.messagesHeld)
    await sleep(50)
  }
  const stats = consumer.stats()
  t.log(`held at most ${maxPerQueue} per queue, ${maxTotal} in all; ${stats.flowControlPauses} pulls put off; ${deliveries.length} consumed`)
  // A pull is sent while a queue holds at most `threshold`, and brings at most `pullBatchSize` more.
  t.true(maxPerQueue <= threshold + pullBatchSize, `a queue held ${maxPerQueue}`)
  t.true(maxTotal <= 16 * (threshold + pullBatchSize), `the consumer held ${maxTotal}`)
  t.true(stats.flowControlPauses > 0, 'flow control never engaged')
  t.true(maxPerQueue > 0)
})

test('at most consumeThreadNum listener calls run at once, however many the engine hands over', async (t) => {
  const topic = await createTestTopic(admin, 'consumer_threads')
  const producer = await startedProducer(t)
  await produce(producer, 200, (i) => ({ topic, body: `threads-${i}` }))
  let running = 0
  let most = 0
  let queuedSeen = 0
  const { consumer, deliveries } = await recordingConsumer(t, topic, { ...FROM_FIRST, consumeThreadNum: 3 }, {
    verdict: async () => {
      running += 1
      most = Math.max(most, running)
      await sleep(10)
      running -= 1
      return ConsumeResult.SUCCESS
    },
  })
  while (deliveries.length < 200 && (await waitFor(() => deliveries.length >= 200, 100)) === false) {
    queuedSeen = Math.max(queuedSeen, consumer.stats().listenerCallsQueued)
  }
  t.true(await waitFor(() => deliveries.length >= 200), `delivered ${deliveries.length} of 200`)
  t.is(most, 3)
  t.true(queuedSeen > 0, 'no call ever waited for a slot')
})

test('pause() before start pulls nothing until resume(); a topic paused by name waits while the others flow', async (t) => {
  const paused = await createTestTopic(admin, 'consumer_paused')
  const flowing = await createTestTopic(admin, 'consumer_flowing')
  const producer = await startedProducer(t)
  await produce(producer, 50, (i) => ({ topic: paused, body: `paused-${i}` }))
  await produce(producer, 50, (i) => ({ topic: flowing, body: `flowing-${i}` }))
  const member = (): { consumer: Consumer; bodies: string[] } => {
    const subscriptions = new SubscriptionManager()
    subscriptions.subscribe(paused)
    subscriptions.subscribe(flowing)
    const bodies: string[] = []
    const consumer = new Consumer({
      config: { consumerGroup: uniqueName('consumer_pause'), namesrvAddr: NAMESRV_ADDR, ...FROM_FIRST },
      subscriptionManager: subscriptions,
      messageListener: (messages) => {
        for (const message of messages) {
          bodies.push(message.body.toString())
        }
      },
    })
    t.teardown(() => consumer.shutdown())
    return { consumer, bodies }
  }

  // The whole consumer paused: not one pull until resume().
  const whole = member()
  whole.consumer.pause()
  t.true(whole.consumer.isPaused(paused) && whole.consumer.isPaused(flowing))
  await whole.consumer.start()
  await sleep(1500)
  t.is(whole.consumer.stats().pulls, 0, 'a paused consumer pulled')
  t.deepEqual(whole.bodies, [])
  whole.consumer.resume()
  t.true(await waitFor(() => whole.bodies.length >= 100), `delivered ${whole.bodies.length} of 100`)

  // One topic paused by name: the other one's messages arrive, the paused one's wait for resume(topic).
  const one = member()
  one.consumer.pause(paused)
  t.false(one.consumer.isPaused(flowing))
  await one.consumer.start()
  t.true(await waitFor(() => one.bodies.length >= 50), `delivered ${one.bodies.length} of 50`)
  await sleep(1000)
  t.true(one.bodies.every((body) => body.startsWith('flowing-')), 'a message of the paused topic came')
  one.consumer.resume(paused)
  t.true(await waitFor(() => one.bodies.length >= 100), `delivered ${one.bodies.length} of 100`)
  t.is(new Set(one.bodies).size, 100)
})

test('shutdown({ timeout }) gives up on a listener call that does not finish, and the message is not committed', async (t) => {
  const topic = await createTestTopic(admin, 'consumer_deadline')
  const group = uniqueName('consumer_deadline')
  const producer = await startedProducer(t)
  await produce(producer, 1, () => ({ topic, body: 'stuck' }))
  let began = false
  const first = await recordingConsumer(t, topic, { ...FROM_FIRST, consumerGroup: group }, {
    verdict: () => {
      began = true
      return new Promise<ConsumeResult>(() => undefined)
    },
  })
  t.true(await waitFor(() => began))
  const started = Date.now()
  await first.consumer.shutdown({ timeout: 500 })
  t.log(`shutdown took ${Date.now() - started} ms`)
  // The next member of the group gets the message again: it was never committed.
  const second = await recordingConsumer(t, topic, { ...FROM_FIRST, consumerGroup: group })
  t.true(await waitFor(() => second.deliveries.length >= 1))
  t.is(second.deliveries[0]?.body, 'stuck')
  await t.throwsAsync(() => first.consumer.shutdown({ timeout: -1 }), { instanceOf: ConfigError })
})

test('events: started, rebalanced with the queues held, offsetsPersisted, stopped; a throwing handler stops nothing', async (t) => {
  const topic = await createTestTopic(admin, 'consumer_events')
  const producer = await startedProducer(t)
  const subscriptions = new SubscriptionManager()
  subscriptions.subscribe(topic)
  const consumer = new Consumer({
    config: { consumerGroup: uniqueName('consumer_events'), namesrvAddr: NAMESRV_ADDR, ...FROM_FIRST, persistConsumerOffsetInterval: 300 },
    subscriptionManager: subscriptions,
    messageListener: () => ConsumeResult.SUCCESS,
  })
  const seen: string[] = []
  let lastQueues: Array<{ topic: string; brokerName: string; queueId: number }> = []
  let persisted = 0
  consumer.on('started', (clientId) => seen.push(`started ${clientId === consumer.clientId}`))
  consumer.on('rebalanced', () => {
    throw new Error('a handler that throws')
  })
  consumer.on('rebalanced', (queues) => {
    lastQueues = queues
  })
  consumer.on('offsetsPersisted', (queues) => {
    persisted = Math.max(persisted, queues)
  })
  consumer.on('stopped', () => seen.push('stopped'))
  await consumer.start()
  t.teardown(() => consumer.shutdown())
  await produce(producer, 20, (i) => ({ topic, body: `events-${i}` }))
  t.true(await waitFor(() => lastQueues.filter((q) => q.topic === topic).length === 16), 'no rebalanced event with 16 queues')
  const held = await consumer.assignedQueues()
  const key = (q: { topic: string; brokerName: string; queueId: number }): string => `${q.topic}/${q.brokerName}/${q.queueId}`
  t.deepEqual(lastQueues.map(key).sort(), held.map(key).sort())
  // Queues that consumed something have an offset to write.
  t.true(await waitFor(() => persisted > 0), 'no offsetsPersisted event')
  t.true(persisted <= lastQueues.length, `offsetsPersisted said ${persisted}`)
  await consumer.shutdown()
  t.deepEqual(seen, ['started true', 'stopped'])
})

test('bodies the producer compressed (over 4 KiB) reach the listener decompressed, byte for byte', async (t) => {
  const topic = await createTestTopic(admin, 'consumer_compressed')
  const producer = await startedProducer(t)
  // Compressible bodies past the producer's 4096-byte threshold travel and are stored zlib-compressed;
  // the small one and the random one (which zlib cannot shrink) stay plain.
  const bodies = [
    Buffer.from(`compressed-0 ${'abcdefgh'.repeat(1024)}`),
    Buffer.from(`compressed-1 ${'0123456789'.repeat(50_000)}`),
    Buffer.from('compressed-2 small'),
    Buffer.concat([Buffer.from('compressed-3 '), Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 7919) % 251))]),
  ]
  const sent: SendResult[] = []
  for (const [i, body] of bodies.entries()) {
    sent.push(await producer.send({ topic, body, tags: `tag${i}`, keys: [`key-${i}`], properties: { n: String(i) } }))
  }
  const { deliveries } = await recordingConsumer(t, topic, FROM_FIRST)
  t.true(await waitFor(() => deliveries.length >= bodies.length), `delivered ${deliveries.length} of ${bodies.length}`)
  const received = new Map(deliveries.map((d) => [d.body.split(' ')[0], d.message]))
  bodies.forEach((body, i) => {
    const got = received.get(`compressed-${i}`)
    t.true(got !== undefined && Buffer.from(got.body).equals(body), `body ${i} (${body.length} bytes) arrived changed`)
    // Large bodies cross into JavaScript apart from the rest of the message; the rest must still line up.
    t.is(got?.tags, `tag${i}`)
    t.deepEqual(got?.keys, [`key-${i}`])
    t.is(got?.properties.n, String(i))
    t.is(got?.msgId, sent[i]?.msgId)
    t.is(got?.offsetMsgId, sent[i]?.offsetMsgId)
  })
})
