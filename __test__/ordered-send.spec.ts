/**
 * Ordered sending against the local cluster (broker-a and broker-b, 8 queues each per topic): `shardingKey`, a
 * queue named directly and a queue selector, and that the key's queue is the one Java's SelectMessageQueueByHash
 * picks.
 */
import test from 'ava'

import { Admin, Producer, ProducerStateError, ValidationError, type MessageQueue, type SendResult } from '../index'
import { BROKERS, NAMESRV_ADDR, QUEUES_PER_BROKER, createTestTopic, maxOffsets, maxOffsetsAfter, totalGrowth, uniqueName } from './helpers/cluster'
import { hexOf, runJava } from './helpers/java'

const admin = new Admin({ namesrvAddr: NAMESRV_ADDR })
test.after.always(() => admin.close())

/** A started producer of a fresh group, shut down when the test ends. */
async function startedProducer(t: { teardown: (fn: () => Promise<void>) => void }): Promise<Producer> {
  const producer = new Producer({ namesrvAddr: NAMESRV_ADDR, producerGroup: uniqueName('ordered_spec') })
  await producer.start()
  t.teardown(() => producer.shutdown())
  return producer
}

/** Java's `String.hashCode()`, written out independently of the engine's. */
function javaHashCode(text: string): number {
  let hash = 0
  for (let index = 0; index < text.length; index++) {
    hash = (Math.imul(hash, 31) + text.charCodeAt(index)) | 0
  }
  return hash
}

/** `broker-a:3`. */
function queueName(queue: { brokerName: string; queueId: number }): string {
  return `${queue.brokerName}:${queue.queueId}`
}

/** Every queue of a spec topic, in the order the producer sorts them: by broker name, then queue id. */
const SORTED_QUEUES = [...BROKERS].sort().flatMap((brokerName) => Array.from({ length: QUEUES_PER_BROKER }, (_, queueId) => `${brokerName}:${queueId}`))

test('writableQueues: every queue of the topic, sorted by broker name then queue id', async (t) => {
  const topic = await createTestTopic(admin, 'ordered_queues')
  const producer = await startedProducer(t)
  const queues = await producer.writableQueues(topic)
  t.deepEqual(queues.map(queueName), SORTED_QUEUES)
  t.true(queues.every((queue) => queue.topic === topic))
  await t.throwsAsync(producer.writableQueues('bad topic name'), { instanceOf: ValidationError })
  const idle = new Producer({ namesrvAddr: NAMESRV_ADDR, producerGroup: uniqueName('ordered_idle') })
  await t.throwsAsync(idle.writableQueues(topic), { instanceOf: ProducerStateError })
})

test('2,000 messages over 50 keys with shardingKey: each key in exactly one queue (its Java hash), stored in send order', async (t) => {
  const keys = Array.from({ length: 50 }, (_, index) => `order-${index}`)
  const perKey = 40
  const topic = await createTestTopic(admin, 'ordered_keys')
  const producer = await startedProducer(t)
  const before = await maxOffsets(admin, topic)

  // Keys in parallel; the sends of one key one after another, as ordered sending requires.
  const results = new Map<string, SendResult[]>()
  await Promise.all(
    keys.map(async (key) => {
      const sent: SendResult[] = []
      for (let seq = 0; seq < perKey; seq++) {
        sent.push(await producer.send({ topic, body: `${key} #${seq}`, shardingKey: key }))
      }
      results.set(key, sent)
    }),
  )

  const usedQueues = new Set<string>()
  for (const key of keys) {
    const sent = results.get(key) ?? []
    t.is(sent.length, perKey)
    const queues = new Set(sent.map(queueName))
    t.is(queues.size, 1, `key ${key} went to one queue, not ${[...queues].join(', ')}`)
    const expected = SORTED_QUEUES[Math.abs(javaHashCode(key) % SORTED_QUEUES.length)]
    t.is([...queues][0], expected, `key ${key} is in the queue of its Java hash`)
    usedQueues.add(expected ?? '')
    for (let seq = 1; seq < sent.length; seq++) {
      t.true((sent[seq]?.queueOffset ?? -1) > (sent[seq - 1]?.queueOffset ?? 0), `key ${key}: message ${seq} stored after ${seq - 1}`)
    }
  }
  t.true(usedQueues.size > 1, 'the keys spread over several queues')
  t.is(totalGrowth(before, await maxOffsetsAfter(admin, topic, before, keys.length * perKey)), keys.length * perKey)

  // Read back: the broker stored the key as RocketMQ 5's message group property.
  const first = results.get('order-7')?.[0]
  if (first === undefined) {
    t.fail('no result for order-7')
    return
  }
  const view = await admin.viewMessage(first.offsetMsgId)
  t.is(view.properties.__SHARDINGKEY, 'order-7')
  t.is(view.body.toString(), 'order-7 #0')
})

