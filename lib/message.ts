/**
 * Messages to send and the results of sending them.
 *
 * The types of a message's fields are checked here; the rules (names, sizes, reserved properties, delay
 * levels) are the native engine's alone, so the two cannot disagree.
 *
 * @module
 */
import type { NativeMessage, NativeSendResult } from './binding'
import { ProtocolError, ValidationError } from './errors'

/** A message to send. */
export interface Message {
  /** Destination topic. */
  topic: string
  /**
   * Payload: bytes (a Buffer or any Uint8Array, taken without copying; the send copies it once, when called) or a
   * string, sent as UTF-8. Must not be empty.
   */
  body: Buffer | Uint8Array | string
  /** Tag used by consumers to filter (`TAGS`). */
  tags?: string
  /** Business keys, indexed by the broker for lookups (`KEYS`, space-separated on the wire); empty keys are left out, as the broker ignores them. */
  keys?: string | readonly string[]
  /**
   * User properties; names reserved by RocketMQ (Java's `MessageConst.STRING_HASH_SET`, e.g. `KEYS`, `TAGS`,
   * `DELAY`) and blank names or values are rejected.
   */
  properties?: Readonly<Record<string, string>>
  /** Delay level 1..18 (1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h); 0 or absent: none. */
  delayLevel?: number
  /** Application-defined 32-bit flag stored with the message. */
  flag?: number
  /**
   * Ordered sending: every message with the same key goes to the same queue, so a consumer of that queue gets
   * them in the order they were stored. Await each send of a key before sending the next one of that key (as with
   * Java's synchronous send): sends in flight together have no defined order, even to one queue. Different keys
   * may be in flight at once. The queue is Java's `SelectMessageQueueByHash` given the key as `arg`:
   * `abs(key.hashCode() % n)` (Java's `String.hashCode`) over the topic's `n` writable queues sorted by broker
   * name then queue id, so a Java producer using that selector with the same key picks the same queue. Adding or
   * removing a broker, or changing the topic's write queue count, moves most keys to another queue.
   *
   * A send with a key is tried once: a failure rejects it rather than retrying on another queue (as Java's
   * selector send). The key also travels as the `__SHARDINGKEY` property, RocketMQ 5's message group; a
   * `__SHARDINGKEY` set in `properties` must equal it. Rules: not empty, not blank, no control characters.
   * In {@link Producer.sendBatch} every message carries the same key, or none does.
   */
  shardingKey?: string
  /**
   * Timer message: deliver at this time, ms since the epoch (RocketMQ 5 brokers' timer, the `TIMER_DELIVER_MS`
   * property; a 4.x broker ignores it and delivers at once). Not with `delayLevel`, not in a batch.
   */
  deliverTimeMs?: number
}

/** Broker's verdict on a sent message. Any value other than `SEND_OK` still means the broker stored it. */
export const SendStatus = {
  /** Stored (and flushed/replicated as the broker is configured). */
  SEND_OK: 'SEND_OK',
  /** Stored, but the synchronous disk flush timed out. */
  FLUSH_DISK_TIMEOUT: 'FLUSH_DISK_TIMEOUT',
  /** Stored, but replication to the slave timed out. */
  FLUSH_SLAVE_TIMEOUT: 'FLUSH_SLAVE_TIMEOUT',
  /** Stored, but no slave was available for synchronous replication. */
  SLAVE_NOT_AVAILABLE: 'SLAVE_NOT_AVAILABLE',
} as const

/** One of the {@link SendStatus} values. */
export type SendStatus = (typeof SendStatus)[keyof typeof SendStatus]

/** Outcome of a successful send. */
export interface SendResult {
  /** Broker's verdict. */
  status: SendStatus
  /** Client-generated unique id (`UNIQ_KEY`); for a batch, the ids joined by `,`. */
  msgId: string
  /** Broker-generated id encoding the store host and commit log offset. */
  offsetMsgId: string
  /** Topic the message went to. */
  topic: string
  /** Broker that stored the message. */
  brokerName: string
  /** Queue on that broker. */
  queueId: number
  /** Offset of the (first) message in its queue. */
  queueOffset: number
}

/** A message as a broker stored it, read back with {@link Admin.viewMessage}. */
export interface MessageView {
  /** Topic the message is stored under. */
  topic: string
  /** Body as the producer sent it (decompressed when it was stored compressed). */
  body: Buffer
  /** Tag, if the message has one. */
  tags?: string
  /** Business keys. */
  keys: string[]
  /** Every property, the system ones (`TAGS`, `KEYS`, `UNIQ_KEY`, ...) included. */
  properties: Record<string, string>
  /** Client-generated id (`UNIQ_KEY`), else the offsetMsgId. */
  msgId: string
  /** Broker-generated id: store host and commit-log offset. */
  offsetMsgId: string
  /** Queue on the storing broker. */
  queueId: number
  /** Offset in that queue. */
  queueOffset: number
  /** Physical offset in the broker's commit log. */
  commitLogOffset: number
  /** When the producer created it, ms since the epoch. */
  bornTimestamp: number
  /** When the broker stored it, ms since the epoch. */
  storeTimestamp: number
  /** How often it was consumed again after a failure. */
  reconsumeTimes: number
  /** The user flag. */
  flag: number
}

