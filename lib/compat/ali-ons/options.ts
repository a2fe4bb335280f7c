/**
 * ali-ons' constructor options, translated to this engine's settings. Every option ali-ons reads is listed here
 * and either mapped to a setting of ours, accepted at the one value our engine behaves as, or refused with a
 * {@link ConfigError} naming it, so that nothing passed by an ali-ons user is silently dropped. An option ali-ons
 * does not know is refused too (a typo would otherwise go unnoticed).
 *
 * @module
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import type { ProducerConfig } from '../../config'
import type { CredentialSettings } from '../../credentials'
import { type ConsumerConfig, ConsumeFromWhere, MessageModel } from '../../consumer-config'
import { ConfigError } from '../../errors'

/** Where a new group starts, with ali-ons' names (the three old Java names start from the last offset, as in ali-ons). */
export type AliOnsConsumeFromWhere =
  | 'CONSUME_FROM_LAST_OFFSET'
  | 'CONSUME_FROM_FIRST_OFFSET'
  | 'CONSUME_FROM_TIMESTAMP'
  | 'CONSUME_FROM_LAST_OFFSET_AND_FROM_MIN_WHEN_BOOT_FIRST'
  | 'CONSUME_FROM_MIN_OFFSET'
  | 'CONSUME_FROM_MAX_OFFSET'

/** Options ali-ons' producer and consumer share. */
export interface AliOnsClientOptions {
  /**
   * NameServer addresses, `host:port`, one string or several. Default: the `NAMESRV_ADDR` environment variable
   * (ali-ons would ask the ONS address server over `httpclient`; that lookup is not supported here).
   */
  nameSrv?: string | readonly string[]
  /** ali-ons' HTTP client for the ONS address server. Accepted and unused: addresses come from `nameSrv`. */
  httpclient?: unknown
  /** Part of the client id (`ip@instanceName`); default as this package's clients (the process id). */
  instanceName?: string
  /** Appended to the client id when set. */
  unitName?: string
  /**
   * ACL access key: with `accessKeySecret`, every request is signed (this package's `accessKey`; see the README's
   * "Secured clusters"). Default: none, for a cluster without ACL.
   */
  accessKeyId?: string
  /** ACL secret key, with `accessKeyId`; never logged or shown in errors. */
  accessKeySecret?: string
  /** ali-ons' other name of `accessKeyId` (give one of the two). */
  accessKey?: string
  /** ali-ons' other name of `accessKeySecret` (give one of the two). */
  secretKey?: string
  /**
   * Instance namespace, as ali-ons: the group and every topic are `<namespace>%<name>` on the brokers. Unlike ali-ons,
   * the handler's `msg.topic` and send results show the bare topic. `''` (the default) is none.
   */
  namespace?: string
  /** Refused: the ONS address server is not supported; give `nameSrv`. */
  onsAddr?: string
  /**
   * Only `'ALIYUN'` (ali-ons' default, and the value ali-ons signs with whatever is given): an Aliyun ONS field that
   * Apache RocketMQ brokers do not read, so it is not sent.
   */
  onsChannel?: string
  /** Only 30000: the engine refreshes routes every 30 s (and at once when a broker reports a change). */
  pollNameServerInteval?: number
  /** Only 30000: the engine sends heartbeats every 30 s. */
  heartbeatBrokerInterval?: number
  /** Only `false`: unit mode is not supported. */
  unitMode?: boolean
  /** Refused: the engine finds the local address itself. */
  clientIP?: string
  /** Refused: this package logs through `setLogger` (process-wide) from `rocketmq-napi`. */
  logger?: unknown
  /** Refused: connection timeouts are the engine's. */
  connectTimeout?: number
  /** Refused: request budgets are the engine's (`sendMsgTimeout` for sends). */
  responseTimeout?: number
}

/** ali-ons' producer options. */
export interface AliOnsProducerOptions extends AliOnsClientOptions {
  /** The producer group. Default `DEFAULT_PRODUCER`, as ali-ons. */
  producerGroup?: string
  /** Budget of one send, ms. Default 3000. */
  sendMsgTimeout?: number
  /** Extra attempts of a failed send, on another broker when there is one. Default 3, as ali-ons. */
  retryTimesWhenSendFailed?: number
  /** Bodies from this many bytes on are zlib-compressed. Default 4096. */
  compressMsgBodyOverHowmuch?: number
  /** Largest body accepted, bytes. Default: the engine's 4 MiB (ali-ons declares 128 KiB but never checks it). */
  maxMessageSize?: number
  /** Only `'TBW102'`, the topic the engine sends through for a topic without a route. */
  createTopicKey?: string
  /** Only 4, the queue count the engine asks for when a broker auto-creates a topic. */
  defaultTopicQueueNums?: number
  /** Only `false`: a send the broker stored with a non-OK status is not sent again. */
  retryAnotherBrokerWhenNotStoreOK?: boolean
}

