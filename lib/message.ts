/**
 * Messages to send and the results of sending them.
 *
 * Cheap checks happen here so that mistakes fail fast with a clear {@link ValidationError}; the native
 * engine checks again (and enforces the size limits after compression).
 *
 * @module
 */
import type { NativeMessage, NativeSendResult } from './binding'
import { ProtocolError, ValidationError } from './errors'
import { validateTopic } from './names'

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
  /** Business keys, indexed by the broker for lookups (`KEYS`, space-separated on the wire). */
  keys?: string | readonly string[]
  /** User properties; names reserved by RocketMQ (e.g. `KEYS`, `TAGS`, `DELAY`) are rejected. */
  properties?: Readonly<Record<string, string>>
  /** Delay level 1..18 (1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h); 0 or absent: none. */
  delayLevel?: number
  /** Application-defined 32-bit flag stored with the message. */
  flag?: number
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

/** Highest delay level of a default broker configuration (`messageDelayLevel` has 18 entries). */
export const MAX_DELAY_LEVEL = 18

/** Property names the broker and clients use themselves; user properties may not take them. */
const RESERVED_PROPERTY_NAMES: ReadonlySet<string> = new Set([
  'TRACE_ON', 'MSG_REGION', 'KEYS', 'TAGS', 'WAIT', 'DELAY', 'RETRY_TOPIC', 'REAL_TOPIC', 'REAL_QID',
  'TRAN_MSG', 'PGROUP', 'MIN_OFFSET', 'MAX_OFFSET', 'BUYER_ID', 'ORIGIN_MESSAGE_ID', 'TRANSFER_FLAG',
  'CORRECTION_FLAG', 'MQ2_FLAG', 'RECONSUME_TIME', 'UNIQ_KEY', 'MAX_RECONSUME_TIMES', 'CONSUME_START_TIME',
  'POP_CK', 'POP_CK_OFFSET', '1ST_POP_TIME', 'TRAN_PREPARED_QUEUE_OFFSET', 'DUP_INFO', 'EXTEND_UNIQ_INFO',
  'INSTANCE_ID', 'CORRELATION_ID', 'REPLY_TO_CLIENT', 'TTL', 'ARRIVE_TIME', 'PUSH_REPLY_TIME', 'CLUSTER',
  'MSG_TYPE', 'INNER_MULTI_QUEUE_OFFSET', 'TIMER_DELAY_SEC', 'TIMER_DELIVER_MS', 'TIMER_ENQUEUE_MS',
  'TIMER_DEQUEUE_MS', 'TIMER_ROLL_TIMES', 'TIMER_OUT_MS', 'TIMER_DEL_UNIQKEY', 'TIMER_DELAY_LEVEL',
  '__BORNHOST', 'BORN_TIMESTAMP',
])

/** Properties travel as `name\u0001value\u0002`; those two characters cannot appear inside them. */
const PROPERTY_SEPARATORS = /[\u0001\u0002]/

function isInt32(value: number): boolean {
  return Number.isInteger(value) && value >= -0x80000000 && value <= 0x7fffffff
}

function toBody(body: unknown, maxMessageSize: number): Buffer {
  let bytes: Buffer
  if (Buffer.isBuffer(body)) {
    bytes = body
  } else if (body instanceof Uint8Array) {
    // A view of the same memory, not a copy: the native send copies the bytes once anyway.
    bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength)
  } else if (typeof body === 'string') {
    bytes = Buffer.from(body, 'utf8')
  } else {
    throw new ValidationError(
      `message body must be a Buffer, a Uint8Array or a string; got ${body === null ? 'null' : ArrayBuffer.isView(body) ? body.constructor.name : typeof body}`,
    )
  }
  if (bytes.length === 0) {
    throw new ValidationError('message body is empty')
  }
  if (bytes.length > maxMessageSize) {
    throw new ValidationError(`message body is ${bytes.length} bytes, over maxMessageSize ${maxMessageSize}`)
  }
  return bytes
}

function toText(field: string, value: unknown): string {
  if (typeof value !== 'string') {
    throw new ValidationError(`message ${field} must be a string; got ${typeof value}`)
  }
  if (PROPERTY_SEPARATORS.test(value)) {
    throw new ValidationError(`message ${field} contains a reserved control character (\\u0001 or \\u0002)`)
  }
  return value
}

function toKeys(keys: unknown): string[] {
  const list: unknown[] = typeof keys === 'string' ? [keys] : Array.isArray(keys) ? keys : [keys]
  return list.map((key) => {
    const text = toText('key', key)
    if (text.trim() === '') {
      throw new ValidationError('message keys must not be empty strings')
    }
    return text
  })
}

function toProperties(properties: unknown): Record<string, string> {
  if (typeof properties !== 'object' || properties === null || Array.isArray(properties)) {
    throw new ValidationError('message properties must be an object of string values')
  }
  const result: Record<string, string> = {}
  for (const [name, value] of Object.entries(properties)) {
    if (name.trim() === '') {
      throw new ValidationError('message property names must not be empty')
    }
    if (RESERVED_PROPERTY_NAMES.has(name)) {
      throw new ValidationError(`message property name ${JSON.stringify(name)} is reserved by RocketMQ`)
    }
    toText(`property name ${JSON.stringify(name)}`, name)
    const text = toText(`property ${JSON.stringify(name)}`, value)
    if (text.trim() === '') {
      throw new ValidationError(`message property ${JSON.stringify(name)} must not be blank`)
    }
    result[name] = text
  }
  return result
}

/**
 * Checks a message and converts it to the native shape.
 *
 * @param message the message to send
 * @param maxMessageSize the producer's body size limit in bytes
 * @throws ValidationError naming the first problem found
 */
export function toNativeMessage(message: Message, maxMessageSize: number): NativeMessage {
  if (typeof message !== 'object' || message === null) {
    throw new ValidationError('message must be an object { topic, body, ... }')
  }
  const native: NativeMessage = {
    topic: validateTopic(message.topic),
    body: toBody(message.body, maxMessageSize),
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
    const level = message.delayLevel
    if (typeof level !== 'number' || !Number.isInteger(level) || level < 0 || level > MAX_DELAY_LEVEL) {
      throw new ValidationError(`message delayLevel must be an integer 0..${MAX_DELAY_LEVEL}; got ${String(level)}`)
    }
    if (level > 0) {
      native.delayLevel = level
    }
  }
  if (message.flag !== undefined) {
    if (typeof message.flag !== 'number' || !isInt32(message.flag)) {
      throw new ValidationError(`message flag must be a 32-bit integer; got ${String(message.flag)}`)
    }
    native.flag = message.flag
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
