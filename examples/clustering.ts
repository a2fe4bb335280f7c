/**
 * Clustering consumption: the members of a group share the topic's queues; offsets live on the brokers.
 * Sends a few orders, consumes them with a MessageListenerConcurrently subclass that records its progress in the
 * offset store, and stops when they are all processed (or on Ctrl+C).
 *
 *   NAMESRV_ADDR=127.0.0.1:9876 npx tsx examples/clustering.ts
 *   EXAMPLE_ORDERS=100 npx tsx examples/clustering.ts
 */
import {
  Admin,
  ConsumeFromWhere,
  ConsumeResult,
  type ConsumeMessageContext,
  type ConsumedMessage,
  Consumer,
  MessageListenerConcurrently,
  MessageModel,
  Producer,
  SubscriptionManager,
  closeOffsetStore,
  createConsumerConfig,
  createOffsetStore,
} from '../index'

const namesrvAddr = process.env.NAMESRV_ADDR ?? '127.0.0.1:9876'
const ORDERS = Number(process.env.EXAMPLE_ORDERS ?? 20)
const TOPIC = 'order_topic'
const GROUP = 'order_consumer_group'

interface Order {
  orderId: string
  amount: number
}

/** Processes orders; ends the example once every order of this run was processed. */
class OrderMessageListener extends MessageListenerConcurrently {
  readonly #processed = new Set<string>()

  constructor(
    private readonly run: string,
    private readonly onAllProcessed: () => void,
  ) {
    super()
  }

  override consumeMessage(messages: ConsumedMessage[], context: ConsumeMessageContext): ConsumeResult {
    for (const message of messages) {
      try {
        const order = JSON.parse(message.body.toString()) as Order
        if (!order.orderId.startsWith(this.run)) {
          continue // an order of an earlier run of this example
        }
        console.log(`processing order ${order.orderId} (${order.amount})`)
        this.#processed.add(order.orderId)
        // Record progress: the next offset to consume in this queue. The consumer commits after every batch
        // anyway; this shows the store the listener can reach.
        context.offsetStore.updateOffset(context.messageQueue, message.queueOffset + 1n, true)
      } catch (error) {
        console.log(`order processing failed: ${String(error)}`)
        return ConsumeResult.RECONSUME_LATER
      }
    }
    if (this.#processed.size === ORDERS) {
      this.onAllProcessed()
    }
    return ConsumeResult.SUCCESS
  }
}

async function sendOrders(run: string): Promise<void> {
  const admin = new Admin({ namesrvAddr })
  await admin.createTopic({ topic: TOPIC, queueNums: 4 })
  await admin.close()
  const producer = new Producer({ namesrvAddr, producerGroup: 'order_producer_group' })
  await producer.start()
  for (let index = 0; index < ORDERS; index += 1) {
    const order: Order = { orderId: `${run}-${index}`, amount: 10 + index }
    await producer.send({ topic: TOPIC, body: JSON.stringify(order), keys: [order.orderId] })
  }
  await producer.shutdown()
}

async function main(): Promise<void> {
  const config = createConsumerConfig({
    consumerGroup: GROUP,
    namesrvAddr,
    messageModel: MessageModel.CLUSTERING,
    // A new group reads the topic from its start; a returning one continues from its committed offsets.
    consumeFromWhere: ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET,
  })

  const run = Date.now().toString(36)
  let allProcessed: () => void = () => undefined
  const done = new Promise<void>((resolve) => {
    allProcessed = resolve
  })
  process.once('SIGINT', () => allProcessed())

  // The store the consumer commits to (the brokers', as clustering keeps offsets there).
  const offsetStore = await createOffsetStore({ consumerGroup: GROUP, namesrvAddr, messageModel: MessageModel.CLUSTERING })

  const subscriptionManager = new SubscriptionManager()
  subscriptionManager.subscribe(TOPIC)

  const consumer = new Consumer({
    config,
    offsetStore,
    subscriptionManager,
    messageListener: new OrderMessageListener(run, () => allProcessed()),
  })

  await consumer.start()
  await sendOrders(run)
  await done
  console.log('stopping the consumer...')
  await consumer.shutdown()
  await closeOffsetStore(GROUP, MessageModel.CLUSTERING)
  console.log(`processed ${ORDERS} orders`)
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
