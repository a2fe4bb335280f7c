/**
 * rocketmq-client-nodejs' error classes. There every failure the proxy reports is a {@link ClientException} whose
 * numeric `code` is the proxy's status code (40402 topic not found, 42900 too many requests, ...), in a subclass per
 * family. Here the same classes carry the status code the proxy would have given for the broker's answer, the
 * broker's own response code as `responseCode`, and this package's error (with its `code` string, `brokerAddr`,
 * `retriable`) as `cause`.
 *
 * @module
 */
import {
  AuthenticationError,
  AuthorizationError,
  BrokerNotAvailableError,
  BrokerResponseError,
  ClientError,
  ConfigError,
  InvalidSelectorError,
  InvalidTopicError,
  MessageSendError,
  NameServerError,
  NetworkError,
  ProducerStateError,
  ConsumerStateError,
  RocketMQError,
  TimeoutError,
  TopicNotFoundError,
  ValidationError,
} from '../../errors'

/** The proxy's status codes these classes carry (rocketmq-client-nodejs' `Code`, the ones used here). */
export const Code = {
  OK: 20000,
  BAD_REQUEST: 40000,
  ILLEGAL_TOPIC: 40002,
  ILLEGAL_CONSUMER_GROUP: 40003,
  ILLEGAL_FILTER_EXPRESSION: 40010,
  ILLEGAL_INVISIBLE_TIME: 40011,
  ILLEGAL_DELIVERY_TIME: 40012,
  INVALID_RECEIPT_HANDLE: 40013,
  UNAUTHORIZED: 40100,
  PAYMENT_REQUIRED: 40200,
  FORBIDDEN: 40300,
  NOT_FOUND: 40400,
  TOPIC_NOT_FOUND: 40402,
  CONSUMER_GROUP_NOT_FOUND: 40403,
  PAYLOAD_TOO_LARGE: 41300,
  MESSAGE_BODY_TOO_LARGE: 41301,
  TOO_MANY_REQUESTS: 42900,
  REQUEST_HEADER_FIELDS_TOO_LARGE: 43100,
  INTERNAL_ERROR: 50000,
  INTERNAL_SERVER_ERROR: 50001,
  PROXY_TIMEOUT: 50400,
  UNSUPPORTED: 50500,
  VERSION_UNSUPPORTED: 50501,
} as const

/** Base of every failure of this API, as in rocketmq-client-nodejs: an `Error` with a numeric `code`. */
export class ClientException extends Error {
  /** The proxy's status code for this failure (see {@link Code}). */
  code: number
  /** The broker's or NameServer's response code, when one answered (remoting protocol). */
  declare responseCode?: number

  /**
   * @param code the status code
   * @param message the reason
   * @param requestId rocketmq-client-nodejs' request id; there is none here (no proxy), kept for the signature
   * @param cause the error of this package it stands for
   */
  constructor(code: number, message: string, requestId?: string, cause?: unknown) {
    super(`[${requestId === undefined ? '' : `request-id=${requestId}, `}response-code=${code}] ${message}`, cause === undefined ? undefined : { cause })
    this.code = code
    this.name = new.target.name
    if (cause instanceof RocketMQError && cause.responseCode !== undefined) {
      this.responseCode = cause.responseCode
    }
  }
}

/** A request the broker (or this client) refuses as malformed: a bad topic, tag, expression, receipt handle... */
export class BadRequestException extends ClientException {}
/** Credentials missing or wrong. */
export class UnauthorizedException extends ClientException {}
/** rocketmq-client-nodejs' 402; kept for `instanceof` checks. */
export class PaymentRequiredException extends ClientException {}
/** No permission for the topic or group. */
export class ForbiddenException extends ClientException {}
/** The topic or group does not exist. */
export class NotFoundException extends ClientException {}
/** The message body is too large. */
export class PayloadTooLargeException extends ClientException {}
/** The broker is busy or throttling: try again later. */
export class TooManyRequestsException extends ClientException {}
/** The properties are too large. */
export class RequestHeaderFieldsTooLargeException extends ClientException {}
/** The broker failed, or could not be reached. */
export class InternalErrorException extends ClientException {}
/** No answer in time (there: from the proxy; here: from the broker or NameServer). */
export class ProxyTimeoutException extends ClientException {}
/** The broker does not support the request (e.g. POP against a 4.x broker). */
export class UnsupportedException extends ClientException {}

type ExceptionClass = new (code: number, message: string, requestId?: string, cause?: unknown) => ClientException

