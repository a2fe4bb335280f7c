/**
 * rocketmq-client-nodejs' README examples over `rocketmq-napi/client-nodejs`: they compile unchanged but for the
 * import (as ES modules through the package's `exports`, and through `typesVersions` for the old node10
 * resolution), and with `endpoints` naming the local NameServer they send, receive with the SimpleConsumer and
 * consume with the PushConsumer; the recall of the delay example is refused with a clear exception. Needs the
 * TypeScript build (`npm run build:ts`): the fixtures load the package by its name.
 */
import { readdirSync } from 'node:fs'
import { join } from 'node:path'

import test from 'ava'

import { Admin } from '../index'
import { NAMESRV_ADDR, createTestTopic, uniqueName } from './helpers/cluster'
import { waitFor } from './helpers/consumer'
import { exportedNames, typecheck, typecheckAsNode10User } from './helpers/subpath'

const fixtures = join(__dirname, 'fixtures', 'client-nodejs')

/** Printing, as the README does. */
interface Printer {
  log(...values: unknown[]): void
  error(...values: unknown[]): void
}

/** The clients the fixture returns. */
interface Closable {
  shutdown(): Promise<void>
}

interface Local {
  endpoints: string
  topic: string
  consumerGroup: string
}

/** The fixture, loaded at run time (it imports the package by its name, which the specs' own typecheck does not resolve). */
const readme = require(join(fixtures, 'readme-run.cts')) as {
  readmeProducer(local: Local, console: Printer): Promise<Closable>
  readmeDelayRecall(local: Local, console: Printer): Promise<void>
  readmeSimpleConsumer(local: Local, console: Printer): Promise<Closable>
  readmePushConsumer(local: Local, console: Printer): Promise<Closable>
}

/** Records what an example prints: every argument of every call. */
function recorder(): Printer & { lines: unknown[][]; errors: unknown[][] } {
  const lines: unknown[][] = []
  const errors: unknown[][] = []
  return { lines, errors, log: (...values) => lines.push(values), error: (...values) => errors.push(values) }
}

test('the README examples (and examples/PushConsumer.ts) compile unchanged but for the import, as ES modules', async (t) => {
  const examples = readdirSync(fixtures).filter((file) => file.endsWith('.mts')).map((file) => join(fixtures, file))
  t.true(examples.length >= 5, `found ${examples.join(', ')}`)
  // One compiler run for all (each run costs many seconds): the ES-module examples and the CommonJS runnable ones.
  await typecheck([...examples, join(fixtures, 'readme-run.cts')])
  t.pass()
})

test('a TypeScript user on the old node10 resolution (which ignores exports) gets the types through typesVersions', async (t) => {
  await typecheckAsNode10User(
    t,
    'client-nodejs-node10-',
    "import { Producer, FilterExpression, type MessageView } from 'rocketmq-napi/client-nodejs'\n" +
      "export const filter: FilterExpression = new FilterExpression('a || b')\n" +
      'export const topicOf = (view: MessageView): string => view.topic\nexport const classes = [Producer]\n',
  )
  t.pass()
})

test('import and require of rocketmq-napi/client-nodejs give the same classes', async (t) => {
  const { viaImport, viaRequire } = await exportedNames('rocketmq-napi/client-nodejs')
  for (const name of ['ConsumeResult', 'FilterExpression', 'FilterType', 'MessageView', 'NotFoundException', 'Producer', 'PushConsumer', 'SimpleConsumer']) {
    t.true(viaImport.split(',').includes(name), `${name} in ${viaImport}`)
  }
  t.is(viaRequire, viaImport)
})

test('with endpoints naming the NameServer, the README producer sends what its SimpleConsumer and PushConsumer get', async (t) => {
  const admin = new Admin({ namesrvAddr: NAMESRV_ADDR })
  t.teardown(() => admin.close())
  const topic = await createTestTopic(admin, 'cnjs_readme')
  const local = (group: string): Local => ({ endpoints: NAMESRV_ADDR, topic, consumerGroup: uniqueName(group) })

  const producerPrinter = recorder()
  const producer = await readme.readmeProducer(local('unused'), producerPrinter)
  t.teardown(() => producer.shutdown())
  const receipt = producerPrinter.lines[0]?.[0] as { messageId: string; offset: number }
  t.is(typeof receipt.messageId, 'string')
  t.true(receipt.offset >= 0)

  // The consumers start after the send (a new group starts at 0 on a queue whose first message the broker still
  // holds in memory; a send racing a starting group could come before its start).
  const pushPrinter = recorder()
  const pushConsumer = await readme.readmePushConsumer(local('cnjs_readme_push'), pushPrinter)
  t.teardown(() => pushConsumer.shutdown())
  // The message may be delivered before the example's line after `await startup()` runs: order is not asserted.
  t.deepEqual(pushPrinter.lines.filter((line) => line[0] !== 'Received message:'), [['PushConsumer started, waiting for messages...']])

  const simplePrinter = recorder()
  const simpleConsumer = await readme.readmeSimpleConsumer(local('cnjs_readme_simple'), simplePrinter)
  t.teardown(() => simpleConsumer.shutdown())
  t.deepEqual(simplePrinter.lines[0], ['got %d messages', 1])
  const view = simplePrinter.lines[1]?.[0] as { messageId: string; tag: string }
  t.is(view.messageId, receipt.messageId)
  t.is(view.tag, 'nodejs-demo')
  const body = simplePrinter.lines[2]?.[1] as string
  t.is(JSON.parse(body).hello, 'rocketmq-client-nodejs world 😄')

  t.true(await waitFor(() => pushPrinter.lines.length === 2), `printed: ${JSON.stringify(pushPrinter.lines)}`)
  const received = pushPrinter.lines.filter((line) => line[0] === 'Received message:')
  t.deepEqual(received, [['Received message:', body]])
})

test('the README delay example sends its timer message, and its recall is refused with an UnsupportedException', async (t) => {
  const admin = new Admin({ namesrvAddr: NAMESRV_ADDR })
  t.teardown(() => admin.close())
  const topic = await createTestTopic(admin, 'cnjs_readme_delay')
  const printer = recorder()
  await readme.readmeDelayRecall({ endpoints: NAMESRV_ADDR, topic, consumerGroup: 'unused' }, printer)
  t.is(printer.lines[0]?.[0], 'Message sent:')
  t.is(printer.errors[0]?.[0], 'Failed to recall message:')
  t.like(printer.errors[0]?.[1], { name: 'UnsupportedException', code: 50500 })
  t.regex(String((printer.errors[0]?.[1] as Error).message), /recallMessage is not supported/)
})
