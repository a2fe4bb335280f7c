/**
 * Shared helpers of the consumer specs: producing a numbered run of messages, a consumer that records
 * every delivery, and bounded waiting.
 */
import type { ExecutionContext } from 'ava'

import {
  type ConcurrentListener,
  type ConsumedMessage,
  Consumer,
  type ConsumerConfig,
  MessageSelector,
  type Message,
  Producer,
  SubscriptionManager,
} from '../../index'
import { NAMESRV_ADDR, runPipelined, uniqueName } from './cluster'

/** A started producer of a fresh group, shut down when the test ends. */
export async function startedProducer(t: ExecutionContext): Promise<Producer> {
  const producer = new Producer({ namesrvAddr: NAMESRV_ADDR, producerGroup: uniqueName('consumer_spec_producer') })
  await producer.start()
  t.teardown(() => producer.shutdown())
  return producer
}

/**
 * Sends `count` messages whose bodies are `<prefix><index>`, 64 in flight.
 *
 * @param producer a started producer
 * @param count how many
 * @param build the message for an index (its body defaults to `<prefix><index>`)
 */
export async function produce(
  producer: Producer,
  count: number,
  build: (index: number) => Message,
): Promise<void> {
  await runPipelined(count, 64, (index) => producer.send(build(index)))
}

/** One delivery as a listener saw it. */
export interface Delivery {
  /** The message body as text. */
  body: string
  /** The message. */
  message: ConsumedMessage
}

/** A consumer whose listener records every delivery. */
export interface RecordingConsumer {
  /** The consumer, started. */
  consumer: Consumer
  /** Every delivery so far, in arrival order. */
  deliveries: Delivery[]
}

/**
 * Starts a consumer of `topic` that records every delivery and then answers with `verdict` (SUCCESS when it
 * returns undefined); shut down when the test ends.
 *
 * @param t the test
 * @param topic the topic to subscribe
 * @param config settings besides the group (a fresh group unless given) and NameServer
 * @param options the selector, and the listener's behaviour after recording
 */
export async function recordingConsumer(
  t: ExecutionContext,
  topic: string,
  config: Partial<ConsumerConfig> = {},
  options: { selector?: MessageSelector; verdict?: ConcurrentListener } = {},
): Promise<RecordingConsumer> {
  const deliveries: Delivery[] = []
  const subscriptions = new SubscriptionManager()
  subscriptions.subscribe(topic, options.selector ?? MessageSelector.all())
  const verdict = options.verdict
  const consumer = new Consumer({
    config: { consumerGroup: uniqueName('consumer_spec'), namesrvAddr: NAMESRV_ADDR, ...config },
    subscriptionManager: subscriptions,
    messageListener: (messages, context) => {
      for (const message of messages) {
        deliveries.push({ body: message.body.toString(), message })
      }
      if (verdict === undefined) {
        return undefined
      }
      return typeof verdict === 'function' ? verdict(messages, context) : verdict.consumeMessage(messages, context)
    },
    onListenerError: () => undefined,
  })
  await consumer.start()
  t.teardown(() => consumer.shutdown())
  return { consumer, deliveries }
}

/**
 * Waits until `condition` holds, checking every 100 ms, for at most `limitMs` (a bound so that a broken
 * consumer fails the test instead of hanging it, not a timing assertion).
 *
 * @returns whether the condition held
 */
export async function waitFor(condition: () => boolean, limitMs = 60_000): Promise<boolean> {
  const deadline = Date.now() + limitMs
  while (!condition()) {
    if (Date.now() > deadline) {
      return false
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return true
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** How often each body was delivered. */
export function deliveryCounts(deliveries: readonly Delivery[]): Map<string, number> {
  const counts = new Map<string, number>()
  for (const { body } of deliveries) {
    counts.set(body, (counts.get(body) ?? 0) + 1)
  }
  return counts
}
