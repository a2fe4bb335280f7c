/**
 * The logger: native records reach a user sink; bad settings are ConfigErrors. Runs serially because the
 * logger is process-wide (ava runs each spec file in its own process).
 */
import test from 'ava'

import { Admin, ConfigError, DEFAULT_LOGGER, LOG_LEVELS, type LogRecord, type Logger, Producer, setLogger } from '../index'
import { type NativeBinding, nativeBinding } from '../lib/native'
import { NAMESRV_ADDR, createTestTopic, uniqueName } from './helpers/cluster'

/** Gives the event loop turns until `done()` holds or the turns run out. */
async function waitFor(done: () => boolean): Promise<void> {
  for (let turn = 0; turn < 500 && !done(); turn += 1) {
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

test.after.always(() => setLogger(DEFAULT_LOGGER))

test.serial('setLogger rejects unknown levels and non-function sinks with ConfigError', (t) => {
  for (const level of ['verbose', 'WARN', '', 42, undefined]) {
    const error = t.throws(() => setLogger({ level } as unknown as Logger), { instanceOf: ConfigError })
    t.is(error.code, 'ERR_CONFIG')
  }
  t.throws(() => setLogger({ level: 'info', sink: 'stderr' } as unknown as Logger), { instanceOf: ConfigError })
  t.throws(() => setLogger(null as unknown as Logger), { instanceOf: ConfigError })
  for (const level of LOG_LEVELS) {
    t.notThrows(() => setLogger({ level }))
  }
})

test.serial('at level debug a sink receives native records of the documented shape', async (t) => {
  const records: LogRecord[] = []
  setLogger({ level: 'debug', sink: (record) => records.push(record) })

  const admin = new Admin({ namesrvAddr: NAMESRV_ADDR })
  t.teardown(() => admin.close())
  const topic = await createTestTopic(admin, 'logger')
  const producer = new Producer({ namesrvAddr: NAMESRV_ADDR, producerGroup: uniqueName('logger') })
  await producer.start()
  await producer.send({ topic, body: 'logged' })
  await producer.shutdown()

  // Records cross from the engine's threads asynchronously; give the event loop turns until one arrives.
  for (let turn = 0; turn < 200 && records.length === 0; turn += 1) {
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  t.true(records.length > 0, 'at least one record arrived')
  for (const record of records) {
    t.deepEqual(Object.keys(record).sort(), ['level', 'message', 'target'])
    t.true(['error', 'warn', 'info', 'debug'].includes(record.level), `level ${record.level}`)
    t.is(typeof record.target, 'string')
    t.not(record.target, '')
    t.is(typeof record.message, 'string')
  }
})

test.serial('a sink that throws does not disturb the client', async (t) => {
  let calls = 0
  setLogger({
    level: 'debug',
    sink: () => {
      calls += 1
      throw new Error('sink failure')
    },
  })
  const warnings: string[] = []
  const onWarning = (warning: Error): void => {
    warnings.push(warning.message)
  }
  process.on('warning', onWarning)
  t.teardown(() => process.off('warning', onWarning))

  const admin = new Admin({ namesrvAddr: NAMESRV_ADDR })
  t.teardown(() => admin.close())
  await createTestTopic(admin, 'logger_throw')
  for (let turn = 0; turn < 200 && calls === 0; turn += 1) {
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  t.true(calls > 0)
  setLogger(DEFAULT_LOGGER)
  await new Promise((resolve) => setImmediate(resolve))
  t.true(warnings.some((message) => message.includes('sink failure')))
})

test.serial('records logged in a burst reach the sink one by one and in order, many per call into JS', async (t) => {
  // Count the engine's calls into JavaScript by wrapping the binding's setLogger (internal; the public
  // sink still gets one record per call, so it cannot tell batches apart).
  const binding = nativeBinding() as { setLogger: NativeBinding['setLogger'] }
  const nativeSetLogger = binding.setLogger
  let callsIntoJs = 0
  binding.setLogger = (level, sink) =>
    nativeSetLogger(
      level,
      sink === undefined || sink === null
        ? sink
        : (batch) => {
            callsIntoJs += 1
            return sink(batch)
          },
    )
  t.teardown(() => {
    binding.setLogger = nativeSetLogger
  })
  const records: LogRecord[] = []
  setLogger({ level: 'debug', sink: (record) => records.push(record) })

  const admin = new Admin({ namesrvAddr: NAMESRV_ADDR })
  t.teardown(() => admin.close())
  const topic = await createTestTopic(admin, 'logger_burst')
  const producer = new Producer({ namesrvAddr: NAMESRV_ADDR, producerGroup: uniqueName('logger_burst') })
  await producer.start()
  // Chains of sequential sends: the engine logs "sent <msgId> ..." before a send resolves, so within a
  // chain the records have a known order, while the chains together log faster than one record per
  // turn of the JS thread.
  const CHAINS = 16
  const SENDS_PER_CHAIN = 125
  const chains = await Promise.all(
    Array.from({ length: CHAINS }, async (_, chain) => {
      const msgIds: string[] = []
      for (let index = 0; index < SENDS_PER_CHAIN; index += 1) {
        const result = await producer.send({ topic, body: 'burst', keys: `c${chain}-${index}` })
        msgIds.push(result.msgId)
      }
      return msgIds
    }),
  )
  await producer.shutdown()

  const sentIds = (): string[] =>
    records.filter((record) => record.message.startsWith('sent ')).map((record) => record.message.split(' ')[1] as string)
  await waitFor(() => sentIds().length >= CHAINS * SENDS_PER_CHAIN)
  const arrived = sentIds()
  t.is(arrived.length, CHAINS * SENDS_PER_CHAIN, 'one "sent" record per send, none lost')
  const position = new Map(arrived.map((msgId, index) => [msgId, index]))
  for (const msgIds of chains) {
    const positions = msgIds.map((msgId) => position.get(msgId) ?? -1)
    t.false(positions.includes(-1), 'every send of the chain was logged')
    t.deepEqual(
      positions,
      [...positions].sort((a, b) => a - b),
      'a chain\'s records arrive in the order they were logged',
    )
  }
  t.false(
    records.some((record) => record.message.includes('log records dropped')),
    'nothing was dropped',
  )
  t.true(callsIntoJs > 0)
  t.true(callsIntoJs < records.length, `${records.length} records arrived in ${callsIntoJs} calls into JS`)
  t.log(`${records.length} records arrived in ${callsIntoJs} calls into JS`)
})