test('a Java producer with SelectMessageQueueByHash and the key as arg picks the queue our shardingKey picks', async (t) => {
  // Negative hashes, Integer.MIN_VALUE ("polygenelubricants"), non-ASCII and a surrogate pair (two UTF-16 units).
  const keys = ['order-1', 'hello', 'a', 'polygenelubricants', 'Zürich', '注文-42', 'emoji-\u{1F600}', 'customer 17', ...Array.from({ length: 24 }, (_, i) => `k${i * 7919}`)]
  const topic = await createTestTopic(admin, 'ordered_java')
  const producer = await startedProducer(t)
  const ours = new Map<string, string>()
  for (const key of keys) {
    ours.set(key, queueName(await producer.send({ topic, body: `ours ${key}`, shardingKey: key })))
  }

  const java = await runJava('HashSelectorProducer', [NAMESRV_ADDR, uniqueName('ordered_java_producer'), topic], {
    stdin: `${keys.map((key) => hexOf(key)).join('\n')}\n`,
    timeoutMs: 120_000,
  })
  t.is(java.status, 0, `Java producer failed:\n${java.stderr.slice(-4000)}`)
  const theirs = new Map(
    java.stdout
      .split('\n')
      .filter((line) => line.startsWith('SENT '))
      .map((line) => {
        const [, hexKey, brokerName, queueId] = line.split(' ')
        return [Buffer.from(hexKey ?? '', 'hex').toString('utf8'), `${brokerName}:${queueId}`] as const
      }),
  )
  t.is(theirs.size, keys.length, java.stdout)
  for (const key of keys) {
    t.is(ours.get(key), theirs.get(key), `key ${JSON.stringify(key)}`)
  }
})

