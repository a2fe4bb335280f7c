/**
 * Push consumer configuration: the settings of the Java `DefaultMQPushConsumer`, in camelCase, with its
 * defaults, checked before anything connects.
 *
 * @module
 */
import type { NativeConsumerConfig } from './binding'
import { checkInteger, resolveNamesrvAddr } from './config'
import { ConfigError } from './errors'
import { validateGroup, validateTopic } from './names'

/** How a group shares messages (Java's `MessageModel`). */
export const MessageModel = {
  /** Each message goes to one member of the group; offsets live on the brokers. */
  CLUSTERING: 'CLUSTERING',
  /** Each member gets every message; offsets live in a local file. */
  BROADCASTING: 'BROADCASTING',
} as const

/** One of the {@link MessageModel} values. */
export type MessageModel = (typeof MessageModel)[keyof typeof MessageModel]

/**
 * Where a group with no committed offset starts on a queue (Java's `ConsumeFromWhere`). A group that
 * has committed offsets always continues from them.
 */
export const ConsumeFromWhere = {
  /** From the end: only messages sent from now on (Java's default). */
  CONSUME_FROM_LAST_OFFSET: 'CONSUME_FROM_LAST_OFFSET',
  /** From the oldest message the broker still keeps. */
  CONSUME_FROM_FIRST_OFFSET: 'CONSUME_FROM_FIRST_OFFSET',
  /** From the first message stored at or after `consumeTimestamp`. */
  CONSUME_FROM_TIMESTAMP: 'CONSUME_FROM_TIMESTAMP',
} as const

/** One of the {@link ConsumeFromWhere} values. */
export type ConsumeFromWhere = (typeof ConsumeFromWhere)[keyof typeof ConsumeFromWhere]

/** A message queue: one queue of a topic on one broker. */
export interface MessageQueue {
  /** The topic. */
  topic: string
  /** The broker (group) name holding the queue. */
  brokerName: string
  /** The queue's number on that broker. */
  queueId: number
}

/**
 * How the members of a group share a topic's queues; every member of a group must use the same one.
 * Names and results are those of the Java classes (`AllocateMessageQueueAveragely`, ...).
 */
export type AllocateStrategy =
  | 'AVG'
  | 'AVG_BY_CIRCLE'
  | { name: 'CONSISTENT_HASH'; virtualNodeCount?: number }
  | { name: 'CONFIG'; queues: readonly MessageQueue[] }
  | { name: 'MACHINE_ROOM'; machineRooms: readonly string[] }

/** Push consumer settings. Every field but `consumerGroup` is optional; defaults are Java's. */
export interface ConsumerConfig {
  /** Consumer group name (letters, digits, `%|_-`, at most 255 characters). */
  consumerGroup: string
  /** NameServer addresses, `host:port` separated by `;`. Default: the `NAMESRV_ADDR` environment variable. */
  namesrvAddr?: string
  /**
   * Clustering (default): the members share the queues, offsets live on the brokers. Broadcasting: every member
   * consumes every message, offsets live in a local file (see `offsetStoreDir`), and a failed message is dropped
   * with a warning rather than delivered again (Java's behaviour).
   */
  messageModel?: MessageModel
  /**
   * BROADCASTING only: the directory of the offsets files, each at `<offsetStoreDir>/<clientId>/<consumerGroup>/offsets.json`
   * in the Java client's format (Java's `rocketmq.client.localOffsetStoreDir`). Default: `~/.rocketmq_offsets`, as
   * Java. Refused with CLUSTERING, whose offsets live on the brokers.
   */
  offsetStoreDir?: string
  /** Where a new group starts. Default CONSUME_FROM_LAST_OFFSET. */
  consumeFromWhere?: ConsumeFromWhere
  /** For CONSUME_FROM_TIMESTAMP: a Date or milliseconds since the epoch. Default: half an hour before start. */
  consumeTimestamp?: Date | number
  /** How the group's queues are shared. Default 'AVG'. */
  allocateStrategy?: AllocateStrategy
  /** Listener calls in flight at most (Java's consume thread pool size). Default 20. */
  consumeThreadNum?: number
  /** Messages per listener call at most. Default 1. */
  consumeMessageBatchMaxSize?: number
  /** Messages asked for per pull. Default 32. */
  pullBatchSize?: number
  /** No pull while a queue holds more messages than this. Default 1000. */
  pullThresholdForQueue?: number
  /** No pull while a queue holds more body bytes than this many MiB. Default 100. */
  pullThresholdSizeForQueue?: number
  /**
   * Messages held per topic at most: when set, each queue's limit becomes this divided by the topic's queues this
   * member holds (Java's `pullThresholdForTopic`). Default: no topic limit.
   */
  pullThresholdForTopic?: number
  /** The same for body bytes, in MiB (Java's `pullThresholdSizeForTopic`). Default: no topic limit. */
  pullThresholdSizeForTopic?: number
  /** No pull while the offsets a queue holds span more than this. Default 2000. */
  consumeConcurrentlyMaxSpan?: number
  /**
   * Minutes a listener call may run (Java's `consumeTimeout`); a call past it counts as RECONSUME_LATER, its
   * messages are sent back, and its late verdict is ignored. Fractions are allowed. Default 15.
   */
  consumeTimeout?: number
  /** Pause between two pulls of a queue, in milliseconds. Default 0. */
  pullInterval?: number
  /** Deliveries of a failing message before the broker moves it to `%DLQ%<group>`; -1 means the default. Default 16. */
  maxReconsumeTimes?: number
  /** How often consumed offsets are written to the brokers, in milliseconds. Default 5000. */
  persistConsumerOffsetInterval?: number
  /** How often the queues are shared out again besides the brokers' notices, in milliseconds. Default 20000. */
  rebalanceInterval?: number
  /**
   * Part of the client id (`ip@instanceName[@unitName]`). Clients of one process with the same instance name,
   * unit name and NameServer list share one client instance. Default: the process id; for BROADCASTING, `DEFAULT`
   * (Java's rule: the client id, and with it the offsets file's path, stays the same from run to run). Two
   * consumers of the same group in one process need different instance names.
   */
  instanceName?: string
  /** Appended to the client id when set (Java's `unitName`). */
  unitName?: string
}

