/**
 * One consumer benchmark run of this project's Consumer (the package's public API, loaded from the
 * worktree's index.ts and its built native addon) with its defaults, a fresh group starting at the first
 * offset and a synchronous listener that only counts.
 *
 * `BENCH_OURS_CONFIG` (a JSON object of {@link ConsumerConfig} fields, e.g.
 * `{"consumeMessageBatchMaxSize":32}`) overrides settings, to measure what a setting is worth; the
 * parent records it in the results file's workload.
 *
 * @module
 */
import { ConsumeFromWhere, ConsumeResult, Consumer, type ConsumerConfig, SubscriptionManager, createConsumerConfig } from '../../index'
import { runConsumerClient } from './consume-measure'

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

const settings = overrides()

runConsumerClient('ours', {
  async start(args, tally, errors) {
    const subscriptions = new SubscriptionManager()
    subscriptions.subscribe(args.topic)
    const consumer = new Consumer({
      config: createConsumerConfig({
        ...settings,
        consumerGroup: args.group,
        namesrvAddr: args.namesrv,
        consumeFromWhere: ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET,
      }),
      subscriptionManager: subscriptions,
      // The queue's topic, not the message's: a message of the retry topic shows its original topic.
      messageListener: (messages) => {
        for (const message of messages) {
          tally.record(message.queue.topic, message.queue.brokerName, message.queue.queueId, Number(message.queueOffset))
        }
        return ConsumeResult.SUCCESS
      },
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
