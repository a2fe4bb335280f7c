/**
 * Error classes of rocketmq-napi.
 *
 * Every error thrown by the library is a {@link RocketMQError} with a stable string `code`.
 * The hierarchy:
 *
 * ```
 * RocketMQError                      base of everything: `code`, `retriable`, optional `responseCode`,
 *                                    `brokerAddr`, `brokerReason`, `cause`
 * ├── ClientError                    failures any client (producer, consumer, admin) can meet
 * │   ├── ConfigError                ERR_CONFIG            bad configuration value
 * │   ├── ValidationError            ERR_VALIDATION        bad argument (message, topic, ...)
 * │   ├── NetworkError               ERR_NETWORK           connect refused/reset, connection closed
 * │   │   └── TlsError               ERR_TLS               the TLS handshake failed (certificate, no TLS)
 * │   ├── TimeoutError               ERR_TIMEOUT           a request got no answer in time
 * │   ├── NameServerError            ERR_NAMESERVER        no NameServer answered, or it answered an error
 * │   ├── BrokerNotAvailableError    ERR_BROKER_NOT_AVAILABLE  no master address / no writable queue
 * │   ├── TopicNotFoundError         ERR_TOPIC_NOT_FOUND   no route for the topic
 * │   ├── BrokerResponseError        ERR_BROKER_RESPONSE   a broker answered an error code
 * │   ├── AuthenticationError        ERR_AUTHENTICATION    ACL: the broker refused the credentials
 * │   ├── AuthorizationError         ERR_AUTHORIZATION     ACL: the user has no grant for the resource
 * │   └── ProtocolError              ERR_PROTOCOL          a response that could not be decoded
 * ├── ProducerError                  ERR_PRODUCER
 * │   ├── ProducerStateError         ERR_STATE             send before start, start twice, ...
 * │   └── MessageSendError           ERR_SEND_FAILED       every send attempt failed
 * ├── ConsumerError                  ERR_CONSUMER
 * │   ├── ConsumerStartError         ERR_CONSUMER_START
 * │   ├── ConsumerShutdownError      ERR_CONSUMER_SHUTDOWN
 * │   ├── ConsumerStateError         ERR_STATE
 * │   ├── SubscribeError             ERR_SUBSCRIBE
 * │   ├── UnsubscribeError           ERR_UNSUBSCRIBE
 * │   ├── MessageConsumeError        ERR_MESSAGE_CONSUME
 * │   ├── MessagePullError           ERR_MESSAGE_PULL
 * │   ├── OffsetError                ERR_OFFSET
 * │   └── RebalanceError             ERR_REBALANCE
 * ├── NativeBindingError             ERR_NATIVE_BINDING    the native addon is missing or does not load
 * ├── AbortError                     ABORT_ERR             an AbortSignal ended the call (`cause`: its reason)
 * └── SubscriptionError              ERR_SUBSCRIPTION
 *     ├── InvalidTopicError          ERR_INVALID_TOPIC
 *     ├── InvalidSelectorError       ERR_INVALID_SELECTOR
 *     ├── TopicNotSubscribedError    ERR_TOPIC_NOT_SUBSCRIBED
 *     ├── SubscriptionConflictError  ERR_SUBSCRIPTION_CONFLICT
 *     ├── SubscriptionLimitExceededError ERR_SUBSCRIPTION_LIMIT_EXCEEDED
 *     └── SubscriptionDataError      ERR_SUBSCRIPTION_DATA
 * ```
 *
 * The consumer module this API follows lists the transport and input errors (BrokerNotAvailableError,
 * NameServerError, NetworkError, TimeoutError, ConfigError, ValidationError) under ConsumerError. The
 * producer meets the very same failures, so they live once under {@link ClientError}; to keep the
 * familiar `catch (e) { if (e instanceof ConsumerError) ... }` working, `instanceof ConsumerError` and
 * `instanceof ProducerError` also accept any ClientError. Subclass checks (`instanceof
 * ConsumerStartError`, ...) are ordinary prototype checks.
 *
 * @module
 */
import type { MessageQueue } from './consumer-config'

/** Options accepted by every error constructor. */
export interface RocketMQErrorOptions {
  /** The underlying error (for errors converted from the native layer: the original native error). */
  cause?: unknown
  /** Overrides the class's default code (used for native codes this version does not know). */
  code?: string
  /** The RocketMQ response code when the failure is a broker or NameServer answer. */
  responseCode?: number
  /** The `host:port` of the broker (or NameServer) that failed, when known. */
  brokerAddr?: string
  /** Whether making the same call again may succeed; defaults to `false`. */
  retriable?: boolean
  /** The broker's own reason (its response remark) for an ACL refusal. */
  brokerReason?: string
}