/** Broker response codes (remoting protocol) and the class and status the proxy gives them. */
const BY_RESPONSE_CODE = new Map<number, [ExceptionClass, number]>([
  [2, [TooManyRequestsException, Code.TOO_MANY_REQUESTS]], // SYSTEM_BUSY
  [3, [UnsupportedException, Code.UNSUPPORTED]], // REQUEST_CODE_NOT_SUPPORTED
  [13, [BadRequestException, Code.BAD_REQUEST]], // MESSAGE_ILLEGAL
  [16, [ForbiddenException, Code.FORBIDDEN]], // NO_PERMISSION
  [17, [NotFoundException, Code.TOPIC_NOT_FOUND]], // TOPIC_NOT_EXIST
  [23, [BadRequestException, Code.ILLEGAL_FILTER_EXPRESSION]], // SUBSCRIPTION_PARSE_FAILED
  [24, [NotFoundException, Code.CONSUMER_GROUP_NOT_FOUND]], // SUBSCRIPTION_NOT_EXIST
  [26, [NotFoundException, Code.CONSUMER_GROUP_NOT_FOUND]], // SUBSCRIPTION_GROUP_NOT_EXIST
  [29, [BadRequestException, Code.BAD_REQUEST]], // INVALID_PARAMETER
  [208, [BadRequestException, Code.INVALID_RECEIPT_HANDLE]], // NO_MESSAGE: an ack or change of a handle out of range
  [215, [TooManyRequestsException, Code.TOO_MANY_REQUESTS]], // FLOW_CONTROL
])

/**
 * The rocketmq-client-nodejs exception for an error of this package (kept as `cause`). Anything else is returned
 * unchanged (a listener's own error, an AbortError).
 *
 * @param error what a call of the engine threw
 */
export function toClientException(error: unknown): unknown {
  if (!(error instanceof RocketMQError) || error instanceof ConfigError) {
    return error
  }
  const message = error.message
  // ACL refusals first: they carry NO_PERMISSION (or SYSTEM_ERROR from 4.x brokers) like other refusals, but the
  // proxy answers a bad signature with 401 and a missing grant with 403.
  if (error instanceof AuthenticationError) {
    return new UnauthorizedException(Code.UNAUTHORIZED, message, undefined, error)
  }
  if (error instanceof AuthorizationError) {
    return new ForbiddenException(Code.FORBIDDEN, message, undefined, error)
  }
  if (!(error instanceof ClientError) && (error.cause instanceof AuthenticationError || error.cause instanceof AuthorizationError)) {
    // A consumer's start failure caused by a refusal: the refusal is what the user acts on.
    return toClientException(error.cause)
  }
  if (error.responseCode !== undefined && (error instanceof BrokerResponseError || error instanceof MessageSendError)) {
    const known = BY_RESPONSE_CODE.get(error.responseCode)
    if (known !== undefined) {
      return new known[0](known[1], message, undefined, error)
    }
  }
  if (error instanceof TopicNotFoundError) {
    return new NotFoundException(Code.TOPIC_NOT_FOUND, message, undefined, error)
  }
  if (error instanceof InvalidTopicError) {
    return new BadRequestException(Code.ILLEGAL_TOPIC, message, undefined, error)
  }
  if (error instanceof InvalidSelectorError) {
    return new BadRequestException(Code.ILLEGAL_FILTER_EXPRESSION, message, undefined, error)
  }
  if (error instanceof ValidationError || error instanceof ProducerStateError || error instanceof ConsumerStateError) {
    return new BadRequestException(Code.BAD_REQUEST, message, undefined, error)
  }
  if (error instanceof TimeoutError) {
    return new ProxyTimeoutException(Code.PROXY_TIMEOUT, message, undefined, error)
  }
  if (error instanceof NetworkError || error instanceof NameServerError || error instanceof BrokerNotAvailableError) {
    return new InternalErrorException(Code.INTERNAL_ERROR, message, undefined, error)
  }
  return new InternalErrorException(Code.INTERNAL_SERVER_ERROR, message, undefined, error)
}

/**
 * Runs a call of the engine and rethrows its failure as a rocketmq-client-nodejs exception.
 *
 * @param call the call
 */
export async function asClientExceptions<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (error) {
    throw toClientException(error)
  }
}

/**
 * The error `startup()` rejects with, as rocketmq-client-nodejs words it: `Startup the rocketmq client failed,
 * clientId=..., error=<the exception>`, with the exception as `cause`.
 *
 * @param clientId the client id, when known
 * @param error the failure
 */
export function startupFailure(clientId: string, error: unknown): Error {
  const cause = toClientException(error)
  return new Error(`Startup the rocketmq client failed, clientId=${clientId}, error=${String(cause)}`, { cause })
}
