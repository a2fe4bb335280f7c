/**
 * Producer against the local cluster (RocketMQ 5.x, broker-a and broker-b, 8 queues each per topic).
 */
import { randomBytes } from 'node:crypto'

import test from 'ava'

import { Admin, MessageSendError, Producer, ProducerStateError, SendStatus, TopicNotFoundError, ValidationError, type SendResult } from '../index'
import type { NativeErrorFields, NativeMessage } from '../lib/binding'
import { nativeBinding } from '../lib/native'
import { fromNativeError, fromNativeFields } from '../lib/native-errors'
import {
  BROKERS,
  NAMESRV_ADDR,
  QUEUES_PER_BROKER,
  brokerTotal,
  createTestTopic,
  maxOffsets,
  maxOffsetsAfter,
  queueKey,
  runPipelined,
  totalGrowth,
  uniqueName,
} from './helpers/cluster'

const admin = new Admin({ namesrvAddr: NAMESRV_ADDR })
test.after.always(() => admin.close())

/** A started producer of a fresh group, shut down when the test ends. */
async function startedProducer(t: { teardown: (fn: () => Promise<void>) => void }, maxMessageSize?: number): Promise<Producer> {
  const producer = new Producer({
    namesrvAddr: NAMESRV_ADDR,
    producerGroup: uniqueName('producer_spec'),
    ...(maxMessageSize === undefined ? {} : { maxMessageSize }),
  })
  await producer.start()
  t.teardown(() => producer.shutdown())
  return producer
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>()
  for (const item of items) {
    counts.set(key(item), (counts.get(key(item)) ?? 0) + 1)
  }
  return counts
}

test('10,000 messages with tags, keys and properties: all SEND_OK, both brokers grow by what each received', async (t) => {
  const total = 10_000
  const inFlight = 64
  const topic = await createTestTopic(admin, 'producer_bulk')
  const producer = await startedProducer(t)
  const before = await maxOffsets(admin, topic)

  const results = await runPipelined(total, inFlight, (index) =>
    producer.send({
      topic,
      body: `message ${index}`,
      tags: index % 2 === 0 ? 'even' : 'odd',
      keys: [`key-${index}`, `batch-${Math.floor(index / 100)}`],
      properties: { index: String(index), origin: 'producer.spec' },
    }),
  )

  t.is(results.length, total)
  const after = await maxOffsetsAfter(admin, topic, before, total)
  t.true(results.every((result) => result.status === SendStatus.SEND_OK))
  t.true(results.every((result) => result.topic === topic))
  t.is(new Set(results.map((result) => result.msgId)).size, total, 'message ids are unique')
  const positions = new Set(results.map((result) => `${queueKey(result.brokerName, result.queueId)}@${result.queueOffset}`))
  t.is(positions.size, total, 'no two messages share a queue offset')

  const perBroker = countBy(results, (result) => result.brokerName)
  const perQueue = countBy(results, (result) => queueKey(result.brokerName, result.queueId))
  for (const broker of BROKERS) {
    const sent = perBroker.get(broker) ?? 0
    t.true(sent > 0, `${broker} received messages`)
    t.is(brokerTotal(after, broker) - brokerTotal(before, broker), sent, `${broker} grew by what was sent to it`)
  }
  t.is([...perBroker.values()].reduce((sum, count) => sum + count, 0), total)
  for (const [key, offset] of after) {
    t.is(offset - (before.get(key) ?? 0), perQueue.get(key) ?? 0, `queue ${key} grew by what was sent to it`)
  }
  // Round-robin selection reaches every queue of both brokers.
  t.is(perQueue.size, BROKERS.length * QUEUES_PER_BROKER)

  // What the brokers stored is what was sent: read a sample back.
  for (const index of [0, 1, 4_999, total - 1]) {
    const sent = results[index]!
    const stored = await admin.viewMessage(sent.offsetMsgId)
    t.is(stored.body.toString(), `message ${index}`)
    t.is(stored.tags, index % 2 === 0 ? 'even' : 'odd')
    t.deepEqual(stored.keys, [`key-${index}`, `batch-${Math.floor(index / 100)}`])
    t.is(stored.properties.index, String(index))
    t.is(stored.properties.origin, 'producer.spec')
    t.is(stored.msgId, sent.msgId)
    t.is(stored.topic, topic)
    t.is(stored.queueId, sent.queueId)
    t.is(stored.queueOffset, sent.queueOffset)
  }
})

test('the body is taken when send() is called: reusing the Buffer right after does not change the message', async (t) => {
  const topic = await createTestTopic(admin, 'producer_reuse')
  const producer = await startedProducer(t)
  const buffer = Buffer.from('original content')
  const pending = producer.send({ topic, body: buffer })
  buffer.fill('X')
  const result = await pending
  const stored = await admin.viewMessage(result.offsetMsgId)
  t.is(stored.body.toString(), 'original content')
})

