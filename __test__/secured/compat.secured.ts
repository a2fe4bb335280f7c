/**
 * The drop-in subpaths against a cluster with ACL on (started and provisioned by scripts/run-secured-tests.sh): with
 * the app user's keys in each subpath's own options (ali-ons' `accessKeyId` / `accessKeySecret`, rocketmq-client-nodejs'
 * `sessionCredentials`), messages are sent and consumed; with a wrong secret each subpath fails the way its API
 * fails, with the broker's reason: ali-ons' `send()` rejects with the engine's AuthenticationError and its consumer's
 * `ready()` too (and emits it as `'error'`); rocketmq-client-nodejs' calls reject with an UnauthorizedException
 * (40100) of its ClientException family whose `cause` is the AuthenticationError.
 *
 * The SimpleConsumer (POP) and the PushConsumer's consumption are checked on the 5.3.3 cluster only: 4.9.7 has no
 * POP, and there a new group of the PushConsumer (which has no consumeFromWhere) starts at the queues' end.
 *
 * Never started by the default ava run (see ava.secured.config.mjs).
 */
import test, { type ExecutionContext } from 'ava'

import { Admin, AuthenticationError } from '../../index'
import { Consumer as AliOnsConsumer, Message as AliOnsMessage, Producer as AliOnsProducer } from '../../lib/compat/ali-ons'
import {
  ClientException,
  ConsumeResult,
  Producer as NodejsProducer,
  PushConsumer,
  SimpleConsumer,
  UnauthorizedException,
} from '../../lib/compat/client-nodejs'
import { consumeBothWays } from '../helpers/client-nodejs-consumers'
import { uniqueName } from '../helpers/cluster'
import { waitFor } from '../helpers/consumer'

const NAMESRV_ADDR = process.env.NAMESRV_ADDR ?? '127.0.0.1:31876'
/** Bound on each wait (a limit so that a broken client fails instead of hanging, not a timing assertion). */
const WAIT_MS = 60_000
/** 5.3.3 with ACL 2.0 (POP available), or 4.9.7 with the plain ACL. */
const ACL2 = process.env.ACL_PROFILE !== 'acl1'
const acl2Test = ACL2 ? test.serial : test.serial.skip

function required(name: string): string {
  const value = process.env[name]
  if (value === undefined || value === '') {
    throw new Error(`${name} is not set; run this spec through scripts/run-secured-tests.sh`)
  }
  return value
}

const ACCESS_KEY = required('ACL_USER')
const SECRET = required('ACL_SECRET')
const WRONG_SECRET = `${SECRET}-but-wrong`

const admin = new Admin({ namesrvAddr: NAMESRV_ADDR, instanceName: 'compat_acl_admin', accessKey: ACCESS_KEY, secretKey: SECRET })
test.after.always(() => admin.close())

async function newTopic(prefix: string): Promise<string> {
  const topic = uniqueName(prefix)
  await admin.createTopic({ topic, queueNums: 4 })
  return topic
}

/** The error's message holds the broker's reason and no secret. */
function assertBrokerReason(t: ExecutionContext, error: Error): void {
  t.regex(error.message, /check signature failed/i)
  t.false(error.message.includes(SECRET))
}

function aliOnsProducer(t: ExecutionContext, secret: string): AliOnsProducer {
  const producer = new AliOnsProducer({
    httpclient: {},
    nameSrv: [NAMESRV_ADDR],
    producerGroup: uniqueName('alions_acl_producer'),
    accessKeyId: ACCESS_KEY,
    accessKeySecret: secret,
  })
  t.teardown(() => producer.close())
  return producer
}

test.serial('ali-ons: with accessKeyId / accessKeySecret a producer sends and a consumer consumes', async (t) => {
  const topic = await newTopic('alions_acl')
  const producer = aliOnsProducer(t, SECRET)
  await producer.ready()
  const bodies = ['a1', 'a2', 'a3']
  for (const body of bodies) {
    t.is((await producer.send(new AliOnsMessage(topic, 'acl', body))).sendStatus, 'SEND_OK')
  }
  const consumer = new AliOnsConsumer({
    httpclient: {},
    nameSrv: [NAMESRV_ADDR],
    consumerGroup: uniqueName('alions_acl_group'),
    consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
    accessKey: ACCESS_KEY, // ali-ons' other names of the two keys
    secretKey: SECRET,
  })
  t.teardown(() => consumer.close())
  const errors: Error[] = []
  consumer.on('error', (error: Error) => void errors.push(error))
  const received: string[] = []
  consumer.subscribe(topic, '*', async (msg) => {
    received.push(msg.body.toString())
  })
  await consumer.ready()
  t.true(await waitFor(() => received.length >= bodies.length, WAIT_MS), `received ${received.join()}`)
  t.deepEqual([...received].sort(), bodies)
  t.deepEqual(errors, [])
})

