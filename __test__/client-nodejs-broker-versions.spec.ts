/**
 * `rocketmq-napi/client-nodejs` against the broker version under test (run by the 5.3.3 suite and by the 4.9.7 run,
 * scripts/run-compat-tests.sh): the Producer (ordered by messageGroup) and the PushConsumer work against both; the
 * SimpleConsumer needs the POP commands of 5.x brokers, and against 4.x its receive rejects with an
 * UnsupportedException saying so.
 */
import test from 'ava'

import { Admin } from '../index'
import {
  ConsumeResult,
  type MessageView,
  Producer,
  PushConsumer,
  SimpleConsumer,
  UnsupportedException,
} from '../lib/compat/client-nodejs'
import { BROKER_IS_4X, BROKER_VERSION } from './helpers/broker-version'
import { NAMESRV_ADDR, createTestTopic, uniqueName } from './helpers/cluster'
import { waitFor } from './helpers/consumer'

test(`RocketMQ ${BROKER_VERSION}: a producer's messages of one group reach a PushConsumer in the order sent`, async (t) => {
  const admin = new Admin({ namesrvAddr: NAMESRV_ADDR })
  t.teardown(() => admin.close())
  const topic = await createTestTopic(admin, 'cnjs_versions_push')
  const producer = new Producer({ endpoints: NAMESRV_ADDR })
  await producer.startup()
  t.teardown(() => producer.shutdown())
  const sent: string[] = []
  for (let i = 0; i < 5; i++) {
    sent.push((await producer.send({ topic, tag: 'v', body: Buffer.from(`step ${i}`), messageGroup: 'order-1' })).messageId)
  }
  const seen: MessageView[] = []
  const consumer = new PushConsumer({
    endpoints: NAMESRV_ADDR,
    consumerGroup: uniqueName('cnjs_versions_push'),
    subscriptions: new Map([[topic, '*']]),
    messageListener: {
      consume(view: MessageView): ConsumeResult {
        seen.push(view)
        return ConsumeResult.SUCCESS
      },
    },
  })
  // Started after the sends: a new group starts at 0 on a queue whose first message the broker (4.9.7 and 5.x alike)
  // still holds in memory, so these five come; a send racing a starting group could come before its start.
  await consumer.startup()
  t.teardown(() => consumer.shutdown())
  t.true(await waitFor(() => seen.length >= 5), `got ${seen.length}`)
  t.deepEqual(seen.map((view) => view.messageId), sent)
  t.true(seen.every((view) => view.messageGroup === 'order-1'))
})

test(`RocketMQ ${BROKER_VERSION}: the SimpleConsumer ${BROKER_IS_4X ? 'is refused: POP needs 5.x brokers' : 'pops and acknowledges'}`, async (t) => {
  const admin = new Admin({ namesrvAddr: NAMESRV_ADDR })
  t.teardown(() => admin.close())
  const topic = await createTestTopic(admin, 'cnjs_versions_simple')
  const producer = new Producer({ endpoints: NAMESRV_ADDR })
  await producer.startup()
  t.teardown(() => producer.shutdown())
  const receipt = await producer.send({ topic, body: Buffer.from('pop me') })
  const consumer = new SimpleConsumer({
    endpoints: NAMESRV_ADDR,
    consumerGroup: uniqueName('cnjs_versions_simple'),
    subscriptions: new Map([[topic, '*']]),
    awaitDuration: 2000,
  })
  await consumer.startup()
  t.teardown(() => consumer.shutdown())
  if (BROKER_IS_4X) {
    const error = await t.throwsAsync(consumer.receive(1, 10000), { instanceOf: UnsupportedException, message: /5\.x/ })
    t.like(error, { name: 'UnsupportedException', code: 50500, responseCode: 3 })
    return
  }
  let messages: MessageView[] = []
  for (let round = 0; round < 10 && messages.length === 0; round++) {
    messages = await consumer.receive(1, 10000)
  }
  t.is(messages[0]?.messageId, receipt.messageId)
  await consumer.ack(messages[0] as MessageView)
})