/** Defaults of {@link ConsumerConfig}, Java's. */
export const CONSUMER_DEFAULTS = {
  messageModel: MessageModel.CLUSTERING,
  consumeFromWhere: ConsumeFromWhere.CONSUME_FROM_LAST_OFFSET,
  allocateStrategy: 'AVG',
  consumeThreadNum: 20,
  consumeMessageBatchMaxSize: 1,
  pullBatchSize: 32,
  pullThresholdForQueue: 1000,
  pullThresholdSizeForQueue: 100,
  consumeConcurrentlyMaxSpan: 2000,
  consumeTimeout: 15,
  pullInterval: 0,
  maxReconsumeTimes: 16,
  persistConsumerOffsetInterval: 5000,
  rebalanceInterval: 20000,
} as const

/** A consumer configuration whose every value was checked, with the defaults filled in. */
export interface ResolvedConsumerConfig
  extends Readonly<
    Required<
      Omit<
        ConsumerConfig,
        'consumeTimestamp' | 'instanceName' | 'unitName' | 'pullThresholdForTopic' | 'pullThresholdSizeForTopic' | 'offsetStoreDir'
      >
    >
  > {
  /** As configured; undefined: `~/.rocketmq_offsets` when broadcasting. */
  readonly offsetStoreDir: string | undefined
  /** As configured; undefined: no topic limit. */
  readonly pullThresholdForTopic: number | undefined
  /** As configured, MiB; undefined: no topic limit. */
  readonly pullThresholdSizeForTopic: number | undefined
  /** For CONSUME_FROM_TIMESTAMP, ms since the epoch; undefined: half an hour before start. */
  readonly consumeTimestamp: number | undefined
  /** As configured. */
  readonly instanceName: string | undefined
  /** As configured. */
  readonly unitName: string | undefined
}

const INT32_MAX = 0x7fffffff

function oneOf<T extends string>(name: string, value: unknown, allowed: Readonly<Record<string, T>>, fallback: T): T {
  if (value === undefined) {
    return fallback
  }
  const values = Object.values(allowed)
  if (typeof value !== 'string' || !(values as string[]).includes(value)) {
    throw new ConfigError(`${name} must be one of ${values.join(', ')}; got ${JSON.stringify(value)}`)
  }
  return value as T
}

function optionalName(name: string, value: unknown): string | undefined {
  if (value === undefined) {
    return undefined
  }
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ConfigError(`${name} must be a non-empty string`)
  }
  return value
}

function resolveTimestamp(value: unknown): number | undefined {
  if (value === undefined) {
    return undefined
  }
  const ms = value instanceof Date ? value.getTime() : value
  if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 0) {
    throw new ConfigError(`consumeTimestamp must be a Date or milliseconds since the epoch; got ${String(value)}`)
  }
  return ms
}

