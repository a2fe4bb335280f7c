/**
 * rocketmq-client-nodejs' `MessageView`: a received message, read-only, with the fields and getters of the original.
 *
 * @module
 */
import type { NativePoppedMessage } from '../../binding'
import type { ConsumedMessage } from '../../consumed-message'

/** An address a message came through (rocketmq-client-nodejs' `Endpoints`, the fields it shows). */
export interface MessageEndpoints {
  /** `host:port`. */
  readonly facade: string
  /** The address as host and port. */
  readonly addressesList: ReadonlyArray<{ readonly host: string; readonly port: number }>
}

/**
 * System properties the brokers and clients set, shown as fields of their own (or not at all) rather than in
 * {@link MessageView.properties}, as the proxy leaves them out of a message's user properties.
 */
const SYSTEM_PROPERTIES: ReadonlySet<string> = new Set([
  'TAGS', 'KEYS', 'UNIQ_KEY', 'WAIT', 'DELAY', 'RETRY_TOPIC', 'REAL_TOPIC', 'REAL_QID', 'TRAN_MSG', 'PGROUP',
  'MIN_OFFSET', 'MAX_OFFSET', 'ORIGIN_MESSAGE_ID', 'RECONSUME_TIME', 'MAX_RECONSUME_TIMES', 'CONSUME_START_TIME',
  'POP_CK', 'POP_CK_OFFSET', '1ST_POP_TIME', 'TIMER_DELIVER_MS', 'TIMER_DELAY_MS', 'TIMER_DELAY_SEC',
  'TIMER_ENQUEUE_MS', 'TIMER_DEQUEUE_MS', 'TIMER_ROLL_TIMES', 'TIMER_OUT_MS', 'TIMER_DEL_UNIQKEY', 'TIMER_DELAY_LEVEL',
  'CLUSTER', 'MSG_REGION', 'TRACE_ON', 'INNER_NUM', 'INNER_BASE', '__BORNHOST', 'BORN_TIMESTAMP', '__CRC32#',
  'DUP_INFO', 'EXTEND_UNIQ_INFO', 'TRAN_PREPARED_QUEUE_OFFSET', 'CORRECTION_FLAG', 'TRANSFER_FLAG', 'MQ2_FLAG',
])

/** The property carrying a message's group (RocketMQ 5's name for the sharding key). */
const SHARDING_KEY = '__SHARDINGKEY'

/** What a {@link MessageView} is made of; built by the consumers of this subpath, not by users. */
export interface MessageViewInit {
  /** The client message id (UNIQ_KEY). */
  messageId: string
  /** The topic (a redelivery's too). */
  topic: string
  /** The payload. */
  body: Buffer
  /** The tag, when it has one. */
  tag?: string
  /** The keys. */
  keys: string[]
  /** Every property of the stored message, the system ones included. */
  properties: Readonly<Record<string, string>>
  /** `ip:port` of the producer. */
  bornHost: string
  /** Ms since the epoch. */
  bornTimestamp: number
  /** Deliveries before this one. */
  reconsumeTimes: number
  /** Queue offset. */
  offset: number
  /** `ip:port` of the broker that stored it. */
  storeHost: string
  /** The receipt handle; `''` for a push consumer's message (its consumer acknowledges it). */
  receiptHandle: string
}

function endpointsOf(address: string): MessageEndpoints {
  const colon = address.lastIndexOf(':')
  const host = colon === -1 ? address : address.slice(0, colon)
  const port = colon === -1 ? 0 : Number(address.slice(colon + 1))
  return { facade: address, addressesList: [{ host, port }] }
}

function dateOf(ms: string | undefined): Date | undefined {
  if (ms === undefined) {
    return undefined
  }
  const value = Number(ms)
  return Number.isFinite(value) ? new Date(value) : undefined
}

/** A received message. */
export class MessageView {
  /** The message id the producer gave it (the `messageId` of its send receipt). */
  readonly messageId: string
  /** The topic. */
  readonly topic: string
  /** The payload (decompressed). */
  readonly body: Buffer
  /** Always false: bodies are not checked against a digest here (the brokers' protocol carries none). */
  readonly corrupted: boolean = false
  /** When this client got it from the broker. */
  readonly transportDeliveryTimestamp?: Date
  /** The tag, when it has one. */
  readonly tag?: string
  /** The message group (sent with `messageGroup`), when it has one. */
  readonly messageGroup?: string
  /** When it was to be delivered (sent with `delay` or `deliveryTimestamp`), when it was a timer message. */
  readonly deliveryTimestamp?: Date
  /** The keys; empty when none. */
  readonly keys: string[]
  /** The producer's address, `ip:port`. */
  readonly bornHost: string
  /** When the producer sent it. */
  readonly bornTimestamp?: Date
  /** 1 for the first delivery, one more for each redelivery. */
  deliveryAttempt?: number
  /** The broker that stored it. */
  readonly endpoints: MessageEndpoints
  /** The receipt handle a SimpleConsumer acknowledges it with (renewed by `changeInvisibleDuration`). */
  readonly receiptHandle: string
  /** Its offset in its queue. */
  readonly offset?: number
  /** When this view was made. */
  readonly decodeTimestamp: Date
  /** The user properties (the system ones are fields of their own); `__SHARDINGKEY` is kept, as the proxy does. */
  readonly properties: Map<string, string> = new Map<string, string>()
  /** Lite topics are not supported here: always undefined. */
  readonly liteTopic?: string
  /** Priority messages are not supported here: always undefined. */
  readonly priority?: number

