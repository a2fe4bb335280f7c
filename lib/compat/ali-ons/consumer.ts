/**
 * ali-ons' `Consumer` (its `MQPushConsumer`) over this package's push consumer.
 *
 * ali-ons starts a consumer when it is made and lets `subscribe()` come before or after `ready()`. The engine
 * starts with at least one subscription, so this one starts it at the first `subscribe()`; later subscriptions
 * join the running consumer (the engine follows its subscription manager). `ready()` resolves once every
 * subscription made so far is in force (queues assigned, pulls running).
 *
 * @module
 */
import { rmSync } from 'node:fs'

import type { ConsumedMessage } from '../../consumed-message'
import { Consumer as EngineConsumer } from '../../consumer'
import { createConsumerConfig } from '../../consumer-config'
import { ValidationError } from '../../errors'
import { type ConsumeConcurrentlyContext, ConsumeResult } from '../../listener'
import { MessageSelector } from '../../selector'
import { SubscriptionManager } from '../../subscription-manager'
import { AliOnsEmitter } from './emitter'
import { Message, fromConsumedMessage } from './message'
import { type AliOnsConsumerOptions, toConsumerConfig } from './options'
import type { AliOnsMessageQueue } from './producer'

/** What a handler returns to have its message delivered again later without an `'error'` event. */
const ACTION_RETRY: unique symbol = Symbol('ACTION_RETRY')

/**
 * A subscription's handler: called with each message and the queue it came from. Resolving (with anything but
 * {@link Consumer.ACTION_RETRY}) consumes the message; throwing, rejecting or answering `ACTION_RETRY` has it
 * delivered again later (CLUSTERING; a throw is also emitted as `'error'`) or dropped (broadcasting).
 */
export type AliOnsHandler = (message: Message, queue: AliOnsMessageQueue) => unknown

/** A SQL92 (or TAG) expression given as ali-ons' object form. */
export interface AliOnsSubscriptionExpression {
  /** `'SQL92'` or `'TAG'`. */
  expressionType: 'SQL92' | 'TAG'
  /** The expression. */
  subString: string
}

function toSelector(expression: string | AliOnsSubscriptionExpression | null | undefined): MessageSelector {
  if (expression === undefined || expression === null || expression === '*') {
    return MessageSelector.all()
  }
  if (typeof expression === 'string') {
    return MessageSelector.byTag(expression)
  }
  if (typeof expression === 'object' && typeof expression.subString === 'string') {
    return expression.expressionType === 'SQL92' ? MessageSelector.bySql(expression.subString) : MessageSelector.byTag(expression.subString)
  }
  throw new ValidationError(`subscribe() expression ${JSON.stringify(expression)} is not a tag expression or { expressionType, subString }`)
}

/**
 * ali-ons' push consumer.
 *
 * ```ts
 * const consumer = new Consumer({ nameSrv: ['127.0.0.1:9876'], consumerGroup: 'orders_consumer' })
 * consumer.subscribe('orders', 'created || paid', async (msg) => {
 *   console.log(msg.msgId, msg.tags, msg.body.toString())
 * })
 * consumer.on('error', (err) => console.error(err))
 * ```
 */
export class Consumer extends AliOnsEmitter {
  /** Return it from a handler to have the message delivered again later, without an `'error'` event. */
  static readonly ACTION_RETRY: typeof ACTION_RETRY = ACTION_RETRY

  readonly #engine: EngineConsumer
  readonly #subscriptions = new SubscriptionManager()
  readonly #handlers = new Map<string, AliOnsHandler>()
  readonly #temporaryOffsetDir: string | undefined
  #started: Promise<void> | undefined
  #closed: Promise<void> | undefined

