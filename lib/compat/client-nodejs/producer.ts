/**
 * rocketmq-client-nodejs' `Producer` over this package's {@link EngineProducer}: `startup()`, `send(message)` with
 * the original's message options, its `SendReceipt`, `shutdown()`.
 *
 * @module
 */
import { Admin } from '../../admin'
import type { CredentialSettings } from '../../credentials'
import { ConfigError } from '../../errors'
import type { Message as EngineMessage, SendResult } from '../../message'
import { Producer as EngineProducer } from '../../producer'
import type { TlsSettings } from '../../tls'
import { BadRequestException, Code, UnsupportedException, asClientExceptions, startupFailure } from './errors'
import { BASE_OPTIONS, type BaseClientOptions, baseSettings, numberOption, optionsOf, refused } from './options'

/** What `send()` takes (rocketmq-client-nodejs' `MessageOptions`). */
export interface MessageOptions {
  /** The topic. */
  topic: string
  /** The payload. */
  body: Buffer
  /** The tag consumers filter on. */
  tag?: string
  /**
   * FIFO: the messages of one group go to one queue in the order sent (await each send of a group before the
   * next). Sent as the sharding key (`__SHARDINGKEY`), so consumers of that queue see them in order.
   */
  messageGroup?: string
  /** Business keys, indexed by the brokers. */
  keys?: string[]
  /** User properties. */
  properties?: Map<string, string>
  /** Deliver this many ms from now (a timer message; RocketMQ 5 brokers). */
  delay?: number
  /** Deliver at this time (a timer message; RocketMQ 5 brokers); wins over `delay`. */
  deliveryTimestamp?: Date
  /** Refused: priority messages are not supported. */
  priority?: number
  /** Refused: lite topics are not supported. */
  liteTopic?: string
}

/** A queue as a send receipt names it (rocketmq-client-nodejs' `MessageQueue`, the fields known here). */
export interface ReceiptMessageQueue {
  /** The topic, as a resource. */
  topic: { name: string; resourceNamespace: string }
  /** The queue's number on its broker. */
  queueId: number
  /** The broker. */
  broker: { name: string; id: number }
}

/** What `send()` resolves with. */
export class SendReceipt {
  /** The message id (a consumer's `MessageView.messageId`). */
  readonly messageId: string
  /** The transaction id: the message id, as for every non-transactional message. */
  readonly transactionId: string
  /** Always `''`: recalling is not supported here. */
  readonly recallHandle: string
  /** The message's offset in its queue. */
  readonly offset: number
  readonly #messageQueue: ReceiptMessageQueue

  /**
   * @param result the engine's send result
   * @param namespace the producer's namespace (`''` for none)
   */
  constructor(result: SendResult, namespace = '') {
    this.messageId = result.msgId
    this.transactionId = result.msgId
    this.recallHandle = ''
    this.offset = result.queueOffset
    this.#messageQueue = {
      topic: { name: result.topic, resourceNamespace: namespace },
      queueId: result.queueId,
      broker: { name: result.brokerName, id: 0 },
    }
  }

  /** The queue it went to. */
  get messageQueue(): ReceiptMessageQueue {
    return this.#messageQueue
  }
}

/** What rocketmq-client-nodejs' `recallMessage()` resolves with; never produced here (recalling is refused). */
export interface RecallReceipt {
  /** The recalled message's id. */
  readonly messageId: string
}

/** rocketmq-client-nodejs' producer options. */
export interface ProducerOptions extends BaseClientOptions {
  /** Topics whose routes `startup()` loads (and checks exist); one name or several. */
  topic?: string | string[]
  /** Attempts of a send (the first included). Default 3. */
  maxAttempts?: number
  /** Refused: transactional messages are not supported. */
  checker?: unknown
}

const PRODUCER_OPTIONS = [...BASE_OPTIONS, 'topic', 'maxAttempts', 'checker']