/**
 * Highest delay level of a default broker (`messageDelayLevel` has 18 entries). Kept for documentation: the
 * native engine holds the rule, and a test checks this equals its value.
 */
export const MAX_DELAY_LEVEL = 18

/*
 * Only types and shapes are checked here, so that values convert to the native shape without loss. Every rule
 * (topic names, empty or oversized bodies, reserved or blank properties, separator characters, delay levels)
 * lives in the native engine, which checks it when the message is sent: there is one authority, and a send
 * rejects with its ValidationError, naming the field, the value and the rule.
 */

function typeName(value: unknown): string {
  if (value === null) {
    return 'null'
  }
  return ArrayBuffer.isView(value) ? value.constructor.name : typeof value
}

function toBody(body: unknown): Buffer {
  if (Buffer.isBuffer(body)) {
    return body
  }
  if (body instanceof Uint8Array) {
    // A view of the same memory, not a copy: the native send copies the bytes once anyway.
    return Buffer.from(body.buffer, body.byteOffset, body.byteLength)
  }
  if (typeof body === 'string') {
    return Buffer.from(body, 'utf8')
  }
  throw new ValidationError(`message body must be a Buffer, a Uint8Array or a string; got ${typeName(body)}`)
}

function toText(field: string, value: unknown): string {
  if (typeof value !== 'string') {
    throw new ValidationError(`message ${field} must be a string; got ${typeName(value)}`)
  }
  return value
}

function toKeys(keys: unknown): string[] {
  if (typeof keys === 'string') {
    return [keys]
  }
  if (!Array.isArray(keys)) {
    throw new ValidationError(`message keys must be a string or an array of strings; got ${typeName(keys)}`)
  }
  return keys.map((key, index) => toText(`keys[${index}]`, key))
}

function toProperties(properties: unknown): Record<string, string> {
  if (typeof properties !== 'object' || properties === null || Array.isArray(properties)) {
    throw new ValidationError(`message properties must be an object of string values; got ${typeName(properties)}`)
  }
  // A copy of the own entries: the native conversion would also see inherited enumerable ones.
  const result: Record<string, string> = {}
  for (const [name, value] of Object.entries(properties)) {
    result[name] = toText(`property ${JSON.stringify(name)}`, value)
  }
  return result
}

function toNumber(field: string, value: unknown): number {
  if (typeof value !== 'number') {
    throw new ValidationError(`message ${field} must be a number; got ${typeName(value)}`)
  }
  return value
}

/**
 * Checks the types of a message's fields and converts it to the native shape. The rules are the native
 * engine's, checked by the send.
 *
 * @param message the message to send
 * @throws ValidationError naming the first field of the wrong type
 */
export function toNativeMessage(message: Message): NativeMessage {
  if (typeof message !== 'object' || message === null) {
    throw new ValidationError(`message must be an object { topic, body, ... }; got ${typeName(message)}`)
  }
  const native: NativeMessage = {
    topic: toText('topic', message.topic),
    body: toBody(message.body),
  }
  // An empty tag means "no tag", as in the Java client.
  if (message.tags !== undefined && message.tags !== '') {
    native.tags = toText('tags', message.tags)
  }
  if (message.keys !== undefined) {
    native.keys = toKeys(message.keys)
  }
  if (message.properties !== undefined) {
    native.properties = toProperties(message.properties)
  }
  if (message.delayLevel !== undefined) {
    const level = toNumber('delayLevel', message.delayLevel)
    if (level !== 0) {
      native.delayLevel = level
    }
  }
  if (message.flag !== undefined) {
    native.flag = toNumber('flag', message.flag)
  }
  if (message.shardingKey !== undefined) {
    native.shardingKey = toText('shardingKey', message.shardingKey)
  }
  if (message.deliverTimeMs !== undefined) {
    native.deliverTimeMs = toNumber('deliverTimeMs', message.deliverTimeMs)
  }
  return native
}

const SEND_STATUSES: ReadonlySet<string> = new Set(Object.values(SendStatus))

/**
 * Converts the native send result, checking the status is one this version knows.
 *
 * @param result what the native producer returned
 */
export function fromNativeSendResult(result: NativeSendResult): SendResult {
  if (!SEND_STATUSES.has(result.status)) {
    throw new ProtocolError(`unknown send status ${JSON.stringify(result.status)}`)
  }
  return {
    status: result.status as SendStatus,
    msgId: result.msgId,
    offsetMsgId: result.offsetMsgId,
    topic: result.topic,
    brokerName: result.brokerName,
    queueId: result.queueId,
    queueOffset: result.queueOffset,
  }
}
