/**
 * Minimal producer: make sure a topic exists, send one message, print the result.
 *
 *   NAMESRV_ADDR=127.0.0.1:9876 npx tsx examples/producer.ts [topic]
 */
import { Admin, Producer } from '../index'

async function main(): Promise<void> {
  const topic = process.argv[2] ?? 'example_topic'
  const namesrvAddr = process.env.NAMESRV_ADDR ?? '127.0.0.1:9876'

  // Creating an existing topic again is harmless; it just confirms its queues.
  const admin = new Admin({ namesrvAddr })
  await admin.createTopic({ topic, queueNums: 8 })
  await admin.close()

  const producer = new Producer({ namesrvAddr, producerGroup: 'example_producer' })
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
