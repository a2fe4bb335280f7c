/**
 * rocketmq-client-nodejs' `SimpleConsumer` over the POP commands of RocketMQ 5 brokers: `receive(max,
 * invisibleDuration)` pops messages, which stay hidden from the group until acknowledged with `ack(message)` or until
 * the invisible duration ends (then they come again); `changeInvisibleDuration(message, ms)` hides one again.
 *
 * The brokers keep the group's progress; there is no proxy in between. A 4.x broker has no POP: `receive()` rejects
 * with an UnsupportedException (code 50500, `responseCode` 3).
 *
 * @module
 */
import type { NativeSimpleConsumer } from '../../binding'
import { ConfigError } from '../../errors'
import { nativeBinding } from '../../native'
import { callNative, callNativeSync } from '../../native-errors'
import { resolveTls } from '../../tls'
import { BadRequestException, Code, InternalErrorException, asClientExceptions, startupFailure } from './errors'
import { FilterExpression } from './filter-expression'
import { type MessageView, viewOfPopped } from './message-view'
import {
  BASE_OPTIONS,
  type BaseClientOptions,
  baseSettings,
  consumerGroupOption,
  numberOption,
  optionsOf,
  subscriptionsOption,
} from './options'

/** rocketmq-client-nodejs' simple consumer options. */
export interface SimpleConsumerOptions extends BaseClientOptions {
  /** The consumer group (required). The brokers create it on first use when they auto-create groups. */
  consumerGroup: string
  /** Topic to its filter: a {@link FilterExpression} or a tag expression (`'*'`, `'a || b'`). */
  subscriptions: Map<string, FilterExpression | string>
  /** How long `receive()` waits for messages when none are there, ms. Default 30000. */
  awaitDuration?: number
  /** Attempts of a receive that fails with an InternalErrorException (the first included). Default 3. */
  maxRetryAttempts?: number
}

const SIMPLE_OPTIONS = [...BASE_OPTIONS, 'consumerGroup', 'subscriptions', 'awaitDuration', 'maxRetryAttempts']

/** The most messages one receive returns (the brokers' limit of a POP). */
export const MAX_RECEIVE_BATCH = 32

/** Pause before retrying a receive that failed with an internal error, ms (as rocketmq-client-nodejs). */
const RETRY_DELAY_MS = 1000

/**
 * rocketmq-client-nodejs' simple consumer over this engine.
 *
 * ```ts
 * const consumer = new SimpleConsumer({
 *   endpoints: '127.0.0.1:9876',
 *   consumerGroup: 'orders_consumer',
 *   subscriptions: new Map().set('orders', '*'),
 * })
 * await consumer.startup()
 * for (const message of await consumer.receive(16, 30000)) {
 *   await handle(message)
 *   await consumer.ack(message)
 * }
 * ```
 */
export class SimpleConsumer {
  readonly #native: NativeSimpleConsumer
  readonly #group: string
  readonly #subscriptions: Map<string, FilterExpression>
  readonly #maxRetryAttempts: number
  #topicIndex = Math.floor(Math.random() * 1024)
  #running = false
  #closed: Promise<void> | undefined

