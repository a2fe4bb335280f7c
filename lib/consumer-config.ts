/**
 * Push consumer configuration: the settings of the Java `DefaultMQPushConsumer` and of the seed's
 * `ConsumerConfig`, in camelCase, with their defaults, checked before anything connects.
 *
 * One authority: the ranges and rules live in the Rust engine (`config_rules.rs`). This module checks
 * only types and shapes (a number, a string, one of the enum values), resolves the seed's aliases and
 * environment variables, converts units (MiB to bytes, minutes to milliseconds), and has the engine check
 * the result at once, so {@link createConsumerConfig} throws the engine's {@link ConfigError}, naming the
 * setting, its value and the rule. {@link CONSUMER_DEFAULTS} shows the defaults; a test holds it equal to
 * the engine's.
 *
 * @module
 */
import type { NativeConsumerConfig } from './binding'
import { resolveNamesrvAddr } from './config'
import { attachCredentials, type CredentialSettings, resolveCredentials } from './credentials'
import { type ResolvedTls, type TlsSettings, resolveTls } from './tls'
import { ConfigError } from './errors'
import { callNativeSync } from './native-errors'
import { nativeBinding } from './native'

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

/** Environment variable giving {@link ConsumerConfig.offsetStoreDir} when a BROADCASTING consumer sets none. */
export const OFFSET_STORE_DIR_ENV = 'ROCKETMQ_OFFSET_STORE_DIR'

/**
 * Environment variable giving {@link ConsumerConfig.instanceName} when a consumer sets none (Java's
 * `rocketmq.client.name` system property).
 */
export const CLIENT_NAME_ENV = 'ROCKETMQ_CLIENT_NAME'

/**
 * Push consumer settings. Every field but `consumerGroup` is optional; defaults are Java's. ACL credentials: see
 * {@link CredentialSettings}.
 */
