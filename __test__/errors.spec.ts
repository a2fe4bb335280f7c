import { type AddressInfo, createServer, type Socket } from 'node:net'

import test from 'ava'

import {
  Admin,
  AuthenticationError,
  AuthorizationError,
  BrokerNotAvailableError,
  BrokerResponseError,
  ClientError,
  ConfigError,
  ConsumerError,
  ConsumerStartError,
  ConsumerStateError,
  MessageSendError,
  NameServerError,
  NetworkError,
  OffsetError,
  ProducerError,
  ProducerStateError,
  ProtocolError,
  RocketMQError,
  SubscriptionError,
  InvalidSelectorError,
  TimeoutError,
  TlsError,
  TopicNotFoundError,
  ValidationError,
} from '../index'
import { nativeBinding } from '../lib/native'
import { errorClassFor, fromNativeError, fromNativeFields } from '../lib/native-errors'
import { NAMESRV_ADDR, uniqueName } from './helpers/cluster'

/** An error without the native fields (napi-rs' own, e.g. for a wrong argument type): a string `code` only. */
function nativeError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code })
}

/** The field form every other native call throws or rejects with. */
function nativeFieldError(
  code: string,
  message: string,
  fields: { responseCode?: number; brokerAddr?: string; retriable: boolean },
): Error {
  return Object.assign(new Error(message), { code, ...fields })
}

/** The class each engine code must become, per client; a code missing here fails the test below. */
const EXPECTED_CLASS: Readonly<Record<string, new (...args: never[]) => RocketMQError>> = {
  ERR_VALIDATION: ValidationError,
  ERR_CONFIG: ConfigError,
  ERR_TIMEOUT: TimeoutError,
  ERR_NETWORK: NetworkError,
  ERR_NAMESERVER: NameServerError,
  ERR_TOPIC_NOT_FOUND: TopicNotFoundError,
  ERR_BROKER_NOT_AVAILABLE: BrokerNotAvailableError,
  ERR_SEND_FAILED: MessageSendError,
  ERR_BROKER_RESPONSE: BrokerResponseError,
  ERR_INVALID_SELECTOR: InvalidSelectorError,
  ERR_PROTOCOL: ProtocolError,
  ERR_OFFSET: OffsetError,
  ERR_AUTHENTICATION: AuthenticationError,
  ERR_AUTHORIZATION: AuthorizationError,
  ERR_TLS: TlsError,
}

const ENGINE_CODES: readonly string[] = nativeBinding().errorCodes()

test('the engine lists its codes', (t) => {
  t.true(ENGINE_CODES.length >= 12)
  t.is(new Set(ENGINE_CODES).size, ENGINE_CODES.length)
  t.true(ENGINE_CODES.every((code) => /^ERR_[A-Z_]+$/.test(code)))
})

for (const code of ENGINE_CODES) {
  for (const context of ['producer', 'consumer'] as const) {
    test(`engine code ${code} raised by the ${context} becomes a specific class, keeping every field`, (t) => {
      const expected = code === 'ERR_STATE' ? (context === 'producer' ? ProducerStateError : ConsumerStateError) : EXPECTED_CLASS[code]
      t.not(expected, undefined, `no class expected for ${code}: add it to lib/native-errors.ts and this table`)
      t.true(errorClassFor(code, context) === expected)
      const original = nativeFieldError(code, `reason for ${code}`, { responseCode: 2, brokerAddr: '127.0.0.1:10911', retriable: true })
      const converted = fromNativeError(original, context)
      t.not(converted.constructor, RocketMQError)
      t.is(converted.constructor, expected)
      t.is(converted.code, code)
      t.is(converted.name, expected?.name)
      t.is(converted.message, `reason for ${code}`)
      t.is(converted.cause, original)
      t.is(converted.responseCode, 2)
      t.is(converted.brokerAddr, '127.0.0.1:10911')
      t.true(converted.retriable)

      const fromFields = fromNativeFields({ code, message: 'as data', retriable: false }, context)
      t.is(fromFields.constructor, expected)
      t.false(fromFields.retriable)
      t.is(fromFields.responseCode, undefined)
      t.is(fromFields.brokerAddr, undefined)
    })
  }
}