  /**
   * @param options rocketmq-client-nodejs' simple consumer options; `endpoints` names NameServers
   * @throws ConfigError naming an option that is missing, refused, unknown or invalid
   */
  constructor(options: SimpleConsumerOptions) {
    const given = optionsOf(options, SIMPLE_OPTIONS, 'simple consumer')
    const base = baseSettings(given)
    this.#group = consumerGroupOption(given)
    this.#subscriptions = subscriptionsOption(given)
    this.#maxRetryAttempts = numberOption(given, 'maxRetryAttempts', 1) ?? 3
    const awaitDuration = numberOption(given, 'awaitDuration', 0) ?? 30000
    const { NativeSimpleConsumer: NativeClass } = nativeBinding()
    this.#native = callNativeSync('consumer', () => new NativeClass({
      namesrvAddr: base.namesrvAddr,
      consumerGroup: this.#group,
      awaitDurationMs: awaitDuration,
      requestTimeoutMs: base.requestTimeout,
      ...base.credentials,
      ...resolveTls(base.tls),
      ...(base.namespace === undefined ? {} : { namespace: base.namespace }),
    }))
  }

  /**
   * Joins the client instance and loads the subscribed topics' routes. Rejects with `Startup the rocketmq client
   * failed, clientId=..., error=...` whose `cause` is the exception (NotFoundException 40402 for a topic the
   * NameServers do not know).
   */
  async startup(): Promise<void> {
    try {
      await callNative('consumer', () => this.#native.start([...this.#subscriptions.keys()]))
    } catch (error) {
      throw startupFailure('', error)
    }
    this.#running = true
  }

  /** Whether `startup()` succeeded and `shutdown()` was not called. */
  isRunning(): boolean {
    return this.#running
  }

  /**
   * Adds (or changes) a topic's subscription; its route must exist.
   *
   * @param topic the topic
   * @param filterExpression its filter
   * @throws NotFoundException when the topic does not exist
   */
  async subscribe(topic: string, filterExpression: FilterExpression): Promise<void> {
    if (!(filterExpression instanceof FilterExpression)) {
      throw new ConfigError(`subscribe(${JSON.stringify(topic)}) needs a FilterExpression`)
    }
    if (this.#running) {
      await asClientExceptions(() => callNative('consumer', () => this.#native.start([topic])))
    }
    this.#subscriptions.set(topic, filterExpression)
  }

  /**
   * Stops receiving a topic.
   *
   * @param topic the topic
   */
  unsubscribe(topic: string): void {
    this.#subscriptions.delete(topic)
  }

  /** The consumer group. */
  getConsumerGroup(): string {
    return this.#group
  }

  /**
   * Pops messages of the next subscribed topic (the topics take turns). Waits up to `awaitDuration` when none are
   * there, then resolves with none.
   *
   * @param maxMessageNum at most this many (at most 32 come back: the brokers' limit of one POP). Default 10
   * @param invisibleDuration ms the messages stay hidden from the group unless acknowledged, 1000..43200000.
   *   Default 15000
   * @throws BadRequestException for an argument out of range, UnsupportedException against 4.x brokers
   */
  async receive(maxMessageNum = 10, invisibleDuration = 15000): Promise<MessageView[]> {
    if (!(maxMessageNum > 0)) {
      throw new BadRequestException(Code.BAD_REQUEST, `maxMessageNum must be greater than 0, but got ${maxMessageNum}`)
    }
    if (!this.#running) {
      throw new BadRequestException(Code.BAD_REQUEST, 'Simple consumer is not running now')
    }
    const topics = [...this.#subscriptions.keys()]
    if (topics.length === 0) {
      throw new BadRequestException(Code.BAD_REQUEST, 'No subscriptions available to receive messages')
    }
    const topic = topics[Math.abs(this.#topicIndex++ % topics.length)] as string
    const filter = this.#subscriptions.get(topic) as FilterExpression
    const max = Math.min(Math.floor(maxMessageNum), MAX_RECEIVE_BATCH)
    for (let attempt = 1; ; attempt++) {
      try {
        const popped = await asClientExceptions(() =>
          callNative('consumer', () => this.#native.receive(topic, filter.expressionType, filter.expression, max, invisibleDuration)),
        )
        return popped.map(viewOfPopped)
      } catch (error) {
        if (!(error instanceof InternalErrorException) || attempt >= this.#maxRetryAttempts) {
          throw error
        }
        await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS))
      }
    }
  }

  /**
   * Acknowledges a received message: the group will not see it again.
   *
   * @param message a message this consumer received
   * @throws BadRequestException for a receipt handle that does not hold any more (invisible duration over, already
   *   acknowledged) or is not one
   */
  async ack(message: MessageView): Promise<void> {
    await asClientExceptions(() => callNative('consumer', () => this.#native.ack(message.topic, message.receiptHandle)))
  }

  /**
   * Hides a received message again for `invisibleDuration` ms from now. The message's `receiptHandle` is replaced
   * by the new one (the old one no longer acknowledges it).
   *
   * @param message a message this consumer received
   * @param invisibleDuration ms, 1000..43200000
   */
  async changeInvisibleDuration(message: MessageView, invisibleDuration: number): Promise<void> {
    const renewed = await asClientExceptions(() =>
      callNative('consumer', () => this.#native.changeInvisibleDuration(message.topic, message.receiptHandle, invisibleDuration)),
    )
    // The view's handle is read-only to users; the consumer renews it, as rocketmq-client-nodejs does.
    Object.defineProperty(message, 'receiptHandle', { value: renewed.receiptHandle, writable: false, enumerable: true, configurable: true })
  }

  /**
   * Leaves the client instance. Messages received and not acknowledged come back to the group after their invisible
   * duration. Calling it again is harmless.
   */
  shutdown(): Promise<void> {
    this.#running = false
    this.#closed ??= this.#native.shutdown()
    return this.#closed
  }
}
