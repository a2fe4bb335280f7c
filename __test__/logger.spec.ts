/**
 * The logger: native records reach a user sink; bad settings are ConfigErrors. Runs serially because the
 * logger is process-wide (ava runs each spec file in its own process).
 */
import test from 'ava'

import { Admin, ConfigError, DEFAULT_LOGGER, LOG_LEVELS, type LogRecord, type Logger, Producer, setLogger } from '../index'
import { NAMESRV_ADDR, createTestTopic, uniqueName } from './helpers/cluster'

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