const MESSAGE_OPTIONS = new Set(['topic', 'body', 'tag', 'messageGroup', 'keys', 'properties', 'delay', 'deliveryTimestamp', 'priority', 'liteTopic'])

let producerCount = 0

function badMessage(message: string): BadRequestException {
  return new BadRequestException(Code.BAD_REQUEST, message)
}

/**
 * This engine's message for rocketmq-client-nodejs' message options.
 *
 * @param message the options
 * @throws BadRequestException naming an option that is unknown, refused or conflicting
 */
export function toEngineMessage(message: MessageOptions): EngineMessage {
  if (typeof message !== 'object' || message === null) {
    throw badMessage('send() takes message options { topic, body, ... }')
  }
  for (const name of Object.keys(message)) {
    if (!MESSAGE_OPTIONS.has(name)) {
      throw badMessage(`message option ${name} is not a message option of rocketmq-client-nodejs`)
    }
  }
  if (message.priority !== undefined) {
    throw badMessage('message option priority is not supported: priority messages need a RocketMQ 5 proxy')
  }
  if (message.liteTopic !== undefined) {
    throw badMessage('message option liteTopic is not supported: lite topics need a RocketMQ 5 proxy')
  }
  let deliverAt: number | undefined
  if (message.deliveryTimestamp !== undefined) {
    if (!(message.deliveryTimestamp instanceof Date) || Number.isNaN(message.deliveryTimestamp.getTime())) {
      throw badMessage('message option deliveryTimestamp must be a Date')
    }
    deliverAt = message.deliveryTimestamp.getTime()
  } else if (message.delay !== undefined && message.delay !== 0) {
    if (typeof message.delay !== 'number' || !Number.isFinite(message.delay) || message.delay < 0) {
      throw badMessage(`message option delay ${String(message.delay)} must be a number of ms >= 0`)
    }
    deliverAt = Date.now() + Math.round(message.delay)
  }
  if (deliverAt !== undefined && message.messageGroup !== undefined) {
    throw badMessage('delay/deliveryTimestamp is mutually exclusive with messageGroup')
  }
  const out: EngineMessage = { topic: message.topic, body: message.body }
  if (message.tag !== undefined) {
    out.tags = message.tag
  }
  if (message.keys !== undefined) {
    out.keys = message.keys
  }
  if (message.properties !== undefined) {
    if (!(message.properties instanceof Map)) {
      throw badMessage('message option properties must be a Map of string to string')
    }
    out.properties = Object.fromEntries(message.properties)
  }
  if (message.messageGroup !== undefined) {
    out.shardingKey = message.messageGroup
  }
  if (deliverAt !== undefined) {
    out.deliverTimeMs = deliverAt
  }
  return out
}

/**
 * rocketmq-client-nodejs' producer over this engine.
 *
 * ```ts
 * const producer = new Producer({ endpoints: '127.0.0.1:9876' })
 * await producer.startup()
 * const receipt = await producer.send({ topic: 'TopicTest', tag: 'demo', body: Buffer.from('hello') })
 * ```
 */
export class Producer {
  readonly #engine: EngineProducer
  readonly #topics: string[]
  readonly #namesrvAddr: string
  readonly #namespace: string | undefined
  readonly #credentials: CredentialSettings
  readonly #tls: TlsSettings
  #running = false
  #closed: Promise<void> | undefined

