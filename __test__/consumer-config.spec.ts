/**
 * Consumer configuration, selectors and subscriptions: checked before anything connects (no cluster needed).
 */
import test from 'ava'

import {
  CLIENT_NAME_ENV,
  CONSUMER_DEFAULTS,
  ConfigError,
  ConsumeFromWhere,
  type ConsumeMessageContext,
  ConsumeResult,
  type ConsumedMessage,
  Consumer,
  ExpressionType,
  InvalidSelectorError,
  InvalidTopicError,
  MessageListenerConcurrently,
  MessageModel,
  MessageSelector,
  OFFSET_STORE_DIR_ENV,
  SimpleMessageListener,
  DEFAULT_MAX_SUBSCRIPTIONS,
  SUBSCRIPTIONS_EXPORT_VERSION,
  SubscriptionConflictError,
  SubscriptionDataError,
  SubscriptionLimitExceededError,
  SubscriptionManager,
  type SubscriptionsExport,
  TopicNotSubscribedError,
  createConsumerConfig,
} from '../index'
import { toNativeConsumerConfig } from '../lib/consumer-config'
import { nativeBinding } from '../lib/native'
import { tagHash } from '../lib/selector'

const base = { consumerGroup: 'config_spec_group', namesrvAddr: '127.0.0.1:9876' }

test('defaults are the Java push consumer defaults', (t) => {
  const config = createConsumerConfig(base)
  t.is(config.messageModel, MessageModel.CLUSTERING)
  t.is(config.consumeFromWhere, ConsumeFromWhere.CONSUME_FROM_LAST_OFFSET)
  t.is(config.consumeThreadNum, 20)
  t.is(config.consumeMessageBatchMaxSize, 1)
  t.is(config.pullBatchSize, 32)
  t.is(config.pullThresholdForQueue, 1000)
  t.is(config.pullThresholdSizeForQueue, 100)
  t.is(config.consumeConcurrentlyMaxSpan, 2000)
  // Java's -1: 16 for concurrent listeners, unbounded for orderly ones.
  t.is(config.maxReconsumeTimes, -1)
  t.is(config.persistConsumerOffsetInterval, 5000)
  t.is(config.allocateStrategy, 'AVG')
  t.true(Object.isFrozen(config))
  t.is(CONSUMER_DEFAULTS.consumeThreadNum, 20)
  // The seed's settings, with Java's defaults where Java has one.
  t.is(config.flowControlInterval, 50)
  t.is(config.consumerTimeoutMillisWhenSuspend, 30000)
  t.is(config.brokerSuspendMaxTimeMillis, 15000)
  t.is(config.consumerTimeoutMillisSendMessage, 5000)
  t.is(config.consumerTimeoutMillisOfRequest, undefined, "unset: each request's own budget")
  t.is(config.pullThresholdForAll, undefined)
  t.is(config.pullThresholdSizeForAll, undefined)
  t.true(config.enableAutoCommit)
  t.false(config.enableMessageTrace)
  t.true(config.enableMessageCompression)
  t.is(config.compressMsgBodyOverHowmuch, 4096)
  t.is(config.retryTimesWhenSendAsyncFailed, 2)
  t.is(config.offsetStoreRetryTimes, 0)
  // The displayed table is what a configuration gets.
  for (const [name, value] of Object.entries(CONSUMER_DEFAULTS)) {
    t.is((config as unknown as Record<string, unknown>)[name], value, name)
  }
})

/** A native configuration without its unset fields (napi-rs may give them as undefined or null). */
function setFields(native: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(native).filter(([, value]) => value !== undefined && value !== null))
}

test("the TypeScript defaults are the engine's: a default configuration reaches it as its own defaults", (t) => {
  const engine = setFields(nativeBinding().consumerDefaults())
  const ours = setFields(toNativeConsumerConfig(createConsumerConfig(base)))
  // Only the two settings without a default differ: the engine's are empty.
  t.deepEqual({ ...ours, namesrvAddr: '', consumerGroup: '' }, engine)
  t.is(engine.pullThresholdSizeForQueueBytes, CONSUMER_DEFAULTS.pullThresholdSizeForQueue * 1024 * 1024)
  t.is(engine.consumeTimeoutMs, CONSUMER_DEFAULTS.consumeTimeout * 60_000)
})

function withEnv(name: string, value: string | undefined, run: () => void): void {
  const saved = process.env[name]
  if (value === undefined) {
    delete process.env[name]
  } else {
    process.env[name] = value
  }
  try {
    run()
  } finally {
    if (saved === undefined) {
      delete process.env[name]
    } else {
      process.env[name] = saved
    }
  }
}

test('namesrvAddr falls back to NAMESRV_ADDR', (t) => {
  withEnv('NAMESRV_ADDR', '127.0.0.1:19876', () => {
    t.is(createConsumerConfig({ consumerGroup: 'g' }).namesrvAddr, '127.0.0.1:19876')
  })
})

