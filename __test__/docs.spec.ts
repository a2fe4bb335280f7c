/**
 * The API reference (`npm run docs`, typedoc over the JSDoc of the three entry points): it builds, and every exported
 * name has a comment. typedoc.json turns on the `notDocumented` validation and treats its warnings as errors.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import test from 'ava'

const root = join(__dirname, '..')

test('typedoc builds the reference with every exported name documented', (t) => {
  const out = mkdtempSync(join(tmpdir(), 'rocketmq-napi-docs-'))
  t.teardown(() => rmSync(out, { recursive: true, force: true }))
  const typedoc = join(root, 'node_modules', 'typedoc', 'bin', 'typedoc')
  // Same options as `npm run docs`, into a directory of its own.
  const run = spawnSync(process.execPath, [typedoc, '--out', out], { cwd: root, encoding: 'utf8' })
  t.is(run.status, 0, `typedoc:\n${run.stdout}\n${run.stderr}`)
  t.notRegex(run.stdout, /does not have any documentation/)
  for (const page of ['index.html', 'classes/rocketmq-napi.Consumer.html', 'classes/rocketmq-napi.Producer.html', 'classes/rocketmq-napi_ali-ons.Consumer.html', 'classes/rocketmq-napi_client-nodejs.PushConsumer.html']) {
    t.true(existsSync(join(out, page)), page)
  }
})
