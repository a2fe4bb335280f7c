// Loads the native addon through the built package (dist/) on this machine and checks that the loader
// detected the expected platform: `node scripts/check-addon-loads.cjs linux-arm64-musl`. Used by the release
// workflow's load jobs, after `npm install ./npm/<platform>` (so the addon comes from the platform package).
'use strict'

const { join } = require('node:path')

const expected = process.argv[2]
const pkg = require(join(__dirname, '..', 'dist', 'index.js'))
const triple = pkg.platformTriple(pkg.detectPlatform())
if (triple !== expected) {
  throw new Error(`the loader detected ${triple}, expected ${expected}`)
}
const binding = pkg.loadNativeBinding()
for (const name of ['NativeProducer', 'NativeAdmin', 'setLogger']) {
  if (typeof binding[name] !== 'function') {
    throw new Error(`the addon loaded for ${triple} has no ${name}`)
  }
}
console.log(`rocketmq-napi-${triple}: the addon loads`)
