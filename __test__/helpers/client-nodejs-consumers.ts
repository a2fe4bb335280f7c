/**
 * The client-nodejs subpath's two consumers reading what a spec sent, shared by the specs of its options: each gives
 * the options under test (a namespace, credentials, `sslEnabled`).
 */
import type { ExecutionContext } from 'ava'

import { ConsumeResult, type MessageView, PushConsumer, type SessionCredentials, SimpleConsumer } from '../../lib/compat/client-nodejs'
import { uniqueName } from './cluster'
import { waitFor } from './consumer'

/** The client options under test. */
export interface ClientOptions {
  endpoints: string
  namespace?: string
  sessionCredentials?: SessionCredentials
  sslEnabled?: boolean
}

/** What each consumer got. */
export interface Consumed {
  pushed: MessageView[]
  received: MessageView[]
}

/**
 * Consumes `topic` with a PushConsumer, then with a SimpleConsumer (acking what it received), each in a group of its
 * own, and asserts that each got exactly `bodies`. Start it after the sends: a new group starts at 0 on the queues
 * whose first message the broker holds in memory.
 *
 * @returns the views each consumer got, for the caller's own checks
 *
 * @param t the test
 * @param options how the consumers reach the cluster
 * @param topic the topic the bodies were sent to
 * @param bodies every body sent, sorted
 * @param waitMs bound on each wait (not a timing assertion)
 */
export async function consumeBothWays(t: ExecutionContext, options: ClientOptions, topic: string, bodies: readonly string[], waitMs: number): Promise<Consumed> {
  const pushed: MessageView[] = []
  const push = new PushConsumer({
    ...options,
    consumerGroup: uniqueName('cnjs_secured_push'),
    subscriptions: new Map([[topic, '*']]),
    messageListener: {
      consume(view: MessageView): ConsumeResult {
        pushed.push(view)
        return ConsumeResult.SUCCESS
      },
    },
  })
  t.teardown(() => push.shutdown())
  await push.startup()
  t.true(await waitFor(() => pushed.length >= bodies.length, waitMs), `pushed ${pushed.length}`)
  t.deepEqual(pushed.map((view) => view.body.toString()).sort(), bodies)

  const simple = new SimpleConsumer({
    ...options,
    consumerGroup: uniqueName('cnjs_secured_simple'),
    subscriptions: new Map([[topic, '*']]),
    awaitDuration: 3000,
  })
  t.teardown(() => simple.shutdown())
  await simple.startup()
  const received: MessageView[] = []
  for (let round = 0; round < 20 && received.length < bodies.length; round++) {
    received.push(...(await simple.receive(32, 10000)))
  }
  t.deepEqual(received.map((view) => view.body.toString()).sort(), bodies)
  for (const view of received) {
    await simple.ack(view)
  }
  return { pushed, received }
}