test.serial("ali-ons: a wrong secret fails send() and the consumer's ready() with the broker's reason", async (t) => {
  const topic = await newTopic('alions_acl_wrong')
  const producer = aliOnsProducer(t, WRONG_SECRET)
  const sendError = await t.throwsAsync(producer.send(new AliOnsMessage(topic, 'acl', 'refused')), { instanceOf: AuthenticationError })
  assertBrokerReason(t, sendError)

  const consumer = new AliOnsConsumer({
    httpclient: {},
    nameSrv: [NAMESRV_ADDR],
    consumerGroup: uniqueName('alions_acl_wrong'),
    accessKeyId: ACCESS_KEY,
    accessKeySecret: WRONG_SECRET,
  })
  t.teardown(() => consumer.close())
  const errors: Error[] = []
  consumer.on('error', (error: Error) => void errors.push(error))
  consumer.subscribe(topic, '*', async () => undefined)
  const readyError = await t.throwsAsync(consumer.ready())
  t.true(readyError instanceof AuthenticationError || readyError.cause instanceof AuthenticationError, String(readyError))
  assertBrokerReason(t, readyError.cause instanceof Error ? readyError.cause : readyError)
  t.true(await waitFor(() => errors.length > 0, WAIT_MS))
})

function nodejsProducer(t: ExecutionContext, secret: string, topic: string): NodejsProducer {
  const producer = new NodejsProducer({ endpoints: NAMESRV_ADDR, topics: [topic], sessionCredentials: { accessKey: ACCESS_KEY, accessSecret: secret } })
  t.teardown(() => producer.shutdown())
  return producer
}

test.serial('client-nodejs: with sessionCredentials a producer sends (its topic check signed too)', async (t) => {
  const topic = await newTopic('cnjs_acl_send')
  const producer = nodejsProducer(t, SECRET, topic)
  await producer.startup()
  const receipt = await producer.send({ topic, tag: 'acl', body: Buffer.from('n0') })
  t.is(receipt.messageQueue.topic.name, topic)
})

acl2Test('client-nodejs: with sessionCredentials a PushConsumer and a SimpleConsumer consume what the producer sent', async (t) => {
  const topic = await newTopic('cnjs_acl')
  const producer = nodejsProducer(t, SECRET, topic)
  await producer.startup()
  const bodies = ['n1', 'n2', 'n3']
  for (const body of bodies) {
    await producer.send({ topic, tag: 'acl', body: Buffer.from(body) })
  }
  await consumeBothWays(t, { endpoints: NAMESRV_ADDR, sessionCredentials: { accessKey: ACCESS_KEY, accessSecret: SECRET } }, topic, bodies, WAIT_MS)
})

test.serial('client-nodejs: a wrong secret gets an UnauthorizedException with the broker reason', async (t) => {
  const topic = await newTopic('cnjs_acl_wrong')
  const wrong = { accessKey: ACCESS_KEY, accessSecret: WRONG_SECRET }
  // The NameServer does not check signatures; the broker does.
  const producer = new NodejsProducer({ endpoints: NAMESRV_ADDR, sessionCredentials: wrong, maxAttempts: 3 })
  t.teardown(() => producer.shutdown())
  await producer.startup()
  const sendError = await t.throwsAsync(producer.send({ topic, body: Buffer.from('refused') }), { instanceOf: UnauthorizedException })
  t.true(sendError instanceof ClientException)
  t.is(sendError.code, 40100)
  t.true(sendError.cause instanceof AuthenticationError)
  assertBrokerReason(t, sendError)

  const push = new PushConsumer({
    endpoints: NAMESRV_ADDR,
    sessionCredentials: wrong,
    consumerGroup: uniqueName('cnjs_acl_wrong'),
    subscriptions: new Map([[topic, '*']]),
    messageListener: { consume: () => ConsumeResult.SUCCESS },
  })
  t.teardown(() => push.shutdown())
  const startError = await t.throwsAsync(push.startup(), { message: /^Startup the rocketmq client failed/ })
  t.true(startError.cause instanceof UnauthorizedException, String(startError.cause))
  assertBrokerReason(t, startError.cause as Error)

  if (ACL2) {
    const simple = new SimpleConsumer({
      endpoints: NAMESRV_ADDR,
      sessionCredentials: wrong,
      consumerGroup: uniqueName('cnjs_acl_wrong_simple'),
      subscriptions: new Map([[topic, '*']]),
      awaitDuration: 1000,
    })
    t.teardown(() => simple.shutdown())
    await simple.startup()
    const receiveError = await t.throwsAsync(simple.receive(1, 10000), { instanceOf: UnauthorizedException })
    t.is(receiveError.code, 40100)
    assertBrokerReason(t, receiveError)
  }
})