test('empty keys are sent as Java sends them: the message carries the other keys only', async (t) => {
  const topic = await createTestTopic(admin, 'producer_empty_keys')
  const producer = await startedProducer(t)
  const result = await producer.send({ topic, body: 'keys', keys: ['order-1', '', 'order-2'] })
  t.deepEqual((await admin.viewMessage(result.offsetMsgId)).keys, ['order-1', 'order-2'])
})

test('a Uint8Array body (a view into a larger buffer) is sent as exactly its bytes, by send and sendBatch', async (t) => {
  const topic = await createTestTopic(admin, 'producer_uint8array')
  const producer = await startedProducer(t)
  const backing = new Uint8Array(Buffer.from('..uint8 body..'))
  const body = backing.subarray(2, 12)
  const single = await producer.send({ topic, body })
  t.is((await admin.viewMessage(single.offsetMsgId)).body.toString(), 'uint8 body')
  const batch = await producer.sendBatch([{ topic, body }, { topic, body: new TextEncoder().encode('encoded') }])
  const ids = batch.offsetMsgId.split(',')
  t.is(ids.length, 2)
  t.is((await admin.viewMessage(ids[0] ?? '')).body.toString(), 'uint8 body')
  t.is((await admin.viewMessage(ids[1] ?? '')).body.toString(), 'encoded')
})

test('sendBatch stores the messages together: consecutive offsets in one queue', async (t) => {
  const topic = await createTestTopic(admin, 'producer_batch')
  const producer = await startedProducer(t)
  const before = await maxOffsets(admin, topic)

  const batchSize = 32
  const batches = 5
  const results: SendResult[] = []
  for (let batch = 0; batch < batches; batch += 1) {
    const messages = Array.from({ length: batchSize }, (_, index) => ({
      topic,
      body: Buffer.from(`batch ${batch} message ${index}`),
      tags: 'batch',
      keys: `batch-${batch}-${index}`,
      properties: { batch: String(batch) },
    }))
    results.push(await producer.sendBatch(messages))
  }

  const after = await maxOffsetsAfter(admin, topic, before, batchSize * batches)
  for (const result of results) {
    t.is(result.status, SendStatus.SEND_OK)
    t.is(result.msgId.split(',').length, batchSize, 'one id per message of the batch')
    t.true(result.queueOffset >= (before.get(queueKey(result.brokerName, result.queueId)) ?? 0))
  }
  // Each queue grew by batchSize for every batch it took, and each batch starts right after the previous one there.
  const perQueue = countBy(results, (result) => queueKey(result.brokerName, result.queueId))
  for (const [key, offset] of after) {
    t.is(offset - (before.get(key) ?? 0), (perQueue.get(key) ?? 0) * batchSize, `queue ${key}`)
  }
  const byQueue = new Map<string, number[]>()
  for (const result of results) {
    const key = queueKey(result.brokerName, result.queueId)
    byQueue.set(key, [...(byQueue.get(key) ?? []), result.queueOffset])
  }
  for (const [key, offsets] of byQueue) {
    offsets.forEach((offset, index) => t.is(offset, (before.get(key) ?? 0) + index * batchSize, `batch start in ${key}`))
  }
  t.is(totalGrowth(before, after), batchSize * batches)
})

test('bodies above 4 KiB are compressed and accepted', async (t) => {
  const topic = await createTestTopic(admin, 'producer_large')
  // The broker refuses bodies over its own 4 MiB limit; a 6 MiB compressible body is accepted only
  // because the producer compresses it first.
  const producer = await startedProducer(t, 8 * 1024 * 1024)
  const before = await maxOffsets(admin, topic)

  const compressible = Buffer.alloc(6 * 1024 * 1024, 'rocketmq ')
  const justOverThreshold = Buffer.from('x'.repeat(4097))
  const incompressible = randomBytes(100 * 1024)
  const results = [
    await producer.send({ topic, body: compressible, tags: 'large' }),
    await producer.send({ topic, body: justOverThreshold, tags: 'large' }),
    await producer.send({ topic, body: incompressible, tags: 'large' }),
  ]
  t.true(results.every((result) => result.status === SendStatus.SEND_OK))

  const after = await maxOffsetsAfter(admin, topic, before, results.length)
  t.is(totalGrowth(before, after), results.length)

  // Read back, the bodies are the originals (the broker keeps them compressed; reading inflates them).
  const bodies = [compressible, justOverThreshold, incompressible]
  for (const [index, result] of results.entries()) {
    const stored = await admin.viewMessage(result.offsetMsgId)
    t.true(stored.body.equals(bodies[index]!), `body ${index} reads back unchanged`)
    t.is(stored.tags, 'large')
  }

  // The control: the same size without redundancy stays over the broker's limit and is refused
  // (MESSAGE_ILLEGAL), which shows the accepted 6 MiB body really travelled compressed.
  const refused = await t.throwsAsync(producer.send({ topic, body: randomBytes(6 * 1024 * 1024) }), {
    instanceOf: MessageSendError,
  })
  t.is(refused.code, 'ERR_SEND_FAILED')
  t.is(refused.responseCode, 13)
})

