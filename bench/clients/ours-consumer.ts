/**
 * One consumer benchmark run of this project's Consumer (the package's public API, loaded from the
 * worktree's index.ts and its built native addon) with its defaults, a fresh group starting at the first
 * offset and a synchronous listener that only counts.
 *
 * @module
 */
import { ConsumeFromWhere, ConsumeResult, Consumer, SubscriptionManager, createConsumerConfig } from '../../index'
import { runConsumerClient } from './consume-measure'

runConsumerClient('ours', {
  async start(args, tally, errors) {
    const subscriptions = new SubscriptionManager()
    subscriptions.subscribe(args.topic)
    const consumer = new Consumer({
      config: createConsumerConfig({
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
