/**
 * Input checks of the TypeScript layer: bad configuration gives ConfigError, bad messages give
 * ValidationError, calls in the wrong state give ProducerStateError. Nothing here needs a broker.
 */
import test from 'ava'

import {
  Admin,
  ConfigError,
  MAX_DELAY_LEVEL,
  type Message,
  Producer,
  type ProducerConfig,
  ProducerStateError,
  ValidationError,
} from '../index'
import { toNativeMessage } from '../lib/message'

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
  ['string compressMsgBodyOverHowmuch', producerConfig({ compressMsgBodyOverHowmuch: '4k' as unknown as number })],
  ['empty instanceName', producerConfig({ instanceName: '' })],
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
  t.throws(() => new Admin({ namesrvAddr: NAMESRV, timeoutMs: 0 }), { instanceOf: ConfigError })
})

const GOOD: Message = { topic: 'validation_topic', body: 'x' }

const BAD_MESSAGES: ReadonlyArray<[string, unknown, RegExp]> = [
  ['empty topic', { ...GOOD, topic: '' }, /topic/],
  ['topic with a space', { ...GOOD, topic: 'a b' }, /topic/],
  ['topic of 128 characters', { ...GOOD, topic: 't'.repeat(128) }, /longer than 127/],
  ['empty string body', { ...GOOD, body: '' }, /empty/],
  ['empty Buffer body', { ...GOOD, body: Buffer.alloc(0) }, /empty/],
  ['number body', { ...GOOD, body: 42 }, /Buffer, a Uint8Array or a string/],
  ['missing body', { topic: GOOD.topic }, /Buffer, a Uint8Array or a string/],
  ['Uint16Array body', { ...GOOD, body: new Uint16Array(4) }, /Uint8Array.*got Uint16Array/],
  ['empty Uint8Array body', { ...GOOD, body: new Uint8Array(0) }, /empty/],
  ['Uint8Array body over maxMessageSize', { ...GOOD, body: new Uint8Array(1025) }, /over maxMessageSize 1024/],
  ['body over maxMessageSize', { ...GOOD, body: Buffer.alloc(1025) }, /over maxMessageSize 1024/],
  ['delayLevel above the maximum', { ...GOOD, delayLevel: MAX_DELAY_LEVEL + 1 }, /delayLevel/],
  ['negative delayLevel', { ...GOOD, delayLevel: -1 }, /delayLevel/],
  ['fractional delayLevel', { ...GOOD, delayLevel: 1.5 }, /delayLevel/],
  ['reserved property name', { ...GOOD, properties: { KEYS: 'a' } }, /reserved/],
  ['empty property name', { ...GOOD, properties: { '': 'a' } }, /names must not be empty/],
  ['property value with a separator character', { ...GOOD, properties: { a: 'x\u0001y' } }, /control character/],
  ['non-string property value', { ...GOOD, properties: { a: 1 } }, /must be a string/],
  ['blank property value', { ...GOOD, properties: { a: ' ' } }, /blank/],
  ['empty key', { ...GOOD, keys: ['ok', ''] }, /keys/],
  ['flag beyond 32 bits', { ...GOOD, flag: 2 ** 40 }, /flag/],
]

test('a Uint8Array body is taken as its bytes, without copying them (a view over the same memory)', (t) => {
  const backing = new Uint8Array([0, 104, 105, 33, 0])
  const view = backing.subarray(1, 4)
  const native = toNativeMessage({ ...GOOD, body: view }, 1024)
  t.true(Buffer.isBuffer(native.body))
  t.is(native.body.toString(), 'hi!')
  t.is(native.body.buffer, backing.buffer, 'the Buffer shares the Uint8Array memory')
  t.is(native.body.byteOffset, 1)
  const buffer = Buffer.from('as is')
  t.is(toNativeMessage({ ...GOOD, body: buffer }, 1024).body, buffer)
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
  await t.throwsAsync(producer.sendBatch([]), { instanceOf: ValidationError })
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
