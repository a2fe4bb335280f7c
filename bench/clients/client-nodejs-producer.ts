/**
 * One producer benchmark run of rocketmq-client-nodejs (npm, the gRPC client of RocketMQ 5) through the proxy the
 * parent started (`--endpoints`). bench:needs-proxy
 *
 * @module
 */
import { Producer } from 'rocketmq-client-nodejs'
import { BENCH_TAG, benchBody, benchKey, measure, runClient } from './measure'

runClient('client-nodejs', async (args) => {
  if (args.endpoints === '') {
    throw new Error('client-nodejs needs --endpoints (a RocketMQ 5 proxy)')
  }
  const producer = new Producer({
    endpoints: args.endpoints,
    namespace: '',
    topics: [args.topic],
    logger: { info() {}, warn() {}, error() {} },
  })
  await producer.startup()
  const body = benchBody(args.bodySize)
  const result = await measure(
    'client-nodejs',
    {
      async send(index) {
        await producer.send({ topic: args.topic, body, tag: BENCH_TAG, keys: [benchKey(index)] })
        // A receipt means stored; the gRPC API has no weaker status.
        return 'SEND_OK'
      },
    },
    args,
  )
  await producer.shutdown()
  return result
})
