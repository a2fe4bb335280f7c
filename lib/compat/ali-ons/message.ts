/**
 * ali-ons' `Message`: the object a producer sends and the object a consumer's handler receives. As in ali-ons,
 * the tag, keys and delay level live in `properties` (`TAGS`, `KEYS`, `DELAY`) and the accessors read and write
 * them there.
 *
 * @module
 */
import type { ConsumedMessage } from '../../consumed-message'
import type { Message as EngineMessage } from '../../message'
import { ValidationError } from '../../errors'

/** Property names ali-ons' accessors use. */
const TAGS = 'TAGS'
const KEYS = 'KEYS'
const DELAY = 'DELAY'
const WAIT = 'WAIT'
const RETRY_TOPIC = 'RETRY_TOPIC'
const ORIGIN_MESSAGE_ID = 'ORIGIN_MESSAGE_ID'

/**
 * A message, to send or received. Received messages have every field; a message built to send has `topic`,
 * `body`, `properties` and `flag`, the rest `null`.
 */
export class Message {
  /** The topic (for a message delivered again after a failure: its original topic). */
  topic: string
  /** The payload. */
  body: Buffer
  /** Every property, the system ones (`TAGS`, `KEYS`, `UNIQ_KEY`, ...) included. */
  properties: Record<string, string>
  /** The application's 32-bit flag. */
  flag = 0
  /** Received: the broker's id of the stored message (store host and commit-log offset, hex), as ali-ons'. */
  msgId: string | null = null
  /** Received: the queue's number on its broker. */
  queueId: number | null = null
  /** Received: the message's offset in its queue. */
  queueOffset: number | null = null
  /** Received: its offset in the broker's commit log. */
  commitLogOffset: number | null = null
  /** Received: when the producer made it, ms since the epoch. */
  bornTimestamp: number | null = null
  /** Received: the producer's address, `ip:port`. */
  bornHost: string | null = null
  /** Received: when the broker stored it, ms since the epoch. */
  storeTimestamp: number | null = null
  /** Received: the broker's address, `ip:port`. */
  storeHost: string | null = null
  /** Received: how many times it was delivered again after a failure. */
  reconsumeTimes = 0

  /**
   * @param topic the topic
   * @param tags the tag (omit the argument to give the body second, as ali-ons allows)
   * @param body the payload; a string is sent as UTF-8
   */
  constructor(topic: string, tags: string | null, body: Buffer | string)
  constructor(topic: string, body: Buffer | string)
  constructor(topic: string, tagsOrBody: string | Buffer | null, body?: Buffer | string) {
    this.topic = topic
    this.properties = {}
    const hasTags = arguments.length !== 2
    const payload = hasTags ? body : tagsOrBody
    this.body = typeof payload === 'string' ? Buffer.from(payload) : (payload as Buffer)
    if (hasTags && typeof tagsOrBody === 'string') {
      this.tags = tagsOrBody
    }
  }

  /** The tag (`TAGS`). */
  get tags(): string | undefined {
    return this.properties[TAGS]
  }

  /** Sets the tag; `undefined` removes it. */
  set tags(value: string | undefined) {
    if (value === undefined || value === null) {
      delete this.properties[TAGS]
    } else {
      this.properties[TAGS] = value
    }
  }

  /** The keys, space-joined (`KEYS`); set them as an array. */
  get keys(): string | undefined {
    return this.properties[KEYS]
  }

  /** Sets the keys from an array. */
  set keys(value: readonly string[]) {
    this.properties[KEYS] = value.join(' ').trim()
  }

  /** Delay level 1..18 of the broker's delay table; 0: none (`DELAY`). */
  get delayTimeLevel(): number {
    const level = this.properties[DELAY]
    return level === undefined ? 0 : Number.parseInt(level, 10)
  }

  /** Sets the delay level. */
  set delayTimeLevel(value: number) {
    this.properties[DELAY] = String(value)
  }

  /** Received: the original topic of a message delivered again after a failure (`RETRY_TOPIC`). */
  get retryTopic(): string | undefined {
    return this.properties[RETRY_TOPIC]
  }

  /** Received: the id of the first delivery of a message delivered again after a failure (`ORIGIN_MESSAGE_ID`). */
  get originMessageId(): string | undefined {
    return this.properties[ORIGIN_MESSAGE_ID]
  }

  /**
   * Refused: Aliyun's timed delivery (`__STARTDELIVERTIME`) is not a RocketMQ feature; use `delayTimeLevel`.
   *
   * @throws ValidationError always
   */
  setStartDeliverTime(_time: number): never {
    throw new ValidationError('Message.setStartDeliverTime (Aliyun timed delivery) is not supported: use delayTimeLevel')
  }
}

/** The engine's message for an ali-ons message; the system properties become their fields. */
export function toEngineMessage(message: Message): EngineMessage {
  if (!(message instanceof Message)) {
    throw new ValidationError('send() takes a Message of rocketmq-napi/ali-ons')
  }
  const properties: Record<string, string> = {}
  const out: EngineMessage = { topic: message.topic, body: message.body, flag: message.flag }
  for (const [name, value] of Object.entries(message.properties)) {
    if (value === undefined || value === null) {
      continue
    }
    if (name === TAGS) {
      out.tags = value
    } else if (name === KEYS) {
      out.keys = value.split(' ')
    } else if (name === DELAY) {
      out.delayLevel = Number(value)
    } else if (name === WAIT) {
      if (value !== 'true') {
        throw new ValidationError(`Message property WAIT ${JSON.stringify(value)} is not supported: the engine always waits for the store`)
      }
    } else {
      properties[name] = String(value)
    }
  }
  if (Object.keys(properties).length > 0) {
    out.properties = properties
  }
  return out
}

/** The ali-ons message for a consumed one: ali-ons' fields, offsets as numbers, `msgId` the broker's id. */
export function fromConsumedMessage(consumed: ConsumedMessage): Message {
  const message = new Message(consumed.topic, consumed.body)
  message.properties = { ...consumed.properties }
  message.flag = consumed.flag
  message.msgId = consumed.offsetMsgId
  message.queueId = consumed.queue.queueId
  message.queueOffset = Number(consumed.queueOffset)
  message.commitLogOffset = Number(consumed.commitLogOffset)
  message.bornTimestamp = consumed.bornTimestamp
  message.bornHost = consumed.bornHost
  message.storeTimestamp = consumed.storeTimestamp
  message.storeHost = consumed.storeHost
  message.reconsumeTimes = consumed.reconsumeTimes
  return message
}
