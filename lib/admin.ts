/**
 * Administrative calls: create topics, read routes and queue offsets.
 *
 * @module
 */
import type { NativeAdmin, NativeTopicRoute } from './binding'
import { type AdminConfig, resolveAdminConfig } from './config'
import { ValidationError } from './errors'
import type { MessageView } from './message'
import { nativeBinding } from './native'
import { callNative, callNativeSync } from './native-errors'

/** Queue permissions (bit flags): readable (4) and writable (2). */
export const Perm = {
  /** Consumers may read. */
  READ: 4,
  /** Producers may write. */
  WRITE: 2,
  /** Read and write: the default of new topics. */
  READ_WRITE: 6,
} as const

/** What to create. */
export interface CreateTopicOptions {
  /** Topic name. */
  topic: string
  /** Number of read and write queues on each master broker. */
  queueNums: number
  /** Permission bits ({@link Perm}); default read + write. */
  perm?: number
  /** Whether the topic is ordered. Default false. */
  order?: boolean
}

/** The queues a broker hosts for a topic. */
export interface QueueData {
  /** Broker name, e.g. `broker-a`. */
  brokerName: string
  /** Number of readable queues. */
  readQueueNums: number
  /** Number of writable queues. */
  writeQueueNums: number
  /** Permission bits ({@link Perm}). */
  perm: number
  /** Topic system flags. */
  topicSysFlag: number
}

/** A broker and the addresses of its instances. */
export interface BrokerData {
  /** Cluster the broker belongs to. */
  cluster: string
  /** Broker name, e.g. `broker-a`. */
  brokerName: string
  /** Broker id (`"0"` is the master) to `host:port`. */
  brokerAddrs: Record<string, string>
}

/** A producer connection as a broker lists it. */
export interface ProducerConnection {
  /** The broker holding the connection. */
  brokerName: string
  /** The producer's client id, `ip@instanceName[@unitName]`. */
  clientId: string
  /** The producer's address as the broker sees it, `ip:port`. */
  clientAddr: string
  /** The producer's language as it announced it, e.g. `JAVA`. */
  language: string
  /** The producer's protocol version number. */
  version: number
}

/** A topic's route as the NameServer knows it. */
export interface TopicRoute {
  /** Queues per broker. */
  queueDatas: QueueData[]
  /** Brokers hosting the topic. */
  brokerDatas: BrokerData[]
  /** Ordered-topic configuration, when the topic is ordered. */
  orderTopicConf?: string
}

function fromNativeRoute(route: NativeTopicRoute): TopicRoute {
  const result: TopicRoute = {
    queueDatas: route.queueDatas.map((queue) => ({ ...queue })),
    brokerDatas: route.brokerDatas.map((broker) => ({ ...broker, brokerAddrs: { ...broker.brokerAddrs } })),
  }
  if (route.orderTopicConf !== undefined && route.orderTopicConf !== null) {
    result.orderTopicConf = route.orderTopicConf
  }
  return result
}

/*
 * Arguments are checked for their type here; their rules (names, ranges, the id format) are the native
 * engine's, which rejects with a ValidationError naming the argument, the value and the rule.
 */

function typeName(value: unknown): string {
  return value === null ? 'null' : typeof value
}

function stringArgument(field: string, value: unknown): string {
  if (typeof value !== 'string') {
    throw new ValidationError(`${field} must be a string; got ${typeName(value)}`)
  }
  return value
}

function numberArgument(field: string, value: unknown): number {
  if (typeof value !== 'number') {
    throw new ValidationError(`${field} must be a number; got ${typeName(value)}`)
  }
  return value
}

/**
 * Administrative client over the NameServer and brokers: used by tests, the demo and the benchmark to
 * prepare topics and to read offsets.
 */
export class Admin {
  readonly #native: NativeAdmin

  /**
   * @param config NameServer address (default: `NAMESRV_ADDR`) and request timeout
   * @throws ConfigError when a setting is missing or invalid
   */
  constructor(config: AdminConfig = {}) {
    const native = resolveAdminConfig(config)
    const { NativeAdmin: NativeAdminClass } = nativeBinding()
    this.#native = callNativeSync('admin', () => new NativeAdminClass(native))
  }

