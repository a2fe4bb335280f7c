/**
 * Demo: create a topic on both local brokers, send 100,000 messages with tags, keys and properties, then
 * consume them all with a push consumer, with a live progress line, and shut down gracefully.
 *
 *   npm run demo                 (starts the local cluster first)
 *   DEMO_MESSAGES=5000 npx tsx examples/demo.ts
 */
import {
  Admin,
  ConsumeFromWhere,
  ConsumeResult,
  type ConsumedMessage,
  Consumer,
  MessageSelector,
  Producer,
  type SendResult,
  SubscriptionManager,
  createConsumerConfig,
} from '../index'

const NAMESRV_ADDR = process.env.NAMESRV_ADDR ?? '127.0.0.1:9876'
const MESSAGES = Number(process.env.DEMO_MESSAGES ?? 100_000)
const QUEUES_PER_BROKER = 8
/** Sends kept in flight at once; the producer pipelines them over its broker connections. */
const IN_FLIGHT = 256
const TAGS = ['created', 'paid', 'shipped'] as const
/** How long the demo waits for the last messages before it reports what is missing. */
const CONSUME_LIMIT_MS = 120_000

/** Rewrites one terminal line (or prints lines when the output is not a terminal). */
function progress(line: string, final = false): void {
  if (process.stdout.isTTY) {
    process.stdout.write(`\r${line.padEnd(78)}${final ? '\n' : ''}`)
  } else if (final) {
    console.log(line)
  }
}

async function sendAll(producer: Producer, topic: string): Promise<SendResult[]> {
  const results = new Array<SendResult>(MESSAGES)
  let next = 0
  let done = 0
  const started = Date.now()
  const ticker = setInterval(() => progress(`sending: ${done}/${MESSAGES}`), 200)
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
      done += 1
    }
  }
  try {
    await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, MESSAGES) }, worker))
  } finally {
    clearInterval(ticker)
  }
  const seconds = (Date.now() - started) / 1000
  progress(`sent ${MESSAGES} messages in ${seconds.toFixed(2)} s (${Math.round(MESSAGES / seconds)} msgs/s, ${IN_FLIGHT} in flight)`, true)
  return results
}

function countBy<T>(items: Iterable<T>, key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>()
  for (const item of items) {
    counts.set(key(item), (counts.get(key(item)) ?? 0) + 1)
  }
  return new Map([...counts].sort(([a], [b]) => a.localeCompare(b, undefined, { numeric: true })))
}

/** Consumes the topic from its first offset until every sent message arrived (or the limit passed). */
async function consumeAll(topic: string): Promise<void> {
  const subscriptions = new SubscriptionManager()
  subscriptions.subscribe(topic, MessageSelector.all())
  const seen = new Set<string>()
  let deliveries = 0
  let sample: ConsumedMessage | undefined
  const consumer = new Consumer({
    config: createConsumerConfig({
      consumerGroup: `demo_consumer_${Date.now().toString(36)}`,
      namesrvAddr: NAMESRV_ADDR,
      consumeFromWhere: ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET,
      consumeMessageBatchMaxSize: 32,
    }),
    subscriptionManager: subscriptions,
    messageListener: (messages) => {
      for (const message of messages) {
        deliveries += 1
        seen.add(message.msgId)
        sample ??= message
      }
      return ConsumeResult.SUCCESS
    },
  })

  const started = Date.now()
  await consumer.start()
  console.log(`\nconsumer ${consumer.config.consumerGroup} started as ${consumer.clientId ?? '?'}`)
  let lastCount = 0
  let lastTime = started
  while (seen.size < MESSAGES && Date.now() - started < CONSUME_LIMIT_MS) {
    await new Promise((resolve) => setTimeout(resolve, 250))
    const now = Date.now()
    const rate = ((seen.size - lastCount) * 1000) / Math.max(1, now - lastTime)
    progress(`consuming: ${seen.size}/${MESSAGES}  ${Math.round(rate)} msgs/s`)
    lastCount = seen.size
    lastTime = now
  }
  const seconds = (Date.now() - started) / 1000
  progress(`consumed ${seen.size}/${MESSAGES} messages in ${seconds.toFixed(2)} s (${Math.round(seen.size / seconds)} msgs/s, start included)`, true)

  const queues = await consumer.assignedQueues()
  console.log('shutting down the consumer (in-flight calls finish, offsets are committed)...')
  await consumer.shutdown()

  console.log('\nconsumer summary:')
  console.log(`  deliveries ${deliveries}, distinct messages ${seen.size}, duplicates ${deliveries - seen.size}, missing ${MESSAGES - seen.size}`)
  console.log(`  queues held: ${queues.filter((q) => q.topic === topic).length} of ${topic}, plus ${queues.filter((q) => q.topic !== topic).length} of the group's retry topic`)
  if (sample) {
    console.log(`  a message: ${JSON.stringify(sample.toJSON())}`)
    console.log(`             body ${sample.body.toString()}`)
  }
  if (seen.size < MESSAGES) {
    throw new Error(`${MESSAGES - seen.size} messages did not arrive within ${CONSUME_LIMIT_MS / 1000} s`)
  }
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
    const results = await sendAll(producer, topic)
    const statuses = countBy(results, (result) => result.status)
    console.log(`statuses: ${[...statuses].map(([status, count]) => `${status}=${count}`).join(' ')}`)
    const perBroker = countBy(results, (result) => result.brokerName)
    console.log(`per broker: ${[...perBroker].map(([broker, count]) => `${broker}=${count}`).join(' ')}`)
    await producer.shutdown()
    producerStarted = false

    await consumeAll(topic)
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