test('start twice, and send after shutdown, give ProducerStateError', async (t) => {
  const producer = new Producer({ namesrvAddr: NAMESRV_ADDR, producerGroup: uniqueName('producer_state') })
  await producer.start()
  const twice = await t.throwsAsync(producer.start(), { instanceOf: ProducerStateError })
  t.is(twice.code, 'ERR_STATE')
  await producer.shutdown()
  const topic = await createTestTopic(admin, 'producer_state')
  const afterShutdown = await t.throwsAsync(producer.send({ topic, body: 'late' }), { instanceOf: ProducerStateError })
  t.is(afterShutdown.code, 'ERR_STATE')
})

test('sending to a topic no broker has yet creates it through the auto-create template, as Java does', async (t) => {
  const producer = await startedProducer(t)
  const topic = uniqueName('producer_autocreate')
  await t.throwsAsync(admin.getTopicRoute(topic), { instanceOf: TopicNotFoundError })
  const result = await producer.send({ topic, body: 'first message creates the topic' })
  t.is(result.status, SendStatus.SEND_OK)
  t.is(result.queueOffset, 0)
  // The broker that stored the message registers the new topic with the NameServer right after. Wait for that
  // broker in the route, not for any route: a route without it was seen once in the 4.9.7 run.
  const storedOn = (found: Awaited<ReturnType<typeof admin.getTopicRoute>> | undefined) =>
    found?.queueDatas.find((queueData) => queueData.brokerName === result.brokerName)
  let route = await admin.getTopicRoute(topic).catch(() => undefined)
  for (let attempt = 0; storedOn(route) === undefined && attempt < 100; attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    route = await admin.getTopicRoute(topic).catch(() => undefined)
  }
  const created = storedOn(route)
  t.truthy(created, `route of ${topic} shows ${result.brokerName}`)
  // Java's defaultTopicQueueNums: an auto-created topic gets at most 4 queues per broker.
  t.true((created?.writeQueueNums ?? 0) >= 1 && (created?.writeQueueNums ?? 99) <= 4)
})

test('the native producer holds the rules: bad messages staged directly give ERR_VALIDATION', async (t) => {
  const topic = await createTestTopic(admin, 'producer_native_validation')
  const { NativeProducer } = nativeBinding()
  // id -> the error (null when it was sent) and the status index
  const outcomes = new Map<number, { error: NativeErrorFields | null | undefined; status: number | undefined }>()
  let arrived: (() => void) | undefined
  const native = new NativeProducer(
    { namesrvAddr: NAMESRV_ADDR, producerGroup: uniqueName('producer_native'), maxMessageSize: 1024 },
    (batch) => {
      batch.ids.forEach((id, index) => outcomes.set(id, { error: batch.errors[index], status: batch.statuses[index] }))
      arrived?.()
    },
  )
  await native.start()
  t.teardown(() => native.shutdown())
  // Stages one message, flushes, and waits until its outcome has been delivered.
  const sendNative = async (message: NativeMessage, id: number) => {
    native.stage(id, message.topic, message.body, message.tags, message.keys, message.properties, message.delayLevel, message.flag)
    native.flush()
    while (!outcomes.has(id)) {
      await new Promise<void>((resolve) => {
        arrived = resolve
      })
    }
    return outcomes.get(id)
  }

  const cases = [
    { label: 'empty topic', message: { topic: '', body: Buffer.from('x') } },
    { label: 'empty body', message: { topic, body: Buffer.alloc(0) } },
    { label: 'body over maxMessageSize', message: { topic, body: Buffer.alloc(1025) } },
    { label: 'reserved property', message: { topic, body: Buffer.from('x'), properties: { UNIQ_KEY: 'mine' } } },
  ]
  for (const [id, { label, message }] of cases.entries()) {
    const outcome = await sendNative(message, id)
    t.is(outcome?.error?.code, 'ERR_VALIDATION', label)
    t.false(outcome?.error?.retriable, label)
    t.true(fromNativeFields(outcome?.error as NativeErrorFields, 'producer') instanceof ValidationError, label)
  }
  // A number that is not an integer of its range is refused by stage() itself, which stages nothing.
  const raw = t.throws(() => native.stage(99, topic, Buffer.from('x'), null, null, null, 19, null))
  t.is((raw as { code?: unknown }).code, 'ERR_VALIDATION')
  t.regex(raw?.message ?? '', /delayLevel 19 must be an integer in 0\.\.=18/)
  const ok = await sendNative({ topic, body: Buffer.from('fine') }, cases.length)
  t.is(ok?.error, null)
  t.is(nativeBinding().sendStatusNames()[ok?.status ?? -1], 'SEND_OK')
})

test('the native producer rejects bad configuration with ERR_CONFIG', (t) => {
  const { NativeProducer } = nativeBinding()
  const error = t.throws(() => new NativeProducer({ namesrvAddr: '', producerGroup: 'native_config' }, () => undefined))
  t.is(fromNativeError(error, 'producer').code, 'ERR_CONFIG')
})
