/**
 * One benchmark run of this project's ali-ons API (`rocketmq-napi/ali-ons`, loaded from the worktree's
 * lib/compat/ali-ons and its built native addon): the code of ali-ons-producer.ts with only the import changed.
 *
 * @module
 */
import { Message, Producer } from '../../lib/compat/ali-ons'
import { BENCH_TAG, benchBody, benchKey, measure, runClient } from './measure'

runClient('ours-ali-ons', async (args) => {
  const producer = new Producer({ httpclient: {}, nameSrv: [args.namesrv], producerGroup: args.group })
  await producer.ready()
  const body = benchBody(args.bodySize)
  const result = await measure(
    'ours-ali-ons',
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
  await producer.close()
  return result
})
