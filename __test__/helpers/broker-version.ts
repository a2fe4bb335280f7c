/**
 * Which RocketMQ release the local cluster under test runs, so that a spec about a behaviour that differs
 * between broker versions asserts the behaviour of the version it talks to (docs/broker-versions.md lists
 * them) instead of being skipped.
 *
 * Read from the `version` file `scripts/rocketmq/start.sh` writes into the cluster's state directory
 * (`ROCKETMQ_STATE_DIR`, else keyed by the NameServer port, as in `scripts/rocketmq/env.sh`), else from
 * `ROCKETMQ_VERSION` (for a cluster the scripts did not start), else the scripts' default, 5.3.3.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

import { NAMESRV_ADDR } from './cluster'

const DEFAULT_VERSION = '5.3.3'

function stateDir(): string {
  if (process.env.ROCKETMQ_STATE_DIR) {
    return process.env.ROCKETMQ_STATE_DIR
  }
  const port = NAMESRV_ADDR.split(';')[0]?.split(':')[1] ?? '9876'
  return join('/dev/shm', `rocketmq-napi-${port}`)
}

function detectVersion(): string {
  const file = join(stateDir(), 'version')
  if (existsSync(file)) {
    const recorded = readFileSync(file, 'utf8').trim()
    if (recorded !== '') {
      return recorded
    }
  }
  return process.env.ROCKETMQ_VERSION || DEFAULT_VERSION
}

/** The RocketMQ release of the brokers and NameServer the specs run against, e.g. `5.3.3` or `4.9.7`. */
export const BROKER_VERSION = detectVersion()

/** Whether the cluster is a 4.x one (4.9.x), whose answers differ from 5.x in the ways docs/broker-versions.md lists. */
export const BROKER_IS_4X = BROKER_VERSION.startsWith('4.')
