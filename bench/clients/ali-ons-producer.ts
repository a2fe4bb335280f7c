/**
 * One benchmark run of ali-ons' Producer (pure JavaScript, remoting protocol), pointed at the local
 * NameServer. `httpclient` is required by its constructor but unused when `nameSrv` is given.
 *
 * @module
 */
import { Message, Producer } from 'ali-ons'
import { BENCH_TAG, benchBody, benchKey, measure, runClient } from './measure'

runClient('ali-ons', async (args) => {
  const producer = new Producer({ httpclient: {}, nameSrv: [args.namesrv], producerGroup: args.group })
  await producer.ready()
  const body = benchBody(args.bodySize)
  const result = await measure(
    'ali-ons',
    {
      async send(index) {
        const message = new Message(args.topic, BENCH_TAG, body)
        message.keys = [benchKey(index)]
        const sent = await producer.send(message)
        return sent.sendStatus
      },
    },
    args,
  )
  // close() leaves ali-ons' shared client open; runClient exits the process after printing.
  await producer.close()
  return result
})
