/**
 * Against a one-broker RocketMQ 5.3.3 cluster with TLS on (NameServer and broker), started by
 * scripts/run-secured-tests.sh with `ROCKETMQ_PROFILE=tls` and its certificates in `TLS_DIR`:
 * `ACL_PROFILE=tls` is the enforcing mode (plain connections refused), `tls-permissive` the permissive one (both).
 * A client trusting the cluster's CA sends and consumes; one trusting another CA, or expecting another name, gets a
 * `TlsError` with rustls' reason at once; a plain client is refused (enforcing) or served (permissive).
 *
 * Never started by the default ava run (its files are `*.spec.ts`; see ava.secured.config.mjs).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

import test from 'ava'

import {
  Admin,
  ConsumeFromWhere,
  Consumer,
  MessageSelector,
  NetworkError,
  Producer,
  RocketMQError,
  SubscriptionManager,
  TlsError,
  type TlsSettings,
} from '../../index'
import { Producer as NodejsProducer } from '../../lib/compat/client-nodejs'
import { consumeBothWays } from '../helpers/client-nodejs-consumers'
import { uniqueName } from '../helpers/cluster'

/** The TLS cluster's NameServer and its one broker (scripts/run-secured-tests.sh). */
const NAMESRV_ADDR = process.env.NAMESRV_ADDR ?? '127.0.0.1:32076'
const BROKER = 'broker-a'
const QUEUES = 2
/** Bound on each wait (a limit so that a broken client fails instead of hanging, not a timing assertion). */
const WAIT_MS = 60_000
/** Which mode the cluster runs in. */
const ENFORCING = process.env.ACL_PROFILE !== 'tls-permissive'
/** Whether TLS clients must show a certificate (mutual TLS; `ROCKETMQ_TLS_CLIENT_AUTH=require`). */
const CLIENT_AUTH = process.env.TLS_CLIENT_AUTH === 'require'

function tlsFile(name: string): Buffer {
  const dir = process.env.TLS_DIR
  if (dir === undefined || dir === '') {
    throw new Error('TLS_DIR is not set; run this spec through scripts/run-secured-tests.sh')
  }
  return readFileSync(join(dir, name))
}

/** The client certificate and key, where the cluster requires them. */
const CLIENT_CERT = CLIENT_AUTH ? { cert: tlsFile('client.pem'), key: tlsFile('client.key').toString('utf8') } : {}
/** Trusts the cluster's CA (as a Buffer, the bytes of the file). */
const TRUSTING: TlsSettings = { tls: { ca: tlsFile('ca.pem'), ...CLIENT_CERT } }
/** Trusts an unrelated CA, which did not sign the cluster's certificates. */
const OTHER_CA: TlsSettings = { tls: { ca: tlsFile('other-ca.pem').toString('utf8') } }
/** No TLS at all. */
const PLAIN: TlsSettings = {}

/** The admin of this spec: over TLS in enforcing mode, where nothing else gets in. */
const admin = new Admin({ namesrvAddr: NAMESRV_ADDR, instanceName: 'tls_admin', ...TRUSTING })
test.after.always(() => admin.close())

async function newTopic(prefix: string): Promise<string> {
  const topic = uniqueName(prefix)
  await admin.createTopic({ topic, queueNums: QUEUES })
  return topic
}

async function sendBodies(settings: TlsSettings, topic: string, bodies: readonly string[]): Promise<void> {
  const producer = new Producer({ namesrvAddr: NAMESRV_ADDR, producerGroup: uniqueName('tls_p'), instanceName: uniqueName('tls'), ...settings })
  await producer.start()
  try {
    for (const body of bodies) {
      await producer.send({ topic, body: Buffer.from(body) })
    }
  } finally {
    await producer.shutdown()
  }
}

