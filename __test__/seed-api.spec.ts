/**
 * Every name of the consumer module this API follows (../shared/docs/seed-consumer-module.md, in camelCase as
 * the design maps it) exists, is the kind of thing the seed says, and is exercised by at least one other spec or
 * by an example that examples.spec.ts runs. The behaviour behind each name is asserted in those specs; this one
 * keeps a name from going missing or untested.
 */
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

import test from 'ava'

import * as api from '../index'
import { ConfigError, createConsumerConfig } from '../index'

const root = join(__dirname, '..')

/** Classes the seed names, each with the methods it lists. */
const CLASSES: Record<string, readonly string[]> = {
  Consumer: ['start', 'shutdown'],
  // consumeMessage is abstract on these: the user's subclass supplies it.
  MessageListener: [],
  MessageListenerConcurrently: [],
  MessageListenerOrderly: [],
  SimpleMessageListener: ['consumeMessage'],
  MessageSelector: [],
  SubscriptionManager: [
    'subscribe',
    'unsubscribe',
    'updateSelector',
    'getSubscription',
    'isSubscribed',
    'getTopics',
    'toSubscriptionDataList',
    'fromSubscriptionDataList',
    'exportSubscriptions',
    'importSubscriptions',
  ],
  // The abstract base declares them; the two kinds implement them.
  OffsetStore: [],
  RemoteOffsetStore: ['start', 'stop', 'load', 'updateOffset', 'persist', 'persistAll', 'readOffset', 'removeOffset', 'getMetrics'],
  LocalOffsetStore: ['start', 'stop', 'load', 'updateOffset', 'persist', 'persistAll', 'readOffset', 'removeOffset', 'getMetrics'],
  OffsetStoreManager: ['getOrCreateOffsetStore', 'getManagedStoresInfo', 'getAllMetrics', 'closeOffsetStore', 'closeAll'],
}

/** Static factory methods. */
const STATIC_METHODS: Record<string, readonly string[]> = {
  OffsetStoreFactory: ['createOffsetStore'],
  MessageSelector: ['byTag', 'bySql'],
}

/** Free functions. */
const FUNCTIONS = [
  'createConsumerConfig',
  'getOffsetStoreManager',
  'createOffsetStore',
  'closeOffsetStore',
  'closeAllOffsetStores',
  'getOffsetStoreMetrics',
  'validateOffsetStoreConfig',
] as const

/** Enumerations and the values the seed gives them. */
const ENUMS: Record<string, Record<string, string>> = {
  MessageModel: { CLUSTERING: 'CLUSTERING', BROADCASTING: 'BROADCASTING' },
  ConsumeResult: {
    SUCCESS: 'CONSUME_SUCCESS',
    RECONSUME_LATER: 'RECONSUME_LATER',
    COMMIT: 'COMMIT',
    ROLLBACK: 'ROLLBACK',
    SUSPEND_CURRENT_QUEUE_A_MOMENT: 'SUSPEND_CURRENT_QUEUE_A_MOMENT',
  },
  ReadOffsetType: {
    MEMORY_FIRST_THEN_STORE: 'MEMORY_FIRST_THEN_STORE',
    READ_FROM_MEMORY: 'READ_FROM_MEMORY',
    READ_FROM_STORE: 'READ_FROM_STORE',
  },
}

/** The error tree: each class and its parent. */
const ERRORS: Record<string, string> = {
  ConsumerStartError: 'ConsumerError',
  ConsumerShutdownError: 'ConsumerError',
  ConsumerStateError: 'ConsumerError',
  SubscribeError: 'ConsumerError',
  UnsubscribeError: 'ConsumerError',
  MessageConsumeError: 'ConsumerError',
  MessagePullError: 'ConsumerError',
  OffsetError: 'ConsumerError',
  RebalanceError: 'ConsumerError',
  BrokerNotAvailableError: 'ConsumerError',
  NameServerError: 'ConsumerError',
  NetworkError: 'ConsumerError',
  TimeoutError: 'ConsumerError',
  ConfigError: 'ConsumerError',
  ValidationError: 'ConsumerError',
  InvalidTopicError: 'SubscriptionError',
  InvalidSelectorError: 'SubscriptionError',
  TopicNotSubscribedError: 'SubscriptionError',
  SubscriptionConflictError: 'SubscriptionError',
  SubscriptionLimitExceededError: 'SubscriptionError',
  SubscriptionDataError: 'SubscriptionError',
}

/** The settings of the seed's configuration examples (camelCase). */
const CONFIG_SETTINGS = [
  'consumerGroup',
  'namesrvAddr',
  'messageModel',
  'storePath',
  'consumeThreadNum',
  'consumeMessageBatchMaxSize',
  'pullBatchSize',
  'autoCommitInterval',
  'pullThresholdForAll',
  'pullThresholdSizeForAll',
  'pullThresholdForTopic',
  'pullThresholdSizeForTopic',
  'consumerTimeoutMillisWhenSuspend',
  'consumerTimeoutMillisSendMessage',
  'consumerTimeoutMillisOfRequest',
  'consumeConcurrentlyMaxSpan',
  'flowControlMaxDiff',
  'flowControlInterval',
  'persistConsumerOffsetInterval',
  'maxOffsetStoreSize',
  'offsetStoreRetryTimes',
  'offsetStoreRecoveryThreshold',
  'enableMessageTrace',
  'enableMessageCompression',
  'compressMsgBodyOverHowmuch',
  'retryTimesWhenSendAsyncFailed',
] as const

/** The seed's names that are aliases of the Java client's settings here: the resolved config carries the Java name. */
const ALIASES: Record<string, string> = {
  storePath: 'offsetStoreDir',
  flowControlMaxDiff: 'consumeConcurrentlyMaxSpan',
  autoCommitInterval: 'persistConsumerOffsetInterval',
}

