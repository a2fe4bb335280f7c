/**
 * Orderly consumption: a MessageListenerOrderly gets each queue's messages one call at a time, in queue order
 * (the queue locked on its broker for this member). A step that cannot be applied yet is suspended: the same
 * message comes again after a pause, before anything after it in its queue.
 *
 *   NAMESRV_ADDR=127.0.0.1:9876 npx tsx examples/orderly.ts
 */
import {
  Admin,
  ConsumeFromWhere,
  type ConsumeOrderlyContext,
  ConsumeResult,
  type ConsumedMessage,
  Consumer,
  MessageListenerOrderly,
  Producer,
  SubscriptionManager,
  createConsumerConfig,
} from '../index'

const namesrvAddr = process.env.NAMESRV_ADDR ?? '127.0.0.1:9876'
const TOPIC = 'orderly_example_topic'
const STEPS = 10

/** Applies steps in queue order; the first attempt at step 3 finds a dependency not ready and suspends. */
class StepLedger extends MessageListenerOrderly {
  /** Offsets seen per queue, in the order the listener saw them. */
  readonly offsets = new Map<string, bigint[]>()
  readonly applied = new Set<string>()
  #waitedOnce = false

  constructor(readonly run: string) {
    super()
  }

  override consumeMessage(messages: ConsumedMessage[], context: ConsumeOrderlyContext): ConsumeResult {
    const queue = `${context.messageQueue.brokerName}:${context.messageQueue.queueId}`
    for (const message of messages) {
      const body = message.body.toString()
      if (body === `${this.run}-3` && !this.#waitedOnce) {
        this.#waitedOnce = true
        console.log('step 3 is not ready: suspending its queue a moment')
        context.suspendCurrentQueueTimeMillis = 200
        return ConsumeResult.SUSPEND_CURRENT_QUEUE_A_MOMENT
      }
      if (body === `${this.run}-3`) {
        console.log(`step 3 applied on its retry (reconsumeTimes ${message.reconsumeTimes})`)
      }
      this.offsets.set(queue, [...(this.offsets.get(queue) ?? []), message.queueOffset])
      if (body.startsWith(`${this.run}-`)) {
        this.applied.add(body)
      }
    }
    return ConsumeResult.SUCCESS
  }

  /** Whether every queue's offsets came in increasing order. */
  inOrder(): boolean {
    return [...this.offsets.values()].every((offsets) => offsets.every((offset, i) => i === 0 || offset > (offsets[i - 1] as bigint)))
  }
}

async function main(): Promise<void> {
  const admin = new Admin({ namesrvAddr })
  await admin.createTopic({ topic: TOPIC, queueNums: 2 })
  await admin.close()
  const run = Date.now().toString(36)
  const producer = new Producer({ namesrvAddr, producerGroup: 'orderly_example_producer' })
  await producer.start()
  for (let step = 0; step < STEPS; step += 1) {
    await producer.send({ topic: TOPIC, body: `${run}-${step}` })
  }
  await producer.shutdown()

  const listener = new StepLedger(run)
  const subscriptionManager = new SubscriptionManager()
  subscriptionManager.subscribe(TOPIC)
  const consumer = new Consumer({
    config: createConsumerConfig({
      consumerGroup: `orderly_example_${run}`,
      namesrvAddr,
      consumeFromWhere: ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET,
    }),
    subscriptionManager,
    messageListener: listener,
  })
  await consumer.start()
  try {
    while (listener.applied.size < STEPS) {
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  } finally {
    // Commits the offsets and unlocks the queues, so the group's next member takes them at once.
    await consumer.shutdown()
  }
  console.log(`applied ${listener.applied.size} steps; every queue in order: ${listener.inOrder()}`)
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
