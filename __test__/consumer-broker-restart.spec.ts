/**
 * A broker stopped and started again while a consumer consumes and a producer sends: consumption goes on
 * from the other broker, resumes on the restarted one, and nothing stored is lost. Runs on a cluster of its
 * own (helpers/own-cluster.ts), never on the shared one, which other specs use meanwhile. It takes about a
 * minute and a half: three JVMs to start, a broker to stop and start, the clients' 30 s route refresh, and
 * the cluster to stop.
 */
import test from 'ava'

import {
  Admin,
  ConsumeFromWhere,
  Consumer,
  MessagePullError,
  Producer,
  RocketMQError,
  type SendResult,
  SubscriptionManager,
  setLogger,
} from '../index'
import { BackgroundFlow, sendInChunks } from './helpers/bulk-send'
import { QUEUES_PER_BROKER, uniqueName } from './helpers/cluster'
import { OwnCluster } from './helpers/own-cluster'

/** Ports apart from the shared cluster's (9876, 10909-10922) and below the ephemeral range. */
const cluster = new OwnCluster({
  namesrv: Number(process.env.FAULT_NAMESRV_PORT ?? 29876),
  brokerA: Number(process.env.FAULT_BROKER_A_PORT ?? 30911),
  brokerB: Number(process.env.FAULT_BROKER_B_PORT ?? 30921),
})

/**
 * Waits until `condition` holds, checking every 100 ms, for at most `limitMs` (a guard against a hang, not a
 * timing assertion); throws `what` when it does not.
 */
async function waitUntil(what: string, condition: () => boolean, limitMs: number): Promise<void> {
  const deadline = Date.now() + limitMs
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`gave up waiting for ${what} after ${limitMs} ms`)
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

// A stopped broker makes every client warn about it many times a second; count the warnings instead of
// printing them (this file runs in a process of its own, so the logger is this spec's alone).
const warnings = new Map<string, number>()
setLogger({
  level: 'warn',
  sink: (record) => warnings.set(record.target, (warnings.get(record.target) ?? 0) + 1),
})