export interface ConsumerConfig extends CredentialSettings, TlsSettings {
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
   * in the Java client's format (Java's `rocketmq.client.localOffsetStoreDir`). Default: the `ROCKETMQ_OFFSET_STORE_DIR`
   * environment variable, else `~/.rocketmq_offsets`, as Java. Refused with CLUSTERING, whose offsets live on the brokers.
   */
  offsetStoreDir?: string
  /** The seed's name for {@link ConsumerConfig.offsetStoreDir} (BROADCASTING only, like it); set one of the two. */
  storePath?: string
  /** Where a new group starts. Default CONSUME_FROM_LAST_OFFSET. */
  consumeFromWhere?: ConsumeFromWhere
  /** For CONSUME_FROM_TIMESTAMP: a Date or milliseconds since the epoch. Default: half an hour before start. */
  consumeTimestamp?: Date | number
  /** How the group's queues are shared. Default 'AVG'. */
  allocateStrategy?: AllocateStrategy
  /** Listener calls in flight at most (Java's consume thread pool size), 1..1000. Default 20. */
  consumeThreadNum?: number
  /** Messages per listener call at most, 1..1024. Default 1. */
  consumeMessageBatchMaxSize?: number
  /** Messages asked for per pull, 1..1024. Default 32. */
  pullBatchSize?: number
  /** No pull while a queue holds more messages than this, 1..65535. Default 1000. */
  pullThresholdForQueue?: number
  /** No pull while a queue holds more body bytes than this many MiB, 1..1024. Default 100. */
  pullThresholdSizeForQueue?: number
  /**
   * Messages held per topic at most: when set, each queue's limit becomes this divided by the topic's queues this
   * member holds (Java's `pullThresholdForTopic`), 1..6553500. Default: no topic limit.
   */
  pullThresholdForTopic?: number
  /** The same for body bytes, in MiB (Java's `pullThresholdSizeForTopic`), 1..102400. Default: no topic limit. */
  pullThresholdSizeForTopic?: number
  /**
   * Messages held by the whole consumer at most: when set, each queue's limit is at most this divided by every queue
   * this member holds, all topics together (the seed's setting; Java has none), 1..6553500. Default: no such limit.
   */
  pullThresholdForAll?: number
  /** The same for body bytes, in MiB, 1..102400. Default: no such limit. */
  pullThresholdSizeForAll?: number
  /** No pull while the offsets a queue holds span more than this, 1..65535. Default 2000. */
  consumeConcurrentlyMaxSpan?: number
  /** The seed's name for {@link ConsumerConfig.consumeConcurrentlyMaxSpan}; set one of the two. */
  flowControlMaxDiff?: number
  /**
   * The longest a queue over a flow-control limit waits before checking again (Java's 50 ms), 1..65535 ms; it checks
   * as soon as messages leave the queue, which Java does not. Default 50.
   */
  flowControlInterval?: number
  /**
   * Minutes a listener call may run (Java's `consumeTimeout`); a call past it counts as RECONSUME_LATER, its
   * messages are sent back, and its late verdict is ignored. Fractions are allowed. Default 15.
   */
  consumeTimeout?: number
  /** Pause between two pulls of a queue, in milliseconds, 0..65535. Default 0. */
  pullInterval?: number
  /**
   * Deliveries of a failing message before it goes to `%DLQ%<group>`, -1..1000. Default -1, Java's: 16 for a
   * concurrent listener; unbounded (Java's `Integer.MAX_VALUE`) for a `MessageListenerOrderly`, whose retries are
   * local and in place, so that a message that always fails holds its queue until it succeeds.
   */
  maxReconsumeTimes?: number
  /**
   * Orderly listeners: milliseconds a queue waits before the messages its listener suspended (or rolled back) come
   * again, unless the call's `context.suspendCurrentQueueTimeMillis` sets its own (Java's setting). Used clamped to
   * 10..30000, as Java. Default 1000.
   */
  suspendCurrentQueueTimeMillis?: number
  /** How often consumed offsets are written to the brokers (or the local file), in milliseconds. Default 5000. */
  persistConsumerOffsetInterval?: number
  /** The seed's name for {@link ConsumerConfig.persistConsumerOffsetInterval}; set one of the two. */
  autoCommitInterval?: number
  /** How often the queues are shared out again besides the brokers' notices, in milliseconds. Default 20000. */
  rebalanceInterval?: number
  /**
   * The client's budget for a long-polling pull, in milliseconds (Java's `consumerTimeoutMillisWhenSuspend`); must
   * be greater than `brokerSuspendMaxTimeMillis`. Default 30000.
   */
  consumerTimeoutMillisWhenSuspend?: number
  /** How long a broker may hold a pull that finds nothing, in milliseconds (Java's `brokerSuspendMaxTimeMillis`). Default 15000. */
  brokerSuspendMaxTimeMillis?: number
  /**
   * Budget, in milliseconds, of sending a failed message back (CONSUMER_SEND_MSG_BACK) and of the fallback send of
   * its copy to `%RETRY%<group>`, retries included. Default 5000 (Java's for the first).
   */
  consumerTimeoutMillisSendMessage?: number
  /**
   * Budget, in milliseconds, of the consumer's other broker requests: offset queries and updates, max-offset and
   * search-by-time queries, the group's consumer list, CHECK_CLIENT_CONFIG. Default: each request's own, as Java
   * (5000 for offsets, 6000 for queue offsets, 3000 for the others).
   */
  consumerTimeoutMillisOfRequest?: number
  /**
   * Offsets are committed as listener calls succeed. Only `true` (the default) is supported for now: `false`
   * (manual COMMIT/ROLLBACK) belongs to orderly listeners and throws a ConfigError.
   */
  enableAutoCommit?: boolean
  /**
   * Message traces (Java's `enableMsgTrace`): every message handed to the listener leaves a `SubBefore` and a
   * `SubAfter` record in the trace topic, in the Java client's format (the dashboard and `mqadmin
   * queryMsgTraceById` read it). Sent in batches in the background; never slows or fails consumption. Default false.
   */
  enableMessageTrace?: boolean
  /** The topic of message traces, read when `enableMessageTrace` is on. Default `RMQ_SYS_TRACE_TOPIC`. */
  customizedTraceTopic?: string
  /**
   * Whether the copy of a failed message the consumer itself sends to `%RETRY%<group>` (when the broker would not
   * take it back) may be zlib-compressed, as Java's inner producer does. Default true.
   */
  enableMessageCompression?: boolean
  /** That copy's body is compressed from this many bytes on, when that makes it smaller. Default 4096. */
  compressMsgBodyOverHowmuch?: number
  /** Extra attempts of that copy's send after one that may pass on retry, within its budget, 0..100. Default 2. */
  retryTimesWhenSendAsyncFailed?: number
  /** Extra immediate attempts of a failed offset write within one persist (brokers or local file), 0..100. Default 0. */
  offsetStoreRetryTimes?: number
  /**
   * Not supported: an offset store holds one entry per assigned queue, so there is no size to bound. Setting it
   * throws a ConfigError.
   */
  maxOffsetStoreSize?: never
  /**
   * Not supported: a damaged offsets file is recovered from its backup (`offsets.json.bak`) as a whole, so there is
   * no threshold to set. Setting it throws a ConfigError.
   */
  offsetStoreRecoveryThreshold?: never
  /**
   * Part of the client id (`ip@instanceName[@unitName]`). Clients of one process with the same instance name,
   * unit name and NameServer list share one client instance. Default: the `ROCKETMQ_CLIENT_NAME` environment
   * variable, else the process id; for BROADCASTING, `DEFAULT` (Java's rule: the client id, and with it the offsets
   * file's path, stays the same from run to run). Two consumers of the same group in one process need different
   * instance names.
   */
  instanceName?: string
  /** Appended to the client id when set (Java's `unitName`). */
  unitName?: string
  /**
   * Java's `namespace`: the group and every topic are `<namespace>%<name>` on the brokers (retry and dead-letter
   * topics `%RETRY%<namespace>%<group>` / `%DLQ%<namespace>%<group>`), so tenants can share a cluster; this client
   * takes and shows the bare names. Letters, digits, `_` and `-`. Default: none.
   */
  namespace?: string
}

