/**
 * The package as npm users get it. `npm pack` gives the main package (with the manifest the release
 * publishes, scripts/release-manifest.mjs) and the linux-x64-gnu platform package (with the addon in the
 * package root, the release build in CI); both tarballs go into an empty project with no cargo on the PATH
 * and no network, and a script sends and consumes messages on the local cluster through the installed
 * package, from CommonJS and from an ES module. The tarballs' file lists are checked too, and publint and
 * arethetypeswrong (the pinned devDependencies, run from node_modules) judge the packed package.
 *
 * Needs the built package (`npm run build` or `npm run build:debug`) and the local cluster.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { accessSync, constants, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'

import test from 'ava'

const root = join(__dirname, '..')
const PLATFORM = 'linux-x64-gnu'
const ADDON = `rocketmq-napi.${PLATFORM}.node`

interface PackResult {
  filename: string
  files: Array<{ path: string }>
}

interface Packed {
  dir: string
  /** Files of `npm pack` in the checkout: what `files` selects. */
  mainFiles: string[]
  mainTarball: string
  /** The unpacked main package with the published manifest. */
  stageDir: string
  platformFiles: string[]
  platformTarball: string
}

/** `npm pack` without lifecycle scripts (`prepare` would build the addon from source). */
function npmPack(cwd: string, destination: string): PackResult {
  const output = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', destination], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const [result] = JSON.parse(output) as PackResult[]
  if (!result) {
    throw new Error(`npm pack in ${cwd} printed no result`)
  }
  return result
}

let packed: Packed | undefined

test.before(() => {
  if (!existsSync(join(root, ADDON)) || !existsSync(join(root, 'dist', 'index.js'))) {
    throw new Error(`${ADDON} or dist/ is missing: run npm run build first`)
  }
  const dir = mkdtempSync(join(tmpdir(), 'rocketmq-napi-tarball-'))
  const main = npmPack(root, dir)

  // The published manifest: the checkout's, with the platform packages as optionalDependencies and no prepare.
  const stage = join(dir, 'stage')
  mkdirSync(stage)
  execFileSync('tar', ['-xzf', join(dir, main.filename), '-C', stage])
  execFileSync(process.execPath, [join(root, 'scripts', 'release-manifest.mjs'), join(stage, 'package', 'package.json')])
  rmSync(join(dir, main.filename))
  const published = npmPack(join(stage, 'package'), dir)

  const platformDir = join(dir, PLATFORM)
  mkdirSync(platformDir)
  for (const file of ['package.json', 'README.md']) {
    copyFileSync(join(root, 'npm', PLATFORM, file), join(platformDir, file))
  }
  copyFileSync(join(root, ADDON), join(platformDir, ADDON))
  const platform = npmPack(platformDir, dir)

  packed = {
    dir,
    mainFiles: main.files.map((file) => file.path).sort(),
    mainTarball: join(dir, published.filename),
    stageDir: join(stage, 'package'),
    platformFiles: platform.files.map((file) => file.path).sort(),
    platformTarball: join(dir, platform.filename),
  }
})

test.after.always(() => {
  if (packed) {
    rmSync(packed.dir, { recursive: true, force: true })
  }
})

function getPacked(): Packed {
  if (!packed) {
    throw new Error('packing failed')
  }
  return packed
}