test('fields are read as given, never from the message', (t) => {
  const converted = fromNativeError(
    nativeFieldError('ERR_BROKER_RESPONSE', 'ERR_TIMEOUT: looks like a code [responseCode=9]', { retriable: false }),
    'admin',
  )
  t.true(converted instanceof BrokerResponseError)
  t.is(converted.message, 'ERR_TIMEOUT: looks like a code [responseCode=9]')
  t.is(converted.responseCode, undefined)
  t.false(converted.retriable)
})

test('native: a bad configuration throws synchronously with code and retriable as fields', (t) => {
  const { NativeAdmin } = nativeBinding()
  const raw = t.throws(() => new NativeAdmin({ namesrvAddr: NAMESRV_ADDR, timeoutMs: 0 }))
  t.is((raw as { code?: unknown }).code, 'ERR_CONFIG')
  t.is((raw as { retriable?: unknown }).retriable, false)
  t.false(Object.hasOwn(raw as object, 'responseCode'))
  t.false(Object.hasOwn(raw as object, 'brokerAddr'))
  t.is(raw?.message, 'timeoutMs 0 must be an integer in 1..=2147483647')
  const typed = fromNativeError(raw, 'admin')
  t.true(typed instanceof ConfigError)
  t.false(typed.retriable)
})

test('native: a call in the wrong state throws ProducerStateError, not retriable', async (t) => {
  const { NativeProducer } = nativeBinding()
  const native = new NativeProducer({ namesrvAddr: NAMESRV_ADDR, producerGroup: uniqueName('errors_state') }, () => undefined)
  await native.shutdown()
  const raw = t.throws(() => native.flush())
  t.is((raw as { code?: unknown }).code, 'ERR_STATE')
  t.is((raw as { retriable?: unknown }).retriable, false)
  const typed = fromNativeError(raw, 'producer')
  t.true(typed instanceof ProducerStateError)
  t.is(typed.message, 'producer has been shut down')
})

test('native: a promise made with spawn_future (sendBatch) rejects with the fields too', async (t) => {
  const { NativeProducer } = nativeBinding()
  const native = new NativeProducer({ namesrvAddr: NAMESRV_ADDR, producerGroup: uniqueName('errors_batch') }, () => undefined)
  t.teardown(() => native.shutdown())
  const raw = await t.throwsAsync(native.sendBatch([{ topic: uniqueName('errors_batch'), body: Buffer.from('x') }]))
  t.is((raw as { code?: unknown }).code, 'ERR_STATE')
  t.is((raw as { retriable?: unknown }).retriable, false)
  t.true(fromNativeError(raw, 'producer') instanceof ProducerStateError)
})

test('native: an unknown topic rejects with TopicNotFoundError carrying the NameServer response code', async (t) => {
  const { NativeAdmin } = nativeBinding()
  const native = new NativeAdmin({ namesrvAddr: NAMESRV_ADDR })
  t.teardown(() => native.close())
  const raw = await t.throwsAsync(native.getTopicRoute(uniqueName('errors_no_such_topic')))
  t.is((raw as { code?: unknown }).code, 'ERR_TOPIC_NOT_FOUND')
  t.is((raw as { responseCode?: unknown }).responseCode, 17)
  t.is((raw as { retriable?: unknown }).retriable, false)

  const admin = new Admin({ namesrvAddr: NAMESRV_ADDR })
  t.teardown(() => admin.close())
  const typed = await t.throwsAsync(admin.getTopicRoute(uniqueName('errors_no_such_topic')), { instanceOf: TopicNotFoundError })
  t.is(typed.responseCode, 17)
  t.false(typed.retriable)
})

test('native: a refused connection rejects with NetworkError naming the peer, retriable', async (t) => {
  const admin = new Admin({ namesrvAddr: '127.0.0.1:1', timeoutMs: 1000 })
  t.teardown(() => admin.close())
  const error = await t.throwsAsync(admin.getTopicRoute(uniqueName('errors_refused')), { instanceOf: NetworkError })
  t.is(error.code, 'ERR_NETWORK')
  t.is(error.brokerAddr, '127.0.0.1:1')
  t.true(error.retriable)
  t.is(error.responseCode, undefined)
})