/** ali-ons' consumer options. */
export interface AliOnsConsumerOptions extends AliOnsClientOptions {
  /** The consumer group (required). */
  consumerGroup: string
  /** Every member gets every message (offsets kept locally); default false: the members share the queues. */
  isBroadcast?: boolean
  /**
   * Broadcasting: keep offsets in a file across runs (`~/.rocketmq_offsets/<clientId>/<group>/offsets.json`).
   * Default false, as ali-ons: offsets live for the consumer's life only (a temporary file, removed at `close()`).
   * Without `isBroadcast` it changes nothing, as in ali-ons: a clustering group's offsets always live on the brokers.
   */
  persistent?: boolean
  /** Where a new group starts. Default CONSUME_FROM_LAST_OFFSET. */
  consumeFromWhere?: AliOnsConsumeFromWhere
  /** For CONSUME_FROM_TIMESTAMP: `YYYYMMDDHHmmss`, local time. Default: half an hour before start. */
  consumeTimestamp?: string
  /** Messages asked for per pull, 1..1024. Default 32. */
  pullBatchSize?: number
  /** Handler calls in flight at most (over all topics); at most `pullBatchSize`. Default 1, as ali-ons. */
  parallelConsumeLimit?: number
  /** No pull while a queue holds more messages than this. Default 500, as ali-ons. */
  pullThresholdForQueue?: number
  /** How long a queue over the threshold waits before checking again, ms. Default: the engine's 50 (ali-ons: 5000). */
  pullTimeDelayMillsWhenFlowControl?: number
  /** Only 3000: a failed pull is tried again after 3 s. */
  pullTimeDelayMillsWhenException?: number
  /** Pause between two pulls of a queue, ms. Default 0. */
  pullInterval?: number
  /** How long a broker may hold a pull that finds nothing, ms. Default 15000. */
  brokerSuspendMaxTimeMillis?: number
  /** The client's budget of such a pull, ms; greater than `brokerSuspendMaxTimeMillis`. Default 30000. */
  consumerTimeoutMillisWhenSuspend?: number
  /** How often offsets are committed, ms. Default 5000. */
  persistConsumerOffsetInterval?: number
  /** How often the queues are shared out again (besides the brokers' notices), ms. Default 10000, as ali-ons. */
  rebalanceInterval?: number
  /** Deliveries of a failing message before it goes to `%DLQ%<group>`. Default 16. */
  maxReconsumeTimes?: number
  /** Only 1: the handler takes one message (ali-ons accepts other values and ignores them). */
  consumeMessageBatchMaxSize?: number
  /** Only `true`: the subscription travels with every pull. */
  postSubscriptionWhenPull?: boolean
  /** Refused: the queues are shared averagely (ali-ons' default), by the engine. */
  allocateMessageQueueStrategy?: unknown
}

const COMMON = new Set<string>([
  'nameSrv', 'httpclient', 'instanceName', 'unitName', 'accessKeyId', 'accessKeySecret', 'accessKey', 'secretKey',
  'namespace', 'onsAddr', 'onsChannel', 'pollNameServerInteval', 'heartbeatBrokerInterval', 'unitMode', 'clientIP',
  'logger', 'connectTimeout', 'responseTimeout',
  // Read by ali-ons' base class but meaningful to the consumer only; the producer ignores them there too.
  'persistConsumerOffsetInterval', 'rebalanceInterval',
])

const PRODUCER = new Set<string>([
  ...COMMON, 'producerGroup', 'sendMsgTimeout', 'retryTimesWhenSendFailed', 'compressMsgBodyOverHowmuch',
  'maxMessageSize', 'createTopicKey', 'defaultTopicQueueNums', 'retryAnotherBrokerWhenNotStoreOK',
])

const CONSUMER = new Set<string>([
  ...COMMON, 'consumerGroup', 'isBroadcast', 'persistent', 'consumeFromWhere', 'consumeTimestamp', 'pullBatchSize',
  'parallelConsumeLimit', 'pullThresholdForQueue', 'pullTimeDelayMillsWhenFlowControl',
  'pullTimeDelayMillsWhenException', 'pullInterval', 'brokerSuspendMaxTimeMillis', 'consumerTimeoutMillisWhenSuspend',
  'maxReconsumeTimes', 'consumeMessageBatchMaxSize', 'postSubscriptionWhenPull', 'allocateMessageQueueStrategy',
])

