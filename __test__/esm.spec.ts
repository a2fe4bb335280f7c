/**
 * The package as ES-module and CommonJS users load it: the same names through both conditions of
 * package.json's `exports`, and types for an ES-module TypeScript user. Needs the TypeScript build
 * (`npm run build:ts`, part of `npm install`).
 */
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'

import test from 'ava'

const root = join(__dirname, '..')

function node(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' })
}

test('import and require give the same names', (t) => {
  t.true(existsSync(join(root, 'dist', 'index.mjs')), 'dist/index.mjs is missing: run npm run build:ts')
  const list = 'Object.keys(m).filter((k) => k !== "default").sort().join(",")'
  const viaImport = node(['--input-type=module', '-e', `import * as m from 'rocketmq-napi'; console.log(${list})`]).trim()
  const viaRequire = node(['-e', `const m = require('rocketmq-napi'); console.log(${list})`]).trim()
  t.is(viaImport, viaRequire)
  for (const name of ['Consumer', 'Producer', 'Admin', 'ConsumeResult', 'MessageSelector', 'SubscriptionManager']) {
    t.true(viaImport.split(',').includes(name), name)
  }
})

test('an ES-module TypeScript user gets the types (Node16 resolution)', (t) => {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
  const fixture = join(root, '__test__', 'fixtures', 'esm', 'uses-types.mts')
  // Throws with tsc's diagnostics when the types do not resolve or do not fit.
  node([tsc, '--noEmit', '--strict', '--module', 'node16', '--moduleResolution', 'node16', '--target', 'es2022', '--types', 'node', fixture])
  t.pass()
})
