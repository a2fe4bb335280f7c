/**
 * One consumer benchmark run of ali-ons' push consumer (pure JavaScript, remoting protocol) with its
 * defaults, pointed at the local NameServer. `httpclient` is required by its constructor but unused when
 * `nameSrv` is given.
 *
 * Starting a fresh group at the first offset: ali-ons reads the group's committed offset of each queue
 * from the broker; a new group has none (the broker answers QUERY_NOT_FOUND, which ali-ons reports as
 * an `error` event and turns into -1), and with `CONSUME_FROM_FIRST_OFFSET` it then starts at offset 0
 * (`computePullFromWhere` in lib/consumer/mq_push_consumer.js of 3.12.0). The preloaded topic is fresh,
 * so 0 is its first message. Those error events are counted, not fatal.
 *
 * @module
 */
import { Consumer } from 'ali-ons'
import { runConsumerClient } from './consume-measure'

runConsumerClient('ali-ons', {
  async start(args, tally, errors) {
    // The constructor starts the client (sdk-base calls init()): the window is already open.
    const consumer = new Consumer({
      httpclient: {},
      nameSrv: [args.namesrv],
      consumerGroup: args.group,
      consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
    })
    consumer.on('error', (error) => errors.note(error))
    consumer.subscribe(args.topic, '*', async (message, queue) => {
      if (queue === undefined) {
        // Only a message of the group's retry topic comes without its queue (ali-ons has already put
        // the original topic back on it): count it apart, as none should occur.
        tally.record('', '', 0, 0)
        return
      }
      tally.record(message.topic, queue.brokerName, queue.queueId, message.queueOffset, message.bornTimestamp)
      if (tally.parseJson) {
        tally.parse(message.body)
      }
    })
    await consumer.ready()
    return () => consumer.close()
  },
})
