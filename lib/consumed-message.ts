/**
 * Messages as the listener receives them, built from the columns the native consumer hands over.
 *
 * Properties arrive in their wire form and are decoded on first read: a listener that only needs the
 * body never pays for them.
 *
 * @module
 */
import { inspect } from 'node:util'

import type { NativeConsumeTasks } from './binding'
import type { MessageQueue } from './consumer-config'

const NAME_VALUE_SEPARATOR = '\u0001'
const PROPERTY_SEPARATOR = '\u0002'

/** Decodes `name\u0001value\u0002...`; a malformed entry is skipped, as the Java decoder does. */
function decodeProperties(wire: string): Record<string, string> {
  const properties: Record<string, string> = {}
  let start = 0
  while (start < wire.length) {
    let end = wire.indexOf(PROPERTY_SEPARATOR, start)
    if (end === -1) {
      end = wire.length
    }
    const separator = wire.indexOf(NAME_VALUE_SEPARATOR, start)
    if (separator !== -1 && separator < end) {
      properties[wire.slice(start, separator)] = wire.slice(separator + 1, end)
    }
    start = end + 1
  }
  return properties
}

/** Byte offsets in the packed batch; the layout is documented on `NativeConsumeTasks` in `src/consumer.rs`. */
const HEADER_BYTES = 8
const TASK_BYTES = 20
const RECORD_BYTES = 80
const R_TOPIC = 0
const R_RECONSUME = 12
const R_FLAG = 16
const R_BORN_HOST = 20
const R_STORE_HOST = 24
const R_DATA_START = 28
const R_BODY_LEN = 32
const R_PROPS_LEN = 36
const R_ID_LEN = 40
const R_SHARED_BODY = 44
const R_QUEUE_OFFSET = 48
const R_COMMIT_LOG_OFFSET = 56
const R_BORN_TS = 64
const R_STORE_TS = 72

/** One crossing's bytes, strings and large bodies, shared by its messages. */
interface Packed {
  readonly bytes: Buffer
  readonly view: DataView
  readonly strings: readonly string[]
  /** Large bodies, each a Buffer of its own over the engine's memory (not copied into `bytes`). */
  readonly bodies: readonly Buffer[]
}

/**
 * A message delivered to a listener.
 *
 * Its fields are read from the batch the native consumer handed over, when first asked for: a listener that
 * only needs some of them does not pay for the others.
 *
 * `queueOffset` and `commitLogOffset` are `bigint`: they are 64-bit on the broker, and a commit-log offset
 * counts bytes, which passes 2^53 (the largest integer a `number` holds exactly) on a busy broker. Timestamps
 * are `number` (milliseconds since the epoch stay exact for another 280,000 years).
 */
export class ConsumedMessage {
  readonly #packed: Packed
  readonly #record: number
  readonly #queue: MessageQueue
  #body: Buffer | undefined
  #properties: Record<string, string> | undefined

  /** @internal Built by the consumer; users receive instances. */
  constructor(packed: Packed, record: number, queue: MessageQueue) {
    this.#packed = packed
    this.#record = record
    this.#queue = queue
  }