type Options = Readonly<Record<string, unknown>>

function refuseUnknown(options: Options, known: ReadonlySet<string>, what: string): void {
  for (const name of Object.keys(options)) {
    if (!known.has(name)) {
      throw new ConfigError(`ali-ons ${what} option ${name} is not an option of ali-ons' ${what}`)
    }
  }
}

/** An option accepted only at the value the engine behaves as. */
function onlyValue(options: Options, name: string, expected: unknown, why: string): void {
  const value = options[name]
  if (value !== undefined && value !== expected) {
    throw new ConfigError(`ali-ons option ${name} ${JSON.stringify(value)} is not supported: only ${JSON.stringify(expected)}, ${why}`)
  }
}

/** An option refused whenever it is set. */
function refused(options: Options, name: string, why: string): void {
  if (options[name] !== undefined && options[name] !== null) {
    throw new ConfigError(`ali-ons option ${name} is not supported: ${why}`)
  }
}

function optionalString(options: Options, name: string): string | undefined {
  const value = options[name]
  if (value === undefined) {
    return undefined
  }
  if (typeof value !== 'string') {
    throw new ConfigError(`ali-ons option ${name} ${JSON.stringify(value)} is not a string`)
  }
  return value
}

function optionalBoolean(options: Options, name: string): boolean | undefined {
  const value = options[name]
  if (value === undefined) {
    return undefined
  }
  if (typeof value !== 'boolean') {
    throw new ConfigError(`ali-ons option ${name} ${JSON.stringify(value)} is not a boolean`)
  }
  return value
}

/** A number handed to the engine, which checks its range (and names the setting it maps to). */
function optionalNumber(options: Options, name: string): number | undefined {
  const value = options[name]
  if (value === undefined) {
    return undefined
  }
  if (typeof value !== 'number') {
    throw new ConfigError(`ali-ons option ${name} ${JSON.stringify(value)} is not a number`)
  }
  return value
}

/** `nameSrv` as the engine's `host:port;host:port`; undefined lets the engine read `NAMESRV_ADDR`. */
function namesrvAddr(options: Options): string | undefined {
  const value = options.nameSrv
  if (value === undefined) {
    return undefined
  }
  const list = typeof value === 'string' ? [value] : value
  if (!Array.isArray(list) || list.length === 0 || list.some((entry) => typeof entry !== 'string' || entry === '')) {
    throw new ConfigError(`ali-ons option nameSrv ${JSON.stringify(value)} must be a "host:port" string or a non-empty array of them`)
  }
  return (list as string[]).join(';')
}

/** One of two names of a credential (`accessKeyId` / `accessKey`); a message names both, never the value. */
function credential(options: Options, name: string, alias: string): string | undefined {
  for (const key of [name, alias]) {
    const given = options[key]
    if (given !== undefined && typeof given !== 'string') {
      // The type only: a secret's value is never shown.
      throw new ConfigError(`ali-ons option ${key} must be a string; got ${given === null ? 'null' : typeof given}`)
    }
  }
  const value = options[name] as string | undefined
  const other = options[alias] as string | undefined
  if (value !== undefined && other !== undefined && value !== other) {
    throw new ConfigError(`ali-ons options ${name} and ${alias} name the same setting and differ; give one of them`)
  }
  return value ?? other
}

/** The ACL credentials of the options, as this package's settings; the engine checks both-or-none and blanks. */
function credentialSettings(options: Options): CredentialSettings {
  const credentials: CredentialSettings = {}
  const accessKey = credential(options, 'accessKeyId', 'accessKey')
  const secretKey = credential(options, 'accessKeySecret', 'secretKey')
  if ((accessKey === undefined) !== (secretKey === undefined)) {
    const [given, missing] = accessKey === undefined ? ['accessKeySecret', 'accessKeyId'] : ['accessKeyId', 'accessKeySecret']
    throw new ConfigError(`ali-ons option ${given} is set but ${missing} is not; give both (or neither, for a cluster without ACL)`)
  }
  if (accessKey !== undefined) {
    credentials.accessKey = accessKey
  }
  if (secretKey !== undefined) {
    credentials.secretKey = secretKey
  }
  return credentials
}

/** What both clients take from the options they share. */
type CommonSettings = CredentialSettings & { namesrvAddr?: string; instanceName?: string; unitName?: string; namespace?: string }

