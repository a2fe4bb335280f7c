/**
 * After shutdown()/close() a process that used the producer, the admin and a log sink exits by itself.
 */
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'

import test from 'ava'

import { NAMESRV_ADDR } from './helpers/cluster'

test('a process exits on its own after producer.shutdown() and admin.close()', (t) => {
  const child = spawnSync(process.execPath, ['--import', 'tsx', join(__dirname, 'fixtures', 'produce-and-exit.ts')], {
    env: { ...process.env, NAMESRV_ADDR },
    encoding: 'utf8',
    // A guard against a hang, not a performance bound: a process that stays alive is killed and fails.
    timeout: 60_000,
  })
  t.is(child.error, undefined, `child did not finish: ${String(child.error)}`)
  t.is(child.signal, null, `child was killed by ${String(child.signal)}; stderr:\n${child.stderr}`)
  t.is(child.status, 0, child.stderr)
  const summary = JSON.parse(child.stdout.trim().split('\n').pop() ?? '{}') as { status?: string }
  t.is(summary.status, 'SEND_OK')
})
