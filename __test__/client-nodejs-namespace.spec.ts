/**
 * rocketmq-client-nodejs' `namespace` option against the open cluster: a namespaced Producer (its startup topic check
 * included), PushConsumer and SimpleConsumer exchange messages under the bare names, while the topic on the brokers
 * is `<namespace>%<topic>`, which a client without the namespace sees.
 */
import test from 'ava'

import { Admin } from '../index'
import { NotFoundException, Producer } from '../lib/compat/client-nodejs'
import { consumeBothWays } from './helpers/client-nodejs-consumers'
import { NAMESRV_ADDR, QUEUES_PER_BROKER, maxOffsets, uniqueName } from './helpers/cluster'

/** Bound on each wait (a limit, not a timing assertion). */
const WAIT_MS = 60_000

const admin = new Admin({ namesrvAddr: NAMESRV_ADDR })
test.after.always(() => admin.close())

test('a namespaced producer, PushConsumer and SimpleConsumer exchange messages under the bare names', async (t) => {
  const namespace = `cnjs${Date.now().toString(36)}`
  const topic = uniqueName('cnjs_ns')
  const wrapped = `${namespace}%${topic}`
  // Only the wrapped topic exists: the producer's startup check and every send must use it.
  await admin.createTopic({ topic: wrapped, queueNums: QUEUES_PER_BROKER })

  const producer = new Producer({ endpoints: NAMESRV_ADDR, namespace, topics: [topic] })
  await producer.startup()
  t.teardown(() => producer.shutdown())
  const bodies = ['s1', 's2', 's3']
  for (const body of bodies) {
    const receipt = await producer.send({ topic, tag: 'ns', body: Buffer.from(body) })
    t.is(receipt.messageQueue.topic.name, topic)
    t.is(receipt.messageQueue.topic.resourceNamespace, namespace)
  }
  // Stored in the wrapped topic. The broker builds a queue's index after it has stored the message, so the last
  // send may take a moment to show in the queue's max offset.
  const storedCount = async (): Promise<number> =>
    [...(await maxOffsets(admin, wrapped)).values()].reduce((sum, end) => sum + end, 0)
  const deadline = Date.now() + WAIT_MS
  let stored = await storedCount()
  while (stored < bodies.length && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    stored = await storedCount()
  }
  t.is(stored, bodies.length)

  const { pushed, received } = await consumeBothWays(t, { endpoints: NAMESRV_ADDR, namespace }, topic, bodies, WAIT_MS)
  t.true(pushed.every((view) => view.topic === topic), pushed.map((view) => view.topic).join())
  t.true(received.every((view) => view.topic === topic), received.map((view) => view.topic).join())

  // Without the namespace the bare topic does not exist: the startup check names it.
  const plain = new Producer({ endpoints: NAMESRV_ADDR, topics: [topic] })
  const error = await t.throwsAsync(plain.startup(), { message: /Startup the rocketmq client failed/ })
  t.true(error.cause instanceof NotFoundException, String(error.cause))
})