/**
 * Defaults of {@link ConsumerConfig}, Java's where Java has one; a setting missing here has no default (unset).
 * For display: the engine applies the same ones (a test holds the two equal).
 */
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
  flowControlInterval: 50,
  consumeTimeout: 15,
  pullInterval: 0,
  maxReconsumeTimes: -1,
  suspendCurrentQueueTimeMillis: 1000,
  persistConsumerOffsetInterval: 5000,
  rebalanceInterval: 20000,
  consumerTimeoutMillisWhenSuspend: 30000,
  brokerSuspendMaxTimeMillis: 15000,
  consumerTimeoutMillisSendMessage: 5000,
  enableAutoCommit: true,
  enableMessageTrace: false,
  enableMessageCompression: true,
  compressMsgBodyOverHowmuch: 4096,
  retryTimesWhenSendAsyncFailed: 2,
  offsetStoreRetryTimes: 0,
} as const

/** Settings of {@link ConsumerConfig} that are another name of one kept ({@link ResolvedConsumerConfig} has the kept one). */
type AliasName = 'storePath' | 'flowControlMaxDiff' | 'autoCommitInterval'
/** Settings of {@link ConsumerConfig} that are always refused. */
type RefusedName = 'maxOffsetStoreSize' | 'offsetStoreRecoveryThreshold'
/** Settings without a default. */
type UnsetByDefault =
  | 'consumeTimestamp'
  | 'instanceName'
  | 'unitName'
  | 'accessKey'
  | 'secretKey'
  | 'securityToken'
  | 'namespace'
  | 'tls'
  | 'pullThresholdForTopic'
  | 'pullThresholdSizeForTopic'
  | 'pullThresholdForAll'
  | 'pullThresholdSizeForAll'
  | 'offsetStoreDir'
  | 'consumerTimeoutMillisOfRequest'
  | 'customizedTraceTopic'