test('ROCKETMQ_OFFSET_STORE_DIR gives a broadcasting consumer its offsets directory; ROCKETMQ_CLIENT_NAME the instance name', (t) => {
  t.is(OFFSET_STORE_DIR_ENV, 'ROCKETMQ_OFFSET_STORE_DIR')
  t.is(CLIENT_NAME_ENV, 'ROCKETMQ_CLIENT_NAME')
  withEnv(OFFSET_STORE_DIR_ENV, '/srv/offsets', () => {
    const broadcasting = createConsumerConfig({ ...base, messageModel: MessageModel.BROADCASTING })
    t.is(broadcasting.offsetStoreDir, '/srv/offsets')
    t.is(toNativeConsumerConfig(broadcasting).offsetStoreDir, '/srv/offsets')
    t.is(createConsumerConfig({ ...base, messageModel: MessageModel.BROADCASTING, offsetStoreDir: '/x' }).offsetStoreDir, '/x')
    // A clustering group's offsets live on the brokers: the variable does not apply (and is no error).
    t.is(createConsumerConfig(base).offsetStoreDir, undefined)
  })
  withEnv(CLIENT_NAME_ENV, 'edge-7', () => {
    t.is(createConsumerConfig(base).instanceName, 'edge-7')
    t.is(toNativeConsumerConfig(createConsumerConfig(base)).instanceName, 'edge-7')
    t.is(createConsumerConfig({ ...base, instanceName: 'mine' }).instanceName, 'mine')
  })
  withEnv(CLIENT_NAME_ENV, undefined, () => {
    t.is(createConsumerConfig(base).instanceName, undefined)
  })
})

test("the seed's settings reach the engine in its units", (t) => {
  const native = toNativeConsumerConfig(
    createConsumerConfig({
      ...base,
      pullThresholdForAll: 50000,
      pullThresholdSizeForAll: 100,
      flowControlInterval: 20,
      consumerTimeoutMillisWhenSuspend: 20000,
      brokerSuspendMaxTimeMillis: 10000,
      consumerTimeoutMillisSendMessage: 3000,
      consumerTimeoutMillisOfRequest: 20000,
      enableMessageCompression: false,
      compressMsgBodyOverHowmuch: 8192,
      retryTimesWhenSendAsyncFailed: 0,
      offsetStoreRetryTimes: 3,
      enableAutoCommit: true,
      enableMessageTrace: false,
    }),
  )
  t.like(native, {
    pullThresholdForAll: 50000,
    pullThresholdSizeForAllBytes: 100 * 1024 * 1024,
    flowControlIntervalMs: 20,
    consumerTimeoutMillisWhenSuspend: 20000,
    brokerSuspendMaxTimeMillis: 10000,
    consumerTimeoutMillisSendMessage: 3000,
    consumerTimeoutMillisOfRequest: 20000,
    enableMessageCompression: false,
    compressMsgBodyOverHowmuch: 8192,
    retryTimesWhenSendAsyncFailed: 0,
    offsetStoreRetryTimes: 3,
    enableAutoCommit: true,
    enableMessageTrace: false,
  })
  t.notThrows(() => nativeBinding().checkConsumerConfig(native))
})

test("the seed's other names are aliases; both names with different values is a ConfigError naming both", (t) => {
  t.is(createConsumerConfig({ ...base, flowControlMaxDiff: 3000 }).consumeConcurrentlyMaxSpan, 3000)
  t.is(createConsumerConfig({ ...base, autoCommitInterval: 1000 }).persistConsumerOffsetInterval, 1000)
  t.is(createConsumerConfig({ ...base, messageModel: MessageModel.BROADCASTING, storePath: '/tmp/o' }).offsetStoreDir, '/tmp/o')
  t.is(createConsumerConfig({ ...base, flowControlMaxDiff: 3000, consumeConcurrentlyMaxSpan: 3000 }).consumeConcurrentlyMaxSpan, 3000)
  const conflicts: Array<[Record<string, unknown>, string]> = [
    [
      { flowControlMaxDiff: 10000, consumeConcurrentlyMaxSpan: 2000 },
      'flowControlMaxDiff 10000 and consumeConcurrentlyMaxSpan 2000 are one setting',
    ],
    [
      { autoCommitInterval: 1000, persistConsumerOffsetInterval: 5000 },
      'autoCommitInterval 1000 and persistConsumerOffsetInterval 5000 are one setting',
    ],
    [
      { messageModel: MessageModel.BROADCASTING, storePath: '/a', offsetStoreDir: '/b' },
      'storePath "/a" and offsetStoreDir "/b" are one setting',
    ],
  ]
  for (const [override, expected] of conflicts) {
    t.throws(() => createConsumerConfig({ ...base, ...override } as never), {
      instanceOf: ConfigError,
      message: (m: string) => m.startsWith(expected) && m.includes('set one of them'),
    })
  }
  // An alias keeps its setting's rules: its range, and BROADCASTING only for storePath.
  t.throws(() => createConsumerConfig({ ...base, flowControlMaxDiff: 70000 }), {
    instanceOf: ConfigError,
    message: /^consumeConcurrentlyMaxSpan 70000 is out of range/,
  })
  t.throws(() => createConsumerConfig({ ...base, storePath: '/tmp/o' }), { instanceOf: ConfigError, message: /offsetStoreDir.*BROADCASTING/ })
})