test('a queue named directly: send and sendBatch go there; a queue that is not writable, another topic or a key too are ValidationErrors', async (t) => {
  const topic = await createTestTopic(admin, 'ordered_direct')
  const producer = await startedProducer(t)
  for (const queue of [
    { brokerName: 'broker-b', queueId: 5 },
    { brokerName: 'broker-a', queueId: 0 },
    { topic, brokerName: 'broker-a', queueId: 7 },
  ]) {
    const results = await Promise.all([0, 1, 2].map((i) => producer.send({ topic, body: `direct ${i}` }, { queue })))
    t.deepEqual(new Set(results.map(queueName)), new Set([queueName(queue)]))
  }
  const batch = await producer.sendBatch([{ topic, body: 'b1' }, { topic, body: 'b2' }], { queue: { brokerName: 'broker-b', queueId: 2 } })
  t.is(queueName(batch), 'broker-b:2')

  // The consume queues may trail the sends a moment: the baseline waits for all 11 messages.
  const before = await maxOffsetsAfter(admin, topic, new Map(), 11)
  const refused = async (promise: Promise<unknown>, pattern: RegExp): Promise<void> => {
    const error = await t.throwsAsync(promise, { instanceOf: ValidationError })
    t.regex(error?.message ?? '', pattern)
  }
  await refused(producer.send({ topic, body: 'x' }, { queue: { brokerName: 'broker-a', queueId: 8 } }), /broker-a:8 is not a writable queue.*broker-a 0\.\.7, broker-b 0\.\.7/)
  await refused(producer.send({ topic, body: 'x' }, { queue: { brokerName: 'broker-z', queueId: 0 } }), /broker-z:0 is not a writable queue/)
  await refused(producer.send({ topic, body: 'x' }, { queue: { topic: 'other_topic', brokerName: 'broker-a', queueId: 0 } }), /queue of topic "?other_topic"? given for a message to topic/)
  await refused(producer.send({ topic, body: 'x' }, { queue: { brokerName: 'broker-a', queueId: 1.5 } }), /queueId/)
  await refused(producer.send({ topic, body: 'x', shardingKey: 'k' }, { queue: { brokerName: 'broker-a', queueId: 0 } }), /shardingKey .* give one of them/)
  await refused(producer.sendBatch([{ topic, body: 'x' }], { queue: { brokerName: 'broker-a', queueId: 99 } }), /not a writable queue/)
  t.is(totalGrowth(before, await maxOffsets(admin, topic)), 0, 'nothing was sent')
})

test('a queue selector gets the sorted writable queues, the message and its arg; its queue is used', async (t) => {
  const topic = await createTestTopic(admin, 'ordered_selector')
  const producer = await startedProducer(t)
  const seen: { queues: readonly MessageQueue[]; body: unknown; arg: number }[] = []
  const byOrderId = (queues: readonly MessageQueue[], message: { body: unknown }, orderId: number): MessageQueue => {
    seen.push({ queues, body: message.body, arg: orderId })
    const queue = queues[orderId % queues.length]
    if (queue === undefined) {
      throw new Error('no queues')
    }
    return queue
  }
  const results: SendResult[] = []
  for (const orderId of [3, 3, 12, 20]) {
    results.push(await producer.send({ topic, body: `order ${orderId}` }, { selector: byOrderId, arg: orderId }))
  }
  t.deepEqual(results.map(queueName), [SORTED_QUEUES[3], SORTED_QUEUES[3], SORTED_QUEUES[12], SORTED_QUEUES[4]])
  t.true((results[1]?.queueOffset ?? -1) > (results[0]?.queueOffset ?? 0))
  t.deepEqual(seen[0]?.queues.map(queueName), SORTED_QUEUES)
  t.true(seen[0]?.queues.every((queue) => queue.topic === topic && Object.isFrozen(queue)))
  t.is(seen[0]?.body, 'order 3')
  t.deepEqual(seen.map((call) => call.arg), [3, 3, 12, 20])

  // A new object equal to one of the queues is that queue; a selector without arg gets undefined.
  let argSeen: unknown = 'not called'
  const equal = await producer.send(
    { topic, body: 'equal' },
    {
      selector: (_queues, _message, arg) => {
        argSeen = arg
        return { topic, brokerName: 'broker-b', queueId: 6 }
      },
    },
  )
  t.is(queueName(equal), 'broker-b:6')
  t.is(argSeen, undefined)
})

