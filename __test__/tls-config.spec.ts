/**
 * The `tls` setting's checks, without a cluster: types in TypeScript, rules in the engine (each a ConfigError that
 * names the field and never shows a key), and a resolved consumer configuration that does not show the key.
 * Connecting over TLS is tested against real brokers in __test__/secured/tls.secured.ts.
 */
import test from 'ava'

import { Admin, ConfigError, createConsumerConfig } from '../index'

const base = { consumerGroup: 'tls_config_group', namesrvAddr: '127.0.0.1:9' }
const SECRET_KEY = '-----BEGIN PRIVATE KEY-----\nTOP-SECRET-KEY-MATERIAL\n-----END PRIVATE KEY-----\n'

test('tls: true and tls: {} are accepted, and so is a server name', (t) => {
  t.notThrows(() => createConsumerConfig({ ...base, tls: true }))
  t.notThrows(() => createConsumerConfig({ ...base, tls: { serverName: 'rocketmq.internal' } }))
  t.notThrows(() => createConsumerConfig({ ...base, tls: false }))
  t.is(createConsumerConfig({ ...base }).tls, undefined)
  t.deepEqual(createConsumerConfig({ ...base, tls: true }).tls, {})
})

test('settings of the wrong type are ConfigErrors naming the field', (t) => {
  const cases: Array<[unknown, RegExp]> = [
    ['yes', /^tls must be true, false or an object/],
    [{ ca: 42 }, /^tls\.ca must be a PEM string or Buffer; got number/],
    [{ serverName: Buffer.from('x') }, /^tls\.serverName must be a string/],
  ]
  for (const [tls, message] of cases) {
    t.throws(() => createConsumerConfig({ ...base, tls } as never), { instanceOf: ConfigError, message }, JSON.stringify(tls))
  }
})

test('the engine refuses unusable PEM, a half pair and a bad server name, never quoting the key', (t) => {
  const cases: Array<[object, RegExp]> = [
    [{ ca: 'not a certificate' }, /tls\.ca holds no PEM certificate/],
    [{ key: SECRET_KEY }, /tls\.key is set but tls\.cert is not/],
    [{ cert: 'x' }, /tls\.cert is set but tls\.key is not/],
    [{ serverName: 'not a name!' }, /tls\.serverName must be a DNS name or an IP address/],
  ]
  for (const [tls, message] of cases) {
    const consumerError = t.throws(() => createConsumerConfig({ ...base, tls }), { instanceOf: ConfigError, message }, JSON.stringify(tls))
    t.false(consumerError?.message.includes('TOP-SECRET') ?? true)
    t.throws(() => new Admin({ namesrvAddr: base.namesrvAddr, tls }), { instanceOf: ConfigError, message })
  }
})

test('a resolved consumer configuration does not show the TLS settings when printed', (t) => {
  const config = createConsumerConfig({ ...base, tls: { serverName: 'rocketmq.internal' } })
  t.is(config.tls?.serverName, 'rocketmq.internal')
  t.false(JSON.stringify(config).includes('rocketmq.internal'))
  t.false(Object.keys(config).includes('tls'))
})
