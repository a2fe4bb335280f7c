/**
 * One benchmark run of this project's Producer (the package's public API, loaded from the worktree's
 * index.ts and its built native addon).
 *
 * @module
 */
import { Producer } from '../../index'
import { BENCH_TAG, benchBody, benchKey, measure, runClient } from './measure'

runClient('ours', async (args) => {
  const producer = new Producer({ namesrvAddr: args.namesrv, producerGroup: args.group })
  await producer.start()
  const body = benchBody(args.bodySize)
  const result = await measure(
    'ours',
    {
      async send(index) {
        const sent = await producer.send({ topic: args.topic, body, tags: BENCH_TAG, keys: benchKey(index) })
        return sent.status
      },
    },
    args,
  )
  await producer.shutdown()
  return result
})
