/**
 * Input checks: bad configuration gives ConfigError, bad messages give ValidationError, calls in the wrong
 * state give ProducerStateError. The rules live in the native engine alone (TypeScript checks types); the
 * tests at the end prove TypeScript holds no copy that could drift. Nothing here needs a broker.
 */
import test from 'ava'

import {
  Admin,
  ConfigError,
  MAX_DELAY_LEVEL,
  type Message,
  PRODUCER_DEFAULTS,
  Producer,
  type ProducerConfig,
  ProducerStateError,
  ValidationError,
} from '../index'
import { toNativeMessage } from '../lib/message'
import { GROUP_MAX_LENGTH, TOPIC_MAX_LENGTH, validateGroup, validateTopic } from '../lib/names'
import { nativeBinding } from '../lib/native'

// Never contacted: every call here fails before any request is sent.
const NAMESRV = '127.0.0.1:9876'

function producerConfig(overrides: Partial<ProducerConfig> = {}): ProducerConfig {
  return { namesrvAddr: NAMESRV, producerGroup: 'validation_spec', ...overrides }
}

const BAD_CONFIGS: ReadonlyArray<[string, unknown]> = [
  ['missing producerGroup', { namesrvAddr: NAMESRV }],
  ['empty producerGroup', producerConfig({ producerGroup: '' })],
  ['producerGroup with a space', producerConfig({ producerGroup: 'my group' })],
  ['producerGroup DEFAULT_PRODUCER', producerConfig({ producerGroup: 'DEFAULT_PRODUCER' })],
  ['producerGroup of 256 characters', producerConfig({ producerGroup: 'g'.repeat(256) })],
  ['namesrvAddr without port', producerConfig({ namesrvAddr: '127.0.0.1' })],
  ['namesrvAddr with port 0', producerConfig({ namesrvAddr: '127.0.0.1:0' })],
  ['namesrvAddr with a bad second entry', producerConfig({ namesrvAddr: '127.0.0.1:9876;:9877' })],
  ['namesrvAddr not a string', producerConfig({ namesrvAddr: 9876 as unknown as string })],
  ['negative sendMsgTimeout', producerConfig({ sendMsgTimeout: -1 })],
  ['fractional retryTimesWhenSendFailed', producerConfig({ retryTimesWhenSendFailed: 1.5 })],
  ['zero maxMessageSize', producerConfig({ maxMessageSize: 0 })],
  ['maxMessageSize beyond a Java int', producerConfig({ maxMessageSize: 2 ** 31 })],
  ['fractional maxMessageSize', producerConfig({ maxMessageSize: 1024.5 })],
  ['zero sendMsgTimeout', producerConfig({ sendMsgTimeout: 0 })],
  ['string compressMsgBodyOverHowmuch', producerConfig({ compressMsgBodyOverHowmuch: '4k' as unknown as number })],
  ['empty instanceName', producerConfig({ instanceName: '' })],
  ['blank unitName', producerConfig({ unitName: ' ' })],
  ['null config', null],
]

for (const [label, config] of BAD_CONFIGS) {
  test(`Producer config: ${label} gives ConfigError`, (t) => {
    const error = t.throws(() => new Producer(config as ProducerConfig), { instanceOf: ConfigError })
    t.is(error.code, 'ERR_CONFIG')
  })
}

test('namesrvAddr falls back to NAMESRV_ADDR and is required when neither is set', (t) => {
  const saved = process.env.NAMESRV_ADDR
  try {
    delete process.env.NAMESRV_ADDR
    t.throws(() => new Producer({ producerGroup: 'validation_spec' }), { instanceOf: ConfigError, message: /NAMESRV_ADDR/ })
    t.throws(() => new Admin(), { instanceOf: ConfigError, message: /NAMESRV_ADDR/ })
    process.env.NAMESRV_ADDR = 'not-an-address'
    t.throws(() => new Producer({ producerGroup: 'validation_spec' }), { instanceOf: ConfigError, message: /not-an-address/ })
    process.env.NAMESRV_ADDR = NAMESRV
    t.notThrows(() => new Producer({ producerGroup: 'validation_spec' }))
  } finally {
    if (saved === undefined) {
      delete process.env.NAMESRV_ADDR
    } else {
      process.env.NAMESRV_ADDR = saved
    }
  }
})

