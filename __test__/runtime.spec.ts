/**
 * The Rust runtime's worker count: one by default, ROCKETMQ_NAPI_WORKER_THREADS overrides it, and a
 * value that is not a positive whole number falls back to the default.
 */
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'

import test from 'ava'

import { NAMESRV_ADDR } from './helpers/cluster'

/** Runs the fixture with `workers` (undefined: unset) and returns the runtime's thread count. */
function runtimeThreads(workers: string | undefined): number {
  const env: NodeJS.ProcessEnv = { ...process.env, NAMESRV_ADDR }
  delete env.ROCKETMQ_NAPI_WORKER_THREADS
  if (workers !== undefined) {
    env.ROCKETMQ_NAPI_WORKER_THREADS = workers
  }
  const child = spawnSync(process.execPath, ['--import', 'tsx', join(__dirname, 'fixtures', 'runtime-threads.ts')], {
    env,
    encoding: 'utf8',
    // A guard against a hang, not a performance bound.
    timeout: 60_000,
  })
  if (child.status !== 0) {
    throw new Error(`fixture failed (${String(child.status ?? child.signal)}): ${child.stderr}`)
  }
  const { threads } = JSON.parse(child.stdout.trim().split('\n').pop() ?? '{}') as { threads: number }
  return threads
}

const DEFAULT_WORKERS = 1

test('the runtime has one worker by default', (t) => {
  t.is(runtimeThreads(undefined), DEFAULT_WORKERS)
})

test('ROCKETMQ_NAPI_WORKER_THREADS sets the number of runtime workers', (t) => {
  t.is(runtimeThreads('2'), 2)
  t.is(runtimeThreads('3'), 3)
})

test('a worker count that is not a positive whole number falls back to the default', (t) => {
  t.is(runtimeThreads('0'), DEFAULT_WORKERS)
  t.is(runtimeThreads('many'), DEFAULT_WORKERS)
})
