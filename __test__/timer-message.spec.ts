/**
 * Timer messages of the main API: `deliverTimeMs` sends `TIMER_DELIVER_MS`, a RocketMQ 5 broker holds the message
 * until then and a consumer gets it carrying that time; it excludes `delayLevel` and batches, and must be a whole
 * positive number of ms.
 */
import test from 'ava'

import { Admin, ValidationError } from '../index'
import { NAMESRV_ADDR, createTestTopic } from './helpers/cluster'
import { recordingConsumer, startedProducer, waitFor } from './helpers/consumer'

test('a message with deliverTimeMs arrives carrying that time; one due later is held', async (t) => {
  const admin = new Admin({ namesrvAddr: NAMESRV_ADDR })
  t.teardown(() => admin.close())
  const topic = await createTestTopic(admin, 'timer_message')
  const producer = await startedProducer(t)
  const deliverAt = Date.now() + 1000
  const later = Date.now() + 120_000
  await producer.send({ topic, body: 'later', deliverTimeMs: later })
  await producer.send({ topic, body: 'soon', deliverTimeMs: deliverAt })
  const { deliveries } = await recordingConsumer(t, topic)
  t.true(await waitFor(() => deliveries.length >= 1))
  const [soon] = deliveries
  t.is(soon?.body, 'soon')
  t.is(soon?.message.properties.TIMER_DELIVER_MS, String(deliverAt))
  t.is(deliveries.length, 1, 'the message due in two minutes is not delivered')
})

test('deliverTimeMs is refused with delayLevel, in a batch, and when not a positive whole number', async (t) => {
  const producer = await startedProducer(t)
  const topic = 'timer_message_refused'
  await t.throwsAsync(producer.send({ topic, body: 'x', deliverTimeMs: Date.now() + 1000, delayLevel: 2 }), {
    instanceOf: ValidationError,
    message: /deliverTimeMs and delayLevel/,
  })
  await t.throwsAsync(producer.sendBatch([{ topic, body: 'x', deliverTimeMs: Date.now() + 1000 }, { topic, body: 'y' }]), {
    instanceOf: ValidationError,
    message: /batch message 0 has deliverTimeMs/,
  })
  await t.throwsAsync(producer.send({ topic, body: 'x', deliverTimeMs: 1.5 }), { instanceOf: ValidationError, message: /deliverTimeMs/ })
  await t.throwsAsync(producer.send({ topic, body: 'x', deliverTimeMs: 0 }), { instanceOf: ValidationError, message: /deliverTimeMs/ })
})