test('Admin config: a bad timeout gives ConfigError', (t) => {
  t.throws(() => new Admin({ namesrvAddr: NAMESRV, timeoutMs: 0 }), { instanceOf: ConfigError, message: /timeoutMs 0 must be an integer in 1\.\.=/ })
  t.throws(() => new Admin({ namesrvAddr: NAMESRV, timeoutMs: 1.5 }), { instanceOf: ConfigError, message: /timeoutMs 1\.5/ })
  t.throws(() => new Admin({ namesrvAddr: NAMESRV, instanceName: '' }), { instanceOf: ConfigError, message: /instanceName/ })
})

// Each message names the field, the value and the rule.
const CONFIG_MESSAGES: ReadonlyArray<[string, unknown, RegExp]> = [
  ['group with a space', producerConfig({ producerGroup: 'my group' }), /producerGroup "my group" contains ' '; allowed are/],
  ['default group', producerConfig({ producerGroup: 'DEFAULT_PRODUCER' }), /producerGroup "DEFAULT_PRODUCER" is reserved/],
  ['long group', producerConfig({ producerGroup: 'g'.repeat(300) }), /producerGroup "g{48}"\.\.\. \(300 characters\) is 300 characters long; the limit is 255/],
  ['negative timeout', producerConfig({ sendMsgTimeout: -1 }), /sendMsgTimeout -1 must be an integer in 1\.\.=2147483647/],
  ['fractional retries', producerConfig({ retryTimesWhenSendFailed: 1.5 }), /retryTimesWhenSendFailed 1\.5 must be an integer in 0\.\.=2147483647/],
  ['string threshold', producerConfig({ compressMsgBodyOverHowmuch: '4k' as unknown as number }), /compressMsgBodyOverHowmuch must be a number; got string "4k"/],
  ['address without port', producerConfig({ namesrvAddr: '127.0.0.1' }), /namesrvAddr entry "127\.0\.0\.1" is not host:port/],
]

for (const [label, config, message] of CONFIG_MESSAGES) {
  test(`Producer config message: ${label} names the field, the value and the rule`, (t) => {
    t.throws(() => new Producer(config as ProducerConfig), { instanceOf: ConfigError, message })
  })
}

const GOOD: Message = { topic: 'validation_topic', body: 'x' }