function resolveMinutes(value: unknown): number {
  if (value === undefined) {
    return CONSUMER_DEFAULTS.consumeTimeout
  }
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > 60 * 24 * 365) {
    throw new ConfigError(`consumeTimeout must be a positive number of minutes; got ${String(value)}`)
  }
  return value
}

function resolveAllocateStrategy(value: unknown): AllocateStrategy {
  if (value === undefined || value === 'AVG' || value === 'AVG_BY_CIRCLE') {
    return value ?? 'AVG'
  }
  if (typeof value === 'object' && value !== null && 'name' in value) {
    const strategy = value as { name: unknown; virtualNodeCount?: unknown; queues?: unknown; machineRooms?: unknown }
    switch (strategy.name) {
      case 'CONSISTENT_HASH': {
        const virtualNodeCount = checkInteger('allocateStrategy.virtualNodeCount', strategy.virtualNodeCount, 1, 10000)
        return virtualNodeCount === undefined ? { name: 'CONSISTENT_HASH' } : { name: 'CONSISTENT_HASH', virtualNodeCount }
      }
      case 'CONFIG': {
        if (!Array.isArray(strategy.queues)) {
          throw new ConfigError('allocateStrategy CONFIG needs queues: an array of { topic, brokerName, queueId }')
        }
        const queues = (strategy.queues as unknown[]).map((queue, index) => {
          const q = queue as Partial<MessageQueue> | null
          if (typeof q !== 'object' || q === null || typeof q.brokerName !== 'string' || q.brokerName === '') {
            throw new ConfigError(`allocateStrategy.queues[${index}] must be { topic, brokerName, queueId }`)
          }
          return {
            topic: validateTopic(q.topic, ConfigError),
            brokerName: q.brokerName,
            queueId: checkInteger(`allocateStrategy.queues[${index}].queueId`, q.queueId, 0, INT32_MAX) ?? -1,
          }
        })
        return { name: 'CONFIG', queues }
      }
      case 'MACHINE_ROOM': {
        const rooms = strategy.machineRooms
        if (!Array.isArray(rooms) || rooms.some((room) => typeof room !== 'string' || room === '')) {
          throw new ConfigError('allocateStrategy MACHINE_ROOM needs machineRooms: an array of room names')
        }
        return { name: 'MACHINE_ROOM', machineRooms: [...(rooms as string[])] }
      }
    }
  }
  throw new ConfigError(
    `allocateStrategy must be 'AVG', 'AVG_BY_CIRCLE' or { name: 'CONSISTENT_HASH' | 'CONFIG' | 'MACHINE_ROOM', ... }; got ${JSON.stringify(value)}`,
  )
}

/**
 * Checks a consumer configuration and fills in the defaults (the seed's `create_consumer_config`).
 *
 * ```ts
 * const config = createConsumerConfig({ consumerGroup: 'orders-consumer', namesrvAddr: '127.0.0.1:9876' })
 * ```
 *
 * @param config the settings; `consumerGroup` is required
 * @returns a frozen, complete configuration
 * @throws ConfigError naming the first bad value
 */