test('a selector that throws or returns anything but one of its queues is a ValidationError, and nothing is sent', async (t) => {
  const topic = await createTestTopic(admin, 'ordered_bad_selector')
  const producer = await startedProducer(t)
  const before = await maxOffsets(admin, topic)
  const send = (selector: (queues: readonly MessageQueue[]) => unknown): Promise<SendResult> =>
    producer.send({ topic, body: 'x' }, { selector: selector as (queues: readonly MessageQueue[]) => MessageQueue })

  const thrown = new Error('no queue for you')
  const error = await t.throwsAsync(
    send(() => {
      throw thrown
    }),
    { instanceOf: ValidationError, message: /selector threw: no queue for you/ },
  )
  t.is(error?.cause, thrown)
  await t.throwsAsync(send(() => undefined), { instanceOf: ValidationError, message: /returned undefined, which is not one of the 16 writable queues/ })
  await t.throwsAsync(send(() => ({ topic, brokerName: 'broker-a', queueId: 99 })), { instanceOf: ValidationError, message: /broker-a.*99.*not one of/ })
  await t.throwsAsync(send(() => ({ topic: 'another', brokerName: 'broker-a', queueId: 0 })), { instanceOf: ValidationError, message: /not one of/ })
  await t.throwsAsync(send(() => 'broker-a:0'), { instanceOf: ValidationError, message: /not one of/ })
  await t.throwsAsync(send((queues) => Promise.resolve(queues[0])), { instanceOf: ValidationError, message: /returned a Promise/ })
  await t.throwsAsync(producer.send({ topic, body: 'x' }, { selector: 'broker-a' } as never), { instanceOf: ValidationError, message: /selector must be a function/ })
  await t.throwsAsync(
    producer.send({ topic, body: 'x' }, { selector: (queues: readonly MessageQueue[]) => queues[0], queue: { brokerName: 'broker-a', queueId: 0 } } as never),
    { instanceOf: ValidationError, message: /a queue and a selector/ },
  )
  // The key decides the queue: a selector as well is refused.
  await t.throwsAsync(producer.send({ topic, body: 'x', shardingKey: 'k' }, { selector: (queues) => queues[0] as MessageQueue }), {
    instanceOf: ValidationError,
    message: /shardingKey/,
  })
  t.is(totalGrowth(before, await maxOffsets(admin, topic)), 0, 'nothing was sent')
})

test('shardingKey rules: batches share one key or none; empty, blank, control characters, a differing __SHARDINGKEY and non-strings are refused', async (t) => {
  const topic = await createTestTopic(admin, 'ordered_rules')
  const producer = await startedProducer(t)
  const key = 'batch-key'
  const batch = await producer.sendBatch([1, 2, 3].map((i) => ({ topic, body: `b${i}`, shardingKey: key })))
  t.is(queueName(batch), SORTED_QUEUES[Math.abs(javaHashCode(key) % SORTED_QUEUES.length)])
  const same = await producer.send({ topic, body: 'single', shardingKey: key, properties: { __SHARDINGKEY: key } })
  t.is(queueName(same), queueName(batch))

  const before = await maxOffsetsAfter(admin, topic, new Map(), 4)
  for (const [message, pattern] of [
    [{ topic, body: 'x', shardingKey: '' }, /shardingKey is empty/],
    [{ topic, body: 'x', shardingKey: '   ' }, /shardingKey .* is blank/],
    [{ topic, body: 'x', shardingKey: 'a\u0001b' }, /control character/],
    [{ topic, body: 'x', shardingKey: 'line\n' }, /control character/],
    [{ topic, body: 'x', shardingKey: 'k', properties: { __SHARDINGKEY: 'j' } }, /differ/],
    [{ topic, body: 'x', shardingKey: 42 as unknown as string }, /shardingKey must be a string/],
  ] as const) {
    await t.throwsAsync(producer.send(message), { instanceOf: ValidationError, message: pattern })
  }
  await t.throwsAsync(
    producer.sendBatch([
      { topic, body: 'a', shardingKey: 'k1' },
      { topic, body: 'b', shardingKey: 'k2' },
    ]),
    { instanceOf: ValidationError, message: /batch message 1 has shardingKey .*k2.* one key or none/ },
  )
  await t.throwsAsync(producer.sendBatch([{ topic, body: 'a', shardingKey: 'k1' }, { topic, body: 'b' }]), {
    instanceOf: ValidationError,
    message: /batch message 1 has shardingKey none/,
  })
  t.is(totalGrowth(before, await maxOffsets(admin, topic)), 0, 'nothing was sent')
})