test('settings the engine does not have are refused by name, saying why and what to do', (t) => {
  const refused: Array<[Record<string, unknown>, string, RegExp]> = [
    [{ enableAutoCommit: false }, 'enableAutoCommit false is not supported yet', /orderly/],
    [{ enableMessageTrace: true, customizedTraceTopic: 'my traces' }, 'customizedTraceTopic: ', /topic/],
    [{ maxOffsetStoreSize: 10000 }, 'maxOffsetStoreSize 10000 is not supported', /one entry per assigned queue/],
    [{ offsetStoreRecoveryThreshold: 0.8 }, 'offsetStoreRecoveryThreshold 0.8 is not supported', /backup/],
  ]
  for (const [override, start, why] of refused) {
    t.throws(() => createConsumerConfig({ ...base, ...override } as never), {
      instanceOf: ConfigError,
      message: (m: string) => m.startsWith(start) && why.test(m),
    })
  }
})

test('the client must wait longer for a long-polling pull than the broker may hold it', (t) => {
  t.throws(() => createConsumerConfig({ ...base, consumerTimeoutMillisWhenSuspend: 1000 }), {
    instanceOf: ConfigError,
    message:
      'consumerTimeoutMillisWhenSuspend 1000 must be greater than brokerSuspendMaxTimeMillis 15000: the client must wait longer than the broker may hold a pull',
  })
  t.throws(() => createConsumerConfig({ ...base, brokerSuspendMaxTimeMillis: 30000 }), {
    instanceOf: ConfigError,
    message: /consumerTimeoutMillisWhenSuspend 30000 .*brokerSuspendMaxTimeMillis 30000/,
  })
  t.is(createConsumerConfig({ ...base, consumerTimeoutMillisWhenSuspend: 1000, brokerSuspendMaxTimeMillis: 500 }).brokerSuspendMaxTimeMillis, 500)
})

test("a ConfigError names the setting, the value and the rule, in the setting's own unit", (t) => {
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ pullBatchSize: 0 }, 'pullBatchSize 0 is out of range: it must be an integer in [1, 1024]'],
    [{ pullBatchSize: 1.5 }, 'pullBatchSize 1.5 is out of range: it must be an integer in [1, 1024]'],
    [{ consumeThreadNum: -1 }, 'consumeThreadNum -1 is out of range: it must be an integer in [1, 1000]'],
    [{ pullThresholdSizeForQueue: 2048 }, 'pullThresholdSizeForQueue 2048 MiB is out of range: it must be an integer in [1 B, 1024 MiB]'],
    [{ pullThresholdForAll: 0 }, 'pullThresholdForAll 0 is out of range: it must be an integer in [1, 6553500]'],
    [{ pullThresholdSizeForAll: 102401 }, 'pullThresholdSizeForAll 102401 MiB is out of range: it must be an integer in [1 B, 102400 MiB]'],
    [{ flowControlInterval: 0 }, 'flowControlInterval 0 ms is out of range: it must be an integer in [1 ms, 65535 ms]'],
    [{ consumeTimeout: 0 }, 'consumeTimeout 0 min is out of range: it must be an integer in [1 ms, 525600 min]'],
    [
      { consumerTimeoutMillisOfRequest: 0 },
      'consumerTimeoutMillisOfRequest 0 ms is out of range: it must be an integer in [1 ms, 2147483647 ms]',
    ],
    [
      { consumerTimeoutMillisSendMessage: 0 },
      'consumerTimeoutMillisSendMessage 0 ms is out of range: it must be an integer in [1 ms, 2147483647 ms]',
    ],
    [{ compressMsgBodyOverHowmuch: -1 }, 'compressMsgBodyOverHowmuch -1 is out of range: it must be an integer in [0, 2147483647]'],
    [{ retryTimesWhenSendAsyncFailed: 101 }, 'retryTimesWhenSendAsyncFailed 101 is out of range: it must be an integer in [0, 100]'],
    [{ offsetStoreRetryTimes: 1.5 }, 'offsetStoreRetryTimes 1.5 is out of range: it must be an integer in [0, 100]'],
    [{ maxReconsumeTimes: -2 }, 'maxReconsumeTimes -2 is out of range: it must be an integer in [-1, 1000]'],
    [{ allocateStrategy: { name: 'CONSISTENT_HASH', virtualNodeCount: 0 } }, 'allocateStrategy.virtualNodeCount 0 is out of range'],
    [{ consumeThreadNum: '20' }, 'consumeThreadNum "20" is not a number'],
    [{ enableMessageCompression: 'yes' }, 'enableMessageCompression "yes" is not a boolean'],
    [{ messageModel: 'BROADCAST' }, 'messageModel "BROADCAST" is not one of CLUSTERING, BROADCASTING'],
    [{ consumerGroup: 'bad group' }, 'consumerGroup "bad group" '],
    [{ instanceName: ' ' }, 'instanceName " " must not be blank'],
  ]
  for (const [override, start] of cases) {
    t.throws(() => createConsumerConfig({ ...base, ...override } as never), {
      instanceOf: ConfigError,
      message: (m: string) => m.startsWith(start),
    }, JSON.stringify(override))
  }
})

