/**
 * Against a one-broker cluster with ACL on, started and provisioned by scripts/run-secured-tests.sh: RocketMQ 5.3.3
 * with ACL 2.0 (authentication and authorization; `ACL_PROFILE=acl`) or 4.9.7 with the plain ACL (`aclEnable`,
 * plain_acl.yml; `ACL_PROFILE=acl1`). The two answer refusals with other codes and words, which the expectations
 * below say per profile. a user with grants on every topic and group sends, consumes
 * (clustering and broadcasting), keeps offsets and uses the admin; a wrong secret, no key and a user without a
 * grant on the topic each get the typed error with the broker's reason, are not retried, and consume nothing; no
 * secret ever reaches the log.
 *
 * Never started by the default ava run (its files are `*.spec.ts`; see ava.secured.config.mjs).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import test from 'ava'

import {
  Admin,
  AuthenticationError,
  AuthorizationError,
  ConsumeFromWhere,
  Consumer,
  ConsumerStartError,
  type CredentialSettings,
  DEFAULT_LOGGER,
  type LogRecord,
  MessageModel,
  MessageSelector,
  OffsetStoreFactory,
  Producer,
  type RocketMQError,
  SubscriptionManager,
  createConsumerConfig,
  setLogger,
} from '../../index'
import { uniqueName } from '../helpers/cluster'
import { waitFor } from '../helpers/consumer'

/** The secured cluster's NameServer and its one broker (scripts/run-secured-tests.sh). */
const NAMESRV_ADDR = process.env.NAMESRV_ADDR ?? '127.0.0.1:31876'
const BROKER = 'broker-a'
const QUEUES = 4
/** Bound on each wait (a limit so that a broken client fails instead of hanging, not a timing assertion). */
const WAIT_MS = 60_000

function required(name: string): string {
  const value = process.env[name]
  if (value === undefined || value === '') {
    throw new Error(`${name} is not set; run this spec through scripts/run-secured-tests.sh`)
  }
  return value
}

/** Which secured cluster this run is against: `acl` (5.3.3, ACL 2.0) or `acl1` (4.9.7, plain ACL). */
const PLAIN_ACL = process.env.ACL_PROFILE === 'acl1'
/** The response code of a refusal: NO_PERMISSION from ACL 2.0, SYSTEM_ERROR (an AclException) from the plain ACL. */
const REFUSAL_CODE = PLAIN_ACL ? 1 : 16
/** The broker's reason when no key is given. */
const NO_KEY_REASON = PLAIN_ACL ? /No accessKey is configured/ : /username cannot be null/
/** The broker's reason when the user has no grant on `topic`. */
function deniedReason(topic: string): RegExp {
  return PLAIN_ACL ? new RegExp(`No default permission for topic:${topic}`) : new RegExp(`User:${DENIED.accessKey}.*Topic:${topic}`)
}

/** A user granted everything on every topic and group. */
const APP: CredentialSettings = { accessKey: required('ACL_USER'), secretKey: required('ACL_SECRET') }
/** A user granted subscribing on groups but nothing on any topic. */
const DENIED: CredentialSettings = { accessKey: required('ACL_DENIED_USER'), secretKey: required('ACL_DENIED_SECRET') }
/** The app user with a wrong secret. */
const WRONG_SECRET = `${required('ACL_SECRET')}-but-wrong`
/** Every secret this spec hands to a client; none may show in a log record or an error message. */
const SECRETS = [APP.secretKey, DENIED.secretKey, WRONG_SECRET] as string[]

// Everything the engine logs, down to debug, for the check that no secret is in it.
const logRecords: LogRecord[] = []
setLogger({ level: 'debug', sink: (record) => void logRecords.push(record) })
test.after.always(() => setLogger(DEFAULT_LOGGER))

const admin = new Admin({ namesrvAddr: NAMESRV_ADDR, instanceName: 'acl_admin', ...APP })
test.after.always(() => admin.close())

const offsetsRoot = mkdtempSync(join(tmpdir(), 'rocketmq-napi-acl-'))
test.after.always(() => rmSync(offsetsRoot, { recursive: true, force: true }))

/** A topic made through the admin with the app user's keys (creating needs the `Create` grant). */
async function newTopic(prefix: string): Promise<string> {
  const topic = uniqueName(prefix)
  await admin.createTopic({ topic, queueNums: QUEUES })
  return topic
}

async function queueEnds(topic: string): Promise<number> {
  const ends = await Promise.all(Array.from({ length: QUEUES }, (_, queueId) => admin.getMaxOffset(topic, BROKER, queueId)))
  return ends.reduce((sum, end) => sum + end, 0)
}

async function startedProducer(credentials: CredentialSettings, name: string): Promise<Producer> {
  const producer = new Producer({
    namesrvAddr: NAMESRV_ADDR,
    producerGroup: uniqueName(`acl_${name}`),
    instanceName: uniqueName(name),
    ...credentials,
  })
  await producer.start()
  return producer
}

