/**
 * The measuring half of one benchmark run, shared by every client script so that all clients are timed
 * the same way: parse the run's arguments, warm up, send exactly `count` messages with `inflight` sends
 * outstanding, and print one JSON line ({@link RunResult}) on stdout.
 *
 * Everything is read for the whole process (all threads): `process.cpuUsage()` and
 * `process.resourceUsage()` are getrusage(RUSAGE_SELF), so the Rust engine's threads count as much as
 * the JS thread does.
 *
 * @module
 */
import { parseArgs } from 'node:util'

import { type ProcessUsage, peakRssBytes } from './process-usage'

/** What the parent asks one run to do. */
export interface RunArgs {
  /** NameServer address, `host:port`. */
  namesrv: string
  /** Topic to send to (created by the parent). */
  topic: string
  /** Producer group, unique per run. */
  group: string
  /** Messages in the measured window. */
  count: number
  /** Sends kept outstanding. */
  inflight: number
  /** Bytes per body. */
  bodySize: number
  /** Sends before the measured window (route lookup, connections, JIT), not counted. */
  warmup: number
  /** The gRPC endpoint of a RocketMQ 5 proxy (`host:port`), for clients that need one; empty otherwise. */
  endpoints: string
}

/** The one JSON line a run prints. */
export interface RunResult extends ProcessUsage {
  /** Client name, e.g. `ours` or `ali-ons`. */
  client: string
  /** Sends kept outstanding. */
  inflight: number
  /** Sends attempted in the measured window (succeeded + failed). */
  messages: number
  /** Sends that threw. */
  errors: number
  /** Sends the broker answered with a status other than SEND_OK (stored, but not fully). */
  notOk: number
  /** First error message seen, to tell what failed. */
  firstError?: string
  /** Seconds from the first measured send to the last completion. */
  elapsedSeconds: number
  /** Successful sends per second over the window. */
  msgsPerSecond: number
  /** Warm-up sends that failed (reported so a broken setup cannot hide). */
  warmupErrors: number
}

/** What a client script supplies: one send that resolves with the broker's status (`SEND_OK` when fully stored). */
export interface ClientUnderTest {
  /** Sends message number `index`; resolves with the broker's status string. */
  send(index: number): Promise<string>
}

/** Parses the arguments the parent passes to a client script. */
export function parseRunArgs(): RunArgs {
  const { values } = parseArgs({
    options: {
      namesrv: { type: 'string' },
      topic: { type: 'string' },
      group: { type: 'string' },
      count: { type: 'string' },
      inflight: { type: 'string' },
      'body-size': { type: 'string' },
      warmup: { type: 'string' },
      endpoints: { type: 'string', default: '' },
    },
  })
  const required = (name: string, value: string | undefined): string => {
    if (value === undefined || value === '') {
      throw new Error(`--${name} is required`)
    }
    return value
  }
  const integer = (name: string, value: string | undefined, min: number): number => {
    const parsed = Number(required(name, value))
    if (!Number.isInteger(parsed) || parsed < min) {
      throw new Error(`--${name} must be an integer >= ${min}, got ${value}`)
    }
    return parsed
  }
  return {
    namesrv: required('namesrv', values.namesrv),
    topic: required('topic', values.topic),
    group: required('group', values.group),
    count: integer('count', values.count, 1),
    inflight: integer('inflight', values.inflight, 1),
    bodySize: integer('body-size', values['body-size'], 1),
    warmup: integer('warmup', values.warmup, 0),
    endpoints: values.endpoints ?? '',
  }
}

/** The tag every benchmark message carries. */
export const BENCH_TAG = 'bench'

/** The key of message `index` (unique within a run, so the broker indexes a distinct key per message). */
export function benchKey(index: number): string {
  return `k${index}`
}

/** A body of `size` bytes; one buffer reused by every send, as each client copies or encodes it anyway. */
export function benchBody(size: number): Buffer {
  return Buffer.alloc(size, 0x61)
}

interface Tally {
  errors: number
  notOk: number
  firstError?: string
}

/** Runs sends `first..first+count-1` with at most `inflight` outstanding; failures are counted, never thrown. */
async function pipeline(client: ClientUnderTest, first: number, count: number, inflight: number): Promise<Tally> {
  const tally: Tally = { errors: 0, notOk: 0 }
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = first + next
      next += 1
      try {
        const status = await client.send(index)
        if (status !== 'SEND_OK') {
          tally.notOk += 1
        }
      } catch (error) {
        tally.errors += 1
        tally.firstError ??= error instanceof Error ? `${error.name}: ${error.message}` : String(error)
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(inflight, count) }, worker))
  return tally
}

/**
 * Warms up, measures, and returns the run's figures. The window opens right before the first measured
 * send and closes right after the last one settles.
 */
export async function measure(name: string, client: ClientUnderTest, args: RunArgs): Promise<RunResult> {
  const warm = await pipeline(client, 0, args.warmup, args.inflight)
  if (warm.errors === args.warmup && args.warmup > 0) {
    throw new Error(`every warm-up send failed: ${warm.firstError}`)
  }
  const cpuBefore = process.cpuUsage()
  const usageBefore = process.resourceUsage()
  const start = process.hrtime.bigint()
  const tally = await pipeline(client, args.warmup, args.count, args.inflight)
  const end = process.hrtime.bigint()
  const cpu = process.cpuUsage(cpuBefore)
  const usageAfter = process.resourceUsage()
  const elapsedSeconds = Number(end - start) / 1e9
  const result: RunResult = {
    client: name,
    inflight: args.inflight,
    messages: args.count,
    errors: tally.errors,
    notOk: tally.notOk,
    elapsedSeconds,
    msgsPerSecond: (args.count - tally.errors) / elapsedSeconds,
    cpuUserSeconds: cpu.user / 1e6,
    cpuSystemSeconds: cpu.system / 1e6,
    voluntaryContextSwitches: usageAfter.voluntaryContextSwitches - usageBefore.voluntaryContextSwitches,
    involuntaryContextSwitches: usageAfter.involuntaryContextSwitches - usageBefore.involuntaryContextSwitches,
    peakRssBytes: peakRssBytes(),
    warmupErrors: warm.errors,
  }
  if (tally.firstError !== undefined) {
    result.firstError = tally.firstError
  }
  return result
}

/**
 * Prints the result line and ends the process: a client that keeps handles open after closing (ali-ons
 * does) must not hang the benchmark. A failure prints to stderr and exits non-zero.
 */
export function runClient(name: string, body: (args: RunArgs) => Promise<RunResult>): void {
  body(parseRunArgs()).then(
    (result) => {
      process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0))
    },
    (error: unknown) => {
      process.stderr.write(`${name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
      process.exit(1)
    },
  )
}