test('a broker stopped and started again mid-stream: consumption goes on from the other broker, resumes on the restarted one, nothing is lost', async (t) => {
  t.timeout(240_000)
  const began = Date.now()
  const phases: string[] = []
  const phase = (name: string): void => {
    phases.push(`${name} ${((Date.now() - began) / 1000).toFixed(1)}s`)
  }
  await cluster.start()
  phase('cluster up')
  t.teardown(() => cluster.stop())
  const namesrvAddr = cluster.namesrvAddr
  const admin = new Admin({ namesrvAddr })
  t.teardown(() => admin.close())
  const topic = uniqueName('broker_restart')
  await admin.createTopic({ topic, queueNums: QUEUES_PER_BROKER })

  const consumed = new Map<string, number>()
  const subscriptions = new SubscriptionManager()
  subscriptions.subscribe(topic)
  const group = uniqueName('broker_restart')
  const consumer = new Consumer({
    config: {
      consumerGroup: group,
      namesrvAddr,
      consumeFromWhere: ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET,
      persistConsumerOffsetInterval: 1000,
    },
    subscriptionManager: subscriptions,
    messageListener: (messages) => {
      for (const message of messages) {
        consumed.set(message.msgId, (consumed.get(message.msgId) ?? 0) + 1)
      }
    },
  })
  // Failed pulls are reported as 'pullFailed' (the consumer retries them itself), never as 'error'.
  const pullFailures: MessagePullError[] = []
  const errors: RocketMQError[] = []
  consumer.on('pullFailed', (error) => pullFailures.push(error))
  consumer.on('error', (error) => errors.push(error))
  await consumer.start()
  t.teardown(() => consumer.shutdown())
  const producer = new Producer({ namesrvAddr, producerGroup: uniqueName('broker_restart_producer') })
  await producer.start()
  t.teardown(() => producer.shutdown())
  const allConsumed = (results: readonly SendResult[]): boolean => results.every((r) => consumed.has(r.msgId))

  const flow = new BackgroundFlow(producer, topic, 'restart', 200, 100)
  t.teardown(() => flow.stop())
  await waitUntil('the flow to be consumed', () => consumed.size >= 2000, 60_000)
  t.true(
    flow.sent.results.some((r) => r.brokerName === 'broker-b'),
    'nothing was stored on broker-b before it stopped; the test proves nothing',
  )

  // broker-b goes away: whatever is stored from now on is on broker-a, and consumed.
  phase('consuming')
  await cluster.stopBroker('broker-b')
  phase('broker-b stopped')
  const storedAtStop = flow.stored
  await waitUntil('2,000 messages to be stored while broker-b is down', () => flow.stored >= storedAtStop + 2000, 60_000)
  const duringOutage = flow.sent.results.slice(storedAtStop)
  t.deepEqual(
    [...new Set(duringOutage.map((r) => r.brokerName))],
    ['broker-a'],
    'messages were stored on a stopped broker',
  )
  await waitUntil('the messages sent while broker-b is down to be consumed', () => allConsumed(duringOutage), 60_000)
  phase('outage consumed')
  // The pulls of broker-b's queues failed meanwhile: each failure is a 'pullFailed' naming its queue and caused by
  // the typed transport failure, whose retriable flag and broker address it carries.
  t.true(pullFailures.length > 0, 'no pullFailed event while broker-b was down')
  const failuresBefore = pullFailures.length
  for (const failure of pullFailures) {
    t.true(failure instanceof MessagePullError)
    t.is(failure.code, 'ERR_MESSAGE_PULL')
    t.true([topic, `%RETRY%${group}`].includes(failure.queue?.topic ?? ''), `a pull of ${failure.queue?.topic} failed`)
    t.is(failure.queue?.brokerName, 'broker-b', `a pull of ${JSON.stringify(failure.queue)} failed: ${failure.message}`)
    t.true(failure.cause instanceof RocketMQError, String(failure.cause))
    const cause = failure.cause as RocketMQError
    t.is(failure.retriable, cause.retriable)
    t.is(failure.brokerAddr, cause.brokerAddr)
    t.true(failure.retriable, `${cause.code}: a transport failure is retriable`)
  }

  // broker-b comes back: messages stored on it after the restart are consumed too. The consumer finds it again
  // on its route refresh (every 30 s); a new producer with a client instance of its own (so not sharing the
  // stale routes of this process's instance) finds it at once, so this part waits for the consumer only.
  await cluster.startBroker('broker-b')
  phase('broker-b started')
  const late = new Producer({
    namesrvAddr,
    producerGroup: uniqueName('broker_restart_late'),
    instanceName: uniqueName('broker_restart_late'),
  })
  await late.start()
  t.teardown(() => late.shutdown())
  const afterRestart = await sendInChunks(late, topic, 1000, 'after-restart')
  const afterRestartOnB = afterRestart.results.filter((r) => r.brokerName === 'broker-b')
  t.true(afterRestartOnB.length > 0, 'nothing was stored on the restarted broker-b; the test proves nothing')
  await waitUntil('the messages stored on the restarted broker-b to be consumed', () => allConsumed(afterRestartOnB), 90_000)
  phase('consumed from broker-b again')

  t.deepEqual(
    pullFailures.slice(failuresBefore).filter((f) => f.queue?.brokerName !== 'broker-b'),
    [],
    'broker-a pulls never failed',
  )
  t.deepEqual(errors, [], 'pull failures are not errors')

  const flowed = await flow.stop()
  const stored = [...flowed.results, ...afterRestart.results]
  await waitUntil('every message stored to be consumed', () => allConsumed(stored), 60_000)
  const missing = stored.filter((r) => !consumed.has(r.msgId))
  t.deepEqual(
    missing.slice(0, 10).map((r) => `${r.brokerName}/${r.queueId}@${r.queueOffset}`),
    [],
    `${missing.length} stored messages were not consumed`,
  )
  const again = [...consumed.values()].filter((n) => n > 1).length
  t.log(
    `${stored.length} stored (${duringOutage.length} while broker-b was down, ${afterRestartOnB.length} on broker-b after its restart), ` +
      `${flowed.failed + afterRestart.failed} sends failed, ${again} consumed more than once; warnings by target: ${JSON.stringify(Object.fromEntries(warnings))}`,
  )
  t.log(`phases: ${phases.join(', ')}`)
})