async function sendBodies(topic: string, bodies: readonly string[]): Promise<void> {
  const producer = await startedProducer(APP, 'sender')
  try {
    for (const body of bodies) {
      await producer.send({ topic, body: Buffer.from(body) })
    }
  } finally {
    await producer.shutdown()
  }
}

/** Polls `condition` every 200 ms until it holds, for at most {@link WAIT_MS}; returns whether it held. */
async function waitForAsync(condition: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + WAIT_MS
  while (!(await condition())) {
    if (Date.now() > deadline) {
      return false
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  return true
}

/** Checks the fields of an ACL refusal and that it names no secret. */
function assertRefusal(t: import('ava').ExecutionContext, error: RocketMQError, reason: RegExp): void {
  t.is(error.responseCode, REFUSAL_CODE)
  t.false(error.retriable)
  t.regex(error.brokerReason ?? '', reason)
  t.truthy(error.brokerAddr)
  t.true(error.message.includes(error.brokerReason ?? '<none>'))
  for (const secret of SECRETS) {
    t.false(error.message.includes(secret))
  }
}

/** Warnings of sends the producer retried on another broker; refusals must have none. */
function retriedSends(): LogRecord[] {
  return logRecords.filter((r) => r.message.includes('trying another broker'))
}

interface StartedConsumer {
  consumer: Consumer
  bodies: string[]
  failures: RocketMQError[]
}

function newConsumer(
  topic: string,
  credentials: CredentialSettings,
  extra: { messageModel?: MessageModel; consumerGroup?: string } = {},
): StartedConsumer {
  const bodies: string[] = []
  const failures: RocketMQError[] = []
  const subscriptions = new SubscriptionManager()
  subscriptions.subscribe(topic, MessageSelector.all())
  const messageModel = extra.messageModel ?? MessageModel.CLUSTERING
  const consumer = new Consumer({
    config: {
      namesrvAddr: NAMESRV_ADDR,
      consumerGroup: extra.consumerGroup ?? uniqueName('acl_group'),
      instanceName: uniqueName('acl_consumer'),
      consumeFromWhere: ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET,
      messageModel,
      ...(messageModel === MessageModel.BROADCASTING ? { offsetStoreDir: offsetsRoot } : {}),
      ...credentials,
    },
    subscriptionManager: subscriptions,
    messageListener: (messages) => {
      for (const message of messages) {
        bodies.push(message.body.toString())
      }
    },
    onListenerError: () => undefined,
  })
  consumer.on('pullFailed', (error) => failures.push(error))
  consumer.on('rebalanceFailed', (error) => failures.push(error))
  return { consumer, bodies, failures }
}

async function startedConsumer(
  t: import('ava').ExecutionContext,
  topic: string,
  credentials: CredentialSettings,
  extra: { messageModel?: MessageModel; consumerGroup?: string } = {},
): Promise<StartedConsumer> {
  const started = newConsumer(topic, credentials, extra)
  await started.consumer.start()
  t.teardown(() => started.consumer.shutdown())
  return started
}

test.serial('with the right keys, a producer sends and the admin creates the topic and reads its queues', async (t) => {
  const topic = await newTopic('acl_send')
  await sendBodies(topic, ['a', 'b', 'c'])
  // The broker indexes a stored message shortly after answering the send: poll the queue ends until it has.
  let ends = 0
  t.true(await waitForAsync(async () => (ends = await queueEnds(topic)) >= 3), `queue ends ${ends}`)
  t.is(ends, 3)
})

test.serial('with the right keys, a clustering consumer consumes and its offsets reach the broker', async (t) => {
  const topic = await newTopic('acl_cluster')
  const bodies = ['m1', 'm2', 'm3', 'm4']
  await sendBodies(topic, bodies)
  const group = uniqueName('acl_cluster_group')
  const { consumer, bodies: received, failures } = await startedConsumer(t, topic, APP, { consumerGroup: group })
  t.true(await waitFor(() => received.length >= bodies.length, WAIT_MS), `received ${received.length}`)
  await consumer.shutdown()
  t.deepEqual([...received].sort(), bodies)
  t.deepEqual(failures, [])

  // The offsets the consumer committed, read back through a standalone store signed with the same keys.
  const store = await OffsetStoreFactory.createOffsetStore({
    consumerGroup: group,
    messageModel: 'CLUSTERING',
    namesrvAddr: NAMESRV_ADDR,
    instanceName: uniqueName('acl_store'),
    ...APP,
  })
  t.teardown(() => store.stop())
  let committed = 0n
  for (let queueId = 0; queueId < QUEUES; queueId++) {
    committed += (await store.readOffset({ topic, brokerName: BROKER, queueId }, 'READ_FROM_STORE')) ?? 0n
  }
  t.is(committed, BigInt(bodies.length))
  // And a write through the store is kept by the broker.
  const queue = { topic, brokerName: BROKER, queueId: 0 }
  store.updateOffset(queue, 0)
  t.true(await store.persist(queue))
  t.is(await store.readOffset(queue, 'READ_FROM_STORE'), 0n)
})

test.serial('with the right keys, a broadcasting consumer consumes every message', async (t) => {
  const topic = await newTopic('acl_broadcast')
  const bodies = ['b1', 'b2', 'b3']
  await sendBodies(topic, bodies)
  const { bodies: received, failures } = await startedConsumer(t, topic, APP, { messageModel: MessageModel.BROADCASTING })
  t.true(await waitFor(() => received.length >= bodies.length, WAIT_MS), `received ${received.length}`)
  t.deepEqual([...received].sort(), bodies)
  t.deepEqual(failures, [])
})

test.serial('a wrong secret gets an AuthenticationError with the broker reason, not retried', async (t) => {
  const topic = await newTopic('acl_wrong_secret')
  const credentials = { accessKey: APP.accessKey, secretKey: WRONG_SECRET }
  const producer = await startedProducer(credentials, 'wrong_secret')
  t.teardown(() => producer.shutdown())
  const retriedBefore = retriedSends().length
  const error = await t.throwsAsync(producer.send({ topic, body: Buffer.from('refused') }), { instanceOf: AuthenticationError })
  assertRefusal(t, error, /check signature failed/i)
  t.is(retriedSends().length, retriedBefore)

  const wrongAdmin = new Admin({ namesrvAddr: NAMESRV_ADDR, instanceName: uniqueName('wrong_admin'), ...credentials })
  t.teardown(() => wrongAdmin.close())
  const adminError = await t.throwsAsync(wrongAdmin.getMaxOffset(topic, BROKER, 0), { instanceOf: AuthenticationError })
  assertRefusal(t, adminError, /check signature failed/i)
  t.is(await queueEnds(topic), 0)
})

test.serial('no access key gets an AuthenticationError with the broker reason', async (t) => {
  const topic = await newTopic('acl_no_key')
  const producer = await startedProducer({}, 'no_key')
  t.teardown(() => producer.shutdown())
  const error = await t.throwsAsync(producer.send({ topic, body: Buffer.from('refused') }), { instanceOf: AuthenticationError })
  assertRefusal(t, error, NO_KEY_REASON)
  t.is(await queueEnds(topic), 0)
})

test.serial('a user without a grant on the topic gets an AuthorizationError naming it, and consumes nothing', async (t) => {
  const topic = await newTopic('acl_denied')
  const producer = await startedProducer(DENIED, 'denied')
  t.teardown(() => producer.shutdown())
  const retriedBefore = retriedSends().length
  const error = await t.throwsAsync(producer.send({ topic, body: Buffer.from('refused') }), { instanceOf: AuthorizationError })
  assertRefusal(t, error, deniedReason(topic))
  t.is(retriedSends().length, retriedBefore)

  // A consumer of the user is refused at start (the broker does not take its heartbeat, so it could never join
  // its group): start() fails with the refusal as cause, and nothing runs on.
  await sendBodies(topic, ['kept'])
  const { consumer, bodies } = newConsumer(topic, DENIED)
  const startError = await t.throwsAsync(consumer.start(), { instanceOf: ConsumerStartError })
  t.true(startError.cause instanceof AuthorizationError)
  assertRefusal(t, startError, /no (default )?permission/i)
  t.deepEqual(bodies, [])
})

test.serial('a consumer with a wrong secret does not start, with the AuthenticationError as cause', async (t) => {
  const topic = await newTopic('acl_consumer_wrong_secret')
  const { consumer } = newConsumer(topic, { accessKey: APP.accessKey, secretKey: WRONG_SECRET })
  const startError = await t.throwsAsync(consumer.start(), { instanceOf: ConsumerStartError })
  t.true(startError.cause instanceof AuthenticationError)
  assertRefusal(t, startError, /check signature failed/i)
})

test.serial('credentials are checked before anything connects, and the secret is never shown', (t) => {
  const error = t.throws(() => createConsumerConfig({ consumerGroup: 'g', namesrvAddr: NAMESRV_ADDR, secretKey: 'only-a-secret' }))
  t.regex(error?.message ?? '', /accessKey/)
  t.false(error?.message.includes('only-a-secret'))
  const config = createConsumerConfig({ consumerGroup: 'g', namesrvAddr: NAMESRV_ADDR, ...APP })
  t.is(config.secretKey, APP.secretKey)
  t.false(JSON.stringify(config).includes(APP.secretKey as string))
})

// Last of the serial tests, so that it sees every record of the ones above.
test.serial('no log record holds a secret', (t) => {
  t.true(logRecords.length > 0)
  const leaks = logRecords.filter((r) => SECRETS.some((secret) => r.message.includes(secret)))
  t.deepEqual(leaks, [])
})