/** A consumer configuration whose every value was checked, with the defaults filled in. */
export interface ResolvedConsumerConfig extends Readonly<Required<Omit<ConsumerConfig, AliasName | RefusedName | UnsetByDefault>>> {
  /** As configured (or from `ROCKETMQ_OFFSET_STORE_DIR` when broadcasting); undefined: `~/.rocketmq_offsets` when broadcasting. */
  readonly offsetStoreDir: string | undefined
  /** As configured; undefined: no topic limit. */
  readonly pullThresholdForTopic: number | undefined
  /** As configured, MiB; undefined: no topic limit. */
  readonly pullThresholdSizeForTopic: number | undefined
  /** As configured; undefined: no consumer-wide limit. */
  readonly pullThresholdForAll: number | undefined
  /** As configured, MiB; undefined: no consumer-wide limit. */
  readonly pullThresholdSizeForAll: number | undefined
  /** As configured; undefined: each request's own budget. */
  readonly consumerTimeoutMillisOfRequest: number | undefined
  /** Always undefined (a trace topic is refused). */
  readonly customizedTraceTopic: string | undefined
  /** The `tls` setting in its native form (`true` is `{}`, Buffers are text); undefined: plain TCP. Non-enumerable. */
  readonly tls: ResolvedTls | undefined
  /** For CONSUME_FROM_TIMESTAMP, ms since the epoch; undefined: half an hour before start. */
  readonly consumeTimestamp: number | undefined
  /** As configured (or from `ROCKETMQ_CLIENT_NAME`). */
  readonly instanceName: string | undefined
  /** As configured. */
  readonly unitName: string | undefined
  /** As configured; undefined: no namespace. */
  readonly namespace: string | undefined
  /** As configured. */
  readonly accessKey: string | undefined
  /** As configured; non-enumerable, so printing the configuration does not show it. */
  readonly secretKey: string | undefined
  /** As configured; non-enumerable, so printing the configuration does not show it. */
  readonly securityToken: string | undefined
}

const MIB = 1024 * 1024

function oneOf<T extends string>(name: string, value: unknown, allowed: Readonly<Record<string, T>>, fallback: T): T {
  if (value === undefined) {
    return fallback
  }
  const values = Object.values(allowed)
  if (typeof value !== 'string' || !(values as string[]).includes(value)) {
    throw new ConfigError(`${name} ${JSON.stringify(value)} is not one of ${values.join(', ')}`)
  }
  return value as T
}

function optionalString(name: string, value: unknown): string | undefined {
  if (value === undefined) {
    return undefined
  }
  if (typeof value !== 'string') {
    throw new ConfigError(`${name} ${JSON.stringify(value)} is not a string`)
  }
  return value
}

function optionalNumber(name: string, value: unknown): number | undefined {
  if (value === undefined) {
    return undefined
  }
  if (typeof value !== 'number') {
    throw new ConfigError(`${name} ${JSON.stringify(value)} is not a number`)
  }
  return value
}

function optionalBoolean(name: string, value: unknown): boolean | undefined {
  if (value === undefined) {
    return undefined
  }
  if (typeof value !== 'boolean') {
    throw new ConfigError(`${name} ${JSON.stringify(value)} is not a boolean`)
  }
  return value
}

/** The value of `name` or of its other name `alias`; both set and different is a ConfigError naming both. */
function aliased<T>(config: Record<string, unknown>, name: string, alias: string, read: (name: string, value: unknown) => T): T {
  const own = read(name, config[name])
  const other = read(alias, config[alias])
  if (own !== undefined && other !== undefined && own !== other) {
    throw new ConfigError(
      `${alias} ${JSON.stringify(other)} and ${name} ${JSON.stringify(own)} are one setting (${alias} is the seed's name for ${name}); set one of them, or both to the same value`,
    )
  }
  return own ?? other
}

/** Settings that have no meaning in this engine, and why. */
const REFUSED: Readonly<Record<RefusedName, string>> = {
  maxOffsetStoreSize: 'an offset store here holds one entry per assigned queue, so there is no size to bound; remove the setting',
  offsetStoreRecoveryThreshold:
    'a damaged offsets file is recovered from its backup (offsets.json.bak) as a whole, so there is no threshold to set; remove the setting',
}

function resolveTimestamp(value: unknown): number | undefined {
  if (value === undefined) {
    return undefined
  }
  if (value instanceof Date) {
    return value.getTime()
  }
  return optionalNumber('consumeTimestamp', value)
}

