/**
 * The examples in examples/ (the consumer module's usage examples, in TypeScript) run against the local cluster
 * as a user would run them, each in its own process, and print what they are meant to print.
 */
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'

import test from 'ava'

import { NAMESRV_ADDR } from './helpers/cluster'

const root = join(__dirname, '..')
const run = promisify(execFile)

/** Each example and lines its output must contain, in order. */
const EXAMPLES: Record<string, readonly RegExp[]> = {
  'subscriptions.ts': [
    /^test_topic subscribed: true$/m,
    /^order_topic: SQL92 amount > 100 /m,
    /^refused: SubscriptionConflictError/m,
    /^restored: order_topic$/m,
  ],
  'errors.ts': [
    /^subscribe to "orders topic": subscription problem: InvalidTopicError ERR_INVALID_TOPIC$/m,
    /^consumeThreadNum 0: consumer error: ConfigError ERR_CONFIG retriable=false$/m,
    /^start twice: consumer error: ConsumerStateError ERR_STATE retriable=false$/m,
    /^send through an unreachable NameServer: consumer error: NetworkError ERR_NETWORK retriable=true$/m,
  ],
  'orderly.ts': [
    /^step 3 is not ready: suspending its queue a moment$/m,
    /^step 3 applied on its retry \(reconsumeTimes 1\)$/m,
    /^applied 10 steps; every queue in order: true$/m,
  ],
  'listeners.ts': [/^MessageListenerConcurrently consumed 10 messages$/m, /^SimpleMessageListener consumed 10 messages$/m],
  'clustering.ts': [/^processing order \S+ \(\d+\)$/m, /^stopping the consumer\.\.\.$/m, /^processed 20 orders$/m],
  'offset-stores.ts': [
    /^committed offset of broker-[ab]:0 is \d+$/m,
    /^remote store: persist success rate 100%/m,
    /^consumed again after the rewind: 2 messages$/m,
    /^valid local store settings: true$/m,
    /^storePath with CLUSTERING is valid: false$/m,
    /^local offset read from the file: 50$/m,
    /^file: under storePath$/m,
    /^manager returns the same store: true$/m,
    /^managed stores: test_group:BROADCASTING$/m,
    /^managed stores after closeAllOffsetStores: 0$/m,
  ],
  'consumer-config.ts': [
    /^basic: test_group CLUSTERING, 20 listener calls at once$/m,
    /^production: 50 calls, batches of 5, pulls of 64, at most 50000 messages held$/m,
    /^customizedTraceTopic: refused \(ERR_CONFIG\): customizedTraceTopic: /m,
    /^consumerTimeoutMillisWhenSuspend: refused \(ERR_CONFIG\): consumerTimeoutMillisWhenSuspend 1000 /m,
    /^flowControlMaxDiff: refused \(ERR_CONFIG\): flowControlMaxDiff 10000 and consumeConcurrentlyMaxSpan 2000 /m,
    /^consumeThreadNum: refused \(ERR_CONFIG\): consumeThreadNum 0 /m,
  ],
  'broadcasting.ts': [
    /^screen-a received 5 of 5 notifications$/m,
    /^screen-b received 5 of 5 notifications$/m,
    /^screen-a's offsets: a file under storePath$/m,
  ],
  'ordered-send.ts': [
    /^order-1: 3 events in 1 queue \(broker-[ab]:\d\), stored in order: true$/m,
    /^order-3: 3 events in 1 queue \(broker-[ab]:\d\), stored in order: true$/m,
    /^writable queues: 16, first broker-a:0$/m,
    /^selector chose broker-a:0 for eu$/m,
    /^named queue: broker-a:5$/m,
  ],
}

for (const [example, expected] of Object.entries(EXAMPLES)) {
  test.serial(`examples/${example} runs and prints what it shows`, async (t) => {
    // Bounded: an example that hangs fails here instead of stalling the suite.
    const { stdout } = await run(process.execPath, ['--import', 'tsx', join('examples', example)], {
      cwd: root,
      env: { ...process.env, NAMESRV_ADDR },
      timeout: 120_000,
    })
    let from = 0
    for (const pattern of expected) {
      const match = pattern.exec(stdout.slice(from))
      t.truthy(match, `${pattern} after position ${from} in:\n${stdout}`)
      if (match) {
        from += match.index + match[0].length
      }
    }
  })
}
