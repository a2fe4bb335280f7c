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
  ExpressionType,
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
