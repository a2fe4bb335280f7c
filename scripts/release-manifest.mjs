// Turns the package.json of a source checkout into the one published to npm:
//
// - `optionalDependencies`: every platform package under npm/ at this version (what `napi prepublish` adds);
//   npm installs only the one whose `os`, `cpu` and `libc` match the machine, so a user gets a prebuilt addon
//   and needs no Rust.
// - no `prepare` script: in a git checkout it builds the addon from source, but a published package carries
//   no Rust sources, and npm would list it among the install scripts a user has to review.
//
//   node scripts/release-manifest.mjs [package.json]     (default: the package.json of this checkout)
//
// Run by the release workflow before `npm publish`, and by __test__/package-tarball.spec.ts on the copy of
// the package it installs, so the test installs what users get.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const manifestPath = resolve(process.argv[2] ?? join(root, 'package.json'))
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'))

const optionalDependencies = {}
for (const dir of readdirSync(join(root, 'npm')).sort()) {
  const platformManifest = JSON.parse(readFileSync(join(root, 'npm', dir, 'package.json'), 'utf8'))
  if (platformManifest.version !== manifest.version) {
    throw new Error(`npm/${dir} is at ${platformManifest.version}, the package at ${manifest.version}: run napi version`)
  }
  optionalDependencies[platformManifest.name] = manifest.version
}
manifest.optionalDependencies = optionalDependencies
delete manifest.scripts.prepare

writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`)
console.log(`${manifestPath}: ${Object.keys(optionalDependencies).length} optionalDependencies, no prepare script`)
