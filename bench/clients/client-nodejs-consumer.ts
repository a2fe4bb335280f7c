/**
 * One consumer benchmark run of rocketmq-client-nodejs (npm, the gRPC client of RocketMQ 5) through the proxy the
 * parent started (`--endpoints`), with its defaults: a PushConsumer of a fresh group, a listener that only counts.
 * bench:needs-proxy
 *
 * The proxy consumes with POP on the brokers: a new group starts at the latest offset unless the queue's first
 * message is still in the broker's memory (`initPopOffsetByCheckMsgInMem`, default true), which holds for a freshly
 * preloaded topic. A MessageView says its offset but not its queue, so messages are told apart by the number every
 * benchmark body carries (`bodyIndex`). The client logs to `$HOME/logs` by default; here a logger counts the
 * errors and drops the rest.
 *
 * @module
 */
import { ConsumeResult, FilterExpression, type MessageView, PushConsumer } from 'rocketmq-client-nodejs'
import { bodyIndex, runConsumerClient } from './consume-measure'

runConsumerClient('client-nodejs', {
  async start(args, tally, errors) {
    if (args.endpoints === '') {
      throw new Error('client-nodejs needs --endpoints (a RocketMQ 5 proxy)')
    }
    const consumer = new PushConsumer({
      endpoints: args.endpoints,
      namespace: '',
      consumerGroup: args.group,
      subscriptions: new Map([[args.topic, FilterExpression.SUB_ALL]]),
      logger: {
        info() {},
        warn() {},
        error(...parts: unknown[]) {
          errors.note(parts.map(String).join(' '))
        },
      },
      messageListener: {
        consume(message: MessageView) {
          tally.record(message.topic, '', 0, bodyIndex(message.body), message.bornTimestamp?.getTime() ?? 0)
          if (tally.parseJson) {
            tally.parse(message.body)
          }
          return ConsumeResult.SUCCESS
        },
      },
    })
    await consumer.startup()
    return () => consumer.shutdown()
  },
})
