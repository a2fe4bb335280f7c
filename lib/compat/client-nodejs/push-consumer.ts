/**
 * rocketmq-client-nodejs' `PushConsumer` over this package's push consumer: `subscriptions` (a Map of topic to
 * filter), `messageListener.consume(messageView)` answering a {@link ConsumeResult}, `startup()`, `shutdown()`,
 * `subscribe()` / `unsubscribe()` while running.
 *
 * The engine pulls with the brokers' own protocol and shares the queues among the group's members itself (no
 * proxy, no server-side assignment). A message whose listener answers FAILURE, throws, or answers anything but a
 * {@link ConsumeResult} is delivered again later, as in rocketmq-client-nodejs.
 *
 * @module
 */
import type { ConsumedMessage } from '../../consumed-message'
import { Consumer as EngineConsumer } from '../../consumer'
import { type ConsumerConfig, createConsumerConfig } from '../../consumer-config'
import { ConfigError } from '../../errors'
import { type ConsumeConcurrentlyContext, ConsumeResult as EngineResult } from '../../listener'
import { SubscriptionManager } from '../../subscription-manager'
import { ConsumeResult, ConsumeResultSuspend, delayLevelFor } from './consume-result'
import { asClientExceptions, startupFailure } from './errors'
import type { FilterExpression } from './filter-expression'
import { type MessageView, viewOfConsumed } from './message-view'
import {
  BASE_OPTIONS,
  type BaseClientOptions,
  baseSettings,
  consumerGroupOption,
  numberOption,
  onlyValue,
  optionsOf,
  subscriptionsOption,
} from './options'

/** What a push consumer calls with each message (rocketmq-client-nodejs' `MessageListener`). */
export interface MessageListener {
  /**
   * Consumes one message.
   *
   * @param messageView the message
   * @returns SUCCESS, FAILURE (delivered again later) or a ConsumeResultSuspend; a throw means FAILURE
   */
  consume(messageView: MessageView): ConsumeResult | Promise<ConsumeResult>
}

/** rocketmq-client-nodejs' push consumer options. */
export interface PushConsumerOptions extends BaseClientOptions {
  /** The consumer group (required). */
  consumerGroup: string
  /** Topic to its filter: a {@link FilterExpression} or a tag expression (`'*'`, `'a || b'`). */
  subscriptions: Map<string, FilterExpression | string>
  /** Called with each message. */
  messageListener: MessageListener
  /** Messages held in memory for the listener, all queues together. Default 1024. */
  maxCacheMessageCount?: number
  /** Body bytes held in memory, all queues together (used in whole MiB). Default 64 MiB. */
  maxCacheMessageSizeInBytes?: number
  /** How long a broker may hold a pull that finds nothing, ms. Default 30000. */
  longPollingTimeout?: number
  /** Only `false`: FIFO acceleration is a proxy feature. */
  enableFifoConsumeAccelerator?: boolean
}

const PUSH_OPTIONS = [
  ...BASE_OPTIONS,
  'consumerGroup',
  'subscriptions',
  'messageListener',
  'maxCacheMessageCount',
  'maxCacheMessageSizeInBytes',
  'longPollingTimeout',
  'enableFifoConsumeAccelerator',
]

const MIB = 1024 * 1024

/**
 * rocketmq-client-nodejs' push consumer over this engine.
 *
 * ```ts
 * const consumer = new PushConsumer({
 *   endpoints: '127.0.0.1:9876',
 *   consumerGroup: 'orders_consumer',
 *   subscriptions: new Map([['orders', '*']]),
 *   messageListener: { async consume(view) { console.log(view.body.toString()); return ConsumeResult.SUCCESS } },
 * })
 * await consumer.startup()
 * ```
 */
export class PushConsumer {
  readonly #engine: EngineConsumer
  readonly #subscriptions = new SubscriptionManager()
  readonly #listener: MessageListener
  readonly #group: string
  #running = false
  #closed: Promise<void> | undefined

