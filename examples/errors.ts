/**
 * Errors: every failure is a class with a stable `code`; `retriable` says whether trying again may help.
 *
 *   NAMESRV_ADDR=127.0.0.1:9876 npx tsx examples/errors.ts
 *
 * The consumer-side families: ConsumerError (start, state, transport, configuration, ...) and
 * SubscriptionError (topics and selectors). Catch the most specific class first.
 */
import {
  Admin,
  BrokerNotAvailableError,
  Consumer,
  ConsumerError,
  Producer,
  SubscriptionError,
  SubscriptionManager,
  createConsumerConfig,
} from '../index'

/** Reports an error the way an application would sort it. */
function handle(error: unknown): void {
  if (error instanceof BrokerNotAvailableError) {
    console.log(`broker not available, retry later: ${error.code}`)
  } else if (error instanceof SubscriptionError) {
    console.log(`subscription problem: ${error.name} ${error.code}`)
  } else if (error instanceof ConsumerError) {
    // Also catches the errors every client can meet (configuration, network, timeouts, NameServer).
    console.log(`consumer error: ${error.name} ${error.code} retriable=${error.retriable}`)
  } else {
    throw error
  }
}

/** Runs `action` and hands what it throws to {@link handle}. */
async function attempt(what: string, action: () => unknown): Promise<void> {
  try {
    await action()
    console.log(`${what}: ok`)
  } catch (error) {
    process.stdout.write(`${what}: `)
    handle(error)
  }
}

async function main(): Promise<void> {
  const namesrvAddr = process.env.NAMESRV_ADDR ?? '127.0.0.1:9876'

  // A topic name RocketMQ does not allow.
  const subscriptionManager = new SubscriptionManager()
  await attempt('subscribe to "orders topic"', () => subscriptionManager.subscribe('orders topic'))

  // A bad setting, named in the message.
  await attempt('consumeThreadNum 0', () => createConsumerConfig({ consumerGroup: 'errors_example', consumeThreadNum: 0 }))

  // The wrong state: a consumer starts once.
  const admin = new Admin({ namesrvAddr })
  await admin.createTopic({ topic: 'errors_example_topic', queueNums: 2 })
  await admin.close()
  subscriptionManager.subscribe('errors_example_topic')
  const consumer = new Consumer({
    config: createConsumerConfig({ consumerGroup: 'errors_example', namesrvAddr }),
    subscriptionManager,
    messageListener: () => undefined,
  })
  await consumer.start()
  await attempt('start twice', () => consumer.start())
  await consumer.shutdown()

  // A NameServer nobody listens on: a transport failure, retriable.
  const producer = new Producer({ namesrvAddr: '127.0.0.1:1', producerGroup: 'errors_example', sendMsgTimeout: 1000 })
  await producer.start()
  await attempt('send through an unreachable NameServer', () => producer.send({ topic: 'errors_example_topic', body: 'x' }))
  await producer.shutdown()
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
