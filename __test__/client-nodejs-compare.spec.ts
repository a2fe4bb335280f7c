/**
 * `rocketmq-napi/client-nodejs` against this package's own API, field by field: the same messages (sent half by the
 * subpath's Producer, half by the main Producer) are consumed by the main Consumer, by the subpath's PushConsumer and
 * by its SimpleConsumer, and every field of each MessageView and SendReceipt says what the main API says. (The
 * original rocketmq-client-nodejs needs a RocketMQ 5 proxy, which this cluster does not run; the benchmark's run
 * sets one up and compares the two packages side by side.)
 */
import test from 'ava'

import { type ConsumedMessage, Admin, Producer as MainProducer } from '../index'
import {
  ConsumeResult,
  type MessageView,
  Producer,
  PushConsumer,
  type SendReceipt,
  SimpleConsumer,
} from '../lib/compat/client-nodejs'
import { NAMESRV_ADDR, createTestTopic, uniqueName } from './helpers/cluster'
import { recordingConsumer, waitFor } from './helpers/consumer'

/** The user properties a view shows: the message's properties without the system ones. */
const SYSTEM = /^(TAGS|KEYS|UNIQ_KEY|WAIT|MIN_OFFSET|MAX_OFFSET|CONSUME_START_TIME|POP_CK|1ST_POP_TIME|TIMER_.*|CLUSTER|TRACE_ON|MSG_REGION|__BORNHOST)$/

function expectedView(consumed: ConsumedMessage): Record<string, unknown> {
  const properties = Object.entries(consumed.properties).filter(([name]) => !SYSTEM.test(name))
  return {
    messageId: consumed.msgId,
    topic: consumed.topic,
    body: consumed.body.toString('hex'),
    tag: consumed.tags,
    keys: consumed.keys,
    properties: Object.fromEntries(properties),
    messageGroup: consumed.properties.__SHARDINGKEY,
    bornHost: consumed.bornHost,
    bornTimestamp: consumed.bornTimestamp,
    offset: Number(consumed.queueOffset),
    deliveryAttempt: consumed.reconsumeTimes + 1,
    endpoints: consumed.storeHost,
  }
}

function fieldsOf(view: MessageView): Record<string, unknown> {
  return {
    messageId: view.messageId,
    topic: view.topic,
    body: view.body.toString('hex'),
    tag: view.tag,
    keys: view.keys,
    properties: Object.fromEntries(view.properties),
    messageGroup: view.messageGroup,
    bornHost: view.bornHost,
    bornTimestamp: view.bornTimestamp?.getTime(),
    offset: view.offset,
    deliveryAttempt: view.deliveryAttempt,
    endpoints: view.endpoints.facade,
  }
}

test('the subpath\'s receipts and MessageViews (push and simple) carry what the main API sees, field by field', async (t) => {
  const admin = new Admin({ namesrvAddr: NAMESRV_ADDR })
  t.teardown(() => admin.close())
  const topic = await createTestTopic(admin, 'cnjs_compare')

  const producer = new Producer({ endpoints: NAMESRV_ADDR })
  await producer.startup()
  t.teardown(() => producer.shutdown())
  const mainProducer = new MainProducer({ namesrvAddr: NAMESRV_ADDR, producerGroup: uniqueName('cnjs_compare_main') })
  await mainProducer.start()
  t.teardown(() => mainProducer.shutdown())

  const receipts = new Map<string, SendReceipt>()
  for (let i = 0; i < 4; i++) {
    const receipt = await producer.send({
      topic,
      tag: `tag${i % 2}`,
      keys: [`key-${i}`, 'shared'],
      properties: new Map([['index', String(i)], ['via', 'subpath']]),
      body: Buffer.from(`subpath ${i}`),
      ...(i % 2 === 0 ? { messageGroup: `group-${i}` } : {}),
    })
    receipts.set(receipt.messageId, receipt)
  }
  for (let i = 0; i < 4; i++) {
    await mainProducer.send({
      topic,
      tags: `tag${i % 2}`,
      keys: [`main-${i}`],
      properties: { index: String(i), via: 'main' },
      body: Buffer.from(`main ${i}`),
      ...(i === 0 ? { shardingKey: 'main-group' } : {}),
    })
  }

  // The consumers start after the sends: a new group starts at the queues' ends, except where a queue's first
  // message is still in the broker's memory (5.x), as here; a send racing a starting group could come before its start.
  const main = await recordingConsumer(t, topic)
  const pushed: MessageView[] = []
  const push = new PushConsumer({
    endpoints: NAMESRV_ADDR,
    consumerGroup: uniqueName('cnjs_compare_push'),
    subscriptions: new Map([[topic, '*']]),
    messageListener: {
      consume(view: MessageView): ConsumeResult {
        pushed.push(view)
        return ConsumeResult.SUCCESS
      },
    },
  })
  await push.startup()
  t.teardown(() => push.shutdown())

  const simple = new SimpleConsumer({
    endpoints: NAMESRV_ADDR,
    consumerGroup: uniqueName('cnjs_compare_simple'),
    subscriptions: new Map([[topic, '*']]),
    awaitDuration: 3000,
  })
  await simple.startup()
  t.teardown(() => simple.shutdown())
  const received: MessageView[] = []
  for (let round = 0; round < 20 && received.length < 8; round++) {
    for (const view of await simple.receive(32, 30000)) {
      received.push(view)
      await simple.ack(view)
    }
  }

  const missing = (): string =>
    JSON.stringify([
      main.deliveries.filter(({ message }) => !pushed.some((v) => v.messageId === message.msgId)).map(({ message }) => [message.body.toString(), message.queue, String(message.queueOffset)]),
      pushed.filter((v) => !main.deliveries.some(({ message }) => v.messageId === message.msgId)).map((v) => [v.body.toString(), v.offset, v.endpoints.facade]),
    ])
  t.true(await waitFor(() => main.deliveries.length >= 8 && pushed.length >= 8), `main ${main.deliveries.length}, push ${pushed.length}: ${missing()}`)
  const byId = new Map(main.deliveries.map(({ message }) => [message.msgId, message]))
  t.is(byId.size, 8)
  for (const [name, views] of [['push', pushed], ['simple', received]] as const) {
    t.is(views.length, 8, name)
    for (const view of views) {
      const consumed = byId.get(view.messageId)
      t.truthy(consumed, `${name}: ${view.messageId} unknown to the main consumer`)
      if (consumed !== undefined) {
        t.deepEqual(fieldsOf(view), expectedView(consumed), `${name}: ${view.messageId}`)
      }
    }
  }
  // The user properties, keys and group come through as sent.
  const subpathView = received.find((view) => view.properties.get('via') === 'subpath' && view.properties.get('index') === '0')
  t.deepEqual(subpathView?.getKeys(), ['key-0', 'shared'])
  t.is(subpathView?.getMessageGroup(), 'group-0')
  t.deepEqual(Object.fromEntries(subpathView?.getProperties() ?? []), { index: '0', via: 'subpath', __SHARDINGKEY: 'group-0' })
  // Each receipt names where the main consumer found its message.
  for (const [messageId, receipt] of receipts) {
    const consumed = byId.get(messageId)
    t.is(receipt.offset, Number(consumed?.queueOffset))
    t.is<number | undefined, number | undefined>(receipt.messageQueue.queueId, consumed?.queue.queueId)
    t.is<string | undefined, string | undefined>(receipt.messageQueue.broker.name, consumed?.queue.brokerName)
    t.is(receipt.messageQueue.topic.name, topic)
  }
})