const BAD_MESSAGES: ReadonlyArray<[string, unknown, RegExp]> = [
  ['empty topic', { ...GOOD, topic: '' }, /topic/],
  ['topic with a space', { ...GOOD, topic: 'a b' }, /topic/],
  ['topic of 128 characters', { ...GOOD, topic: 't'.repeat(128) }, /is 128 characters long; the limit is 127/],
  ['topic not a string', { ...GOOD, topic: 42 }, /topic must be a string; got number/],
  ['topic reserved for the broker', { ...GOOD, topic: 'SCHEDULE_TOPIC_XXXX' }, /"SCHEDULE_TOPIC_XXXX" is reserved/],
  ['empty string body', { ...GOOD, body: '' }, /empty/],
  ['empty Buffer body', { ...GOOD, body: Buffer.alloc(0) }, /empty/],
  ['number body', { ...GOOD, body: 42 }, /Buffer, a Uint8Array or a string/],
  ['missing body', { topic: GOOD.topic }, /Buffer, a Uint8Array or a string/],
  ['Uint16Array body', { ...GOOD, body: new Uint16Array(4) }, /Uint8Array.*got Uint16Array/],
  ['empty Uint8Array body', { ...GOOD, body: new Uint8Array(0) }, /empty/],
  ['Uint8Array body over maxMessageSize', { ...GOOD, body: new Uint8Array(1025) }, /over maxMessageSize 1024/],
  ['body over maxMessageSize', { ...GOOD, body: Buffer.alloc(1025) }, /over maxMessageSize 1024/],
  ['delayLevel above the maximum', { ...GOOD, delayLevel: MAX_DELAY_LEVEL + 1 }, /delayLevel 19 must be an integer in 0\.\.=18/],
  ['negative delayLevel', { ...GOOD, delayLevel: -1 }, /delayLevel -1/],
  ['fractional delayLevel', { ...GOOD, delayLevel: 1.5 }, /delayLevel 1\.5 must be an integer in 0\.\.=18/],
  ['string delayLevel', { ...GOOD, delayLevel: '2' }, /delayLevel must be a number; got string/],
  ['reserved property name', { ...GOOD, properties: { KEYS: 'a' } }, /property name "KEYS" is reserved/],
  ['empty property name', { ...GOOD, properties: { '': 'a' } }, /property name "" must not be blank/],
  ['blank property name', { ...GOOD, properties: { ' ': 'a' } }, /must not be blank/],
  ['property value with a separator character', { ...GOOD, properties: { a: 'x\u0001y' } }, /property value "x\\u\{1\}y" contains a reserved control character/],
  ['tag with a separator character', { ...GOOD, tags: 'a\u0002' }, /tags .*control character/],
  ['key with a separator character', { ...GOOD, keys: ['a\u0002'] }, /key .*control character/],
  ['non-string property value', { ...GOOD, properties: { a: 1 } }, /property "a" must be a string/],
  ['properties not an object', { ...GOOD, properties: 'a=b' }, /properties must be an object/],
  ['blank property value', { ...GOOD, properties: { a: ' ' } }, /property "a" has the blank value " "/],
  ['non-string key', { ...GOOD, keys: ['ok', 7] }, /keys\[1\] must be a string/],
  ['flag beyond 32 bits', { ...GOOD, flag: 2 ** 40 }, /flag 1099511627776 must be an integer in -2147483648\.\.=2147483647/],
  ['fractional flag', { ...GOOD, flag: 0.5 }, /flag 0\.5/],
]

test('a Uint8Array body is taken as its bytes, without copying them (a view over the same memory)', (t) => {
  const backing = new Uint8Array([0, 104, 105, 33, 0])
  const view = backing.subarray(1, 4)
  const native = toNativeMessage({ ...GOOD, body: view })
  t.true(Buffer.isBuffer(native.body))
  t.is(native.body.toString(), 'hi!')
  t.is(native.body.buffer, backing.buffer, 'the Buffer shares the Uint8Array memory')
  t.is(native.body.byteOffset, 1)
  const buffer = Buffer.from('as is')
  t.is(toNativeMessage({ ...GOOD, body: buffer }).body, buffer)
})

for (const [label, message, reason] of BAD_MESSAGES) {
  test(`send: ${label} gives ValidationError`, async (t) => {
    const producer = new Producer(producerConfig({ maxMessageSize: 1024 }))
    const error = await t.throwsAsync(producer.send(message as Message), { instanceOf: ValidationError, message: reason })
    t.is(error.code, 'ERR_VALIDATION')
  })
}

test('sendBatch: empty list, mixed topics and delayed messages give ValidationError', async (t) => {
  const producer = new Producer(producerConfig())
  await t.throwsAsync(producer.sendBatch([]), { instanceOf: ValidationError, message: /at least one message/ })
  await t.throwsAsync(producer.sendBatch([GOOD, { ...GOOD, topic: 'other_topic' }]), {
    instanceOf: ValidationError,
    message: /one topic/,
  })
  await t.throwsAsync(producer.sendBatch([GOOD, { ...GOOD, delayLevel: 3 }]), {
    instanceOf: ValidationError,
    message: /delay/,
  })
  await t.throwsAsync(producer.sendBatch([GOOD, { ...GOOD, body: '' }]), { instanceOf: ValidationError })
})

test('send and sendBatch before start give ProducerStateError', async (t) => {
  const producer = new Producer(producerConfig())
  const error = await t.throwsAsync(producer.send(GOOD), { instanceOf: ProducerStateError })
  t.is(error.code, 'ERR_STATE')
  await t.throwsAsync(producer.sendBatch([GOOD, GOOD]), { instanceOf: ProducerStateError })
})

