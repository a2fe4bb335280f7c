/**
 * Messages as the listener receives them, built from the columns the native consumer hands over.
 *
 * Properties arrive in their wire form and are decoded on first read: a listener that only needs the
 * body never pays for them.
 *
 * @module
 */
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

/**
 * A message delivered to a listener.
 *
 * `queueOffset` and `commitLogOffset` are `bigint`: they are 64-bit on the broker, and a commit-log offset
 * counts bytes, which passes 2^53 (the largest integer a `number` holds exactly) on a busy broker. Timestamps
 * are `number` (milliseconds since the epoch stay exact for another 280,000 years).
 */
export class ConsumedMessage {
  /** The topic it was sent to (for a message redelivered after a failure, still the original topic). */
  readonly topic: string
  /** The payload. */
  readonly body: Buffer
  /** The queue it was stored in: for a redelivered message, a queue of the group's retry topic. */
  readonly queue: MessageQueue
  /** Its offset in that queue. */
  readonly queueOffset: bigint
  /** Its physical offset in the broker's commit log. */
  readonly commitLogOffset: bigint
  /** When the producer created it, ms since the epoch. */
  readonly bornTimestamp: number
  /** When the broker stored it, ms since the epoch. */
  readonly storeTimestamp: number
  /** How many times it was delivered again after a failure. */
  readonly reconsumeTimes: number
  /** The producer's address, `ip:port`. */
  readonly bornHost: string
  /** The storing broker's address, `ip:port`. */
  readonly storeHost: string
  /** Broker-generated id: store host and commit-log offset, as hex. */
  readonly offsetMsgId: string
  /** The producer's user flag. */
  readonly flag: number
  #wireProperties: string
  #properties: Record<string, string> | undefined

  /** @internal Built by the consumer; users receive instances. */
  constructor(fields: Omit<ConsumedMessage, 'properties' | 'tags' | 'keys' | 'msgId' | 'toJSON'> & { wireProperties: string }) {
    this.topic = fields.topic
    this.body = fields.body
    this.queue = fields.queue
    this.queueOffset = fields.queueOffset
    this.commitLogOffset = fields.commitLogOffset
    this.bornTimestamp = fields.bornTimestamp
    this.storeTimestamp = fields.storeTimestamp
    this.reconsumeTimes = fields.reconsumeTimes
    this.bornHost = fields.bornHost
    this.storeHost = fields.storeHost
    this.offsetMsgId = fields.offsetMsgId
    this.flag = fields.flag
    this.#wireProperties = fields.wireProperties
  }

  /** Every property, the system ones (`TAGS`, `KEYS`, `UNIQ_KEY`, ...) included. */
  get properties(): Readonly<Record<string, string>> {
    this.#properties ??= decodeProperties(this.#wireProperties)
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

  /** A plain object with every field, the derived ones included (for logging and JSON). */
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
 * @param batch the columns handed over by the native consumer
 */
export function tasksFromNative(batch: NativeConsumeTasks): ConsumeTask[] {
  const { strings, bodies } = batch
  const tasks: ConsumeTask[] = []
  let m = 0
  let bodyStart = 0
  for (let t = 0; t < batch.taskIds.length; t += 1) {
    const end = batch.taskMessageEnds[t] ?? m
    const messages: ConsumedMessage[] = []
    for (; m < end; m += 1) {
      const bodyEnd = batch.bodyEnds[m] ?? bodyStart
      messages.push(
        new ConsumedMessage({
          topic: strings[batch.topics[m] ?? 0] ?? '',
          body: bodies.subarray(bodyStart, bodyEnd),
          queue: {
            // The queue the message sits in: its retry-topic queue when redelivered.
            topic: strings[batch.taskTopics[t] ?? 0] ?? '',
            brokerName: strings[batch.brokerNames[m] ?? 0] ?? '',
            queueId: batch.queueIds[m] ?? 0,
          },
          queueOffset: batch.queueOffsets[m] ?? 0n,
          commitLogOffset: batch.commitLogOffsets[m] ?? 0n,
          bornTimestamp: batch.bornTimestamps[m] ?? 0,
          storeTimestamp: batch.storeTimestamps[m] ?? 0,
          reconsumeTimes: batch.reconsumeTimes[m] ?? 0,
          bornHost: strings[batch.bornHosts[m] ?? 0] ?? '',
          storeHost: strings[batch.storeHosts[m] ?? 0] ?? '',
          offsetMsgId: batch.offsetMsgIds[m] ?? '',
          flag: batch.flags[m] ?? 0,
          wireProperties: batch.properties[m] ?? '',
        }),
      )
      bodyStart = bodyEnd
    }
    tasks.push({
      id: batch.taskIds[t] ?? 0,
      queue: {
        topic: strings[batch.taskTopics[t] ?? 0] ?? '',
        brokerName: strings[batch.taskBrokerNames[t] ?? 0] ?? '',
        queueId: batch.taskQueueIds[t] ?? 0,
      },
      messages,
    })
  }
  return tasks
}