export function createConsumerConfig(config: ConsumerConfig): ResolvedConsumerConfig {
  if (typeof config !== 'object' || config === null) {
    throw new ConfigError('consumer config must be an object { consumerGroup, namesrvAddr?, ... }')
  }
  const d = CONSUMER_DEFAULTS
  const int = (name: keyof ConsumerConfig, min: number, max: number, fallback: number): number =>
    checkInteger(name, config[name], min, max) ?? fallback
  const resolved: ResolvedConsumerConfig = {
    consumerGroup: validateGroup(config.consumerGroup, ConfigError),
    namesrvAddr: resolveNamesrvAddr(config.namesrvAddr),
    messageModel: oneOf('messageModel', config.messageModel, MessageModel, d.messageModel),
    offsetStoreDir: optionalName('offsetStoreDir', config.offsetStoreDir),
    consumeFromWhere: oneOf('consumeFromWhere', config.consumeFromWhere, ConsumeFromWhere, d.consumeFromWhere),
    consumeTimestamp: resolveTimestamp(config.consumeTimestamp),
    allocateStrategy: resolveAllocateStrategy(config.allocateStrategy),
    // Ranges are Java's checkConfig ranges.
    consumeThreadNum: int('consumeThreadNum', 1, 1000, d.consumeThreadNum),
    consumeMessageBatchMaxSize: int('consumeMessageBatchMaxSize', 1, 1024, d.consumeMessageBatchMaxSize),
    pullBatchSize: int('pullBatchSize', 1, 1024, d.pullBatchSize),
    pullThresholdForQueue: int('pullThresholdForQueue', 1, 65535, d.pullThresholdForQueue),
    pullThresholdSizeForQueue: int('pullThresholdSizeForQueue', 1, 1024, d.pullThresholdSizeForQueue),
    pullThresholdForTopic: checkInteger('pullThresholdForTopic', config.pullThresholdForTopic, 1, 6_553_500),
    pullThresholdSizeForTopic: checkInteger('pullThresholdSizeForTopic', config.pullThresholdSizeForTopic, 1, 102_400),
    consumeConcurrentlyMaxSpan: int('consumeConcurrentlyMaxSpan', 1, 65535, d.consumeConcurrentlyMaxSpan),
    consumeTimeout: resolveMinutes(config.consumeTimeout),
    pullInterval: int('pullInterval', 0, 65535, d.pullInterval),
    maxReconsumeTimes: int('maxReconsumeTimes', -1, 1000, d.maxReconsumeTimes),
    persistConsumerOffsetInterval: int('persistConsumerOffsetInterval', 1, INT32_MAX, d.persistConsumerOffsetInterval),
    rebalanceInterval: int('rebalanceInterval', 1, INT32_MAX, d.rebalanceInterval),
    instanceName: optionalName('instanceName', config.instanceName),
    unitName: optionalName('unitName', config.unitName),
  }
  return Object.freeze(resolved)
}

/**
 * What the native consumer receives for a checked configuration.
 *
 * @param config a configuration from {@link createConsumerConfig}
 */
export function toNativeConsumerConfig(config: ResolvedConsumerConfig): NativeConsumerConfig {
  const native: NativeConsumerConfig = {
    namesrvAddr: config.namesrvAddr,
    consumerGroup: config.consumerGroup,
    messageModel: config.messageModel,
    consumeFromWhere: config.consumeFromWhere,
    pullBatchSize: config.pullBatchSize,
    pullThresholdForQueue: config.pullThresholdForQueue,
    pullThresholdSizeForQueueBytes: config.pullThresholdSizeForQueue * 1024 * 1024,
    consumeConcurrentlyMaxSpan: config.consumeConcurrentlyMaxSpan,
    consumeTimeoutMs: Math.round(config.consumeTimeout * 60_000),
    consumeThreadNum: config.consumeThreadNum,
    consumeMessageBatchMaxSize: config.consumeMessageBatchMaxSize,
    persistConsumerOffsetIntervalMs: config.persistConsumerOffsetInterval,
    rebalanceIntervalMs: config.rebalanceInterval,
    pullIntervalMs: config.pullInterval,
    // Java reads -1 as "the default", 16 for concurrent listeners.
    maxReconsumeTimes: config.maxReconsumeTimes === -1 ? CONSUMER_DEFAULTS.maxReconsumeTimes : config.maxReconsumeTimes,
  }
  if (config.offsetStoreDir !== undefined) {
    native.offsetStoreDir = config.offsetStoreDir
  }
  if (config.consumeTimestamp !== undefined) {
    native.consumeTimestampMs = config.consumeTimestamp
  }
  if (config.pullThresholdForTopic !== undefined) {
    native.pullThresholdForTopic = config.pullThresholdForTopic
  }
  if (config.pullThresholdSizeForTopic !== undefined) {
    native.pullThresholdSizeForTopicBytes = config.pullThresholdSizeForTopic * 1024 * 1024
  }
  const strategy = config.allocateStrategy
  if (typeof strategy === 'string') {
    native.allocateStrategy = strategy
  } else {
    native.allocateStrategy = strategy.name
    if (strategy.name === 'CONSISTENT_HASH' && strategy.virtualNodeCount !== undefined) {
      native.allocateVirtualNodeCount = strategy.virtualNodeCount
    } else if (strategy.name === 'CONFIG') {
      native.allocateQueues = strategy.queues.map((q) => ({ topic: q.topic, brokerName: q.brokerName, queueId: q.queueId }))
    } else if (strategy.name === 'MACHINE_ROOM') {
      native.allocateMachineRooms = [...strategy.machineRooms]
    }
  }
  if (config.instanceName !== undefined) {
    native.instanceName = config.instanceName
  }
  if (config.unitName !== undefined) {
    native.unitName = config.unitName
  }
  return native
}