test('native: a peer that never answers rejects with TimeoutError naming it, retriable', async (t) => {
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on('data', () => undefined)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    for (const socket of sockets) {
      socket.destroy()
    }
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
  const addr = `127.0.0.1:${(server.address() as AddressInfo).port}`
  const admin = new Admin({ namesrvAddr: addr, timeoutMs: 500 })
  t.teardown(() => admin.close())
  const error = await t.throwsAsync(admin.getTopicRoute(uniqueName('errors_silent')), { instanceOf: TimeoutError })
  t.is(error.brokerAddr, addr)
  t.true(error.retriable)
})

test('ERR_STATE becomes the state error of the client that raised it', (t) => {
  const producerError = fromNativeError(nativeError('ERR_STATE', 'not started'), 'producer')
  t.true(producerError instanceof ProducerStateError)
  t.is(producerError.code, 'ERR_STATE')
  const consumerError = fromNativeError(nativeError('ERR_STATE', 'not started'), 'consumer')
  t.true(consumerError instanceof ConsumerStateError)
  t.false(consumerError instanceof ProducerError)
  const adminError = fromNativeError(nativeError('ERR_STATE', 'closed'), 'admin')
  t.is(adminError.constructor, RocketMQError)
  t.is(adminError.code, 'ERR_STATE')
})

test('nothing is read out of a message: an error without fields keeps its code and its text as they are', (t) => {
  const converted = fromNativeError(nativeError('ERR_TOPIC_NOT_FOUND', 'ERR_TIMEOUT: no route [responseCode=17]'), 'admin')
  t.true(converted instanceof TopicNotFoundError)
  t.is(converted.responseCode, undefined)
  t.is(converted.message, 'ERR_TIMEOUT: no route [responseCode=17]')
})

test('unknown native codes and non-errors become RocketMQError keeping the code', (t) => {
  const unknown = fromNativeError(nativeError('GenericFailure', 'something odd'), 'producer')
  t.is(unknown.constructor, RocketMQError)
  t.is(unknown.code, 'GenericFailure')
  t.is(unknown.message, 'something odd')
  const thrownString = fromNativeError('plain string', 'producer')
  t.is(thrownString.code, 'ERR_ROCKETMQ')
  t.is(thrownString.message, 'plain string')
  const prototypeKey = fromNativeError(nativeError('constructor', 'x'), 'producer')
  t.is(prototypeKey.constructor, RocketMQError)
})

test('a RocketMQError passes through unchanged', (t) => {
  const error = new ValidationError('bad')
  t.is(fromNativeError(error, 'producer'), error)
})

test('shared client errors count as ConsumerError and ProducerError, family members stay apart', (t) => {
  const network = new NetworkError('refused')
  t.true(network instanceof ClientError)
  t.true(network instanceof ConsumerError)
  t.true(network instanceof ProducerError)
  t.false(network instanceof ConsumerStartError)
  t.false(network instanceof SubscriptionError)

  const start = new ConsumerStartError('no')
  t.true(start instanceof ConsumerError)
  t.false(start instanceof ProducerError)
  t.false(start instanceof ClientError)
  t.is(start.code, 'ERR_CONSUMER_START')

  const sendFailed = new MessageSendError('all attempts failed')
  t.true(sendFailed instanceof ProducerError)
  t.false(sendFailed instanceof ConsumerError)

  const selector = new InvalidSelectorError('bad tag')
  t.true(selector instanceof SubscriptionError)
  t.false(selector instanceof ConsumerError)
  t.is(selector.code, 'ERR_INVALID_SELECTOR')
  t.false(new Error('x') instanceof ConsumerError)
  const nothing: unknown = null
  t.false(nothing instanceof ProducerError)
})

test('errors are real Errors with the subclass name in their stack', (t) => {
  const error = new TimeoutError('no answer', { responseCode: 5, brokerAddr: '127.0.0.1:10911', retriable: true })
  t.true(error instanceof Error)
  t.is(error.responseCode, 5)
  t.is(error.brokerAddr, '127.0.0.1:10911')
  t.true(error.retriable)
  t.false(new ValidationError('bad').retriable)
  t.false(Object.hasOwn(new ValidationError('bad'), 'brokerAddr'))
  t.regex(error.stack ?? '', /^TimeoutError: no answer/)
  t.false(Object.keys(error).includes('name'))
})
