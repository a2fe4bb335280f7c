import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import test from 'ava'

import { NATIVE_PATH_ENV, NativeBindingError, detectPlatform, loadNativeBinding, platformTriple } from '../index'
import type { PlatformInfo } from '../index'
import { PREBUILT_TRIPLES } from '../lib/native'

const LINUX_X64_GLIBC = { platform: 'linux', arch: 'x64', libc: 'glibc' } as const

test('a missing addon gives NativeBindingError naming every place tried, the platform and the fix', (t) => {
  const emptyDir = mkdtempSync(join(tmpdir(), 'rocketmq-napi-loader-'))
  t.teardown(() => rmSync(emptyDir, { recursive: true, force: true }))
  const error = t.throws(
    () =>
      loadNativeBinding({
        searchDirs: [emptyDir],
        packageNames: ['rocketmq-napi-linux-x64-gnu-not-installed'],
        platform: LINUX_X64_GLIBC,
      }),
    { instanceOf: NativeBindingError },
  )
  t.is(error.code, 'ERR_NATIVE_BINDING')
  t.true(error.message.includes(`${join(emptyDir, 'rocketmq-napi.linux-x64-gnu.node')}: file not found`))
  t.true(error.message.includes('package rocketmq-napi-linux-x64-gnu-not-installed: not installed'))
  t.true(error.message.includes('platform=linux arch=x64 libc=glibc'))
  t.true(error.message.includes('npm run build'))
  t.true(error.message.includes('npm install rocketmq-napi-linux-x64-gnu'))
})

test('ROCKETMQ_NAPI_NATIVE_PATH names the only file tried', (t) => {
  const emptyDir = mkdtempSync(join(tmpdir(), 'rocketmq-napi-loader-'))
  t.teardown(() => rmSync(emptyDir, { recursive: true, force: true }))
  const missingFile = join(emptyDir, 'nothing-here.node')
  const saved = process.env[NATIVE_PATH_ENV]
  process.env[NATIVE_PATH_ENV] = missingFile
  try {
    // The real addon sits in the package root, but a named file wins and is reported missing.
    const error = t.throws(() => loadNativeBinding({ platform: LINUX_X64_GLIBC }), { instanceOf: NativeBindingError })
    t.true(error.message.includes(`${NATIVE_PATH_ENV}=${missingFile}: file not found`))
    t.false(error.message.includes('package rocketmq-napi-linux-x64-gnu'))
    t.true(error.message.includes(`point ${NATIVE_PATH_ENV} at a built rocketmq-napi.linux-x64-gnu.node`))
  } finally {
    if (saved === undefined) {
      delete process.env[NATIVE_PATH_ENV]
    } else {
      process.env[NATIVE_PATH_ENV] = saved
    }
  }
})

test('a file that is not an addon is reported with the reason it failed to load', (t) => {
  const notAnAddon = join(__dirname, 'tsconfig.json')
  const error = t.throws(
    () => loadNativeBinding({ explicitPath: `${notAnAddon}.node`, searchDirs: [], packageNames: [], platform: LINUX_X64_GLIBC }),
    { instanceOf: NativeBindingError },
  )
  t.true(error.message.includes('file not found'))

  const emptyDir = mkdtempSync(join(tmpdir(), 'rocketmq-napi-loader-'))
  t.teardown(() => rmSync(emptyDir, { recursive: true, force: true }))
  const bogus = join(emptyDir, 'rocketmq-napi.linux-x64-gnu.node')
  writeFileSync(bogus, 'not an ELF file')
  const loadFailure = t.throws(
    () => loadNativeBinding({ searchDirs: [emptyDir], packageNames: [], platform: LINUX_X64_GLIBC }),
    { instanceOf: NativeBindingError },
  )
  t.true(loadFailure.message.includes(bogus))
  t.false(loadFailure.message.includes(`${bogus}: file not found`))
})

test('unsupported platforms are told so plainly', (t) => {
  const error = t.throws(
    () => loadNativeBinding({ platform: { platform: 'freebsd', arch: 'x64', libc: 'n/a' } }),
    { instanceOf: NativeBindingError },
  )
  t.regex(error.message, /freebsd-x64 is not supported yet/)
  t.true(error.message.includes('linux-x64-gnu, linux-x64-musl, linux-arm64-gnu'))
  const riscv = t.throws(() => loadNativeBinding({ platform: { platform: 'linux', arch: 'riscv64', libc: 'glibc' } }), {
    instanceOf: NativeBindingError,
  })
  t.regex(riscv.message, /linux-riscv64-gnu is not supported yet/)
})

test('each prebuilt platform maps to its package name, and a missing one says which package to install', (t) => {
  const platforms: Array<[PlatformInfo, string]> = [
    [{ platform: 'linux', arch: 'x64', libc: 'glibc' }, 'linux-x64-gnu'],
    [{ platform: 'linux', arch: 'x64', libc: 'musl' }, 'linux-x64-musl'],
    [{ platform: 'linux', arch: 'arm64', libc: 'glibc' }, 'linux-arm64-gnu'],
    [{ platform: 'linux', arch: 'arm64', libc: 'musl' }, 'linux-arm64-musl'],
    [{ platform: 'darwin', arch: 'x64', libc: 'n/a' }, 'darwin-x64'],
    [{ platform: 'darwin', arch: 'arm64', libc: 'n/a' }, 'darwin-arm64'],
    [{ platform: 'win32', arch: 'x64', libc: 'n/a' }, 'win32-x64-msvc'],
  ]
  t.deepEqual(
    platforms.map(([, triple]) => triple),
    [...PREBUILT_TRIPLES],
  )
  const emptyDir = mkdtempSync(join(tmpdir(), 'rocketmq-napi-loader-'))
  t.teardown(() => rmSync(emptyDir, { recursive: true, force: true }))
  for (const [platform, triple] of platforms) {
    t.is(platformTriple(platform), triple)
    const error = t.throws(() => loadNativeBinding({ searchDirs: [emptyDir], platform }), { instanceOf: NativeBindingError })
    t.true(error.message.includes(`package rocketmq-napi-${triple}: not installed`), error.message)
    t.true(error.message.includes(`npm install rocketmq-napi-${triple}`), triple)
  }
})

test('the default search finds the locally built addon on this machine', (t) => {
  const platform = detectPlatform()
  t.is(platformTriple(platform), 'linux-x64-gnu')
  const binding = loadNativeBinding()
  t.is(typeof binding.NativeProducer, 'function')
  t.is(typeof binding.NativeAdmin, 'function')
  t.is(typeof binding.setLogger, 'function')
  const explicit = loadNativeBinding({ explicitPath: join(__dirname, '..', 'rocketmq-napi.linux-x64-gnu.node') })
  t.is(explicit, binding, 'the same addon file loads as the same module')
})
