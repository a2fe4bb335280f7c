import test from 'ava'

import {
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
  ProducerError,
  ProducerStateError,
  ProtocolError,
  RocketMQError,
  SubscriptionError,
  InvalidSelectorError,
  TimeoutError,
  TopicNotFoundError,
  ValidationError,
} from '../index'
import { fromNativeError, parseResponseCode } from '../lib/native-errors'

/** What the binding throws: an Error with a string `code`. */
function nativeError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code })
}

const CONTRACT_TABLE: ReadonlyArray<[string, new (...args: never[]) => RocketMQError]> = [
  ['ERR_VALIDATION', ValidationError],
  ['ERR_CONFIG', ConfigError],
  ['ERR_TIMEOUT', TimeoutError],
  ['ERR_NETWORK', NetworkError],
  ['ERR_NAMESERVER', NameServerError],
  ['ERR_TOPIC_NOT_FOUND', TopicNotFoundError],
  ['ERR_BROKER_NOT_AVAILABLE', BrokerNotAvailableError],
  ['ERR_SEND_FAILED', MessageSendError],
  ['ERR_BROKER_RESPONSE', BrokerResponseError],
  ['ERR_PROTOCOL', ProtocolError],
]

for (const [code, errorClass] of CONTRACT_TABLE) {
  test(`native ${code} becomes ${errorClass.name}, keeping code, message and cause`, (t) => {
    const original = nativeError(code, `reason for ${code}`)
    const converted = fromNativeError(original, 'producer')
    t.true(converted instanceof errorClass)
    t.true(converted instanceof RocketMQError)
    t.is(converted.code, code)
    t.is(converted.name, errorClass.name)
    t.is(converted.message, `reason for ${code}`)
    t.is(converted.cause, original)
    t.is(converted.responseCode, undefined)
  })
}

test('a code at the front of the message (promise rejections) is read and removed from the message', (t) => {
  const original = nativeError('GenericFailure', 'ERR_TIMEOUT: request code 105 to 127.0.0.1:9876 timed out after 3000 ms')
  const converted = fromNativeError(original, 'admin')
  t.true(converted instanceof TimeoutError)
  t.is(converted.code, 'ERR_TIMEOUT')
  t.is(converted.message, 'request code 105 to 127.0.0.1:9876 timed out after 3000 ms')
  t.is(converted.cause, original)

  const withResponse = fromNativeError(nativeError('GenericFailure', 'ERR_TOPIC_NOT_FOUND: no route info for topic t [responseCode=17]'), 'producer')
  t.true(withResponse instanceof TopicNotFoundError)
  t.is(withResponse.responseCode, 17)

  const unknownPrefix = fromNativeError(nativeError('GenericFailure', 'ERR_SOMETHING_NEW: later'), 'producer')
  t.is(unknownPrefix.constructor, RocketMQError)
  t.is(unknownPrefix.code, 'ERR_SOMETHING_NEW')
  t.is(unknownPrefix.message, 'later')

  const notACode = fromNativeError(nativeError('GenericFailure', 'Err: lower case is not a code'), 'producer')
  t.is(notACode.code, 'GenericFailure')
  t.is(notACode.message, 'Err: lower case is not a code')
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

test('the trailing [responseCode=N] becomes a numeric responseCode', (t) => {
  const converted = fromNativeError(nativeError('ERR_TOPIC_NOT_FOUND', 'No topic route info in name server [responseCode=17]'), 'admin')
  t.true(converted instanceof TopicNotFoundError)
  t.is(converted.responseCode, 17)
  t.is(parseResponseCode('broker busy [responseCode=-2]'), -2)
  t.is(parseResponseCode('a [responseCode=17] in the middle'), undefined)
  t.is(parseResponseCode('no code'), undefined)
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
  const error = new TimeoutError('no answer', { responseCode: 5 })
  t.true(error instanceof Error)
  t.is(error.responseCode, 5)
  t.regex(error.stack ?? '', /^TimeoutError: no answer/)
  t.false(Object.keys(error).includes('name'))
})
