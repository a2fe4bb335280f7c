/**
 * Ordered sending: the events of each order in one queue, in the order sent (`shardingKey`); a queue selector
 * (Java's `MessageQueueSelector`); a queue named directly.
 *
 *   NAMESRV_ADDR=127.0.0.1:9876 npx tsx examples/ordered-send.ts [topic]
 */
import { Admin, Producer, type MessageQueue, type SendResult } from '../index'

const EVENTS = ['created', 'paid', 'shipped'] as const

/** Sends the events of one order one after another: each send is awaited before the next, which keeps the order. */
async function sendOrder(producer: Producer, topic: string, orderId: string): Promise<SendResult[]> {
  const results: SendResult[] = []
  for (const event of EVENTS) {
    results.push(await producer.send({ topic, body: JSON.stringify({ orderId, event }), tags: event, shardingKey: orderId }))
  }
  return results
}

/** A selector keeping each region on one broker: its queues are chosen among that broker's only. */
function byRegion(queues: readonly MessageQueue[], _message: unknown, region: 'eu' | 'us'): MessageQueue {
  const brokers = [...new Set(queues.map((queue) => queue.brokerName))]
  const broker = brokers[region === 'eu' ? 0 : brokers.length - 1]
  const own = queues.filter((queue) => queue.brokerName === broker)
  const chosen = own[0]
  if (chosen === undefined) {
    throw new Error('the topic has no writable queue')
  }
  return chosen
}

async function main(): Promise<void> {
  const topic = process.argv[2] ?? 'example_orders'
  const namesrvAddr = process.env.NAMESRV_ADDR ?? '127.0.0.1:9876'

  const admin = new Admin({ namesrvAddr })
  await admin.createTopic({ topic, queueNums: 8 })
  await admin.close()

  const producer = new Producer({ namesrvAddr, producerGroup: 'example_ordered_producer' })
  await producer.start()
  try {
    // Orders in parallel, each order's events in sequence.
    const orders = ['order-1', 'order-2', 'order-3']
    const sent = await Promise.all(orders.map((orderId) => sendOrder(producer, topic, orderId)))
    orders.forEach((orderId, index) => {
      const results = sent[index] ?? []
      const queues = new Set(results.map((result) => `${result.brokerName}:${result.queueId}`))
      const inOrder = results.every((result, i) => i === 0 || result.queueOffset > (results[i - 1]?.queueOffset ?? Infinity))
      console.log(`${orderId}: ${results.length} events in ${queues.size} queue (${[...queues].join(', ')}), stored in order: ${inOrder}`)
    })

    const queues = await producer.writableQueues(topic)
    console.log(`writable queues: ${queues.length}, first ${queues[0]?.brokerName}:${queues[0]?.queueId}`)

    const eu = await producer.send({ topic, body: 'eu audit record' }, { selector: byRegion, arg: 'eu' })
    console.log(`selector chose ${eu.brokerName}:${eu.queueId} for eu`)

    const direct = await producer.send({ topic, body: 'to queue 5' }, { queue: { brokerName: eu.brokerName, queueId: 5 } })
    console.log(`named queue: ${direct.brokerName}:${direct.queueId}`)
  } finally {
    await producer.shutdown()
  }
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