/** The checks and settings of the options both clients share. */
function commonSettings(options: Options): CommonSettings {
  refused(options, 'onsAddr', 'the ONS address server is not supported; give the NameServers as nameSrv')
  onlyValue(options, 'onsChannel', 'ALIYUN', 'the value ali-ons always signs with; Apache RocketMQ brokers do not read it')
  onlyValue(options, 'pollNameServerInteval', 30000, 'the engine refreshes routes every 30 s and when a broker reports a change')
  onlyValue(options, 'heartbeatBrokerInterval', 30000, 'the engine sends heartbeats every 30 s')
  onlyValue(options, 'unitMode', false, 'unit mode is not supported')
  refused(options, 'clientIP', 'the engine finds the local address for the client id itself')
  refused(options, 'logger', "logs go through setLogger() of 'rocketmq-napi' (process-wide)")
  refused(options, 'connectTimeout', 'connection timeouts are the engine\'s')
  refused(options, 'responseTimeout', 'request budgets are the engine\'s (sendMsgTimeout bounds a send)')
  const settings: CommonSettings = credentialSettings(options)
  const namespace = optionalString(options, 'namespace')
  if (namespace !== undefined && namespace !== '') {
    settings.namespace = namespace
  }
  const addr = namesrvAddr(options)
  if (addr !== undefined) {
    settings.namesrvAddr = addr
  } else if (process.env.NAMESRV_ADDR === undefined) {
    throw new ConfigError('ali-ons option nameSrv is required (or the NAMESRV_ADDR environment variable): the ONS address server lookup is not supported')
  }
  const instanceName = optionalString(options, 'instanceName')
  if (instanceName !== undefined) {
    settings.instanceName = instanceName
  }
  const unitName = optionalString(options, 'unitName')
  if (unitName !== undefined && unitName !== null) {
    settings.unitName = unitName
  }
  return settings
}

function checkObject(options: unknown, what: string): Options {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError(`ali-ons ${what} needs an options object`)
  }
  return options as Options
}

/**
 * The producer settings of ali-ons producer options.
 *
 * @throws ConfigError naming an option that is refused, unknown or of the wrong type
 */
export function toProducerConfig(given: unknown): ProducerConfig {
  const options = checkObject(given, 'producer')
  refuseUnknown(options, PRODUCER, 'producer')
  const config: ProducerConfig = { ...commonSettings(options), producerGroup: optionalString(options, 'producerGroup') ?? 'DEFAULT_PRODUCER' }
  onlyValue(options, 'createTopicKey', 'TBW102', 'the engine sends through TBW102 for a topic without a route')
  onlyValue(options, 'defaultTopicQueueNums', 4, 'the engine asks for 4 queues when a broker auto-creates a topic')
  onlyValue(options, 'retryAnotherBrokerWhenNotStoreOK', false, 'a message the broker stored is not sent again')
  config.sendMsgTimeout = optionalNumber(options, 'sendMsgTimeout') ?? 3000
  config.retryTimesWhenSendFailed = optionalNumber(options, 'retryTimesWhenSendFailed') ?? 3
  const compress = optionalNumber(options, 'compressMsgBodyOverHowmuch')
  if (compress !== undefined) {
    config.compressMsgBodyOverHowmuch = compress
  }
  const maxMessageSize = optionalNumber(options, 'maxMessageSize')
  if (maxMessageSize !== undefined) {
    config.maxMessageSize = maxMessageSize
  }
  return config
}

/** `YYYYMMDDHHmmss` (local time, as ali-ons and Java read it) as milliseconds since the epoch. */
function parseConsumeTimestamp(value: string): number {
  const match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(value)
  if (match === null) {
    throw new ConfigError(`ali-ons option consumeTimestamp ${JSON.stringify(value)} is not a YYYYMMDDHHmmss time`)
  }
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [number, number, number, number, number, number]
  return new Date(year, month - 1, day, hour, minute, second).getTime()
}

const OLD_LAST_OFFSET_NAMES = new Set([
  'CONSUME_FROM_LAST_OFFSET_AND_FROM_MIN_WHEN_BOOT_FIRST',
  'CONSUME_FROM_MIN_OFFSET',
  'CONSUME_FROM_MAX_OFFSET',
])

