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
  'listeners.ts': [/^MessageListenerConcurrently consumed 10 messages$/m, /^SimpleMessageListener consumed 10 messages$/m],
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
