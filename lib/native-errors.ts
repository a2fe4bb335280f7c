/**
 * Turns errors thrown by the native binding into the typed classes of `errors.ts`. Kept apart from the
 * classes so the mapping lives in one place.
 *
 * The engine's code reaches JavaScript in one of two forms: as the error's `code` property, or (for
 * promise rejections, where napi-rs only carries its own status as `code`) at the front of the message,
 * `"ERR_TIMEOUT: request ... timed out"`. Both are read; the prefix is removed from the message.
 *
 * @module
 */
import {
  BrokerNotAvailableError,
  BrokerResponseError,
  ConfigError,
  ConsumerStateError,
  InvalidSelectorError,
  MessageSendError,
  NameServerError,
  NetworkError,
  ProducerStateError,
  ProtocolError,
  RocketMQError,
  type RocketMQErrorOptions,
  TimeoutError,
  TopicNotFoundError,
  ValidationError,
} from './errors'

/** Which client raised the error; decides the class of context-dependent codes such as `ERR_STATE`. */
export type ErrorContext = 'producer' | 'consumer' | 'admin' | 'logger'

type ErrorClass = new (message: string, options?: RocketMQErrorOptions) => RocketMQError

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
  ['ERR_INVALID_SELECTOR', InvalidSelectorError],
])

const STATE_ERROR_BY_CONTEXT: Readonly<Record<ErrorContext, ErrorClass | undefined>> = {
  producer: ProducerStateError,
  consumer: ConsumerStateError,
  // The admin and the logger have no state family of their own; they keep the native code on the base class.
  admin: undefined,
  logger: undefined,
}

/** The native layer appends ` [responseCode=N]` when the failure is a broker or NameServer answer. */
const RESPONSE_CODE_SUFFIX = /\s\[responseCode=(-?\d+)\]\s*$/

/** Reads the numeric response code from a native error message, if it carries one. */
export function parseResponseCode(message: string): number | undefined {
  const match = RESPONSE_CODE_SUFFIX.exec(message)
  return match ? Number(match[1]) : undefined
}

/** An engine code at the front of a message: `ERR_TIMEOUT: ...`. */
const CODE_PREFIX = /^(ERR_[A-Z_]+): /

function codePropertyOf(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const { code } = error as { code: unknown }
    return typeof code === 'string' ? code : undefined
  }
  return undefined
}

/** The engine's code and the reason without the code prefix. */
function readNativeError(error: unknown): { code: string | undefined; message: string } {
  const message = error instanceof Error ? error.message : String(error)
  const property = codePropertyOf(error)
  if (property?.startsWith('ERR_')) {
    return { code: property, message }
  }
  const prefix = CODE_PREFIX.exec(message)
  if (prefix) {
    return { code: prefix[1], message: message.slice(prefix[0].length) }
  }
  return { code: property, message }
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
  const { code, message } = readNativeError(error)
  const options: RocketMQErrorOptions = { cause: error, responseCode: parseResponseCode(message) }
  const errorClass =
    code === 'ERR_STATE' ? STATE_ERROR_BY_CONTEXT[context] : code === undefined ? undefined : CLASS_BY_NATIVE_CODE.get(code)
  if (errorClass !== undefined) {
    return new errorClass(message, options)
  }
  return new RocketMQError(message, { ...options, code: code ?? RocketMQError.CODE })
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