/** Base class of every error thrown by rocketmq-napi. */
export class RocketMQError extends Error {
  /** The default `code` of instances of this class. */
  static readonly CODE: string = 'ERR_ROCKETMQ'

  /** Stable machine-readable code, e.g. `ERR_TIMEOUT`. */
  readonly code: string
  /** RocketMQ response code when the failure was an error answer from a broker or NameServer. */
  // `declare`: no own property unless a code was given, so errors without one print cleanly.
  declare readonly responseCode?: number
  /**
   * The `host:port` of the peer that failed, when the native layer knows it: the broker (or
   * NameServer) a request timed out against or lost its connection to.
   */
  declare readonly brokerAddr?: string
  /**
   * The broker's own words for an ACL refusal ({@link AuthenticationError}, {@link AuthorizationError}), e.g.
   * `check signature failed.`; never holds a secret.
   */
  declare readonly brokerReason?: string
  /**
   * Whether the same call may succeed if made again later: `true` for timeouts, network failures,
   * no broker or NameServer reachable, and broker answers meaning busy or throttled; `false` for bad
   * configuration or input, wrong state, missing topics and refusals, which need a change first.
   */
  readonly retriable: boolean

  /**
   * @param message human-readable reason
   * @param options cause, code override and response code
   */
  constructor(message: string, options: RocketMQErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    const errorClass = new.target as typeof RocketMQError
    // `name` lives on the instance (not enumerable) so stack traces and util.inspect show the subclass.
    Object.defineProperty(this, 'name', { value: errorClass.name, enumerable: false, configurable: true, writable: true })
    this.code = options.code ?? errorClass.CODE
    if (options.responseCode !== undefined) {
      Object.defineProperty(this, 'responseCode', { value: options.responseCode, enumerable: true })
    }
    if (options.brokerAddr !== undefined) {
      Object.defineProperty(this, 'brokerAddr', { value: options.brokerAddr, enumerable: true })
    }
    if (options.brokerReason !== undefined) {
      Object.defineProperty(this, 'brokerReason', { value: options.brokerReason, enumerable: true })
    }
    this.retriable = options.retriable ?? false
  }
}

/** Failures shared by every client: bad input, bad configuration, transport and broker failures. */
export class ClientError extends RocketMQError {
  static override readonly CODE: string = 'ERR_CLIENT'
}

/** A configuration value is missing or invalid. */
export class ConfigError extends ClientError {
  static override readonly CODE: string = 'ERR_CONFIG'
}

/** An argument (message, topic, offset, ...) is invalid. */
export class ValidationError extends ClientError {
  static override readonly CODE: string = 'ERR_VALIDATION'
}

/** A connection could not be made, or was reset or closed. */
export class NetworkError extends ClientError {
  static override readonly CODE: string = 'ERR_NETWORK'
}

/**
 * The TLS handshake with a NameServer or broker failed: its certificate is not signed by a trusted CA (`tls.ca`) or
 * does not carry the expected name (`tls.serverName` or the address's host), the server does not speak TLS, or it
 * refused the client's certificate. `brokerReason` holds rustls' reason (e.g. `invalid peer certificate:
 * UnknownIssuer`), `brokerAddr` the peer. A {@link NetworkError}, but not retriable: the same certificates fail
 * again.
 */
export class TlsError extends NetworkError {
  static override readonly CODE: string = 'ERR_TLS'
}

/** A request got no answer within its timeout. */
export class TimeoutError extends ClientError {
  static override readonly CODE: string = 'ERR_TIMEOUT'
}

/** No NameServer answered, or a NameServer answered with an error. */
export class NameServerError extends ClientError {
  static override readonly CODE: string = 'ERR_NAMESERVER'
}

/** A broker has no known master address, or no writable queue is left. */
export class BrokerNotAvailableError extends ClientError {
  static override readonly CODE: string = 'ERR_BROKER_NOT_AVAILABLE'
}

/** The NameServer has no route for the topic. */
export class TopicNotFoundError extends ClientError {
  static override readonly CODE: string = 'ERR_TOPIC_NOT_FOUND'
}

/** A broker answered a request with an error code (see `responseCode`). */
export class BrokerResponseError extends ClientError {
  static override readonly CODE: string = 'ERR_BROKER_RESPONSE'
}

