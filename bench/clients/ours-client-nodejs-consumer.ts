/**
 * One consumer benchmark run of this project's rocketmq-client-nodejs API (`rocketmq-napi/client-nodejs`, loaded
 * from the worktree's lib/compat/client-nodejs and its built native addon): a PushConsumer with the original's
 * defaults whose listener answers SUCCESS. A MessageView names no queue (the original's neither), so messages are
 * told apart by `messageId`: the first sight of an id is recorded as a new offset of one pseudo-queue, a repeat as
 * a repeat. A new group starts at offset 0 of each queue whose first message the broker still holds in memory
 * (RocketMQ 5), as the preloaded topic's are.
 *
 * @module
 */
import { ConsumeResult, type MessageView, PushConsumer } from '../../lib/compat/client-nodejs'
import { runConsumerClient } from './consume-measure'

runConsumerClient('ours-client-nodejs', {
  async start(args, tally) {
    const ids = new Map<string, number>()
    const consumer = new PushConsumer({
      endpoints: args.namesrv,
      consumerGroup: args.group,
      subscriptions: new Map([[args.topic, '*']]),
      messageListener: {
        consume(view: MessageView): ConsumeResult {
          let index = ids.get(view.messageId)
          if (index === undefined) {
            index = ids.size
            ids.set(view.messageId, index)
          }
          tally.record(view.topic, 'messageId', 0, index)
          return ConsumeResult.SUCCESS
        },
      },
    })
    await consumer.startup()
    return () => consumer.shutdown()
  },
})
