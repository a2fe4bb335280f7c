/**
 * Checks shared by the specs of the drop-in subpaths (`rocketmq-napi/ali-ons`, `rocketmq-napi/client-nodejs`): their
 * README examples typecheck as a user's project would, and the subpath loads by its name through `exports`.
 */
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

import type { ExecutionContext } from 'ava'

/** The package's root: the fixtures import it by its name through a symlink or `exports`. */
export const PACKAGE_ROOT = join(__dirname, '..', '..')

/**
 * Typechecks `files` strictly with the project's TypeScript, as a user's project would resolve the package; rejects
 * with tsc's diagnostics when the types do not resolve or an example does not fit them.
 *
 * @param files the sources to check
 * @param resolution `node16` (through `exports`) or the old `node10` (which ignores `exports`)
 */
export async function typecheck(files: string[], resolution: 'node16' | 'node10' = 'node16'): Promise<void> {
  const compiler = join(PACKAGE_ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
  const module = resolution === 'node16' ? 'node16' : 'commonjs'
  // Run without blocking the worker (a busy machine makes tsc slow), and without re-checking the declaration files of
  // the libraries (@types/node, the package's own .d.ts are checked by `npm run typecheck`): the examples' use of them
  // is checked.
  await promisify(execFile)(
    process.execPath,
    [compiler, '--noEmit', '--strict', '--skipLibCheck', '--module', module, '--moduleResolution', resolution, '--target', 'es2022',
      '--types', 'node', '--typeRoots', join(PACKAGE_ROOT, 'node_modules', '@types'), ...files],
    { cwd: PACKAGE_ROOT, encoding: 'utf8' },
  )
}

/**
 * Typechecks `source` in a throwaway project whose `node_modules/rocketmq-napi` is this package, with the node10
 * resolution: what a user on it gets through `typesVersions`.
 *
 * @param t the test, which removes the project when done
 * @param prefix the project directory's name prefix
 * @param source the user's file
 */
export async function typecheckAsNode10User(t: ExecutionContext, prefix: string, source: string): Promise<void> {
  const project = mkdtempSync(join(tmpdir(), prefix))
  t.teardown(() => rmSync(project, { recursive: true, force: true }))
  mkdirSync(join(project, 'node_modules'))
  symlinkSync(PACKAGE_ROOT, join(project, 'node_modules', 'rocketmq-napi'))
  const file = join(project, 'uses.ts')
  writeFileSync(file, source)
  await typecheck([file], 'node10')
}

/**
 * The names a subpath exports (sorted, comma-separated, `default` left out), loaded by `import` and by `require` in
 * processes of their own.
 *
 * @param subpath e.g. `rocketmq-napi/ali-ons`
 */
export async function exportedNames(subpath: string): Promise<{ viaImport: string; viaRequire: string }> {
  const list = 'Object.keys(m).filter((k) => k !== "default").sort().join(",")'
  const run = async (args: string[]): Promise<string> =>
    (await promisify(execFile)(process.execPath, args, { cwd: PACKAGE_ROOT, encoding: 'utf8' })).stdout.trim()
  const viaImport = await run(['--input-type=module', '-e', `import * as m from '${subpath}'; console.log(${list})`])
  const viaRequire = await run(['-e', `const m = require('${subpath}'); console.log(${list})`])
  return { viaImport, viaRequire }
}