test('bad settings are ConfigErrors naming the setting', (t) => {
  const bad: Array<[Record<string, unknown>, RegExp]> = [
    [{ consumerGroup: '' }, /^consumerGroup/],
    [{ consumerGroup: 'bad group' }, /^consumerGroup/],
    [{ consumeThreadNum: 0 }, /consumeThreadNum/],
    [{ consumeMessageBatchMaxSize: 1025 }, /consumeMessageBatchMaxSize/],
    [{ pullBatchSize: 1.5 }, /pullBatchSize/],
    [{ pullThresholdForQueue: 70000 }, /pullThresholdForQueue/],
    [{ messageModel: 'BROADCAST' }, /messageModel/],
    [{ consumeFromWhere: 'FIRST' }, /consumeFromWhere/],
    [{ consumeTimestamp: 'yesterday' }, /consumeTimestamp/],
    [{ allocateStrategy: 'RANDOM' }, /allocateStrategy/],
    [{ allocateStrategy: { name: 'CONFIG' } }, /queues/],
    [{ instanceName: '' }, /instanceName/],
    [{ consumeTimeout: 0 }, /consumeTimeout/],
    [{ pullThresholdForTopic: 0 }, /pullThresholdForTopic/],
    [{ messageModel: MessageModel.BROADCASTING, offsetStoreDir: '' }, /offsetStoreDir/],
    [{ messageModel: MessageModel.BROADCASTING, offsetStoreDir: 7 }, /offsetStoreDir/],
  ]
  for (const [override, message] of bad) {
    t.throws(() => createConsumerConfig({ ...base, ...override } as never), { instanceOf: ConfigError, message }, JSON.stringify(override))
  }
})

test('the native config carries sizes in bytes, timestamps in ms and -1, the default reconsume count, as is', (t) => {
  const native = toNativeConsumerConfig(
    createConsumerConfig({
      ...base,
      pullThresholdSizeForQueue: 2,
      consumeFromWhere: ConsumeFromWhere.CONSUME_FROM_TIMESTAMP,
      consumeTimestamp: new Date(1_700_000_000_000),
      maxReconsumeTimes: -1,
      allocateStrategy: { name: 'CONSISTENT_HASH', virtualNodeCount: 5 },
    }),
  )
  t.is(native.pullThresholdSizeForQueueBytes, 2 * 1024 * 1024)
  t.is(native.consumeTimestampMs, 1_700_000_000_000)
  t.is(native.maxReconsumeTimes, -1)
  t.notThrows(() => nativeBinding().checkConsumerConfig(native))
  t.is(native.allocateStrategy, 'CONSISTENT_HASH')
  t.is(native.allocateVirtualNodeCount, 5)
})

test('offsetStoreDir reaches the engine when broadcasting, which refuses it with CLUSTERING', (t) => {
  const broadcasting = createConsumerConfig({ ...base, messageModel: MessageModel.BROADCASTING, offsetStoreDir: '/tmp/offsets' })
  t.is(broadcasting.offsetStoreDir, '/tmp/offsets')
  t.is(toNativeConsumerConfig(broadcasting).offsetStoreDir, '/tmp/offsets')
  t.is(toNativeConsumerConfig(createConsumerConfig(base)).offsetStoreDir, undefined)
  t.throws(
    () =>
      new Consumer({
        config: { ...base, offsetStoreDir: '/tmp/offsets' },
        subscriptionManager: new SubscriptionManager(),
        messageListener: () => ConsumeResult.SUCCESS,
      }),
    { instanceOf: ConfigError, message: /offsetStoreDir.*BROADCASTING/ },
  )
})