function resolveAllocateStrategy(value: unknown): AllocateStrategy {
  if (value === undefined || value === 'AVG' || value === 'AVG_BY_CIRCLE') {
    return value ?? 'AVG'
  }
  if (typeof value === 'object' && value !== null && 'name' in value) {
    const strategy = value as { name: unknown; virtualNodeCount?: unknown; queues?: unknown; machineRooms?: unknown }
    switch (strategy.name) {
      case 'CONSISTENT_HASH': {
        const virtualNodeCount = optionalNumber('allocateStrategy.virtualNodeCount', strategy.virtualNodeCount)
        return virtualNodeCount === undefined ? { name: 'CONSISTENT_HASH' } : { name: 'CONSISTENT_HASH', virtualNodeCount }
      }
      case 'CONFIG': {
        if (!Array.isArray(strategy.queues)) {
          throw new ConfigError(
            `allocateStrategy CONFIG needs queues, an array of { topic, brokerName, queueId }; got ${JSON.stringify(strategy.queues)}`,
          )
        }
        const queues = (strategy.queues as unknown[]).map((queue, index) => {
          const q = queue as Partial<MessageQueue> | null
          if (
            typeof q !== 'object' ||
            q === null ||
            typeof q.topic !== 'string' ||
            typeof q.brokerName !== 'string' ||
            q.brokerName === '' ||
            !Number.isInteger(q.queueId)
          ) {
            throw new ConfigError(
              `allocateStrategy.queues[${index}] ${JSON.stringify(queue)} is not { topic: string, brokerName: non-empty string, queueId: integer }`,
            )
          }
          return { topic: q.topic, brokerName: q.brokerName, queueId: q.queueId as number }
        })
        return { name: 'CONFIG', queues }
      }
      case 'MACHINE_ROOM': {
        const rooms = strategy.machineRooms
        if (!Array.isArray(rooms) || rooms.some((room) => typeof room !== 'string' || room === '')) {
          throw new ConfigError(`allocateStrategy MACHINE_ROOM needs machineRooms, an array of room names; got ${JSON.stringify(rooms)}`)
        }
        return { name: 'MACHINE_ROOM', machineRooms: [...(rooms as string[])] }
      }
    }
  }
  throw new ConfigError(
    `allocateStrategy ${JSON.stringify(value)} is not 'AVG', 'AVG_BY_CIRCLE' or { name: 'CONSISTENT_HASH' | 'CONFIG' | 'MACHINE_ROOM', ... }`,
  )
}

/** A non-empty environment variable, if set. */
function fromEnv(name: string): string | undefined {
  const value = process.env[name]
  return value === undefined || value.trim() === '' ? undefined : value
}

/**
 * Checks a consumer configuration and fills in the defaults (the seed's `create_consumer_config`). The engine
 * checks every range and rule at once, nothing connected.
 *
 * ```ts
 * const config = createConsumerConfig({ consumerGroup: 'orders-consumer', namesrvAddr: '127.0.0.1:9876' })
 * ```
 *
 * @param config the settings; `consumerGroup` is required
 * @returns a frozen, complete configuration
 * @throws ConfigError naming the first bad setting, its value and the rule
 */