  /**
   * @param options ali-ons' consumer options
   * @throws ConfigError naming an option that is missing, refused, unknown or invalid
   */
  constructor(options: AliOnsConsumerOptions) {
    super()
    const { config, temporaryOffsetDir } = toConsumerConfig(options)
    try {
      this.#engine = new EngineConsumer({
        config: createConsumerConfig(config),
        subscriptionManager: this.#subscriptions,
        messageListener: (messages, context) => this.#consume(messages, context),
        // A handler's failure is reported by #consume; the engine's own listener failures (a timeout) go to 'error'.
        onListenerError: (error) => this.reportError(error),
      })
    } catch (error) {
      if (temporaryOffsetDir !== undefined) {
        rmSync(temporaryOffsetDir, { recursive: true, force: true })
      }
      throw error
    }
    this.#temporaryOffsetDir = temporaryOffsetDir
    this.#engine.on('error', (error) => this.reportError(error))
  }

  /** The consumer group. */
  get consumerGroup(): string {
    return this.#engine.config.consumerGroup
  }

  /**
   * Resolves once every subscription made so far is in force; at once when there is none yet. Rejects when the
   * consumer could not start (the failure is also emitted as `'error'`).
   *
   * @param callback called with the outcome instead, when given
   */
  ready(callback?: (error?: Error) => void): Promise<void> {
    const ready = (async () => {
      if (this.#started !== undefined) {
        await this.#started
        await this.#engine.whenSubscriptionsApplied()
      }
    })()
    if (callback !== undefined) {
      ready.then(() => callback(), (error: Error) => callback(error))
      ready.catch(() => undefined)
    }
    return ready
  }

  /**
   * Consumes every message of a topic. One handler per topic.
   *
   * @param topic the topic
   * @param handler called with each message
   * @throws ValidationError when the topic already has a handler or the handler is not a function;
   *   InvalidTopicError for a bad topic name
   */
  subscribe(topic: string, handler: AliOnsHandler): void
  /**
   * Consumes a topic: every message (`'*'`, `null` or no expression), a tag expression (`'a || b'`), or
   * `{ expressionType: 'SQL92', subString }`. One handler per topic.
   *
   * @param topic the topic
   * @param expression which messages
   * @param handler called with each message
   * @throws ValidationError when the topic already has a handler, the handler is not a function or the
   *   expression is not one; InvalidTopicError for a bad topic name
   */
  subscribe(topic: string, expression: string | AliOnsSubscriptionExpression | null | undefined, handler: AliOnsHandler): void
  subscribe(
    topic: string,
    expressionOrHandler: string | AliOnsSubscriptionExpression | AliOnsHandler | null | undefined,
    maybeHandler?: AliOnsHandler,
  ): void {
    const handler = typeof expressionOrHandler === 'function' ? expressionOrHandler : maybeHandler
    const expression = typeof expressionOrHandler === 'function' ? undefined : expressionOrHandler
    if (typeof handler !== 'function') {
      throw new ValidationError('subscribe() needs a handler function (message, queue) => Promise')
    }
    if (this.#closed !== undefined) {
      throw new ValidationError('subscribe() after close()')
    }
    if (this.#handlers.has(topic)) {
      throw new ValidationError(`topic ${topic} already has a handler: one handler per topic`)
    }
    this.#subscriptions.subscribe(topic, toSelector(expression))
    this.#handlers.set(topic, handler)
    if (this.#started === undefined) {
      this.#started = this.#engine.start()
      this.#started.catch((error: unknown) => this.reportError(error))
    }
  }

  /** Calls the topic's handler for the (single) message of a listener call. */
  async #consume(messages: ConsumedMessage[], context: ConsumeConcurrentlyContext): Promise<ConsumeResult> {
    for (const consumed of messages) {
      const handler = this.#handlers.get(consumed.topic)
      if (handler === undefined) {
        continue
      }
      const message = fromConsumedMessage(consumed)
      const { topic, brokerName, queueId } = context.messageQueue
      try {
        if ((await handler(message, { topic, brokerName, queueId })) === ACTION_RETRY) {
          return ConsumeResult.RECONSUME_LATER
        }
      } catch (error) {
        this.reportError(handlerFailure(error, message))
        return ConsumeResult.RECONSUME_LATER
      }
    }
    return ConsumeResult.SUCCESS
  }

  /**
   * Stops pulling, waits for the handler calls running (up to 10 s), commits the offsets and leaves the group;
   * lets the process exit. Calling it again is harmless.
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      try {
        const started = this.#started === undefined ? false : await this.#started.then(() => true, () => false)
        if (started) {
          await this.#engine.shutdown()
        }
      } finally {
        if (this.#temporaryOffsetDir !== undefined) {
          rmSync(this.#temporaryOffsetDir, { recursive: true, force: true })
        }
      }
      this.emit('close')
    })()
    return this.#closed
  }
}

/** The `'error'` of a handler's failure: its own error, with the message's topic and id put in front. */
function handlerFailure(error: unknown, message: Message): Error {
  const failure = error instanceof Error ? error : new Error(String(error))
  failure.message = `handler of topic ${message.topic} failed on message ${message.msgId ?? ''} (delivered again later): ${failure.message}`
  return failure
}