/**
 * A broker with ACL on refused the client's credentials: no `accessKey` configured, an unknown or disabled user, or
 * a wrong `secretKey` (the signature does not match). `brokerReason` is the broker's remark, `brokerAddr` the broker,
 * `responseCode` 16 (NO_PERMISSION). Not retriable: the call is not repeated, and a consumer reports it (as the
 * cause of its `'pullFailed'` / `'rebalanceFailed'` events or of `start()`'s failure) rather than hide it.
 */
export class AuthenticationError extends ClientError {
  static override readonly CODE: string = 'ERR_AUTHENTICATION'
}

/**
 * A broker with ACL on knows the user but denies it the resource (no grant for the topic or group, or an explicit
 * deny). `brokerReason` is the broker's remark (it names the user and the resource). Not retriable until the grant
 * is added.
 */
export class AuthorizationError extends ClientError {
  static override readonly CODE: string = 'ERR_AUTHORIZATION'
}

/** A response could not be decoded. */
export class ProtocolError extends ClientError {
  static override readonly CODE: string = 'ERR_PROTOCOL'
}

/**
 * Prototype check plus the shared {@link ClientError}s, applied only to the family root itself so that
 * subclasses (e.g. ConsumerStartError) keep the ordinary `instanceof` behaviour.
 */
function familyHasInstance(familyRoot: Function, candidateClass: Function, value: unknown): boolean {
  const ownChain = Function.prototype[Symbol.hasInstance].call(candidateClass, value)
  return ownChain || (candidateClass === familyRoot && value instanceof ClientError)
}

/** Base of producer failures. `instanceof ProducerError` also accepts any {@link ClientError}. */
export class ProducerError extends RocketMQError {
  static override readonly CODE: string = 'ERR_PRODUCER'

  /** @internal see the module documentation. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return familyHasInstance(ProducerError, this, value)
  }
}

/** The producer is not in a state that allows the call (send before start, start twice, after shutdown). */
export class ProducerStateError extends ProducerError {
  static override readonly CODE: string = 'ERR_STATE'
}

/** Every attempt to send a message failed; the message names the last cause. */
export class MessageSendError extends ProducerError {
  static override readonly CODE: string = 'ERR_SEND_FAILED'
}

/** Base of consumer failures. `instanceof ConsumerError` also accepts any {@link ClientError}. */
export class ConsumerError extends RocketMQError {
  static override readonly CODE: string = 'ERR_CONSUMER'

  /** @internal see the module documentation. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return familyHasInstance(ConsumerError, this, value)
  }
}

/**
 * `Consumer.start()` failed for a reason other than a wrong state (ConsumerStateError), a bad setting (ConfigError)
 * or a selector the brokers refused (InvalidSelectorError): a broadcasting consumer's offsets file and its backup
 * both unreadable, a given offset store that could not start, no route or NameServer answer while checking a SQL92
 * subscription, ... `cause` is the typed failure; `retriable`, `responseCode` and `brokerAddr` are its. Nothing was
 * consumed, and the consumer may be started again.
 */
export class ConsumerStartError extends ConsumerError {
  static override readonly CODE: string = 'ERR_CONSUMER_START'
}

/**
 * `Consumer.shutdown()` completed (the consumer is stopped and left the group) but could not persist the offsets of
 * the queues it held (a broker down, the offsets file not writable): messages after the last offsets persisted will
 * be delivered again. `cause` is the typed failure.
 */
export class ConsumerShutdownError extends ConsumerError {
  static override readonly CODE: string = 'ERR_CONSUMER_SHUTDOWN'
}

/** The consumer is not in a state that allows the call. */
export class ConsumerStateError extends ConsumerError {
  static override readonly CODE: string = 'ERR_STATE'
}

/**
 * A subscription change of a running consumer (subscribe, `updateSelector`, an import) failed in the engine for a
 * reason other than an expression the brokers refuse (that stays InvalidSelectorError): no route or NameServer
 * answer while checking a SQL92 expression, a broker error during that check (the manager is put back as it was),
 * or no broker taking the heartbeat that tells the change (the change stays in force; the periodic heartbeat
 * retries). `cause` is the typed failure.
 */
export class SubscribeError extends ConsumerError {
  static override readonly CODE: string = 'ERR_SUBSCRIBE'
}

/**
 * Unsubscribing a topic of a running consumer failed in the engine: the topic is unsubscribed, but the offsets of a
 * queue it held could not be persisted (messages after the last persisted offset will be delivered again to the
 * group), or no broker took the heartbeat telling it; or the engine refused it (the manager is put back as it was).
 * `cause` is the typed failure.
 */
export class UnsubscribeError extends ConsumerError {
  static override readonly CODE: string = 'ERR_UNSUBSCRIBE'
}

/** A message listener failed to consume a message. */
export class MessageConsumeError extends ConsumerError {
  static override readonly CODE: string = 'ERR_MESSAGE_CONSUME'
}

/** Options of a {@link MessagePullError}. */
export interface MessagePullErrorOptions extends RocketMQErrorOptions {
  /** The queue whose pull failed. */
  queue?: MessageQueue
}

/**
 * Pulling messages of a queue from a broker failed (a broker down, refusing the pull, ...). A running consumer
 * reports it as its `'pullFailed'` event and pulls the queue again after 3 s by itself. `cause` is the typed failure.
 */
export class MessagePullError extends ConsumerError {
  static override readonly CODE: string = 'ERR_MESSAGE_PULL'
  /** The queue whose pull failed, when known. */
  declare readonly queue?: MessageQueue

