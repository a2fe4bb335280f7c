/**
 * The message producer.
 *
 * @module
 */
import { AbortWatch, abortError, checkSignal } from './abort'
import type { NativeProducer, NativeQueueChoice } from './binding'
import { type ProducerConfig, resolveProducerConfig } from './config'
import type { MessageQueue } from './consumer-config'
import { ValidationError } from './errors'
import { type Message, type SendResult, fromNativeSendResult, toNativeMessage } from './message'
import { type ProducerMetrics, fromNativeProducerMetrics } from './metrics'
import { nativeBinding } from './native'
import { callNative, callNativeSync } from './native-errors'
import {
  type MessageQueueSelector,
  type SendBatchOptions,
  type SendOptions,
  checkSendOptions,
  runSelector,
  selectorQueues,
  toNativeQueue,
} from './ordered-send'
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
 * retried on another broker up to `retryTimesWhenSendFailed` times, all within `sendMsgTimeout`. Ordered sends
 * (a message's `shardingKey`, or the `queue` / `selector` options of {@link Producer.send}) go to their one queue
 * and are tried once, as Java's selector send. Bodies
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
  readonly #group: string

  /**
   * @param config producer settings; `namesrvAddr` defaults to the `NAMESRV_ADDR` environment variable
   * @throws ConfigError when a setting is missing or invalid
   */
  constructor(config: ProducerConfig) {
    const native = resolveProducerConfig(config)
    this.#group = native.producerGroup
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
   * The producer's counters now: messages sent, failed and retried, and the send latency histogram. Counts
   * keep growing over the producer's life (zeros before the first send); no I/O. See the README's
   * "Observability" for the Prometheus and OpenTelemetry exporters that read it.
   */
  metrics(): ProducerMetrics {
    return fromNativeProducerMetrics(this.#group, this.#native.metrics())
  }

  /**
   * Sends one message and resolves once a broker stored it.
   *
   * The queue: the message's `shardingKey`'s when it has one (see {@link Message.shardingKey}); else
   * `options.queue` (Java's `send(msg, MessageQueue)`); else the one `options.selector` returns (Java's
   * `send(msg, MessageQueueSelector, arg)`: called here, on the JavaScript thread, with the topic's writable queues
   * from {@link Producer.writableQueues}); else the next one round-robin, retried on another broker after a
   * failure. A send to a key's, a named or a selected queue is tried once: a failure rejects it (as Java's, which
   * would otherwise break the order by switching queues).
   *
   * ```ts
   * await producer.send({ topic: 'orders', body, shardingKey: orderId })              // same order, same queue
   * await producer.send({ topic: 'orders', body }, { queue: { brokerName: 'broker-a', queueId: 3 } })
   * await producer.send({ topic: 'orders', body }, { selector: (queues, _message, id: number) => queues[id % queues.length]!, arg: 42 })
   * ```
   *
   * @param message the message
   * @param options a queue or a queue selector for this send
   * @throws ValidationError when the message or the options are invalid, the named queue is not a writable queue
   *   of the topic, a message with a `shardingKey` is also given a queue or selector, or the selector throws or
   *   returns anything but one of the queues it was given (nothing is sent)
   */
  send<A = unknown>(message: Message, options?: SendOptions<A>): Promise<SendResult> {
    // Not `async`: that would add promise hops to every send. Bad input still rejects, never throws.
    try {
      const native = toNativeMessage(message)
      if (options === undefined) {
        return this.#dispatch.submit(native)
      }
      const checked = checkSendOptions(options)
      if (checked.kind === 'queue') {
        return this.#dispatch.submit(native, checked.queue)
      }
      return this.#sendSelected(message, native.topic, checked.selector, checked.arg).then((queue) =>
        this.#dispatch.submit(native, { topic: queue.topic, brokerName: queue.brokerName, queueId: queue.queueId }),
      )
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /** The queue `selector` picks for `message` among the topic's writable queues, checked. */
  async #sendSelected(message: Message, topic: string, selector: MessageQueueSelector<unknown>, arg: unknown): Promise<MessageQueue> {
    const queues = selectorQueues(await callNative('producer', () => this.#native.writableQueues(topic)))
    return runSelector(selector, queues, message, arg)
  }

  /**
   * The writable queues of `topic` (on master brokers, with write permission), sorted by broker name then queue id:
   * the list a {@link MessageQueueSelector} is given and a `shardingKey` is hashed over, as the next send would see
   * it (from the cached route; a topic no broker has yet shows the queues the broker's auto-create template gives).
   *
   * @param topic the topic
   * @throws ValidationError when the topic name is invalid
   * @throws ProducerStateError when the producer is not running
   * @throws TopicNotFoundError when no broker has the topic and none creates topics automatically
   */
  async writableQueues(topic: string): Promise<MessageQueue[]> {
    if (typeof topic !== 'string') {
      throw new ValidationError(`writableQueues needs a topic name; got ${topic === null ? 'null' : typeof topic}`)
    }
    const natives = await callNative('producer', () => this.#native.writableQueues(topic))
    return natives.map(({ topic: name, brokerName, queueId }) => ({ topic: name, brokerName, queueId }))
  }

  /**
   * Sends several messages of one topic as one batch, stored together in one queue. The result's
   * `queueOffset` is the first message's offset; the others follow it. `msgId` joins the ids with `,`.
   *
   * The queue: `options.queue` when given (Java's `send(Collection<Message>, MessageQueue)`); else the messages'
   * `shardingKey`'s when they have one (all the same key, or none); else the next one round-robin. A batch to a
   * named or a key's queue is tried once.
   *
   * @param messages non-empty list of messages, all to the same topic, without delay levels
   * @param options the queue to send the batch to
   * @throws ValidationError when the list is empty, mixes topics or sharding keys, a message is invalid, or the
   *   queue is not a writable queue of the topic
   */
  async sendBatch(messages: readonly Message[], options?: SendBatchOptions): Promise<SendResult> {
    if (!Array.isArray(messages)) {
      throw new ValidationError(`sendBatch needs an array of messages; got ${messages === null ? 'null' : typeof messages}`)
    }
    // The batch rules (not empty, one topic, no delay levels) are the native engine's.
    const natives = messages.map((message) => toNativeMessage(message))
    let queue: NativeQueueChoice | undefined
    if (options !== undefined) {
      if (typeof options !== 'object' || options === null) {
        throw new ValidationError(`sendBatch options must be an object { queue }; got ${options === null ? 'null' : typeof options}`)
      }
      queue = toNativeQueue(options.queue)
    }
    return fromNativeSendResult(await callNative('producer', () => this.#native.sendBatch(natives, queue)))
  }
}