test('tag selectors are normalised; empty tags, a lone * among tags and unknown types are InvalidSelectorErrors', (t) => {
  t.is(MessageSelector.byTag(' a ||b ').expression, 'a || b')
  t.is(MessageSelector.byTag('a || a').expression, 'a')
  t.is(MessageSelector.byTag('').expression, '*')
  t.is(MessageSelector.all().toString(), 'TAG:*')
  t.is(MessageSelector.bySql(' a > 1 ').expression, 'a > 1')
  t.throws(() => MessageSelector.byTag('a || || b'), { instanceOf: InvalidSelectorError })
  t.throws(() => MessageSelector.byTag('a || *'), { instanceOf: InvalidSelectorError, message: /every message/ })
  t.throws(() => MessageSelector.byTag('a | b'), { instanceOf: InvalidSelectorError })
  t.throws(() => MessageSelector.bySql('  '), { instanceOf: InvalidSelectorError })
  t.throws(() => new MessageSelector('GLOB' as never, 'a'), { instanceOf: InvalidSelectorError })
})

test("the seed's lower-case selector types are aliases of TAG and SQL92", (t) => {
  t.is(new MessageSelector('tag', 'a').type, ExpressionType.TAG)
  t.is(new MessageSelector('sql', 'a > 1').type, ExpressionType.SQL92)
  t.is(new MessageSelector('sql92', 'a > 1').type, ExpressionType.SQL92)
  t.throws(() => new MessageSelector('Tag' as never, 'a'), { instanceOf: InvalidSelectorError })
})

test('glob tags are filtered on the client over a * broker subscription', (t) => {
  const seed = new MessageSelector('tag', 'order_*')
  t.true(seed.clientFiltered)
  t.is(seed.expression, 'order_*')
  t.is(seed.brokerExpression, '*')
  t.true(seed.matchesTag('order_'))
  t.true(seed.matchesTag('order_created'))
  t.false(seed.matchesTag('xorder_created'))
  t.false(seed.matchesTag('Order_created'))
  t.false(seed.matchesTag(undefined), 'a message without a tag matches no pattern')

  const mixed = MessageSelector.byTag('paid || v? || a.b*')
  t.true(mixed.clientFiltered)
  t.true(mixed.matchesTag('paid'))
  t.true(mixed.matchesTag('v1'))
  t.true(mixed.matchesTag('v标'), '? is one character, not one byte')
  t.true(mixed.matchesTag('v😀'), '? is one code point, not one UTF-16 unit')
  t.false(mixed.matchesTag('v12'))
  t.false(mixed.matchesTag('v'))
  t.true(mixed.matchesTag('a.b'))
  t.false(mixed.matchesTag('axb'), 'regular-expression characters in a pattern are literal')
  t.false(mixed.matchesTag('paidx'))

  const exact = MessageSelector.byTag('a || b')
  t.false(exact.clientFiltered)
  t.is(exact.brokerExpression, 'a || b')
  t.true(exact.matchesTag('a'))
  t.false(exact.matchesTag('c'))
  t.true(MessageSelector.all().matchesTag(undefined))
  t.true(MessageSelector.bySql('a > 1').matchesTag('anything'))
})

test("tagHash is Java's String.hashCode over UTF-16 code units, 32-bit wrapping (the engine's unit vectors)", (t) => {
  t.is(tagHash(''), 0)
  t.is(tagHash('TagA'), 2_598_919)
  t.is(tagHash('标签'), 857_175)
  t.is(tagHash('😀'), 1_772_899)
  t.is(tagHash('order_created_with_a_long_tag_name'), 1_209_554_404)
  t.is(tagHash('zzzzzzzzzz'), -1_580_979_136, 'negative after wrapping, as Java prints it')
})

test('the subscription manager keeps one selector per topic and names what is wrong', (t) => {
  const subscriptions = new SubscriptionManager()
  subscriptions.subscribe('TopicA')
  subscriptions.subscribe('TopicB', MessageSelector.byTag('x'))
  t.notThrows(() => subscriptions.subscribe('TopicB', MessageSelector.byTag('x')))
  t.throws(() => subscriptions.subscribe('TopicB', MessageSelector.byTag('y')), { instanceOf: SubscriptionConflictError })
  t.throws(() => subscriptions.subscribe('bad topic'), { instanceOf: InvalidTopicError })
  subscriptions.updateSelector('TopicB', MessageSelector.byTag('y'))
  t.is(subscriptions.getSubscription('TopicB')?.selector.expression, 'y')
  t.deepEqual(subscriptions.getTopics(), ['TopicA', 'TopicB'])
  subscriptions.unsubscribe('TopicA')
  t.false(subscriptions.isSubscribed('TopicA'))
  t.throws(() => subscriptions.unsubscribe('TopicA'), { instanceOf: TopicNotSubscribedError })
  t.throws(() => subscriptions.updateSelector('TopicA', MessageSelector.all()), { instanceOf: TopicNotSubscribedError })
})