  /**
   * @param options rocketmq-client-nodejs' push consumer options; `endpoints` names NameServers
   * @throws ConfigError naming an option that is missing, refused, unknown or invalid
   */
  constructor(options: PushConsumerOptions) {
    const given = optionsOf(options, PUSH_OPTIONS, 'push consumer')
    const base = baseSettings(given)
    this.#group = consumerGroupOption(given)
    const listener = given.messageListener as MessageListener | undefined
    if (typeof listener !== 'object' || listener === null || typeof listener.consume !== 'function') {
      throw new ConfigError('rocketmq-client-nodejs option messageListener is required: an object with consume(messageView)')
    }
    this.#listener = listener
    onlyValue(given, 'enableFifoConsumeAccelerator', false, 'FIFO acceleration is a RocketMQ 5 proxy feature')
    for (const [topic, filter] of subscriptionsOption(given)) {
      this.#subscriptions.subscribe(topic, filter.toSelector())
    }
    const longPolling = numberOption(given, 'longPollingTimeout', 1) ?? 30000
    const config: ConsumerConfig = {
      namesrvAddr: base.namesrvAddr,
      consumerGroup: this.#group,
      pullThresholdForAll: numberOption(given, 'maxCacheMessageCount', 1) ?? 1024,
      pullThresholdSizeForAll: Math.max(1, Math.ceil((numberOption(given, 'maxCacheMessageSizeInBytes', 1) ?? 64 * MIB) / MIB)),
      brokerSuspendMaxTimeMillis: longPolling,
      consumerTimeoutMillisWhenSuspend: longPolling + base.requestTimeout,
      consumerTimeoutMillisOfRequest: base.requestTimeout,
      ...base.credentials,
      ...base.tls,
    }
    if (base.namespace !== undefined) {
      config.namespace = base.namespace
    }
    this.#engine = new EngineConsumer({
      config: createConsumerConfig(config),
      subscriptionManager: this.#subscriptions,
      messageListener: (messages, context) => this.#consume(messages, context),
    })
  }

  /**
   * Starts consuming. Rejects with `Startup the rocketmq client failed, clientId=..., error=...` whose `cause` is
   * the exception (NotFoundException 40402 for a topic the NameServers do not know).
   */
  async startup(): Promise<void> {
    try {
      await this.#engine.start()
      await this.#engine.whenSubscriptionsApplied()
    } catch (error) {
      const clientId = this.#engine.clientId ?? ''
      await this.#engine.shutdown().catch(() => undefined)
      throw startupFailure(clientId, error)
    }
    this.#running = true
  }

  /** Whether `startup()` succeeded and `shutdown()` was not called. */
  isRunning(): boolean {
    return this.#running
  }

  /** Calls the listener with each message (one per call). */
  async #consume(messages: ConsumedMessage[], context: ConsumeConcurrentlyContext): Promise<EngineResult> {
    for (const message of messages) {
      // A throw propagates: the engine counts it as a failed call (RECONSUME_LATER) and warns on stderr, at most once
      // a second, as the original logs a listener's exception.
      const result: unknown = await this.#listener.consume(viewOfConsumed(message))
      if (result instanceof ConsumeResultSuspend) {
        context.delayLevelWhenNextConsume = delayLevelFor(result.suspendTimeMs)
        return EngineResult.RECONSUME_LATER
      }
      if (result !== ConsumeResult.SUCCESS) {
        return EngineResult.RECONSUME_LATER
      }
    }
    return EngineResult.SUCCESS
  }

  /**
   * Adds (or changes) a topic's subscription while running.
   *
   * @param topic the topic
   * @param filterExpression its filter
   * @throws NotFoundException when the topic does not exist
   */
  async subscribe(topic: string, filterExpression: FilterExpression): Promise<void> {
    await asClientExceptions(async () => {
      this.#subscriptions.subscribe(topic, filterExpression.toSelector())
      if (this.#running) {
        await this.#engine.whenSubscriptionsApplied()
      }
    })
  }

  /**
   * Stops consuming a topic.
   *
   * @param topic the topic
   */
  unsubscribe(topic: string): void {
    this.#subscriptions.unsubscribe(topic)
  }

  /** The consumer group. */
  getConsumerGroup(): string {
    return this.#group
  }

  /** The id brokers know this client by, `ip@instanceName`; `''` before `startup()`. */
  getClientId(): string {
    return this.#engine.clientId ?? ''
  }

  /**
   * Stops pulling, waits for the listener calls running, commits the offsets and leaves the group. Calling it
   * again is harmless.
   */
  shutdown(): Promise<void> {
    this.#running = false
    this.#closed ??= this.#engine.shutdown()
    return this.#closed
  }
}
