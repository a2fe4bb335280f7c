/**
 * What the consumer runs of this project's Consumer share (ours, ours-tuned, ours-orderly): the package's public
 * API loaded from the worktree's index.ts and its built native addon, a fresh group starting at the first offset, and
 * a synchronous listener that only counts (and, in the JSON variant, parses each body).
 *
 * `BENCH_OURS_CONFIG` (a JSON object of {@link ConsumerConfig} fields, e.g. `{"consumeMessageBatchMaxSize":32}`)
 * overrides settings on top of a script's own, to measure what a setting is worth; the parent records it.
 *
 * @module
 */
import {
  type ConsumedMessage,
  ConsumeFromWhere,
  ConsumeResult,
  Consumer,
  type ConsumerConfig,
  MessageListenerOrderly,
  SubscriptionManager,
  createConsumerConfig,
} from '../../index'
import { type ConsumeTally, runConsumerClient } from './consume-measure'

/** Settings from `BENCH_OURS_CONFIG`, empty when unset. */
function overrides(): Partial<ConsumerConfig> {
  const json = process.env.BENCH_OURS_CONFIG
  if (json === undefined || json === '') {
    return {}
  }
  const parsed: unknown = JSON.parse(json)
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`BENCH_OURS_CONFIG must be a JSON object, got ${json}`)
  }
  return parsed as Partial<ConsumerConfig>
}

/** Counts a batch: the queue's topic, not the message's (a message of the retry topic shows its original topic). */
function count(tally: ConsumeTally, messages: ConsumedMessage[]): void {
  for (const message of messages) {
    tally.record(message.queue.topic, message.queue.brokerName, message.queue.queueId, Number(message.queueOffset), message.bornTimestamp)
    if (tally.parseJson) {
      tally.parse(message.body)
    }
  }
}

/**
 * Runs one consumer run named `name` with `settings` (then `BENCH_OURS_CONFIG`) over the defaults; `orderly` gives
 * the consumer a {@link MessageListenerOrderly}, else a plain function listener (concurrent).
 */
export function runOurs(name: string, settings: Partial<ConsumerConfig>, orderly: boolean): void {
  const merged = { ...settings, ...overrides() }
  runConsumerClient(name, {
    async start(args, tally, errors) {
      const subscriptions = new SubscriptionManager()
      subscriptions.subscribe(args.topic)
      const messageListener = orderly
        ? new (class extends MessageListenerOrderly {
            consumeMessage(messages: ConsumedMessage[]): ConsumeResult {
              count(tally, messages)
              return ConsumeResult.SUCCESS
            }
          })()
        : (messages: ConsumedMessage[]): ConsumeResult => {
            count(tally, messages)
            return ConsumeResult.SUCCESS
          }
      const consumer = new Consumer({
        config: createConsumerConfig({
          ...merged,
          consumerGroup: args.group,
          namesrvAddr: args.namesrv,
          consumeFromWhere: ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET,
        }),
        subscriptionManager: subscriptions,
        messageListener,
      })
      try {
        await consumer.start()
      } catch (error) {
        errors.note(error)
        throw error
      }
      return () => consumer.shutdown()
    },
  })
}