  /** @param init the message's fields (made by this subpath's consumers) */
  constructor(init: MessageViewInit) {
    this.messageId = init.messageId
    this.topic = init.topic
    this.body = init.body
    this.decodeTimestamp = new Date()
    this.transportDeliveryTimestamp = this.decodeTimestamp
    if (init.tag !== undefined) {
      this.tag = init.tag
    }
    const group = init.properties[SHARDING_KEY]
    if (group !== undefined) {
      this.messageGroup = group
    }
    const deliveryTimestamp = dateOf(init.properties.TIMER_DELIVER_MS)
    if (deliveryTimestamp !== undefined) {
      this.deliveryTimestamp = deliveryTimestamp
    }
    this.keys = [...init.keys]
    this.bornHost = init.bornHost
    this.bornTimestamp = new Date(init.bornTimestamp)
    this.deliveryAttempt = init.reconsumeTimes + 1
    this.endpoints = endpointsOf(init.storeHost)
    this.receiptHandle = init.receiptHandle
    this.offset = init.offset
    for (const [name, value] of Object.entries(init.properties)) {
      if (!SYSTEM_PROPERTIES.has(name)) {
        this.properties.set(name, value)
      }
    }
  }

  /** The lite topic: always undefined here. */
  getLiteTopic(): string | undefined {
    return this.liteTopic
  }

  /** The priority: always undefined here. */
  getPriority(): number | undefined {
    return this.priority
  }

  /** The message id. */
  getMessageId(): string {
    return this.messageId
  }

  /** The topic. */
  getTopic(): string {
    return this.topic
  }

  /** A copy of the body. */
  getBody(): Buffer {
    return Buffer.from(this.body)
  }

  /** A copy of the user properties. */
  getProperties(): Map<string, string> {
    return new Map(this.properties)
  }

  /** The tag, or undefined. */
  getTag(): string | undefined {
    return this.tag
  }

  /** A copy of the keys. */
  getKeys(): string[] {
    return [...this.keys]
  }

  /** The message group, or undefined. */
  getMessageGroup(): string | undefined {
    return this.messageGroup
  }

  /** The delivery time of a timer message, or undefined. */
  getDeliveryTimestamp(): Date | undefined {
    return this.deliveryTimestamp
  }

  /** The producer's address. */
  getBornHost(): string {
    return this.bornHost
  }

  /** When the producer sent it. */
  getBornTimestamp(): Date | undefined {
    return this.bornTimestamp
  }

  /** The delivery attempt, from 1. */
  getDeliveryAttempt(): number | undefined {
    return this.deliveryAttempt
  }

  /** Raises the delivery attempt by one and returns it. */
  incrementAndGetDeliveryAttempt(): number {
    this.deliveryAttempt = (this.deliveryAttempt ?? 0) + 1
    return this.deliveryAttempt
  }
}

/**
 * The view of a push consumer's message.
 *
 * @param message the consumed message
 */
export function viewOfConsumed(message: ConsumedMessage): MessageView {
  const init: MessageViewInit = {
    messageId: message.msgId,
    topic: message.topic,
    body: message.body,
    keys: message.keys,
    properties: message.properties,
    bornHost: message.bornHost,
    bornTimestamp: message.bornTimestamp,
    reconsumeTimes: message.reconsumeTimes,
    offset: Number(message.queueOffset),
    storeHost: message.storeHost,
    receiptHandle: '',
  }
  if (message.tags !== undefined) {
    init.tag = message.tags
  }
  return new MessageView(init)
}

/**
 * The view of a simple consumer's message.
 *
 * @param message the popped message
 */
export function viewOfPopped(message: NativePoppedMessage): MessageView {
  const init: MessageViewInit = {
    messageId: message.msgId,
    topic: message.topic,
    body: message.body,
    keys: message.keys,
    properties: message.properties,
    bornHost: message.bornHost,
    bornTimestamp: message.bornTimestamp,
    reconsumeTimes: message.reconsumeTimes,
    offset: message.queueOffset,
    storeHost: message.storeHost,
    receiptHandle: message.receiptHandle,
  }
  if (message.tags !== undefined && message.tags !== null) {
    init.tag = message.tags
  }
  return new MessageView(init)
}