test("toSubscriptionDataList writes Java's SubscriptionData; fromSubscriptionDataList reads it back", (t) => {
  const subscriptions = new SubscriptionManager()
  subscriptions.subscribe('TopicAll')
  subscriptions.subscribe('TopicTags', MessageSelector.byTag('TagA || 标签'))
  subscriptions.subscribe('TopicSql', MessageSelector.bySql('a > 1'))
  subscriptions.subscribe('TopicGlob', new MessageSelector('tag', 'order_*'))
  const list = subscriptions.toSubscriptionDataList()
  const version = subscriptions.getSubscription('TopicTags')?.subVersion ?? -1
  t.deepEqual(list[1], {
    topic: 'TopicTags',
    subString: 'TagA || 标签',
    tagsSet: ['TagA', '标签'],
    codeSet: [2_598_919, 857_175],
    expressionType: 'TAG',
    subVersion: version,
    classFilterMode: false,
  })
  t.like(list[0], { subString: '*', tagsSet: [], codeSet: [], expressionType: 'TAG' })
  t.like(list[2], { subString: 'a > 1', tagsSet: [], codeSet: [], expressionType: 'SQL92' })
  t.like(list[3], { subString: 'order_*', tagsSet: ['order_*'] })

  const copy = new SubscriptionManager()
  copy.fromSubscriptionDataList(JSON.parse(JSON.stringify(list)) as typeof list)
  t.deepEqual(copy.toSubscriptionDataList(), list)
  t.true(copy.getSubscription('TopicGlob')?.selector.clientFiltered)
  // The same list again changes nothing; a Java client's entry without expressionType is a TAG one.
  t.notThrows(() => copy.fromSubscriptionDataList(list))
  copy.fromSubscriptionDataList([{ topic: 'TopicJava', subString: 'x||y', subVersion: 5 } as never])
  t.is(copy.getSubscription('TopicJava')?.selector.toString(), 'TAG:x || y')
  t.is(copy.getSubscription('TopicJava')?.subVersion, 5)
  // A Java heartbeat lists the group's retry topic too; the consumer subscribes its own.
  const retry = { topic: '%RETRY%java_group', subString: '*', expressionType: 'TAG', subVersion: 1 } as never
  t.deepEqual(copy.fromSubscriptionDataList([retry]), [])
  t.false(copy.isSubscribed('%RETRY%java_group'))
})