export function createConsumerConfig(config: ConsumerConfig): ResolvedConsumerConfig {
  if (typeof config !== 'object' || config === null) {
    throw new ConfigError(`consumer config ${String(config)} is not an object { consumerGroup, namesrvAddr?, ... }`)
  }
  const raw = config as unknown as Record<string, unknown>
  for (const [name, why] of Object.entries(REFUSED)) {
    if (raw[name] !== undefined) {
      throw new ConfigError(`${name} ${JSON.stringify(raw[name])} is not supported: ${why}`)
    }
  }
  const d = CONSUMER_DEFAULTS
  const num = (name: keyof ConsumerConfig, fallback: number): number => optionalNumber(name, raw[name]) ?? fallback
  const bool = (name: keyof ConsumerConfig, fallback: boolean): boolean => optionalBoolean(name, raw[name]) ?? fallback
  const consumerGroup = raw.consumerGroup
  if (typeof consumerGroup !== 'string') {
    throw new ConfigError(`consumerGroup ${JSON.stringify(consumerGroup)} is not a string`)
  }
  const messageModel = oneOf('messageModel', raw.messageModel, MessageModel, d.messageModel)
  const offsetStoreDir =
    aliased(raw, 'offsetStoreDir', 'storePath', optionalString) ??
    (messageModel === MessageModel.BROADCASTING ? fromEnv(OFFSET_STORE_DIR_ENV) : undefined)
  const checked: Omit<ResolvedConsumerConfig, keyof CredentialSettings | 'tls'> = {
    consumerGroup,
    namesrvAddr: resolveNamesrvAddr(raw.namesrvAddr),
    messageModel,
    offsetStoreDir,
    consumeFromWhere: oneOf('consumeFromWhere', raw.consumeFromWhere, ConsumeFromWhere, d.consumeFromWhere),
    consumeTimestamp: resolveTimestamp(raw.consumeTimestamp),
    allocateStrategy: resolveAllocateStrategy(raw.allocateStrategy),
    consumeThreadNum: num('consumeThreadNum', d.consumeThreadNum),
    consumeMessageBatchMaxSize: num('consumeMessageBatchMaxSize', d.consumeMessageBatchMaxSize),
    pullBatchSize: num('pullBatchSize', d.pullBatchSize),
    pullThresholdForQueue: num('pullThresholdForQueue', d.pullThresholdForQueue),
    pullThresholdSizeForQueue: num('pullThresholdSizeForQueue', d.pullThresholdSizeForQueue),
    pullThresholdForTopic: optionalNumber('pullThresholdForTopic', raw.pullThresholdForTopic),
    pullThresholdSizeForTopic: optionalNumber('pullThresholdSizeForTopic', raw.pullThresholdSizeForTopic),
    pullThresholdForAll: optionalNumber('pullThresholdForAll', raw.pullThresholdForAll),
    pullThresholdSizeForAll: optionalNumber('pullThresholdSizeForAll', raw.pullThresholdSizeForAll),
    consumeConcurrentlyMaxSpan:
      aliased(raw, 'consumeConcurrentlyMaxSpan', 'flowControlMaxDiff', optionalNumber) ?? d.consumeConcurrentlyMaxSpan,
    flowControlInterval: num('flowControlInterval', d.flowControlInterval),
    consumeTimeout: num('consumeTimeout', d.consumeTimeout),
    pullInterval: num('pullInterval', d.pullInterval),
    maxReconsumeTimes: num('maxReconsumeTimes', d.maxReconsumeTimes),
    suspendCurrentQueueTimeMillis: num('suspendCurrentQueueTimeMillis', d.suspendCurrentQueueTimeMillis),
    persistConsumerOffsetInterval:
      aliased(raw, 'persistConsumerOffsetInterval', 'autoCommitInterval', optionalNumber) ?? d.persistConsumerOffsetInterval,
    rebalanceInterval: num('rebalanceInterval', d.rebalanceInterval),
    consumerTimeoutMillisWhenSuspend: num('consumerTimeoutMillisWhenSuspend', d.consumerTimeoutMillisWhenSuspend),
    brokerSuspendMaxTimeMillis: num('brokerSuspendMaxTimeMillis', d.brokerSuspendMaxTimeMillis),
    consumerTimeoutMillisSendMessage: num('consumerTimeoutMillisSendMessage', d.consumerTimeoutMillisSendMessage),
    consumerTimeoutMillisOfRequest: optionalNumber('consumerTimeoutMillisOfRequest', raw.consumerTimeoutMillisOfRequest),
    enableAutoCommit: bool('enableAutoCommit', d.enableAutoCommit),
    enableMessageTrace: bool('enableMessageTrace', d.enableMessageTrace),
    customizedTraceTopic: optionalString('customizedTraceTopic', raw.customizedTraceTopic),
    enableMessageCompression: bool('enableMessageCompression', d.enableMessageCompression),
    compressMsgBodyOverHowmuch: num('compressMsgBodyOverHowmuch', d.compressMsgBodyOverHowmuch),
    retryTimesWhenSendAsyncFailed: num('retryTimesWhenSendAsyncFailed', d.retryTimesWhenSendAsyncFailed),
    offsetStoreRetryTimes: num('offsetStoreRetryTimes', d.offsetStoreRetryTimes),
    instanceName: optionalString('instanceName', raw.instanceName) ?? fromEnv(CLIENT_NAME_ENV),
    unitName: optionalString('unitName', raw.unitName),
    namespace: optionalString('namespace', raw.namespace),
  }
  // TLS travels in its native form, non-enumerable like the secret key: it may hold a private key.
  Object.defineProperty(checked, 'tls', { value: resolveTls(config).tls, enumerable: false })
  const resolved: ResolvedConsumerConfig = attachCredentials(checked as Omit<ResolvedConsumerConfig, keyof CredentialSettings>, resolveCredentials(config))
  const native = toNativeConsumerConfig(resolved)
  callNativeSync('consumer', () => nativeBinding().checkConsumerConfig(native))
  return Object.freeze(resolved)
}

