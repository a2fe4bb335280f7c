/**
 * One benchmark run of this project's rocketmq-client-nodejs API (`rocketmq-napi/client-nodejs`, loaded from the
 * worktree's lib/compat/client-nodejs and its built native addon), written as a rocketmq-client-nodejs user writes
 * it: `endpoints` names the NameServer (no proxy). The subpath has no producer group (the original has none), so
 * `args.group` is unused; a send that resolves was stored (the original's receipt carries no status), hence
 * SEND_OK.
 *
 * @module
 */
import { Producer } from '../../lib/compat/client-nodejs'
import { BENCH_TAG, benchBody, benchKey, measure, runClient } from './measure'

runClient('ours-client-nodejs', async (args) => {
  const producer = new Producer({ endpoints: args.namesrv })
  await producer.startup()
  const body = benchBody(args.bodySize)
  const result = await measure(
    'ours-client-nodejs',
    {
      async send(index) {
        await producer.send({ topic: args.topic, tag: BENCH_TAG, keys: [benchKey(index)], body })
        return 'SEND_OK'
      },
    },
    args,
  )
  await producer.shutdown()
  return result
})
