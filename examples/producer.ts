/**
 * Minimal producer: send one message and print the result.
 *
 *   NAMESRV_ADDR=127.0.0.1:9876 npx tsx examples/producer.ts [topic]
 *
 * The topic must exist (or the brokers must allow auto-creation); `examples/demo.ts` shows how to create one.
 */
import { Producer } from '../index'

async function main(): Promise<void> {
  const topic = process.argv[2] ?? 'example_topic'
  const producer = new Producer({
    namesrvAddr: process.env.NAMESRV_ADDR ?? '127.0.0.1:9876',
    producerGroup: 'example_producer',
  })
  await producer.start()
  try {
    const result = await producer.send({
      topic,
      body: JSON.stringify({ orderId: 1001, amount: 42 }),
      tags: 'created',
      keys: ['order-1001'],
      properties: { region: 'eu' },
    })
    console.log(`${result.status}: ${result.msgId} -> ${result.brokerName} queue ${result.queueId} offset ${result.queueOffset}`)
  } finally {
    await producer.shutdown()
  }
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