/** A producer whose sends are never sent: one that passes every rule rejects with ProducerStateError. */
function unstarted(overrides: Partial<ProducerConfig> = {}): Producer {
  return new Producer(producerConfig(overrides))
}

/** Whether the engine let `message` through its rules (it then fails only for the unstarted producer). */
async function passesTheRules(producer: Producer, message: Message): Promise<boolean> {
  const error: unknown = await producer.send(message).then(
    () => undefined,
    (reason: unknown) => reason,
  )
  if (error instanceof ProducerStateError) {
    return true
  }
  if (error instanceof ValidationError) {
    return false
  }
  throw error
}

/** Java 5.3.3's `MessageConst.STRING_HASH_SET`, the reserved property names. */
const JAVA_RESERVED_PROPERTY_NAMES = [
  'TRACE_ON', 'MSG_REGION', 'KEYS', 'TAGS', 'WAIT', 'DELAY', 'RETRY_TOPIC', 'REAL_TOPIC', 'REAL_QID', 'TRAN_MSG',
  'PGROUP', 'MIN_OFFSET', 'MAX_OFFSET', 'BUYER_ID', 'ORIGIN_MESSAGE_ID', 'TRANSFER_FLAG', 'CORRECTION_FLAG', 'MQ2_FLAG',
  'RECONSUME_TIME', 'UNIQ_KEY', 'MAX_RECONSUME_TIMES', 'CONSUME_START_TIME', 'POP_CK', 'POP_CK_OFFSET', '1ST_POP_TIME',
  'TRAN_PREPARED_QUEUE_OFFSET', 'DUP_INFO', 'EXTEND_UNIQ_INFO', 'INSTANCE_ID', 'CORRELATION_ID', 'REPLY_TO_CLIENT', 'TTL',
  'ARRIVE_TIME', 'PUSH_REPLY_TIME', 'CLUSTER', 'MSG_TYPE', 'INNER_MULTI_QUEUE_OFFSET', 'TIMER_DELAY_MS', 'TIMER_DELAY_SEC',
  'TIMER_DELIVER_MS', 'TIMER_ENQUEUE_MS', 'TIMER_DEQUEUE_MS', 'TIMER_ROLL_TIMES', 'TIMER_OUT_MS', 'TIMER_DEL_UNIQKEY',
  'TIMER_DELAY_LEVEL', '__BORNHOST', 'BORN_TIMESTAMP', 'DLQ_ORIGIN_TOPIC', 'DLQ_ORIGIN_MESSAGE_ID', '__CRC32#',
]

test('the reserved property names are exactly Java 5.3.3 STRING_HASH_SET', (t) => {
  t.deepEqual([...nativeBinding().validationRules().reservedPropertyNames].sort(), [...JAVA_RESERVED_PROPERTY_NAMES].sort())
})

test('send refuses every reserved property name the engine lists, and only those', async (t) => {
  const producer = unstarted()
  const { reservedPropertyNames } = nativeBinding().validationRules()
  for (const name of reservedPropertyNames) {
    await t.throwsAsync(producer.send({ ...GOOD, properties: { [name]: 'x' } }), {
      instanceOf: ValidationError,
      message: new RegExp(`property name ${JSON.stringify(name)} is reserved`),
    })
  }
  // Set by Java internally but not reserved there (the old lists reserved some): user code may use them.
  for (const name of ['__SHARDINGKEY', 'INNER_NUM', '__transactionId__', 'TRANSACTION_CHECK_TIMES', 'order']) {
    t.true(await passesTheRules(producer, { ...GOOD, properties: { [name]: 'x' } }), name)
  }
})