test('fromSubscriptionDataList is all or nothing and names the bad entry', (t) => {
  const subscriptions = new SubscriptionManager()
  subscriptions.subscribe('Kept', MessageSelector.byTag('a'))
  const good = { topic: 'New', subString: '*', tagsSet: [], codeSet: [], expressionType: 'TAG', subVersion: 1, classFilterMode: false }
  const bad: Array<[unknown, { instanceOf: new (...args: never[]) => Error; message?: RegExp }]> = [
    [[good, { ...good, topic: 'bad topic' }], { instanceOf: SubscriptionDataError, message: /#1.*topic/ }],
    [[good, { ...good, topic: 'Other', subString: 'a || || b' }], { instanceOf: SubscriptionDataError, message: /#1/ }],
    [[good, { ...good, topic: 'Other', expressionType: 'XPATH' }], { instanceOf: SubscriptionDataError, message: /type/ }],
    [[good, { ...good, topic: 'Other', classFilterMode: true }], { instanceOf: SubscriptionDataError, message: /classFilterMode/ }],
    [[good, { ...good, topic: 'Other', subVersion: -1 }], { instanceOf: SubscriptionDataError, message: /subVersion/ }],
    [[good, good], { instanceOf: SubscriptionDataError, message: /twice/ }],
    [[good, 'TopicX'], { instanceOf: SubscriptionDataError, message: /#1/ }],
    [{ topic: 'New' }, { instanceOf: SubscriptionDataError, message: /array/ }],
    [[good, { ...good, topic: 'Kept', subString: 'b' }], { instanceOf: SubscriptionConflictError }],
  ]
  for (const [list, expected] of bad) {
    t.throws(() => subscriptions.fromSubscriptionDataList(list as never), expected, JSON.stringify(list))
    t.deepEqual(subscriptions.getTopics(), ['Kept'], `a failed import changed the subscriptions: ${JSON.stringify(list)}`)
  }
})

test('exportSubscriptions round-trips through JSON; importSubscriptions validates everything before changing anything', (t) => {
  const subscriptions = new SubscriptionManager()
  subscriptions.subscribe('A', MessageSelector.byTag('x || y_*'))
  subscriptions.subscribe('B', MessageSelector.bySql('n > 3'))
  const exported = subscriptions.exportSubscriptions()
  t.is(exported.version, SUBSCRIPTIONS_EXPORT_VERSION)
  const restored = new SubscriptionManager()
  restored.importSubscriptions(JSON.parse(JSON.stringify(exported)) as SubscriptionsExport)
  t.deepEqual(restored.exportSubscriptions(), exported)
  t.deepEqual(restored.getTopics(), ['A', 'B'])

  const target = new SubscriptionManager()
  target.subscribe('Kept')
  const entry = { topic: 'C', type: 'TAG', expression: '*', subVersion: 1 }
  const bad: Array<[unknown, RegExp]> = [
    [null, /object/],
    [[entry], /object/],
    [{ version: 2, subscriptions: [entry] }, /version 2/],
    [{ subscriptions: [entry] }, /version undefined/],
    [{ version: 1, subscriptions: 'A' }, /array/],
    [{ version: 1, subscriptions: [entry, { ...entry, topic: 'D', type: 'SQL92', expression: ' ' }] }, /#1/],
    [{ version: 1, subscriptions: [entry, { ...entry, topic: 'D', expression: 3 }] }, /#1.*string/],
    [{ version: 1, subscriptions: [entry, { ...entry, topic: '' }] }, /#1/],
  ]
  for (const [data, message] of bad) {
    t.throws(() => target.importSubscriptions(data as never), { instanceOf: SubscriptionDataError, message }, JSON.stringify(data))
    t.throws(() => target.importSubscriptions(data as never, { replace: true }), { instanceOf: SubscriptionDataError })
    t.deepEqual(target.getTopics(), ['Kept'], `a failed import changed the subscriptions: ${JSON.stringify(data)}`)
  }
  target.importSubscriptions(exported, { replace: true })
  t.deepEqual(target.getTopics(), ['A', 'B'])
})

test('maxSubscriptions bounds the subscribed topics (default 1000); imports past it change nothing', (t) => {
  t.is(new SubscriptionManager().maxSubscriptions, DEFAULT_MAX_SUBSCRIPTIONS)
  t.is(DEFAULT_MAX_SUBSCRIPTIONS, 1000)
  const defaults = new SubscriptionManager()
  for (let i = 0; i < 1000; i += 1) {
    defaults.subscribe(`T${i}`)
  }
  t.throws(() => defaults.subscribe('T1000'), { instanceOf: SubscriptionLimitExceededError })

  const subscriptions = new SubscriptionManager({ maxSubscriptions: 2 })
  subscriptions.subscribe('A')
  subscriptions.subscribe('B')
  t.notThrows(() => subscriptions.subscribe('B'), 'subscribing again with the same selector adds nothing')
  t.notThrows(() => subscriptions.updateSelector('B', MessageSelector.byTag('x')))
  t.throws(() => subscriptions.subscribe('C'), { instanceOf: SubscriptionLimitExceededError, message: /maxSubscriptions 2/ })
  const three = { version: 1 as const, subscriptions: ['C', 'D', 'E'].map((topic) => ({ topic, type: 'TAG' as const, expression: '*', subVersion: 1 })) }
  t.throws(() => subscriptions.importSubscriptions(three), { instanceOf: SubscriptionLimitExceededError })
  t.throws(() => subscriptions.importSubscriptions(three, { replace: true }), { instanceOf: SubscriptionLimitExceededError })
  t.deepEqual(subscriptions.getTopics(), ['A', 'B'])
  subscriptions.unsubscribe('A')
  t.notThrows(() => subscriptions.subscribe('C'))
  for (const max of [0, -1, 1.5, Number.NaN]) {
    t.throws(() => new SubscriptionManager({ maxSubscriptions: max }), { instanceOf: ConfigError, message: /maxSubscriptions/ })
  }
})

test('updateSelector keeps the topic in place and increases its subVersion; a non-selector is an InvalidSelectorError', (t) => {
  const subscriptions = new SubscriptionManager()
  const first = subscriptions.subscribe('A', MessageSelector.byTag('x'))
  subscriptions.subscribe('B')
  const updated = subscriptions.updateSelector('A', MessageSelector.byTag('y'))
  t.true(updated.subVersion > first.subVersion)
  t.deepEqual(subscriptions.getTopics(), ['A', 'B'])
  t.throws(() => subscriptions.subscribe('C', 'x' as never), { instanceOf: InvalidSelectorError })
  t.throws(() => subscriptions.updateSelector('A', {} as never), { instanceOf: InvalidSelectorError })
  t.is(subscriptions.getSubscription('A')?.selector.expression, 'y')
})

test('SimpleMessageListener: one call per message, in order; the first failure ends the batch and is its verdict', async (t) => {
  const messages = ['m0', 'm1', 'm2'].map((name) => ({ name }) as unknown as ConsumedMessage)
  const context = {} as ConsumeMessageContext
  const named = (message: ConsumedMessage): string => (message as unknown as { name: string }).name
  const seen: string[] = []

  const syncOk = new SimpleMessageListener((message) => {
    seen.push(named(message))
  })
  t.true(syncOk instanceof MessageListenerConcurrently)
  t.is(syncOk.consumeMessage(messages, context), ConsumeResult.SUCCESS, 'a sync handler answers without a promise')
  t.deepEqual(seen, ['m0', 'm1', 'm2'])

  seen.length = 0
  const syncLater = new SimpleMessageListener((message) => {
    seen.push(named(message))
    return named(message) === 'm1' ? ConsumeResult.RECONSUME_LATER : ConsumeResult.SUCCESS
  })
  t.is(syncLater.consumeMessage(messages, context), ConsumeResult.RECONSUME_LATER)
  t.deepEqual(seen, ['m0', 'm1'], 'the messages after the failed one are not handled')

  seen.length = 0
  const asyncLater = new SimpleMessageListener(async (message) => {
    await Promise.resolve()
    seen.push(named(message))
    return named(message) === 'm1' ? ConsumeResult.RECONSUME_LATER : undefined
  })
  t.is(await asyncLater.consumeMessage(messages, context), ConsumeResult.RECONSUME_LATER)
  t.deepEqual(seen, ['m0', 'm1'])

  seen.length = 0
  const asyncOk = new SimpleMessageListener(async (message) => {
    seen.push(named(message))
  })
  t.is(await asyncOk.consumeMessage(messages, context), ConsumeResult.SUCCESS)
  t.deepEqual(seen, ['m0', 'm1', 'm2'])

  const throws = new SimpleMessageListener((message) => {
    if (named(message) === 'm0') {
      throw new Error('boom')
    }
  })
  t.throws(() => throws.consumeMessage(messages, context), { message: 'boom' })
  const rejects = new SimpleMessageListener(async (message) => {
    if (named(message) === 'm2') {
      throw new Error('late boom')
    }
  })
  await t.throwsAsync(async () => rejects.consumeMessage(messages, context), { message: 'late boom' })
  t.throws(() => new SimpleMessageListener('nope' as never), { instanceOf: TypeError })
})

test('a Consumer needs a subscription manager and a listener', (t) => {
  t.throws(
    () => new Consumer({ config: base, subscriptionManager: {} as never, messageListener: () => ConsumeResult.SUCCESS }),
    { instanceOf: ConfigError, message: /subscriptionManager/ },
  )
  t.throws(() => new Consumer({ config: base, subscriptionManager: new SubscriptionManager(), messageListener: 42 as never }), {
    instanceOf: ConfigError,
    message: /messageListener/,
  })
})

test("the seed's advanced example (3. 高级配置示例): refused as written, accepted without what this engine refuses", (t) => {
  const seed = {
    consumerGroup: 'prod_consumer_group',
    namesrvAddr: 'broker1:9876;broker2:9876',
    messageModel: MessageModel.CLUSTERING,
    consumeThreadNum: 50,
    consumeMessageBatchMaxSize: 5,
    pullBatchSize: 64,
    pullThresholdForAll: 50000,
    pullThresholdSizeForAll: 100,
    pullThresholdForTopic: 5000,
    pullThresholdSizeForTopic: 100,
    consumerTimeoutMillisWhenSuspend: 1000,
    consumerTimeoutMillisSendMessage: 3000,
    consumerTimeoutMillisOfRequest: 20000,
    consumeConcurrentlyMaxSpan: 2000,
    flowControlMaxDiff: 10000,
    flowControlInterval: 20,
    autoCommitInterval: 1000,
    persistConsumerOffsetInterval: 5000,
    maxOffsetStoreSize: 10000,
    offsetStoreRetryTimes: 3,
    offsetStoreRecoveryThreshold: 0.8,
    enableMessageTrace: true,
    enableMessageCompression: true,
    compressMsgBodyOverHowmuch: 4096,
    retryTimesWhenSendAsyncFailed: 2,
  }
  t.throws(() => createConsumerConfig(seed as never), { instanceOf: ConfigError })
  // What must go: the two store settings without meaning here, the aliases that contradict
  // their settings, and a pull timeout shorter than the broker's hold.
  const {
    maxOffsetStoreSize: _size,
    offsetStoreRecoveryThreshold: _threshold,
    flowControlMaxDiff: _diff,
    autoCommitInterval: _interval,
    consumerTimeoutMillisWhenSuspend: _suspend,
    ...accepted
  } = seed
  const config = createConsumerConfig(accepted)
  t.like(config, { consumeThreadNum: 50, pullThresholdForAll: 50000, flowControlInterval: 20, offsetStoreRetryTimes: 3, enableMessageTrace: true })
  for (const [name, value] of Object.entries({ maxOffsetStoreSize: 1, offsetStoreRecoveryThreshold: 1 })) {
    t.throws(() => createConsumerConfig({ ...accepted, [name]: value } as never), { instanceOf: ConfigError, message: new RegExp(`^${name}`) })
  }
  t.throws(() => createConsumerConfig({ ...accepted, consumerTimeoutMillisWhenSuspend: 1000 }), {
    instanceOf: ConfigError,
    message: /^consumerTimeoutMillisWhenSuspend 1000 must be greater than brokerSuspendMaxTimeMillis 15000/,
  })
})