  /**
   * Creates (or updates) a topic on every master broker the NameServer knows and waits until the route
   * shows it on all of them.
   *
   * @param options topic, queue count, permissions, order
   * @returns the names of the brokers that host the topic
   */
  async createTopic(options: CreateTopicOptions): Promise<string[]> {
    if (typeof options !== 'object' || options === null) {
      throw new ValidationError(`createTopic needs an object { topic, queueNums, ... }; got ${typeName(options)}`)
    }
    const topic = stringArgument('topic', options.topic)
    const queueNums = numberArgument('queueNums', options.queueNums)
    const perm = options.perm === undefined ? undefined : numberArgument('perm', options.perm)
    return callNative('admin', () =>
      this.#native.createTopic({
        topic,
        queueNums,
        ...(perm === undefined ? {} : { perm }),
        ...(options.order === undefined ? {} : { order: Boolean(options.order) }),
      }),
    )
  }

  /**
   * Reads a topic's route from the NameServer.
   *
   * @param topic topic name
   * @throws TopicNotFoundError when the NameServer has no route for it
   */
  async getTopicRoute(topic: string): Promise<TopicRoute> {
    const name = stringArgument('topic', topic)
    return fromNativeRoute(await callNative('admin', () => this.#native.getTopicRoute(name)))
  }

  /**
   * The offset one past the last message of a queue (the number of messages ever written to it,
   * unless the queue was created with a later start).
   *
   * @param topic topic name
   * @param brokerName broker hosting the queue
   * @param queueId queue number
   */
  async getMaxOffset(topic: string, brokerName: string, queueId: number): Promise<number> {
    const name = stringArgument('topic', topic)
    const broker = stringArgument('brokerName', brokerName)
    const queue = numberArgument('queueId', queueId)
    return callNative('admin', () => this.#native.getMaxOffset(name, broker, queue))
  }

  /**
   * The offset of the oldest message still stored in a queue.
   *
   * @param topic topic name
   * @param brokerName broker hosting the queue
   * @param queueId queue number
   */
  async getMinOffset(topic: string, brokerName: string, queueId: number): Promise<number> {
    const name = stringArgument('topic', topic)
    const broker = stringArgument('brokerName', brokerName)
    const queue = numberArgument('queueId', queueId)
    return callNative('admin', () => this.#native.getMinOffset(name, broker, queue))
  }

  /**
   * Reads one stored message back from the broker that stored it.
   *
   * @param offsetMsgId the message's broker id, `SendResult.offsetMsgId`
   * @throws ValidationError when the id is not an offsetMsgId
   */
  async viewMessage(offsetMsgId: string): Promise<MessageView> {
    const id = stringArgument('offsetMsgId', offsetMsgId)
    const view = await callNative('admin', () => this.#native.viewMessage(id))
    const { tags, ...rest } = view
    return { ...rest, ...(tags === undefined || tags === null ? {} : { tags }) }
  }

  /**
   * The producers of a group every master broker knows (from their heartbeats), one entry per broker and
   * connection. Empty when no broker knows the group.
   *
   * @param producerGroup producer group name
   */
  async producerConnections(producerGroup: string): Promise<ProducerConnection[]> {
    const group = stringArgument('producerGroup', producerGroup)
    const listed = await callNative('admin', () => this.#native.producerConnections(group))
    return listed.map((connection) => ({ ...connection }))
  }

  /**
   * The id brokers know this client by, `ip@instanceName[@unitName]`; `undefined` until the first call that
   * talks to the cluster. An Admin shares its client instance, and so its id and connections, with the
   * process's producers of the same NameServer list and `instanceName`.
   */
  get clientId(): string | undefined {
    return this.#native.clientId ?? undefined
  }

  /** Leaves the client instance; the last client of the instance closes the connections. */
  async close(): Promise<void> {
    await callNative('admin', () => this.#native.close())
  }
}