  /**
   * @param options rocketmq-client-nodejs' producer options; `endpoints` names NameServers
   * @throws ConfigError naming an option that is refused, unknown or invalid
   */
  constructor(options: ProducerOptions) {
    const given = optionsOf(options, PRODUCER_OPTIONS, 'producer')
    const base = baseSettings(given)
    refused(given, 'checker', 'transactional messages are not supported')
    const topic = given.topic
    if (topic !== undefined && typeof topic !== 'string' && !(Array.isArray(topic) && topic.every((t) => typeof t === 'string'))) {
      throw new ConfigError(`rocketmq-client-nodejs option topic ${JSON.stringify(topic)} must be a topic name or an array of them`)
    }
    const topics = base.topics.length > 0 ? base.topics : topic === undefined ? [] : ([] as string[]).concat(topic as string | string[])
    this.#topics = topics.filter((t) => t.trim() !== '')
    this.#namesrvAddr = base.namesrvAddr
    this.#namespace = base.namespace
    this.#credentials = base.credentials
    this.#tls = base.tls
    const maxAttempts = numberOption(given, 'maxAttempts', 1) ?? 3
    producerCount += 1
    this.#engine = new EngineProducer({
      namesrvAddr: base.namesrvAddr,
      // The proxy's producers have no group; the remoting protocol needs one, unique per producer of a process.
      producerGroup: `client_nodejs_producer_${process.pid}_${producerCount}`,
      sendMsgTimeout: base.requestTimeout,
      retryTimesWhenSendFailed: maxAttempts - 1,
      ...base.credentials,
      ...base.tls,
      ...(base.namespace === undefined ? {} : { namespace: base.namespace }),
    })
  }

  /**
   * Starts the producer and checks that the topics of its `topic`/`topics` options exist. Rejects with
   * `Startup the rocketmq client failed, clientId=..., error=...` whose `cause` is the exception (NotFoundException
   * 40402 for a topic the NameServers do not know).
   */
  async startup(): Promise<void> {
    try {
      await this.#engine.start()
      await this.#checkTopics()
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

  /**
   * Fails with TopicNotFoundError for a topic of the options the NameServers have no route for. Asked of the
   * NameServers themselves, as the proxy does: the producer's own route lookup would fall back to the brokers'
   * auto-created topics.
   */
  async #checkTopics(): Promise<void> {
    if (this.#topics.length === 0) {
      return
    }
    const admin = new Admin({ namesrvAddr: this.#namesrvAddr, ...this.#credentials, ...this.#tls })
    try {
      for (const topic of this.#topics) {
        // The admin has no namespace: it asks for the name the brokers use.
        await admin.getTopicRoute(this.#namespace === undefined ? topic : `${this.#namespace}%${topic}`)
      }
    } finally {
      await admin.close()
    }
  }

  /**
   * Sends a message; resolves once a broker stored it. With `messageGroup`, the group's queue; else round-robin,
   * retried on another broker up to `maxAttempts` in all.
   *
   * @param message the message options
   * @param transaction refused: transactional messages are not supported
   * @throws BadRequestException for a message refused before sending (naming the option), or the exception of the
   *   failure (NotFoundException for an unknown topic, TooManyRequestsException for a busy broker, ...)
   */
  async send(message: MessageOptions, transaction?: unknown): Promise<SendReceipt> {
    if (transaction !== undefined) {
      throw badMessage('send() with a transaction is not supported: transactional messages are not built')
    }
    if (!this.#running) {
      throw badMessage('Producer is not running now')
    }
    const engineMessage = toEngineMessage(message)
    return asClientExceptions(async () => new SendReceipt(await this.#engine.send(engineMessage), this.#namespace ?? ''))
  }

  /**
   * Refused: recalling timer messages needs a RocketMQ 5 proxy.
   *
   * @throws UnsupportedException always
   */
  async recallMessage(_topic: string, _recallHandle: string): Promise<RecallReceipt> {
    throw new UnsupportedException(Code.UNSUPPORTED, 'recallMessage is not supported: recalling needs a RocketMQ 5 proxy')
  }

  /**
   * Refused: transactional messages are not supported.
   *
   * @throws UnsupportedException always
   */
  beginTransaction(): never {
    throw new UnsupportedException(Code.UNSUPPORTED, 'beginTransaction is not supported: transactional messages are not built')
  }

  /** Stops the producer once its sends in flight settled. Calling it again is harmless. */
  shutdown(): Promise<void> {
    this.#running = false
    this.#closed ??= this.#engine.shutdown()
    return this.#closed
  }
}