/** Keys of the offset store metrics the seed reads. */
const METRIC_KEYS = ['persistSuccessRate', 'cacheHitRate', 'avgPersistLatency', 'persistSuccessCount'] as const

const exported = api as unknown as Record<string, unknown>

/** The text of every other spec and of every example (examples.spec.ts runs them all). */
const exercisingSources: string = (() => {
  const files = [
    ...readdirSync(join(root, '__test__'))
      .filter((name) => name.endsWith('.spec.ts') && name !== 'seed-api.spec.ts')
      .map((name) => join(root, '__test__', name)),
    ...readdirSync(join(root, 'examples'))
      .filter((name) => name.endsWith('.ts'))
      .map((name) => join(root, 'examples', name)),
  ]
  return files.map((file) => readFileSync(file, 'utf8')).join('\n')
})()

function exercised(name: string): boolean {
  return new RegExp(`\\b${name}\\b`).test(exercisingSources)
}

test('every class of the seed is exported with the methods it lists', (t) => {
  for (const [name, methods] of Object.entries(CLASSES)) {
    const value = exported[name]
    t.is(typeof value, 'function', name)
    const prototype = (value as { prototype: Record<string, unknown> }).prototype
    for (const method of methods) {
      t.is(typeof prototype[method], 'function', `${name}.${method}`)
    }
  }
  for (const [name, methods] of Object.entries(STATIC_METHODS)) {
    for (const method of methods) {
      t.is(typeof (exported[name] as Record<string, unknown>)[method], 'function', `${name}.${method}`)
    }
  }
  for (const name of FUNCTIONS) {
    t.is(typeof exported[name], 'function', name)
  }
})

test("every enumeration has the seed's values", (t) => {
  for (const [name, values] of Object.entries(ENUMS)) {
    t.deepEqual({ ...(exported[name] as Record<string, string>) }, values, name)
  }
})

test("every error class of the seed is an Error in its family, with a stable code", (t) => {
  for (const [name, parent] of Object.entries(ERRORS)) {
    const ErrorClass = exported[name] as new (message: string) => Error & { code: string }
    const ParentClass = exported[parent] as abstract new (...args: never[]) => unknown
    const error = new ErrorClass('x')
    t.true(error instanceof Error, name)
    t.true(error instanceof ParentClass, `${name} is a ${parent}`)
    t.regex(error.code, /^ERR_[A-Z_]+$/, name)
    t.is(error.name, name)
  }
})

test('every setting of the seed is known: honoured, or refused with a ConfigError naming it', (t) => {
  const values: Record<string, unknown> = {
    consumerGroup: 'seed_api_group',
    namesrvAddr: '127.0.0.1:9876',
    messageModel: 'BROADCASTING',
    storePath: '/tmp/seed_api_offsets',
    consumeThreadNum: 20,
    consumeMessageBatchMaxSize: 1,
    pullBatchSize: 32,
    autoCommitInterval: 5000,
    pullThresholdForAll: 50000,
    pullThresholdSizeForAll: 100,
    pullThresholdForTopic: 5000,
    pullThresholdSizeForTopic: 100,
    consumerTimeoutMillisWhenSuspend: 30000,
    consumerTimeoutMillisSendMessage: 3000,
    consumerTimeoutMillisOfRequest: 20000,
    consumeConcurrentlyMaxSpan: 2000,
    flowControlMaxDiff: 2000,
    flowControlInterval: 20,
    persistConsumerOffsetInterval: 5000,
    maxOffsetStoreSize: 10000,
    offsetStoreRetryTimes: 3,
    offsetStoreRecoveryThreshold: 0.8,
    enableMessageTrace: true,
    enableMessageCompression: true,
    compressMsgBodyOverHowmuch: 4096,
    retryTimesWhenSendAsyncFailed: 2,
  }
  for (const setting of CONFIG_SETTINGS) {
    const config: Record<string, unknown> = { consumerGroup: 'seed_api_group', namesrvAddr: '127.0.0.1:9876', [setting]: values[setting] }
    if (setting === 'storePath') {
      config.messageModel = 'BROADCASTING'
    }
    try {
      const resolved = createConsumerConfig(config as unknown as Parameters<typeof createConsumerConfig>[0]) as unknown as Record<string, unknown>
      const carriedAs = ALIASES[setting] ?? setting
      t.true(carriedAs in resolved, `${setting} is accepted, so the resolved config carries it as ${carriedAs}`)
      t.is(resolved[carriedAs], values[setting], `${setting} keeps its value`)
    } catch (error) {
      t.true(error instanceof ConfigError, `${setting}: ${String(error)}`)
      t.true((error as Error).message.includes(setting), `the refusal names ${setting}: ${(error as Error).message}`)
    }
  }
})

test('every name of the seed is exercised by another spec or by an example the examples spec runs', (t) => {
  const names = [
    ...Object.keys(CLASSES),
    ...Object.values(CLASSES).flat(),
    ...Object.keys(STATIC_METHODS),
    ...Object.values(STATIC_METHODS).flat(),
    ...FUNCTIONS,
    ...Object.keys(ENUMS),
    ...Object.values(ENUMS).flatMap((values) => Object.keys(values)),
    ...Object.keys(ERRORS),
    'ConsumerError',
    'SubscriptionError',
    ...CONFIG_SETTINGS,
    ...METRIC_KEYS,
    'ConsumeMessageContext',
    'offsetStore',
    'messageQueue',
  ]
  const missing = [...new Set(names)].filter((name) => !exercised(name))
  t.deepEqual(missing, [])
})
