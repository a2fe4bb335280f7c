/**
 * ali-ons' README examples over `rocketmq-napi/ali-ons`: they compile unchanged but for the import (as CommonJS
 * and as an ES module, through the package's `exports`), the access keys they carry are refused by name (ACL
 * signing is not built), and with `nameSrv` in their place they send and receive. Needs the TypeScript build
 * (`npm run build:ts`): the fixtures load the package by its name.
 */
import { join } from 'node:path'

import test from 'ava'

import { Admin } from '../index'
import { toConsumerConfig, toProducerConfig } from '../lib/compat/ali-ons/options'
import { NAMESRV_ADDR, createTestTopic, uniqueName } from './helpers/cluster'
import { waitFor } from './helpers/consumer'
import { exportedNames, typecheck, typecheckAsNode10User } from './helpers/subpath'

const fixtures = join(__dirname, 'fixtures', 'ali-ons')

/** Printing, as the README does (the fixture's `Printer`). */
interface Printer {
  log(...values: unknown[]): void
  error(...values: unknown[]): void
}

/** The closable clients of the fixture. */
interface Closable {
  close(): Promise<void>
}

/**
 * The fixture, loaded at run time (it imports the package by its name, through `exports`, which the specs'
 * own typecheck does not resolve; the first test compiles it with the resolution that does).
 */
const readme = require(join(fixtures, 'readme.cts')) as {
  readmeConsumer(httpclient: object, config: { topic: string }, console: Printer): Closable
  readmeProducer(httpclient: object, console: Printer): Promise<void>
  readmeLocal(
    httpclient: object,
    config: { topic: string; nameSrv: string[]; consumerGroup: string },
    console: Printer,
  ): Promise<{ consumer: Closable; producer: Closable }>
}

/** What a ConfigError of the package's build looks like (a class of its own, not the sources' one). */
const configError = (message: RegExp) => ({ name: 'ConfigError', code: 'ERR_CONFIG', message })

test('the README examples compile against the subpath as CommonJS, and an ES-module user gets the types', async (t) => {
  await typecheck([join(fixtures, 'readme.cts'), join(fixtures, 'esm-usage.mts')])
  t.pass()
})

test('a TypeScript user on the old node10 resolution (which ignores exports) gets the types through typesVersions', async (t) => {
  await typecheckAsNode10User(
    t,
    'alions-node10-',
    "import { Consumer as Core } from 'rocketmq-napi'\nimport { Consumer, Message } from 'rocketmq-napi/ali-ons'\n" +
      "export const message: Message = new Message('t', 'tag', 'body')\nexport const classes = [Core, Consumer]\n",
  )
  t.pass()
})

test('import and require of rocketmq-napi/ali-ons give Producer, Consumer and Message', async (t) => {
  const { viaImport, viaRequire } = await exportedNames('rocketmq-napi/ali-ons')
  t.is(viaImport, 'Consumer,Message,Producer')
  t.is(viaRequire, viaImport)
})

function recorder(): Printer & { lines: unknown[]; errors: unknown[] } {
  const lines: unknown[] = []
  const errors: unknown[] = []
  return { lines, errors, log: (...values) => lines.push(values[0]), error: (...values) => errors.push(values[0]) }
}

test("the README examples' access keys become the ACL credentials; without nameSrv they are refused by name", (t) => {
  const keys = { httpclient: {}, accessKeyId: 'your-accessKeyId', accessKeySecret: 'your-AccessKeySecret', nameSrv: [NAMESRV_ADDR] }
  t.like(toConsumerConfig({ ...keys, consumerGroup: 'your-consumer-group' }).config, { accessKey: 'your-accessKeyId', secretKey: 'your-AccessKeySecret' })
  t.like(toProducerConfig({ ...keys, producerGroup: 'your-producer-group' }), { accessKey: 'your-accessKeyId', secretKey: 'your-AccessKeySecret' })
  // As written they name no NameServer (ali-ons asks the ONS address server): refused, unless NAMESRV_ADDR is set.
  if (process.env.NAMESRV_ADDR === undefined) {
    const printer = recorder()
    t.throws(() => readme.readmeConsumer({}, { topic: 'your-topic' }, printer), configError(/nameSrv is required/))
  }
})

test('with nameSrv in place of the keys, the README consumer receives what the README producer sent', async (t) => {
  const admin = new Admin({ namesrvAddr: NAMESRV_ADDR })
  t.teardown(() => admin.close())
  const topic = await createTestTopic(admin, 'alions_readme')
  const printer = recorder()
  const { consumer, producer } = await readme.readmeLocal({}, { topic, nameSrv: [NAMESRV_ADDR], consumerGroup: uniqueName('alions_readme') }, printer)
  t.teardown(async () => {
    await consumer.close()
    await producer.close()
  })
  // The example also prints whatever its consumer emits as 'error', which may come before the send result.
  const isSendResult = (line: unknown): line is { msgId: string; sendStatus: string } =>
    typeof line === 'object' && line !== null && 'sendStatus' in line
  const sendResult = printer.lines.find(isSendResult)
  t.is(sendResult?.sendStatus, 'SEND_OK', `printed: ${String(printer.lines)}`)
  const received = `receive message, msgId: ${sendResult?.msgId}, body: Hello ONS !!! `
  t.true(await waitFor(() => printer.lines.includes(received)), `printed: ${String(printer.lines)}`)
  for (const line of printer.lines.filter((line) => !isSendResult(line) && line !== received)) {
    t.log('also printed:', line)
  }
})