test('the main tarball holds the built JavaScript, its types, README and package.json, and nothing else', (t) => {
  const { mainFiles } = getPacked()
  const allowed = /^(package\.json|README\.md|LICENSE|dist\/.+\.(js|mjs|d\.ts|d\.mts))$/
  t.deepEqual(
    mainFiles.filter((path) => !allowed.test(path)),
    [],
  )
  // Spelled out, as these are what must never ship: tests, Rust sources, fuzz corpora, benchmarks, addons.
  const forbidden = /(^|\/)(__test__|crates|src|fuzz|corpus|bench|examples|scripts|target|npm)\/|\.(rs|node|toml|lock)$|spec\./
  t.deepEqual(
    mainFiles.filter((path) => forbidden.test(path)),
    [],
  )
  // Everything package.json points at is in it.
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    main: string
    types: string
    exports: Record<string, unknown>
    typesVersions: Record<string, Record<string, string[]>>
  }
  const targets = new Set<string>([manifest.main, manifest.types])
  const collect = (value: unknown): void => {
    if (typeof value === 'string') {
      targets.add(value.replace(/^\.\//, ''))
    } else if (value && typeof value === 'object') {
      Object.values(value).forEach(collect)
    }
  }
  collect(manifest.exports)
  collect(manifest.typesVersions)
  for (const target of targets) {
    t.true(mainFiles.includes(target), `${target} is in the tarball`)
  }
  t.true(mainFiles.includes('dist/lib/binding.d.ts'), 'the types of the native binding, which the .d.ts files import')
})

test('the platform tarball holds its addon, package.json and README only', (t) => {
  t.deepEqual(getPacked().platformFiles, ['README.md', ADDON, 'package.json'].sort())
})

/** PATH without any directory that holds cargo, so that nothing can build from source. */
function pathWithoutCargo(): string {
  const hasCargo = (dir: string): boolean => {
    try {
      accessSync(join(dir, 'cargo'), constants.X_OK)
      return true
    } catch {
      return false
    }
  }
  const dirs = (process.env.PATH ?? '').split(delimiter).filter((dir) => dir !== '' && !hasCargo(dir))
  return [dirname(process.execPath), ...dirs].join(delimiter)
}

test('installed from the two tarballs without cargo or network, it sends and consumes from CommonJS and ESM', (t) => {
  const { dir, mainTarball, platformTarball } = getPacked()
  const project = join(dir, 'project')
  mkdirSync(project)
  writeFileSync(join(project, 'package.json'), `${JSON.stringify({ name: 'tarball-user', private: true }, null, 2)}\n`)
  for (const file of readdirSync(join(__dirname, 'fixtures', 'tarball'))) {
    copyFileSync(join(__dirname, 'fixtures', 'tarball', file), join(project, file))
  }
  writeFileSync(join(dir, 'npmrc'), '')
  const env: NodeJS.ProcessEnv = {
    PATH: pathWithoutCargo(),
    HOME: dir,
    NAMESRV_ADDR: process.env.NAMESRV_ADDR ?? '127.0.0.1:9876',
    // No user config, an empty cache and an unreachable registry: whatever npm wants that the two
    // tarballs do not hold makes the install fail instead of being fetched.
    npm_config_userconfig: join(dir, 'npmrc'),
    npm_config_cache: join(dir, 'npm-cache'),
    npm_config_registry: 'http://127.0.0.1:9/',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
  }
  const cargo = spawnSync('cargo', ['--version'], { env })
  t.is((cargo.error as NodeJS.ErrnoException | undefined)?.code, 'ENOENT', 'cargo is not on the PATH of the install')

  const install = spawnSync('npm', ['install', '--offline', mainTarball, platformTarball], { cwd: project, env, encoding: 'utf8' })
  t.is(install.status, 0, `npm install failed:\n${install.stdout}\n${install.stderr}`)

  const installed = join(project, 'node_modules', 'rocketmq-napi')
  t.deepEqual(
    readdirSync(installed).filter((name) => name.endsWith('.node')),
    [],
    'the main package brings no addon: it must come from the platform package',
  )
  t.true(existsSync(join(project, 'node_modules', `rocketmq-napi-${PLATFORM}`, ADDON)))
  const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as {
    optionalDependencies?: Record<string, string>
    scripts?: Record<string, string>
  }
  t.is(manifest.optionalDependencies?.[`rocketmq-napi-${PLATFORM}`], '0.1.0')
  t.is(Object.keys(manifest.optionalDependencies ?? {}).length, 7)
  t.is(manifest.scripts?.prepare, undefined, 'the published package never builds from source')

  for (const script of ['produce-consume.cjs', 'produce-consume.mjs']) {
    const run = spawnSync(process.execPath, [script], { cwd: project, env, encoding: 'utf8', timeout: 90_000 })
    t.is(run.status, 0, `${script}:\n${run.stdout}\n${run.stderr}`)
    const line = run.stdout.trim().split('\n').pop() ?? ''
    const result = JSON.parse(line) as { sent: string[]; received: string[]; aliOnsLoaded: boolean }
    t.is(result.sent.length, 3)
    t.deepEqual(result.received, [...result.sent].sort(), script)
    t.true(result.aliOnsLoaded, `${script} loads the rocketmq-napi/ali-ons subpath`)
  }
})

test('publint and arethetypeswrong find no problem in the package as published', (t) => {
  const { mainTarball, stageDir } = getPacked()
  const bin = (name: string): string => join(root, 'node_modules', '.bin', name)
  const env = { ...process.env, npm_config_offline: 'true' }
  const lint = spawnSync(bin('publint'), ['--strict', stageDir], { encoding: 'utf8', env })
  t.is(lint.status, 0, `publint:\n${lint.stdout}\n${lint.stderr}`)
  // --strict fails on warnings; suggestions do not fail it, but should not be there either.
  t.notRegex(lint.stdout, /Suggestions|Warnings|Errors/)
  t.regex(lint.stdout, /Linting/)
  // attw exits non-zero on any problem of any entry point under any module resolution.
  const types = spawnSync(bin('attw'), [mainTarball], { encoding: 'utf8', env })
  t.is(types.status, 0, `attw:\n${types.stdout}\n${types.stderr}`)
  t.regex(types.stdout, /"rocketmq-napi\/ali-ons"/)
  t.regex(types.stdout, /node16 \(from ESM\)/)
})
