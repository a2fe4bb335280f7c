/**
 * Turns errors thrown by the native binding into the typed classes of `errors.ts`. Kept apart from the
 * classes so the mapping lives in one place.
 *
 * The native layer hands an engine failure over as fields (see `src/error.rs`): calls throw or reject
 * with an `Error` whose own properties are `code` (the engine's stable code), `retriable`, and, when
 * known, `responseCode`, `brokerAddr` and `brokerReason` (an ACL refusal's remark); send outcomes, delivered in batches, carry the same fields as
 * a plain {@link NativeErrorFields} object. Nothing is parsed out of the message.
 *
 * An error without those fields (napi-rs' own, for a bad argument type) keeps its `code` property and
 * becomes a plain {@link RocketMQError} unless the code names a class.
 *
 * @module
 */
import {
  AuthenticationError,
  AuthorizationError,
  BrokerNotAvailableError,
  BrokerResponseError,
  ConfigError,
  ConsumerStateError,
  InvalidSelectorError,
  MessageSendError,
  NameServerError,
  NetworkError,
  OffsetError,
  ProducerStateError,
  ProtocolError,
  RocketMQError,
  type RocketMQErrorOptions,
  TimeoutError,
  TlsError,
  TopicNotFoundError,
  ValidationError,
} from './errors'
import type { NativeErrorFields } from './binding'

/** Which client raised the error; decides the class of context-dependent codes such as `ERR_STATE`. */
export type ErrorContext = 'producer' | 'consumer' | 'admin' | 'logger'

/** A typed error class the native codes map to. */
export type ErrorClass = new (message: string, options?: RocketMQErrorOptions) => RocketMQError

/** Classes for the codes whose meaning does not depend on which client raised them. */
const CLASS_BY_NATIVE_CODE: ReadonlyMap<string, ErrorClass> = new Map<string, ErrorClass>([
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
  ['ERR_OFFSET', OffsetError],
  ['ERR_INVALID_SELECTOR', InvalidSelectorError],
  ['ERR_AUTHENTICATION', AuthenticationError],
  ['ERR_AUTHORIZATION', AuthorizationError],
  ['ERR_TLS', TlsError],
])

const STATE_ERROR_BY_CONTEXT: Readonly<Record<ErrorContext, ErrorClass | undefined>> = {
  producer: ProducerStateError,
  consumer: ConsumerStateError,
  // The admin and the logger have no state family of their own; they keep the native code on the base class.
  admin: undefined,
  logger: undefined,
}

/** What the native layer says about a failure, however it arrived. */
interface NativeFailure {
  code: string | undefined
  message: string
  responseCode?: number
  brokerAddr?: string
  brokerReason?: string
  retriable?: boolean
}

/** An own or inherited property of an object, if `value` is one. */
function propertyOf(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined
}

function stringProperty(value: unknown, key: string): string | undefined {
  const property = propertyOf(value, key)
  return typeof property === 'string' ? property : undefined
}

function numberProperty(value: unknown, key: string): number | undefined {
  const property = propertyOf(value, key)
  return typeof property === 'number' ? property : undefined
}

/** Reads the fields of a native error. */
function readNativeError(error: unknown): NativeFailure {
  const message = error instanceof Error ? error.message : String(error)
  const code = stringProperty(error, 'code')
  const retriable = propertyOf(error, 'retriable')
  if (typeof retriable === 'boolean') {
    return {
      code,
      message,
      retriable,
      responseCode: numberProperty(error, 'responseCode'),
      brokerAddr: stringProperty(error, 'brokerAddr'),
      brokerReason: stringProperty(error, 'brokerReason'),
    }
  }
  return { code, message, responseCode: numberProperty(error, 'responseCode') }
}

/**
 * The class of errors with `code` raised for `context`, or `undefined` when this version has no class
 * for it (the error then stays a plain {@link RocketMQError} keeping the code).
 *
 * @param code the native code, e.g. `ERR_TIMEOUT`
 * @param context the client that made the call
 */
export function errorClassFor(code: string, context: ErrorContext): ErrorClass | undefined {
  return code === 'ERR_STATE' ? STATE_ERROR_BY_CONTEXT[context] : CLASS_BY_NATIVE_CODE.get(code)
}

function typedError(failure: NativeFailure, context: ErrorContext, cause: unknown): RocketMQError {
  const options: RocketMQErrorOptions = {
    cause,
    responseCode: failure.responseCode,
    brokerAddr: failure.brokerAddr,
    brokerReason: failure.brokerReason,
    retriable: failure.retriable,
  }
  const errorClass = failure.code === undefined ? undefined : errorClassFor(failure.code, context)
  if (errorClass !== undefined) {
    return new errorClass(failure.message, options)
  }
  return new RocketMQError(failure.message, { ...options, code: failure.code ?? RocketMQError.CODE })
}

/**
 * Converts anything thrown by the native binding into a {@link RocketMQError} subclass, keeping the
 * original as `cause`. Errors that already are RocketMQErrors pass through unchanged; unknown codes
 * become a plain RocketMQError that keeps the native code.
 *
 * @param error what the native call threw or rejected with
 * @param context the client that made the call
 */
export function fromNativeError(error: unknown, context: ErrorContext): RocketMQError {
  if (error instanceof RocketMQError) {
    return error
  }
  return typedError(readNativeError(error), context, error)
}

/**
 * Converts the fields of a failure delivered as data (a send outcome) into a {@link RocketMQError}
 * subclass.
 *
 * @param fields the failure's fields as the native layer delivered them
 * @param context the client that made the call
 */
export function fromNativeFields(fields: NativeErrorFields, context: ErrorContext): RocketMQError {
  return typedError(
    {
      code: fields.code,
      message: fields.message,
      responseCode: fields.responseCode ?? undefined,
      brokerAddr: fields.brokerAddr ?? undefined,
      brokerReason: fields.brokerReason ?? undefined,
      retriable: fields.retriable,
    },
    context,
    undefined,
  )
}

/**
 * Runs a native call and rethrows its failure as a typed error. Synchronous throws and rejected
 * promises are both converted.
 *
 * @param context the client that makes the call
 * @param call the native call
 */
export async function callNative<T>(context: ErrorContext, call: () => Promise<T> | T): Promise<T> {
  try {
    return await call()
  } catch (error) {
    throw fromNativeError(error, context)
  }
}

/**
 * Synchronous variant of {@link callNative} for constructors and other synchronous native calls.
 *
 * @param context the client that makes the call
 * @param call the native call
 */
export function callNativeSync<T>(context: ErrorContext, call: () => T): T {
  try {
    return call()
  } catch (error) {
    throw fromNativeError(error, context)
  }
}
