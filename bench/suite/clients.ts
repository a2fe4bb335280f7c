/**
 * The clients `npm run bench` can run, by name. A Node client is a script in bench/clients named
 * `<name>-consumer.ts` or `<name>-producer.ts` (compiled to plain JavaScript in bench/.build first): dropping a new
 * one there is all it takes to plug it in (`ours-client-nodejs-consumer.ts` becomes client `ours-client-nodejs`).
 * Two clients are not Node: `engine` (this project's Rust core alone, the cargo examples bench_consumer.rs and
 * bench_producer.rs) and `java` (the Java client, bench/java/BenchClient.java compiled against the broker's jars).
 *
 * A script whose source contains the marker `bench:needs-proxy` talks gRPC to a RocketMQ 5 proxy: the benchmark
 * starts one when such a client is selected and passes its endpoint as `--endpoints`.
 *
 * @module
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

import { clientScript } from '../harness'
import { javaCommand } from './java'

/** Which half of the benchmark a client script serves. */
export type ClientKind = 'consumer' | 'producer'

/** One runnable client: how to start a run of it, and what it needs. */
export interface ClientSpec {
  name: string
  /** The program and its leading arguments; the run's flags follow. */
  command: readonly string[]
  /** Talks gRPC to a RocketMQ 5 proxy. */
  needsProxy: boolean
  /** Built by cargo (the engine's examples): the benchmark builds them first. */
  cargoExample?: string
}

const CLIENTS_DIR = join(__dirname, '..', 'clients')

/** The release binary of one of the engine's examples. */
export function engineBinary(example: string): string {
  return join(__dirname, '..', '..', 'target', 'release', 'examples', example)
}

/** The order clients are listed and interleaved in when the user names none: ours first, then the peers. */
const PREFERRED_ORDER = [
  'ours',
  'ours-tuned',
  'ours-orderly',
  'engine',
  'java',
  'ali-ons',
  'ours-ali-ons',
  'client-nodejs',
  'ours-client-nodejs',
]

/** Names of the Node client scripts of `kind` found in bench/clients. */
export function scriptClients(kind: ClientKind): string[] {
  const suffix = `-${kind}.ts`
  return readdirSync(CLIENTS_DIR)
    .filter((file) => file.endsWith(suffix))
    .map((file) => file.slice(0, -suffix.length))
}

/** Every client of `kind`, in the benchmark's default order (unknown plug-ins last, by name). */
export function knownClients(kind: ClientKind): string[] {
  const names = [...scriptClients(kind), 'engine', 'java']
  const rank = (name: string): number => {
    const at = PREFERRED_ORDER.indexOf(name)
    return at === -1 ? PREFERRED_ORDER.length : at
  }
  return [...new Set(names)].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
}

/** How to run client `name` of `kind`; throws for a name that is neither a script nor a built-in. */
export function clientSpec(name: string, kind: ClientKind): ClientSpec {
  if (name === 'engine') {
    const example = kind === 'consumer' ? 'bench_consumer' : 'bench_producer'
    return { name, command: [engineBinary(example)], needsProxy: false, cargoExample: example }
  }
  if (name === 'java') {
    return { name, command: javaCommand(kind === 'consumer' ? 'consume' : 'produce'), needsProxy: false }
  }
  const source = join(CLIENTS_DIR, `${name}-${kind}.ts`)
  if (!existsSync(source)) {
    throw new Error(`unknown ${kind} client ${JSON.stringify(name)}; known: ${knownClients(kind).join(', ')}`)
  }
  return {
    name,
    command: [process.execPath, clientScript(`${name}-${kind}`)],
    needsProxy: readFileSync(source, 'utf8').includes('bench:needs-proxy'),
  }
}

/** This project's own clients (every other one is a peer): ours and its variants, the engine, the drop-ins. */
export function isOurs(name: string): boolean {
  return name === 'engine' || name === 'ours' || name.startsWith('ours-')
}

/**
 * The client a given one is compared with: a drop-in subpath `ours-<peer>` with `<peer>`, every peer with `ours`.
 * Undefined for `ours` itself.
 */
export function baselineOf(name: string, present: readonly string[]): string | undefined {
  if (name === 'ours') {
    return undefined
  }
  const peer = name.startsWith('ours-') ? name.slice('ours-'.length) : undefined
  if (peer !== undefined && present.includes(peer)) {
    return peer
  }
  return present.includes('ours') ? 'ours' : undefined
}
