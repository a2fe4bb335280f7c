/**
 * The message producer.
 *
 * @module
 */
import { AbortWatch, abortError, checkSignal } from './abort'
import type { NativeProducer } from './binding'
import { type ProducerConfig, resolveProducerConfig } from './config'
import { ValidationError } from './errors'
import { type Message, type SendResult, fromNativeSendResult, toNativeMessage } from './message'
import { nativeBinding } from './native'
import { callNative, callNativeSync } from './native-errors'
import { SendDispatch } from './send-dispatch'

/** Options of {@link Producer.start}. */
export interface ProducerStartOptions {
  /**
   * Aborts the start: already aborted, `start()` rejects at once; aborted while starting, the producer is shut down
   * again as soon as the start ends and `start()` rejects. Either way with an `AbortError` whose `cause` is the
   * signal's reason. It has no effect once `start()` resolved.
   */
  signal?: AbortSignal
}

/**
 * Sends messages to RocketMQ topics. Queues are chosen round-robin across brokers; a failed send is
 * retried on another broker up to `retryTimesWhenSendFailed` times, all within `sendMsgTimeout`; bodies
 * of `compressMsgBodyOverHowmuch` bytes or more are zlib-compressed, as in Java, except that a body zlib
 * cannot shrink is sent plain (Java would send the bigger compressed one).
 *
 * The producer shares the process's client instance (connections, heartbeat) with the other clients of the
 * same NameServer list and `instanceName`; see {@link Producer.clientId}.
 *
 * ```ts
 * const producer = new Producer({ producerGroup: 'orders-producer', namesrvAddr: '127.0.0.1:9876' })
 * await producer.start()
 * const result = await producer.send({ topic: 'orders', body: 'hello', tags: 'created', keys: ['order-1'] })
 * await producer.shutdown()
 * ```
 *
 * Errors are {@link RocketMQError} subclasses: ValidationError for a bad message, ProducerStateError
 * when not started, TopicNotFoundError, MessageSendError, and the transport errors of ClientError.
 */
export class Producer {
  readonly #native: NativeProducer
  readonly #dispatch: SendDispatch

  /**
   * @param config producer settings; `namesrvAddr` defaults to the `NAMESRV_ADDR` environment variable
   * @throws ConfigError when a setting is missing or invalid
   */
  constructor(config: ProducerConfig) {
    const native = resolveProducerConfig(config)
    const { NativeProducer: NativeProducerClass } = nativeBinding()
    // The dispatch exists before the native producer, which takes its completion callback.
    this.#dispatch = new SendDispatch(() => this.#native)
    // The native constructor checks every rule and applies the defaults; it throws ConfigError at once.
    this.#native = callNativeSync('producer', () => new NativeProducerClass(native, this.#dispatch.onComplete))
  }

  /**
   * Starts the producer: joins the client instance and registers the group with the brokers. Call once before
   * sending.
   *
   * @param options an `AbortSignal` that aborts the start
   * @throws ValidationError when `signal` is not an AbortSignal
   * @throws AbortError when the signal aborted before or during the start (the producer is shut down again)
   */
  async start(options: ProducerStartOptions = {}): Promise<void> {
    const signal = checkSignal(options.signal, 'start signal', 'argument')
    if (signal?.aborted === true) {
      throw abortError(signal, 'the producer start')
    }
    const watch = new AbortWatch([signal])
    try {
      await callNative('producer', () => this.#native.start())
    } finally {
      watch.dispose()
    }
    if (watch.aborted !== undefined) {
      await this.shutdown()
      throw abortError(watch.aborted, 'the producer start')
    }
  }

  /**
   * Stops the producer: unregisters its group from the brokers and leaves the client instance (the last client
   * of the instance closes the connections). Sends after this fail with ProducerStateError.
   */
  async shutdown(): Promise<void> {
    await callNative('producer', () => this.#native.shutdown())
    this.#dispatch.dispose()
  }

  /**
   * The id brokers know this client by, `ip@instanceName[@unitName]` (the Java client's form); `undefined` until
   * `start()` resolved. Clients that share a client instance share the id.
   */
  get clientId(): string | undefined {
    return this.#native.clientId ?? undefined
  }

  /**
   * Sends one message and resolves once a broker stored it.
   *
   * @param message the message
   * @throws ValidationError when the message is invalid (nothing is sent)
   */
  send(message: Message): Promise<SendResult> {
    // Not `async`: that would add promise hops to every send. Bad input still rejects, never throws.
    try {
      return this.#dispatch.submit(toNativeMessage(message))
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /**
   * Sends several messages of one topic as one batch, stored together in one queue. The result's
   * `queueOffset` is the first message's offset; the others follow it. `msgId` joins the ids with `,`.
   *
   * @param messages non-empty list of messages, all to the same topic, without delay levels
   * @throws ValidationError when the list is empty, mixes topics, or a message is invalid
   */
  async sendBatch(messages: readonly Message[]): Promise<SendResult> {
    if (!Array.isArray(messages)) {
      throw new ValidationError(`sendBatch needs an array of messages; got ${messages === null ? 'null' : typeof messages}`)
    }
    // The batch rules (not empty, one topic, no delay levels) are the native engine's.
    const natives = messages.map((message) => toNativeMessage(message))
    return fromNativeSendResult(await callNative('producer', () => this.#native.sendBatch(natives)))
  }
}