  /**
   * @param message human-readable reason
   * @param options cause, code override, response code and the queue
   */
  constructor(message: string, options: MessagePullErrorOptions = {}) {
    super(message, options)
    if (options.queue !== undefined) {
      Object.defineProperty(this, 'queue', { value: Object.freeze({ ...options.queue }), enumerable: true })
    }
  }
}

/** Reading, updating or persisting a consume offset failed. */
export class OffsetError extends ConsumerError {
  static override readonly CODE: string = 'ERR_OFFSET'
}

/** Options of a {@link RebalanceError}. */
export interface RebalanceErrorOptions extends RocketMQErrorOptions {
  /** The topic not rebalanced. */
  topic?: string
}

/**
 * Rebalancing a topic's queues among the group's consumers failed (no route for the topic: TopicNotFoundError
 * `cause`; the group's consumer list unavailable). A running consumer reports it as its `'rebalanceFailed'` event,
 * keeps the queues it holds and tries again at its next round. `cause` is the typed failure.
 */
export class RebalanceError extends ConsumerError {
  static override readonly CODE: string = 'ERR_REBALANCE'
  /** The topic not rebalanced, when known. */
  declare readonly topic?: string

  /**
   * @param message human-readable reason
   * @param options cause, code override, response code and the topic
   */
  constructor(message: string, options: RebalanceErrorOptions = {}) {
    super(message, options)
    if (options.topic !== undefined) {
      Object.defineProperty(this, 'topic', { value: options.topic, enumerable: true })
    }
  }
}

/** Base of subscription-management failures. */
export class SubscriptionError extends RocketMQError {
  static override readonly CODE: string = 'ERR_SUBSCRIPTION'
}

/** The topic name is not valid for a subscription. */
export class InvalidTopicError extends SubscriptionError {
  static override readonly CODE: string = 'ERR_INVALID_TOPIC'
}

/** The message selector (tag or SQL92 expression) is not valid. */
export class InvalidSelectorError extends SubscriptionError {
  static override readonly CODE: string = 'ERR_INVALID_SELECTOR'
}

/** The topic is not subscribed. */
export class TopicNotSubscribedError extends SubscriptionError {
  static override readonly CODE: string = 'ERR_TOPIC_NOT_SUBSCRIBED'
}

/** A subscription conflicts with an existing one. */
export class SubscriptionConflictError extends SubscriptionError {
  static override readonly CODE: string = 'ERR_SUBSCRIPTION_CONFLICT'
}

/** The number of subscriptions would exceed the configured limit. */
export class SubscriptionLimitExceededError extends SubscriptionError {
  static override readonly CODE: string = 'ERR_SUBSCRIPTION_LIMIT_EXCEEDED'
}

/** Stored or imported subscription data is malformed. */
export class SubscriptionDataError extends SubscriptionError {
  static override readonly CODE: string = 'ERR_SUBSCRIPTION_DATA'
}

/** The native addon could not be found or loaded; the message lists every place that was tried. */
export class NativeBindingError extends RocketMQError {
  static override readonly CODE: string = 'ERR_NATIVE_BINDING'
}

/**
 * An `AbortSignal` passed to the call was aborted (before or while it ran); `cause` is the signal's `reason`. Like
 * Node's own `AbortError`, its `name` is `'AbortError'` and its `code` `'ABORT_ERR'`, so the usual
 * `error.name === 'AbortError'` checks hold.
 */
export class AbortError extends RocketMQError {
  static override readonly CODE: string = 'ABORT_ERR'
}
