/**
 * Demo: create a topic on both local brokers, send messages with tags, keys and properties, and show
 * where they went.
 *
 *   npm run demo                 (starts the local cluster first)
 *   DEMO_MESSAGES=5000 npx tsx examples/demo.ts
 */
import { Admin, Producer, type SendResult } from '../index'

const NAMESRV_ADDR = process.env.NAMESRV_ADDR ?? '127.0.0.1:9876'
const MESSAGES = Number(process.env.DEMO_MESSAGES ?? 1000)
const QUEUES_PER_BROKER = 8
/** Sends kept in flight at once; the producer pipelines them over its broker connections. */
const IN_FLIGHT = 64
const TAGS = ['created', 'paid', 'shipped'] as const

async function sendAll(producer: Producer, topic: string): Promise<SendResult[]> {
  const results = new Array<SendResult>(MESSAGES)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < MESSAGES) {
      const index = next
      next += 1
      results[index] = await producer.send({
        topic,
        body: JSON.stringify({ orderId: index, amount: (index * 7) % 100 }),
        tags: TAGS[index % TAGS.length],
        keys: [`order-${index}`],
        properties: { demo: 'true', sequence: String(index) },
      })
    }
  }
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, MESSAGES) }, worker))
  return results
}

function countBy(results: readonly SendResult[], key: (result: SendResult) => string): Map<string, number> {
  const counts = new Map<string, number>()
  for (const result of results) {
    counts.set(key(result), (counts.get(key(result)) ?? 0) + 1)
  }
  return new Map([...counts].sort(([a], [b]) => a.localeCompare(b, undefined, { numeric: true })))
}

async function main(): Promise<void> {
  if (!Number.isInteger(MESSAGES) || MESSAGES < 1) {
    throw new Error(`DEMO_MESSAGES must be a positive integer, got ${process.env.DEMO_MESSAGES}`)
  }
  const admin = new Admin({ namesrvAddr: NAMESRV_ADDR })
  const producer = new Producer({ namesrvAddr: NAMESRV_ADDR, producerGroup: 'demo_producer' })
  let producerStarted = false
  try {
    const topic = `demo_orders_${Date.now().toString(36)}`
    const brokers = await admin.createTopic({ topic, queueNums: QUEUES_PER_BROKER })
    console.log(`NameServer ${NAMESRV_ADDR}: created topic ${topic} with ${QUEUES_PER_BROKER} queues on ${brokers.join(', ')}`)

    await producer.start()
    producerStarted = true
    const started = process.hrtime.bigint()
    const results = await sendAll(producer, topic)
    const seconds = Number(process.hrtime.bigint() - started) / 1e9

    const statuses = countBy(results, (result) => result.status)
    console.log(`\nsent ${results.length} messages in ${seconds.toFixed(2)} s (${Math.round(results.length / seconds)} msgs/s, ${IN_FLIGHT} in flight)`)
    console.log(`statuses: ${[...statuses].map(([status, count]) => `${status}=${count}`).join(' ')}`)

    console.log('\nper broker:')
    for (const [broker, count] of countBy(results, (result) => result.brokerName)) {
      console.log(`  ${broker.padEnd(10)} ${count}`)
    }
    console.log('\nper queue:')
    const perQueue = countBy(results, (result) => `${result.brokerName}/${result.queueId}`)
    const queueLines = [...perQueue].map(([queue, count]) => `${queue.padEnd(12)} ${String(count).padStart(5)}`)
    for (let line = 0; line < queueLines.length; line += 4) {
      console.log(`  ${queueLines.slice(line, line + 4).join('   ')}`)
    }

    console.log('\nsample send results:')
    for (const result of [results[0], results[1], results[results.length - 1]]) {
      if (result) {
        console.log(`  ${JSON.stringify(result)}`)
      }
    }

    const route = await admin.getTopicRoute(topic)
    route.brokerDatas.sort((a, b) => a.brokerName.localeCompare(b.brokerName))
    console.log('\nroute:')
    for (const broker of route.brokerDatas) {
      const queues = route.queueDatas.find((queue) => queue.brokerName === broker.brokerName)
      console.log(
        `  ${broker.brokerName} (cluster ${broker.cluster}) master ${broker.brokerAddrs['0'] ?? '?'}: ` +
          `${queues?.readQueueNums ?? 0} read / ${queues?.writeQueueNums ?? 0} write queues, perm ${queues?.perm ?? 0}`,
      )
    }

    console.log('\nmax offsets after sending:')
    for (const broker of route.brokerDatas) {
      const offsets = await Promise.all(
        Array.from({ length: QUEUES_PER_BROKER }, (_, queueId) => admin.getMaxOffset(topic, broker.brokerName, queueId)),
      )
      console.log(`  ${broker.brokerName}: [${offsets.join(', ')}] total ${offsets.reduce((sum, offset) => sum + offset, 0)}`)
    }
  } finally {
    if (producerStarted) {
      await producer.shutdown()
    }
    await admin.close()
  }
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