function consumeFromWhere(options: Options): ConsumeFromWhere | undefined {
  const value = optionalString(options, 'consumeFromWhere')
  if (value === undefined) {
    return undefined
  }
  if (OLD_LAST_OFFSET_NAMES.has(value)) {
    return ConsumeFromWhere.CONSUME_FROM_LAST_OFFSET
  }
  if (!(Object.values(ConsumeFromWhere) as string[]).includes(value)) {
    throw new ConfigError(`ali-ons option consumeFromWhere ${JSON.stringify(value)} is not one of ${[...Object.values(ConsumeFromWhere), ...OLD_LAST_OFFSET_NAMES].join(', ')}`)
  }
  return value as ConsumeFromWhere
}

/** A consumer's settings, and the temporary offsets directory it owns (non-persistent broadcasting). */
export interface TranslatedConsumerConfig {
  /** The engine's settings. */
  config: ConsumerConfig
  /** A directory to remove at close, or undefined. */
  temporaryOffsetDir: string | undefined
}

/**
 * The consumer settings of ali-ons consumer options (defaults as ali-ons where they shape what the handler sees).
 *
 * @throws ConfigError naming an option that is missing, refused, unknown or of the wrong type, or a value the
 *   engine refuses (naming the engine's setting)
 */
export function toConsumerConfig(given: unknown): TranslatedConsumerConfig {
  const options = checkObject(given, 'consumer')
  refuseUnknown(options, CONSUMER, 'consumer')
  const consumerGroup = optionalString(options, 'consumerGroup')
  if (consumerGroup === undefined || consumerGroup === '') {
    throw new ConfigError('ali-ons option consumerGroup is required')
  }
  onlyValue(options, 'pullTimeDelayMillsWhenException', 3000, 'a failed pull is tried again after 3 s')
  onlyValue(options, 'consumeMessageBatchMaxSize', 1, 'the handler takes one message')
  onlyValue(options, 'postSubscriptionWhenPull', true, 'the subscription travels with every pull')
  refused(options, 'allocateMessageQueueStrategy', 'the engine shares the queues averagely (the default of ali-ons); custom strategies are not supported')
  const pullBatchSize = optionalNumber(options, 'pullBatchSize') ?? 32
  const parallelConsumeLimit = optionalNumber(options, 'parallelConsumeLimit') ?? 1
  if (parallelConsumeLimit > pullBatchSize) {
    throw new ConfigError(`ali-ons option parallelConsumeLimit ${parallelConsumeLimit} must not exceed pullBatchSize ${pullBatchSize}`)
  }
  const broadcast = optionalBoolean(options, 'isBroadcast') ?? false
  const persistent = optionalBoolean(options, 'persistent') ?? false
  const config: ConsumerConfig = {
    ...commonSettings(options),
    consumerGroup,
    messageModel: broadcast ? MessageModel.BROADCASTING : MessageModel.CLUSTERING,
    pullBatchSize,
    consumeThreadNum: parallelConsumeLimit,
    consumeMessageBatchMaxSize: 1,
    pullThresholdForQueue: optionalNumber(options, 'pullThresholdForQueue') ?? 500,
    rebalanceInterval: optionalNumber(options, 'rebalanceInterval') ?? 10000,
    maxReconsumeTimes: optionalNumber(options, 'maxReconsumeTimes') ?? 16,
  }
  const from = consumeFromWhere(options)
  if (from !== undefined) {
    config.consumeFromWhere = from
  }
  const timestamp = optionalString(options, 'consumeTimestamp')
  if (timestamp !== undefined) {
    config.consumeTimestamp = parseConsumeTimestamp(timestamp)
  }
  const mapped: Array<[keyof AliOnsConsumerOptions, keyof ConsumerConfig]> = [
    ['pullTimeDelayMillsWhenFlowControl', 'flowControlInterval'],
    ['pullInterval', 'pullInterval'],
    ['brokerSuspendMaxTimeMillis', 'brokerSuspendMaxTimeMillis'],
    ['consumerTimeoutMillisWhenSuspend', 'consumerTimeoutMillisWhenSuspend'],
    ['persistConsumerOffsetInterval', 'persistConsumerOffsetInterval'],
  ]
  for (const [ours, theirs] of mapped) {
    const value = optionalNumber(options, ours)
    if (value !== undefined) {
      ;(config as unknown as Record<string, number>)[theirs] = value
    }
  }
  let temporaryOffsetDir: string | undefined
  if (broadcast && !persistent) {
    temporaryOffsetDir = mkdtempSync(join(tmpdir(), 'rocketmq-napi-ali-ons-'))
    config.offsetStoreDir = temporaryOffsetDir
  }
  return { config, temporaryOffsetDir }
}
