/**
 * Consumers of one process share one client instance. Several of them started together and shut down as soon as
 * each started, round after round, all shut down: a shutdown that comes before the consumer's background work first
 * runs must still end it (it once waited for it forever, about one run in two of ten rounds).
 */
import test from 'ava'

import { Admin, ConsumeResult, Consumer, MessageSelector, SubscriptionManager } from '../index'
import { NAMESRV_ADDR, createTestTopic, uniqueName } from './helpers/cluster'

const admin = new Admin({ namesrvAddr: NAMESRV_ADDR })
test.after.always(() => admin.close())

const ROUNDS = 20
const MEMBERS = 4

test('consumers of one process started together and shut down at once, round after round, all shut down', async (t) => {
  // A hang fails by this timeout; the rounds take a few seconds.
  t.timeout(120_000)
  const topic = await createTestTopic(admin, 'quick_shutdown')
  for (let round = 0; round < ROUNDS; round++) {
    const consumers = Array.from({ length: MEMBERS }, (_, member) => {
      const subscriptions = new SubscriptionManager()
      subscriptions.subscribe(topic, MessageSelector.all())
      return new Consumer({
        config: { consumerGroup: uniqueName(`quick_shutdown_${round}_${member}`), namesrvAddr: NAMESRV_ADDR },
        subscriptionManager: subscriptions,
        messageListener: () => ConsumeResult.SUCCESS,
      })
    })
    const stopped = consumers.map((consumer) => new Promise<void>((resolve) => consumer.once('stopped', () => resolve())))
    await Promise.all(
      consumers.map(async (consumer) => {
        await consumer.start()
        t.true(consumer.running, `round ${round}: a consumer did not start`)
        await consumer.shutdown()
      }),
    )
    await Promise.all(stopped)
    t.true(
      consumers.every((consumer) => !consumer.running),
      `round ${round}: a consumer still runs after shutdown()`,
    )
  }
})
