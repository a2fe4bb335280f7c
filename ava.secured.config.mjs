// AVA configuration of the secured-cluster run (scripts/run-secured-tests.sh): the specs under
// __test__/secured/, named *.secured.ts so that the default run (package.json, *.spec.ts) never starts
// them against the open cluster. Everything else is the default run's configuration.
import { readFileSync } from 'node:fs'

const defaults = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')).ava

// The TLS clusters (ACL_PROFILE tls / tls-permissive) run the TLS spec only; the ACL clusters everything else.
const tlsRun = (process.env.ACL_PROFILE ?? '').startsWith('tls')
const files = tlsRun ? ['__test__/secured/tls.secured.ts'] : ['__test__/secured/**/*.secured.ts', '!__test__/secured/tls.secured.ts']

export default { ...defaults, files }