test('the largest body is maxMessageSize bytes, the default one as much as a configured one', async (t) => {
  const configured = unstarted({ maxMessageSize: 1024 })
  t.true(await passesTheRules(configured, { ...GOOD, body: Buffer.alloc(1024) }))
  t.false(await passesTheRules(configured, { ...GOOD, body: Buffer.alloc(1025) }))
  const byDefault = unstarted()
  t.true(await passesTheRules(byDefault, { ...GOOD, body: Buffer.alloc(PRODUCER_DEFAULTS.maxMessageSize) }))
  t.false(await passesTheRules(byDefault, { ...GOOD, body: Buffer.alloc(PRODUCER_DEFAULTS.maxMessageSize + 1) }))
  // The old engine cap (1 GiB) is gone: the limit is a Java int, as in Java.
  t.notThrows(() => unstarted({ maxMessageSize: 2 ** 31 - 1 }))
  // A batch: each body against the limit.
  await t.throwsAsync(configured.sendBatch([GOOD, { ...GOOD, body: Buffer.alloc(1025) }]), {
    instanceOf: ValidationError,
    message: /1025 bytes, over maxMessageSize 1024/,
  })
})

test('empty keys are allowed and left out, as Java and the broker treat them', async (t) => {
  const producer = unstarted()
  t.true(await passesTheRules(producer, { ...GOOD, keys: ['ok', ''] }))
  t.true(await passesTheRules(producer, { ...GOOD, keys: '' }))
})

test('the default producer group is refused, as Java refuses it', (t) => {
  const { defaultProducerGroup } = nativeBinding().validationRules()
  t.is(defaultProducerGroup, 'DEFAULT_PRODUCER')
  t.throws(() => unstarted({ producerGroup: defaultProducerGroup }), { instanceOf: ConfigError, message: /DEFAULT_PRODUCER/ })
})

test('PRODUCER_DEFAULTS and the documented limits equal the engine values', (t) => {
  t.deepEqual({ ...PRODUCER_DEFAULTS }, { ...nativeBinding().producerDefaults() })
  const rules = nativeBinding().validationRules()
  t.is(MAX_DELAY_LEVEL, rules.maxDelayLevel)
  t.is(TOPIC_MAX_LENGTH, rules.topicMaxLength)
  t.is(GROUP_MAX_LENGTH, rules.groupMaxLength)
})

test('validateTopic and validateGroup ask the engine: same limits, the class the caller chooses', (t) => {
  const rules = nativeBinding().validationRules()
  t.is(validateTopic('t'.repeat(rules.topicMaxLength)), 't'.repeat(rules.topicMaxLength))
  t.throws(() => validateTopic('t'.repeat(rules.topicMaxLength + 1)), { instanceOf: ValidationError, message: /limit is 127/ })
  t.is(validateGroup('g'.repeat(rules.groupMaxLength)), 'g'.repeat(rules.groupMaxLength))
  t.throws(() => validateGroup('g'.repeat(rules.groupMaxLength + 1), ConfigError), { instanceOf: ConfigError, message: /limit is 255/ })
  const error = t.throws(() => validateTopic('a b'), { instanceOf: ValidationError, message: /topic "a b" contains ' '/ })
  t.is(error.code, 'ERR_VALIDATION')
  t.throws(() => validateGroup(undefined), { instanceOf: ValidationError, message: /group must be a string/ })
})

test('Admin arguments are checked by the engine with the same rules', async (t) => {
  const admin = new Admin({ namesrvAddr: NAMESRV })
  await t.throwsAsync(admin.getTopicRoute('a b'), { instanceOf: ValidationError, message: /topic "a b"/ })
  await t.throwsAsync(admin.createTopic({ topic: 'ok_topic', queueNums: 0 }), { instanceOf: ValidationError, message: /queueNums 0 must be an integer in 1\.\.=1024/ })
  await t.throwsAsync(admin.createTopic({ topic: 'ok_topic', queueNums: 4, perm: 8 }), { instanceOf: ValidationError, message: /perm 8/ })
  await t.throwsAsync(admin.getMaxOffset('ok_topic', 'broker-a', -1), { instanceOf: ValidationError, message: /queueId -1/ })
  await t.throwsAsync(admin.getMaxOffset('ok_topic', '', 0), { instanceOf: ValidationError, message: /brokerName/ })
  await t.throwsAsync(admin.producerConnections('a b'), { instanceOf: ValidationError, message: /producerGroup "a b"/ })
  await admin.close()
})
