/**
 * One consumer benchmark run of this project's ali-ons API (`rocketmq-napi/ali-ons`, loaded from the worktree's
 * lib/compat/ali-ons and its built native addon) with ali-ons' defaults: the code of ali-ons-consumer.ts with
 * the import changed (and no retry-topic case: the subpath's handler always gets the queue).
 *
 * @module
 */
import { Consumer } from '../../lib/compat/ali-ons'
import { runConsumerClient } from './consume-measure'

runConsumerClient('ours-ali-ons', {
  async start(args, tally, errors) {
    // The subpath starts the engine at the first subscribe(): the window is already open.
    const consumer = new Consumer({
      httpclient: {},
      nameSrv: [args.namesrv],
      consumerGroup: args.group,
      consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
    })
    consumer.on('error', (error: Error) => errors.note(error))
    consumer.subscribe(args.topic, '*', async (message, queue) => {
      tally.record(message.topic, queue.brokerName, queue.queueId, message.queueOffset ?? -1, message.bornTimestamp ?? 0)
      if (tally.parseJson) {
        tally.parse(message.body)
      }
    })
    await consumer.ready()
    return () => consumer.close()
  },
})