/**
 * What the native consumer receives for a checked configuration: sizes in bytes, times in milliseconds.
 *
 * @param config a configuration from {@link createConsumerConfig}
 */
export function toNativeConsumerConfig(config: ResolvedConsumerConfig): NativeConsumerConfig {
  const bytes = (mib: number): number => Math.round(mib * MIB)
  const native: NativeConsumerConfig = {
    namesrvAddr: config.namesrvAddr,
    consumerGroup: config.consumerGroup,
    messageModel: config.messageModel,
    consumeFromWhere: config.consumeFromWhere,
    pullBatchSize: config.pullBatchSize,
    pullThresholdForQueue: config.pullThresholdForQueue,
    pullThresholdSizeForQueueBytes: bytes(config.pullThresholdSizeForQueue),
    consumeConcurrentlyMaxSpan: config.consumeConcurrentlyMaxSpan,
    consumeTimeoutMs: Math.round(config.consumeTimeout * 60_000),
    consumeThreadNum: config.consumeThreadNum,
    consumeMessageBatchMaxSize: config.consumeMessageBatchMaxSize,
    persistConsumerOffsetIntervalMs: config.persistConsumerOffsetInterval,
    rebalanceIntervalMs: config.rebalanceInterval,
    pullIntervalMs: config.pullInterval,
    // -1 travels as is: the engine reads it as "the default", 16 for concurrent listeners (Java's rule).
    maxReconsumeTimes: config.maxReconsumeTimes,
    // Set by the Consumer when its listener is a MessageListenerOrderly.
    orderly: false,
    suspendCurrentQueueTimeMillis: config.suspendCurrentQueueTimeMillis,
    flowControlIntervalMs: config.flowControlInterval,
    consumerTimeoutMillisWhenSuspend: config.consumerTimeoutMillisWhenSuspend,
    brokerSuspendMaxTimeMillis: config.brokerSuspendMaxTimeMillis,
    consumerTimeoutMillisSendMessage: config.consumerTimeoutMillisSendMessage,
    enableAutoCommit: config.enableAutoCommit,
    enableMessageTrace: config.enableMessageTrace,
    enableMessageCompression: config.enableMessageCompression,
    compressMsgBodyOverHowmuch: config.compressMsgBodyOverHowmuch,
    retryTimesWhenSendAsyncFailed: config.retryTimesWhenSendAsyncFailed,
    offsetStoreRetryTimes: config.offsetStoreRetryTimes,
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
    native.pullThresholdSizeForTopicBytes = bytes(config.pullThresholdSizeForTopic)
  }
  if (config.pullThresholdForAll !== undefined) {
    native.pullThresholdForAll = config.pullThresholdForAll
  }
  if (config.pullThresholdSizeForAll !== undefined) {
    native.pullThresholdSizeForAllBytes = bytes(config.pullThresholdSizeForAll)
  }
  if (config.consumerTimeoutMillisOfRequest !== undefined) {
    native.consumerTimeoutMillisOfRequest = config.consumerTimeoutMillisOfRequest
  }
  if (config.customizedTraceTopic !== undefined) {
    native.customizedTraceTopic = config.customizedTraceTopic
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
  if (config.namespace !== undefined) {
    native.namespace = config.namespace
  }
  if (config.tls !== undefined) {
    native.tls = config.tls
  }
  for (const key of ['accessKey', 'secretKey', 'securityToken'] as const) {
    if (config[key] !== undefined) {
      native[key] = config[key]
    }
  }
  return native
}