  #u32(field: number): number {
    return this.#packed.view.getUint32(this.#record + field, true)
  }

  #i32(field: number): number {
    return this.#packed.view.getInt32(this.#record + field, true)
  }

  #string(field: number): string {
    return this.#packed.strings[this.#u32(field)] ?? ''
  }

  /** The topic it was sent to (for a message redelivered after a failure, still the original topic). */
  get topic(): string {
    return this.#string(R_TOPIC)
  }

  /** Where its properties begin in the crossing's bytes: after its body, unless the body crossed on its own. */
  #propertiesStart(): number {
    const start = this.#u32(R_DATA_START)
    return this.#u32(R_SHARED_BODY) === 0 ? start + this.#u32(R_BODY_LEN) : start
  }

  /** The payload. */
  get body(): Buffer {
    if (this.#body === undefined) {
      const shared = this.#u32(R_SHARED_BODY)
      if (shared === 0) {
        const start = this.#u32(R_DATA_START)
        this.#body = this.#packed.bytes.subarray(start, start + this.#u32(R_BODY_LEN))
      } else {
        this.#body = this.#packed.bodies[shared - 1] ?? Buffer.alloc(0)
      }
    }
    return this.#body
  }

  /** The queue it was stored in: for a redelivered message, a queue of the group's retry topic. */
  get queue(): MessageQueue {
    return this.#queue
  }

  /** Its offset in that queue. */
  get queueOffset(): bigint {
    return this.#packed.view.getBigInt64(this.#record + R_QUEUE_OFFSET, true)
  }

  /** Its physical offset in the broker's commit log. */
  get commitLogOffset(): bigint {
    return this.#packed.view.getBigInt64(this.#record + R_COMMIT_LOG_OFFSET, true)
  }

  /** When the producer created it, ms since the epoch. */
  get bornTimestamp(): number {
    return this.#packed.view.getFloat64(this.#record + R_BORN_TS, true)
  }

  /** When the broker stored it, ms since the epoch. */
  get storeTimestamp(): number {
    return this.#packed.view.getFloat64(this.#record + R_STORE_TS, true)
  }

  /** How many times it was delivered again after a failure. */
  get reconsumeTimes(): number {
    return this.#i32(R_RECONSUME)
  }

  /** The producer's address, `ip:port`. */
  get bornHost(): string {
    return this.#string(R_BORN_HOST)
  }

  /** The storing broker's address, `ip:port`. */
  get storeHost(): string {
    return this.#string(R_STORE_HOST)
  }

  /** The producer's user flag. */
  get flag(): number {
    return this.#i32(R_FLAG)
  }

  /** Broker-generated id: store host and commit-log offset, as hex. */
  get offsetMsgId(): string {
    const start = this.#propertiesStart() + this.#u32(R_PROPS_LEN)
    return this.#packed.bytes.toString('latin1', start, start + this.#u32(R_ID_LEN))
  }

  /** Every property, the system ones (`TAGS`, `KEYS`, `UNIQ_KEY`, ...) included. */
  get properties(): Readonly<Record<string, string>> {
    if (this.#properties === undefined) {
      const start = this.#propertiesStart()
      this.#properties = decodeProperties(this.#packed.bytes.toString('utf8', start, start + this.#u32(R_PROPS_LEN)))
    }
    return this.#properties
  }

  /** The tag, if the message has one. */
  get tags(): string | undefined {
    return this.properties.TAGS
  }

  /** Business keys (the `KEYS` property, space-separated on the wire). */
  get keys(): string[] {
    const keys = this.properties.KEYS
    return keys === undefined ? [] : keys.split(' ').filter((key) => key !== '')
  }

  /** The producer's id for the message (`UNIQ_KEY`), else the {@link offsetMsgId}. */
  get msgId(): string {
    return this.properties.UNIQ_KEY ?? this.offsetMsgId
  }

  /** A plain object with every field (offsets as decimal strings, the body as base64), for logging and JSON. */
  toJSON(): Record<string, unknown> {
    return {
      topic: this.topic,
      tags: this.tags,
      keys: this.keys,
      msgId: this.msgId,
      offsetMsgId: this.offsetMsgId,
      queue: this.queue,
      queueOffset: this.queueOffset.toString(),
      commitLogOffset: this.commitLogOffset.toString(),
      bornTimestamp: this.bornTimestamp,
      storeTimestamp: this.storeTimestamp,
      reconsumeTimes: this.reconsumeTimes,
      bornHost: this.bornHost,
      storeHost: this.storeHost,
      flag: this.flag,
      properties: this.properties,
      body: this.body.toString('base64'),
    }
  }

  /** What `console.log` and `util.inspect` show: the fields, not the private batch. */
  [inspect.custom](): Record<string, unknown> {
    return { ...this.toJSON(), body: this.body }
  }
}

/** One listener call the native consumer asks for. */
export interface ConsumeTask {
  /** The id its verdict is settled under. */
  id: number
  /** The queue the messages were pulled from. */
  queue: MessageQueue
  /** The messages, in queue order. */
  messages: ConsumedMessage[]
}

/**
 * Splits a native batch into tasks with their messages.
 *
 * @param batch the packed tasks handed over by the native consumer
 */
export function tasksFromNative(batch: NativeConsumeTasks): ConsumeTask[] {
  const bytes = batch.packed
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const packed: Packed = { bytes, view, strings: batch.strings, bodies: batch.bodies }
  const taskCount = view.getUint32(0, true)
  const tasks: ConsumeTask[] = new Array<ConsumeTask>(taskCount)
  let record = HEADER_BYTES + TASK_BYTES * taskCount
  for (let t = 0; t < taskCount; t += 1) {
    const at = HEADER_BYTES + TASK_BYTES * t
    const count = view.getUint32(at + 4, true)
    // The messages of a task share its queue object: they were pulled from it.
    const queue: MessageQueue = Object.freeze({
      topic: batch.strings[view.getUint32(at + 8, true)] ?? '',
      brokerName: batch.strings[view.getUint32(at + 12, true)] ?? '',
      queueId: view.getInt32(at + 16, true),
    })
    const messages = new Array<ConsumedMessage>(count)
    for (let m = 0; m < count; m += 1) {
      messages[m] = new ConsumedMessage(packed, record, queue)
      record += RECORD_BYTES
    }
    tasks[t] = { id: view.getUint32(at, true), queue, messages }
  }
  return tasks
}