/** Consumes `topic` from its start until every body in `expected` arrived or {@link WAIT_MS} passed. */
async function consumeBodies(t: import('ava').ExecutionContext, settings: TlsSettings, topic: string, expected: readonly string[]): Promise<Set<string>> {
  const bodies = new Set<string>()
  const subscriptions = new SubscriptionManager()
  subscriptions.subscribe(topic, MessageSelector.all())
  const consumer = new Consumer({
    config: {
      namesrvAddr: NAMESRV_ADDR,
      consumerGroup: uniqueName('tls_group'),
      instanceName: uniqueName('tls_consumer'),
      consumeFromWhere: ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET,
      ...settings,
    },
    subscriptionManager: subscriptions,
    messageListener: (messages) => {
      for (const message of messages) {
        bodies.add(message.body.toString())
      }
    },
  })
  await consumer.start()
  t.teardown(() => consumer.shutdown())
  const deadline = Date.now() + WAIT_MS
  while (!expected.every((body) => bodies.has(body)) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  return bodies
}

/** What a producer with `settings` gets from one send: the error, or undefined when it succeeded. */
async function sendError(settings: TlsSettings, topic: string): Promise<RocketMQError | undefined> {
  try {
    await sendBodies(settings, topic, ['should-not-arrive'])
    return undefined
  } catch (error) {
    if (!(error instanceof RocketMQError)) {
      throw error
    }
    return error
  }
}

test.serial('a TLS client trusting the cluster CA sends, and a TLS consumer receives every message', async (t) => {
  const topic = await newTopic('tls_roundtrip')
  const sent = ['tls-1', 'tls-2', 'tls-3']
  await sendBodies(TRUSTING, topic, sent)
  // The consumer gets its CA as a string (the producer had a Buffer).
  const received = await consumeBodies(t, { tls: { ca: tlsFile('ca.pem').toString('utf8'), ...CLIENT_CERT } }, topic, sent)
  t.deepEqual([...received].sort(), sent)
  // The admin (over TLS too) sees them stored.
  t.is((await admin.getMaxOffset(topic, BROKER, 0)) + (await admin.getMaxOffset(topic, BROKER, 1)), sent.length)
})

test.serial('a TLS client trusting another CA fails with a TlsError naming the unknown issuer, not retried', async (t) => {
  const topic = await newTopic('tls_wrong_ca')
  const error = await sendError(OTHER_CA, topic)
  t.true(error instanceof TlsError, `${error?.constructor.name}: ${error?.message}`)
  t.true(error instanceof NetworkError)
  t.is(error?.code, 'ERR_TLS')
  t.false(error?.retriable)
  t.regex(error?.brokerReason ?? '', /UnknownIssuer/)
  t.is(error?.brokerAddr, NAMESRV_ADDR)
  t.regex(error?.message ?? '', /TLS handshake failed/)
})

test.serial('a TLS client expecting another server name fails with a TlsError', async (t) => {
  const topic = await newTopic('tls_wrong_name')
  const error = await sendError({ tls: { ca: tlsFile('ca.pem'), serverName: 'not-the-broker.example' } }, topic)
  t.true(error instanceof TlsError, `${error?.constructor.name}: ${error?.message}`)
  t.regex(error?.brokerReason ?? '', /not valid for name/)
})

test.serial('with the client certificate and key (mutual TLS) a client sends', async (t) => {
  const topic = await newTopic('tls_mutual')
  const mutual: TlsSettings = { tls: { ca: tlsFile('ca.pem'), cert: tlsFile('client.pem'), key: tlsFile('client.key') } }
  await sendBodies(mutual, topic, ['m-1'])
  t.deepEqual([...(await consumeBodies(t, mutual, topic, ['m-1']))], ['m-1'])
})

if (CLIENT_AUTH) {
  test.serial('a TLS client without a certificate is refused by a cluster that requires one', async (t) => {
    const topic = await newTopic('tls_no_cert')
    const error = await sendError({ tls: { ca: tlsFile('ca.pem') } }, topic)
    t.true(error instanceof NetworkError, `${error?.constructor.name}: ${error?.message}`)
  })
}

if (ENFORCING) {
  test.serial('a plain client against the enforcing cluster fails with a NetworkError, not a hang', async (t) => {
    const topic = await newTopic('tls_plain_refused')
    const error = await sendError(PLAIN, topic)
    t.true(error instanceof NetworkError, `${error?.constructor.name}: ${error?.message}`)
    t.false(error instanceof TlsError)
    t.is(await admin.getMaxOffset(topic, BROKER, 0) + (await admin.getMaxOffset(topic, BROKER, 1)), 0)
  })
} else {
  test.serial('against the permissive cluster a plain client and a TLS client both send, and both consume', async (t) => {
    const topic = await newTopic('tls_permissive')
    await sendBodies(PLAIN, topic, ['plain-1'])
    await sendBodies(TRUSTING, topic, ['tls-1'])
    const expected = ['plain-1', 'tls-1']
    t.deepEqual([...(await consumeBodies(t, PLAIN, topic, expected))].sort(), expected)
    t.deepEqual([...(await consumeBodies(t, TRUSTING, topic, expected))].sort(), expected)
  })
}

// client-nodejs has no client-certificate option, so this runs where the cluster does not ask for one.
const withoutClientAuth = CLIENT_AUTH ? test.serial.skip : test.serial

withoutClientAuth('the client-nodejs subpath with sslEnabled, trusting the roots file gRPC clients read, sends and consumes', async (t) => {
  const topic = await newTopic('tls_cnjs')
  const rootsBefore = process.env.GRPC_DEFAULT_SSL_ROOTS_FILE_PATH
  process.env.GRPC_DEFAULT_SSL_ROOTS_FILE_PATH = join(process.env.TLS_DIR ?? '', 'ca.pem')
  t.teardown(() => {
    if (rootsBefore === undefined) {
      delete process.env.GRPC_DEFAULT_SSL_ROOTS_FILE_PATH
    } else {
      process.env.GRPC_DEFAULT_SSL_ROOTS_FILE_PATH = rootsBefore
    }
  })
  const options = { endpoints: NAMESRV_ADDR, sslEnabled: true }
  const producer = new NodejsProducer({ ...options, topics: [topic] })
  t.teardown(() => producer.shutdown())
  await producer.startup()
  const bodies = ['c1', 'c2', 'c3']
  for (const body of bodies) {
    await producer.send({ topic, tag: 'tls', body: Buffer.from(body) })
  }
  await consumeBothWays(t, options, topic, bodies, WAIT_MS)

  if (ENFORCING) {
    // The same client without TLS is refused by the enforcing cluster: the TLS above was real.
    const plain = new NodejsProducer({ endpoints: NAMESRV_ADDR, topics: [topic] })
    t.teardown(() => plain.shutdown())
    await t.throwsAsync(plain.startup(), { message: /^Startup the rocketmq client failed/ })
  }
})
