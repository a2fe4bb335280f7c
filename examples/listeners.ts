/**
 * Listeners: a MessageListenerConcurrently subclass, and a SimpleMessageListener wrapping one function per
 * message. Each consumes the same ten messages in its own group.
 *
 *   NAMESRV_ADDR=127.0.0.1:9876 npx tsx examples/listeners.ts
 */
import {
  Admin,
  ConsumeFromWhere,
  ConsumeResult,
  type ConsumeMessageContext,
  type ConsumedMessage,
  Consumer,
  type MessageListener,
  MessageListenerConcurrently,
  Producer,
  SimpleMessageListener,
  SubscriptionManager,
  createConsumerConfig,
} from '../index'

const namesrvAddr = process.env.NAMESRV_ADDR ?? '127.0.0.1:9876'
const TOPIC = 'listeners_example_topic'
const MESSAGES = 10

/** A concurrent listener: batches of one queue, several calls at once (up to consumeThreadNum). */
class MyConcurrentListener extends MessageListenerConcurrently {
  readonly seen = new Set<string>()

  override consumeMessage(messages: ConsumedMessage[], context: ConsumeMessageContext): ConsumeResult {
    for (const message of messages) {
      try {
        const order = JSON.parse(message.body.toString()) as { id: string }
        this.seen.add(order.id)
      } catch (error) {
        console.log(`failed on ${message.msgId} from queue ${context.messageQueue.queueId}: ${String(error)}`)
        // Returned for the whole batch: every message of it comes again later.
        return ConsumeResult.RECONSUME_LATER
      }
    }
    return ConsumeResult.SUCCESS
  }
}

/** Runs `listener` in a new group over the topic until it has seen every body, then shuts down. */
async function consumeAll(group: string, listener: MessageListener, seen: () => number): Promise<void> {
  const subscriptionManager = new SubscriptionManager()
  subscriptionManager.subscribe(TOPIC)
  const consumer = new Consumer({
    config: createConsumerConfig({ consumerGroup: group, namesrvAddr, consumeFromWhere: ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET }),
    subscriptionManager,
    messageListener: listener,
  })
  await consumer.start()
  try {
    while (seen() < MESSAGES) {
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  } finally {
    await consumer.shutdown()
  }
}

async function main(): Promise<void> {
  const admin = new Admin({ namesrvAddr })
  await admin.createTopic({ topic: TOPIC, queueNums: 2 })
  await admin.close()
  const producer = new Producer({ namesrvAddr, producerGroup: 'listeners_example_producer' })
  await producer.start()
  const run = Date.now().toString(36)
  await producer.sendBatch(Array.from({ length: MESSAGES }, (_, index) => ({ topic: TOPIC, body: JSON.stringify({ id: `${run}-${index}` }) })))
  await producer.shutdown()
  const ours = (bodies: Iterable<string>): number => [...bodies].filter((body) => body.startsWith(`${run}-`)).length

  const concurrent = new MyConcurrentListener()
  await consumeAll(`listeners_example_concurrent_${run}`, concurrent, () => ours(concurrent.seen))
  console.log(`MessageListenerConcurrently consumed ${ours(concurrent.seen)} messages`)

  // One call per message, in queue order; returning nothing counts as SUCCESS.
  const simpleSeen = new Set<string>()
  const simple = new SimpleMessageListener((message) => {
    simpleSeen.add((JSON.parse(message.body.toString()) as { id: string }).id)
  })
  await consumeAll(`listeners_example_simple_${run}`, simple, () => ours(simpleSeen))
  console.log(`SimpleMessageListener consumed ${ours(simpleSeen)} messages`)
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
