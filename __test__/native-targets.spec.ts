/**
 * The platform packages under `npm/` and the addons built for them: each package describes the platform its
 * directory names (the loader's list, `napi.targets` and the directories agree), and every addon present (the
 * one `npm run build` put in the package root, and any in `npm/<platform>/`, from the release workflow's
 * artifacts or `scripts/build-cross.sh`) is a binary for that package's CPU and C library, read with `file`
 * and `readelf`. Needs binutils' readelf and file(1).
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

import test from 'ava'

import { PREBUILT_TRIPLES } from '../lib/native'

const root = join(__dirname, '..')

interface PlatformManifest {
  name: string
  version: string
  main: string
  files: string[]
  os: string[]
  cpu: string[]
  libc?: string[]
}

/** What each platform's addon must be, as `file` names it (and for Linux, `readelf -h`'s Machine). */
const EXPECTED_BINARY: Record<string, { file: RegExp; machine?: string; libc?: 'glibc' | 'musl' }> = {
  'linux-x64-gnu': { file: /ELF 64-bit LSB shared object, x86-64/, machine: 'Advanced Micro Devices X86-64', libc: 'glibc' },
  'linux-x64-musl': { file: /ELF 64-bit LSB shared object, x86-64/, machine: 'Advanced Micro Devices X86-64', libc: 'musl' },
  'linux-arm64-gnu': { file: /ELF 64-bit LSB shared object, ARM aarch64/, machine: 'AArch64', libc: 'glibc' },
  'linux-arm64-musl': { file: /ELF 64-bit LSB shared object, ARM aarch64/, machine: 'AArch64', libc: 'musl' },
  'darwin-x64': { file: /Mach-O 64-bit .*x86_64/ },
  'darwin-arm64': { file: /Mach-O 64-bit .*arm64/ },
  'win32-x64-msvc': { file: /PE32\+ executable \(DLL\).*x86-64/ },
}

function platformDirs(): string[] {
  return readdirSync(join(root, 'npm')).sort()
}

function manifestOf(dir: string): PlatformManifest {
  return JSON.parse(readFileSync(join(root, 'npm', dir, 'package.json'), 'utf8')) as PlatformManifest
}

/** The napi-rs name of a Rust target triple, e.g. aarch64-unknown-linux-musl -> linux-arm64-musl. */
function napiTriple(rustTarget: string): string {
  const [arch, , system, abi] = rustTarget.split('-')
  const cpu = arch === 'x86_64' ? 'x64' : arch === 'aarch64' ? 'arm64' : arch
  if (system === 'darwin') {
    return `darwin-${cpu}`
  }
  if (system === 'windows') {
    return `win32-${cpu}-${abi}`
  }
  return `${system}-${cpu}-${abi}`
}

test('the loader, napi.targets and npm/ name the same seven platforms', (t) => {
  const { napi, version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    napi: { targets: string[] }
    version: string
  }
  t.deepEqual([...PREBUILT_TRIPLES].sort(), platformDirs())
  t.deepEqual(napi.targets.map(napiTriple).sort(), platformDirs())
  t.is(platformDirs().length, 7)
  for (const dir of platformDirs()) {
    t.is(manifestOf(dir).version, version, `npm/${dir} has the package's version`)
  }
})

test("each platform package installs only on its platform and holds only its addon", (t) => {
  for (const dir of platformDirs()) {
    const manifest = manifestOf(dir)
    const [os, cpu, abi] = dir.split('-')
    const file = `rocketmq-napi.${dir}.node`
    t.is(manifest.name, `rocketmq-napi-${dir}`)
    t.is(manifest.main, file)
    t.deepEqual(manifest.files, [file])
    t.deepEqual(manifest.os, [os])
    t.deepEqual(manifest.cpu, [cpu])
    // npm's `libc` field is what keeps a glibc addon off Alpine and a musl one off glibc systems.
    const libc = abi === 'gnu' ? ['glibc'] : abi === 'musl' ? ['musl'] : undefined
    t.deepEqual(manifest.libc, libc, dir)
  }
})

/** Every built addon on this machine: the package root's, and those placed in npm/<platform>/. */
function builtAddons(): Array<{ platform: string; path: string }> {
  const found: Array<{ platform: string; path: string }> = []
  for (const name of readdirSync(root)) {
    const match = /^rocketmq-napi\.(.+)\.node$/.exec(name)
    if (match?.[1]) {
      found.push({ platform: match[1], path: join(root, name) })
    }
  }
  for (const dir of platformDirs()) {
    const path = join(root, 'npm', dir, `rocketmq-napi.${dir}.node`)
    if (existsSync(path)) {
      found.push({ platform: dir, path })
    }
  }
  return found
}

test('every built addon is a binary for its platform: CPU, file type and C library', (t) => {
  const addons = builtAddons()
  t.true(
    addons.some(({ path }) => path === join(root, 'rocketmq-napi.linux-x64-gnu.node')),
    'the package root has the addon `npm run build` makes',
  )
  for (const { platform, path } of addons) {
    const expected = EXPECTED_BINARY[platform]
    if (!expected) {
      t.fail(`${path}: no platform package for ${platform}`)
      continue
    }
    const description = execFileSync('file', ['-b', path], { encoding: 'utf8' })
    t.regex(description, expected.file, path)
    if (!expected.machine) {
      continue
    }
    const header = execFileSync('readelf', ['-h', path], { encoding: 'utf8' })
    t.regex(header, /Class:\s+ELF64/, path)
    t.regex(header, /Type:\s+DYN/, path)
    t.regex(header, new RegExp(`Machine:\\s+${expected.machine}`), path)
    const dynamic = execFileSync('readelf', ['-d', path], { encoding: 'utf8' })
    const needed = [...dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map(
      (match) => match[1],
    )
    if (expected.libc === 'glibc') {
      t.true(needed.includes('libc.so.6'), `${path} links glibc: ${needed.join(', ')}`)
    } else {
      // musl's loader answers any libc.so / libc.musl-<arch>.so.1 request with itself.
      t.false(needed.includes('libc.so.6'), `${path} must not link glibc: ${needed.join(', ')}`)
      t.true(
        needed.some((lib) => lib === 'libc.so' || /^libc\.musl-.+\.so\.1$/.test(lib)),
        `${path} links musl: ${needed.join(', ')}`,
      )
      // musl's dlopen() (how Node loads an addon) refuses initial-exec thread-locals, which set STATIC_TLS;
      // glibc accepts them, so only a musl addon must do without (mimalloc's local_dynamic_tls feature).
      t.notRegex(dynamic, /\(FLAGS\).*STATIC_TLS/, `${path} uses initial-exec TLS, which musl cannot dlopen`)
    }
  }
})
