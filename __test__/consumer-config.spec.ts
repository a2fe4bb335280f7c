/**
 * Consumer configuration, selectors and subscriptions: checked before anything connects (no cluster needed).
 */
import test from 'ava'

import {
  CONSUMER_DEFAULTS,
  ConfigError,
  ConsumeFromWhere,
  ConsumeResult,
  Consumer,
  InvalidSelectorError,
  InvalidTopicError,
  MessageModel,
  MessageSelector,
  SubscriptionConflictError,
  SubscriptionManager,
  TopicNotSubscribedError,
  createConsumerConfig,
} from '../index'
import { toNativeConsumerConfig } from '../lib/consumer-config'

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
  t.is(config.maxReconsumeTimes, 16)
  t.is(config.persistConsumerOffsetInterval, 5000)
  t.is(config.allocateStrategy, 'AVG')
  t.true(Object.isFrozen(config))
  t.is(CONSUMER_DEFAULTS.consumeThreadNum, 20)
})

test('namesrvAddr falls back to NAMESRV_ADDR', (t) => {
  const saved = process.env.NAMESRV_ADDR
  process.env.NAMESRV_ADDR = '127.0.0.1:19876'
  try {
    t.is(createConsumerConfig({ consumerGroup: 'g' }).namesrvAddr, '127.0.0.1:19876')
  } finally {
    if (saved === undefined) {
      delete process.env.NAMESRV_ADDR
    } else {
      process.env.NAMESRV_ADDR = saved
    }
  }
})

test('bad settings are ConfigErrors naming the setting', (t) => {
  const bad: Array<[Record<string, unknown>, RegExp]> = [
    [{ consumerGroup: '' }, /group/],
    [{ consumerGroup: 'bad group' }, /group/],
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

test('the native config carries sizes in bytes, timestamps in ms and -1 as the default reconsume count', (t) => {
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
  t.is(native.maxReconsumeTimes, 16)
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

test('tag selectors are normalised; wildcards and empty tags are InvalidSelectorErrors', (t) => {
  t.is(MessageSelector.byTag(' a ||b ').expression, 'a || b')
  t.is(MessageSelector.byTag('').expression, '*')
  t.is(MessageSelector.all().toString(), 'TAG:*')
  t.is(MessageSelector.bySql(' a > 1 ').expression, 'a > 1')
  t.throws(() => MessageSelector.byTag('order_*'), { instanceOf: InvalidSelectorError })
  t.throws(() => MessageSelector.byTag('a || || b'), { instanceOf: InvalidSelectorError })
  t.throws(() => MessageSelector.bySql('  '), { instanceOf: InvalidSelectorError })
  t.throws(() => new MessageSelector('GLOB' as never, 'a'), { instanceOf: InvalidSelectorError })
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
