/**
 * The measuring half of one consumer benchmark run, shared by every consumer client script so that all
 * clients are timed the same way: start the client's consumer on a preloaded topic from its first offset,
 * count what arrives until every preloaded message has been seen once, and print one JSON line
 * ({@link ConsumeRunResult}) on stdout.
 *
 * The window opens right before the client's consumer is created and started and closes when the last
 * missing message arrives, so it includes what a user waits for: connecting, route lookup, rebalance and
 * the offset queries of a new group. CPU and context switches are getrusage(RUSAGE_SELF) (the whole
 * process, all threads), so the Rust engine's threads count as much as the JS thread.
 *
 * Messages are told apart by queue and queue offset, kept in one bitmap per queue, so that tracking a
 * million messages costs a few hundred kilobytes of memory and no allocation per message: a `Set` of
 * msgId strings would add tens of megabytes and blur the RSS column.
 *
 * @module
 */
import { parseArgs } from 'node:util'

import { type ProcessUsage, peakRssBytes } from './process-usage'

/** What the parent asks one consumer run to do. */
export interface ConsumeRunArgs {
  /** NameServer address, `host:port`. */
  namesrv: string
  /** The preloaded topic. */
  topic: string
  /** Consumer group, fresh for every run so that it starts from the first offset. */
  group: string
  /** Messages preloaded into the topic: the run is done when this many distinct ones arrived. */
  expected: number
  /** A run that sees no new message for this long fails (and reports how far it got). */
  stallSeconds: number
  /** The JSON variant: the listener parses every body as JSON (`--parse-json 1`). */
  parseJson: boolean
  /**
   * Latency runs: once the consumer has started, the run prints `bench:ready` (the parent then starts sending) and the
   * messages born this many ms later or after add their end-to-end latency (now minus born time) to the histogram;
   * 0 (the default) is no latency run. Earlier messages are the warm-up (rebalance, connections, JIT).
   */
  latencyWarmupMs: number
  /** A run not done after this many seconds ends there and reports what it saw as partial; 0 (default): no limit. */
  deadlineSeconds: number
  /** The gRPC endpoint of a RocketMQ 5 proxy (`host:port`), for clients that need one; empty otherwise. */
  endpoints: string
}

/** The one JSON line a consumer run prints. */
export interface ConsumeRunResult extends ProcessUsage {
  /** Client name, e.g. `ours` or `ali-ons`. */
  client: string
  /** Messages preloaded (distinct queue offsets to see). */
  expected: number
  /** Messages of the topic handed to the listener from start to the end of shutdown, duplicates included. */
  received: number
  /** Distinct (broker, queue, offset) among them; equals `expected` in a finished run. */
  distinct: number
  /** `received - distinct`: deliveries of a message already seen (a fresh single consumer should have none). */
  duplicates: number
  /** Messages of other topics (the group's retry topic) handed to the listener; 0 in a healthy run. */
  otherTopics: number
  /** Seconds from creating the consumer to its start() resolving. */
  startSeconds: number
  /** Seconds from creating the consumer to the first message. */
  firstMessageSeconds: number
  /** Seconds from creating the consumer to the last missing message. */
  elapsedSeconds: number
  /** `expected / elapsedSeconds`. */
  msgsPerSecond: number
  /** Error events or log records of level error the client reported during the run. */
  clientErrors: number
  /** The first of them, to tell what failed. */
  firstClientError?: string
  /** Seconds shutdown took after the window (not measured in the figures above). */
  shutdownSeconds: number
  /** Seconds from the first message to the last one counted. */
  firstToLastSeconds: number
  /** Distinct messages from the first to the last, divided by {@link firstToLastSeconds}: the rate the table shows. */
  firstToLastMsgsPerSecond: number
  /** True when the run hit its deadline before seeing every message: the figures cover what it saw. */
  partial: boolean
  /** Whether the listener parsed every body as JSON. */
  parsedJson: boolean
  /** End-to-end latency (consume time minus born time) of the messages after the warm-up, in ms; latency runs only. */
  latency?: LatencySummary
}

/** Percentiles of a latency histogram, in milliseconds. */
export interface LatencySummary {
  count: number
  p50Ms: number
  p99Ms: number
  maxMs: number
}

/** Parses the arguments the parent passes to a consumer client script. */
export function parseConsumeRunArgs(): ConsumeRunArgs {
  const { values } = parseArgs({
    options: {
      namesrv: { type: 'string' },
      topic: { type: 'string' },
      group: { type: 'string' },
      expected: { type: 'string' },
      'parse-json': { type: 'string', default: '0' },
      'latency-warmup-ms': { type: 'string', default: '0' },
      'deadline-seconds': { type: 'string', default: '0' },
      endpoints: { type: 'string', default: '' },
      'stall-seconds': { type: 'string', default: '60' },
    },
  })
  const required = (name: string, value: string | undefined): string => {
    if (value === undefined || value === '') {
      throw new Error(`--${name} is required`)
    }
    return value
  }
  const integer = (name: string, value: string | undefined): number => {
    const parsed = Number(required(name, value))
    if (!Number.isInteger(parsed) || parsed < 1) {
      throw new Error(`--${name} must be a positive integer, got ${value}`)
    }
    return parsed
  }
  return {
    namesrv: required('namesrv', values.namesrv),
    topic: required('topic', values.topic),
    group: required('group', values.group),
    expected: integer('expected', values.expected),
    stallSeconds: integer('stall-seconds', values['stall-seconds']),
    parseJson: values['parse-json'] === '1',
    latencyWarmupMs: Number(values['latency-warmup-ms']),
    deadlineSeconds: Number(values['deadline-seconds']),
    endpoints: values.endpoints ?? '',
  }
}

/** The offsets seen of one queue: a bitmap that grows by doubling as higher offsets arrive. */
class OffsetBitmap {
  #bits = new Uint8Array(1024)

  /** Marks `offset` seen; true when it was not seen before. */
  mark(offset: number): boolean {
    const byte = offset >>> 3
    if (byte >= this.#bits.length) {
      let size = this.#bits.length
      while (size <= byte) {
        size *= 2
      }
      const grown = new Uint8Array(size)
      grown.set(this.#bits)
      this.#bits = grown
    }
    const bit = 1 << (offset & 7)
    const before = this.#bits[byte] as number
    if ((before & bit) !== 0) {
      return false
    }
    this.#bits[byte] = before | bit
    return true
  }
}

/** Figures read at the moment the last missing message arrived. */
interface WindowEnd {
  at: bigint
  cpu: NodeJS.CpuUsage
  usage: NodeJS.ResourceUsage
  peakRssBytes: number
}

/**
 * Counts the messages a listener sees. `record` is the only call on the hot path: two map lookups
 * (broker name, then queue id) and a bit test, no string built per message.
 */
export class ConsumeTally {
  received = 0
  distinct = 0
  otherTopics = 0
  firstAt: bigint | undefined
  lastProgressAt = process.hrtime.bigint()
  end: WindowEnd | undefined
  readonly #expected: number
  readonly #topic: string
  readonly #queues = new Map<string, OffsetBitmap[]>()
  readonly #cpuBefore: NodeJS.CpuUsage
  #onDone: (() => void) | undefined
  /** The JSON variant: client scripts call {@link parse} with every body when true. */
  readonly parseJson: boolean
  /** Bodies that did not parse (a JSON run expects none). */
  parseFailures = 0
  #latencyAfterMs: number
  /** Latencies in whole ms, one slot each up to a minute; the last slot holds everything longer. */
  readonly #latencies = new Float64Array(60_001)
  #latencyCount = 0
  lastAt: bigint | undefined

  constructor(topic: string, expected: number, cpuBefore: NodeJS.CpuUsage, options: { parseJson?: boolean; latencyAfterMs?: number } = {}) {
    this.#topic = topic
    this.#expected = expected
    this.#cpuBefore = cpuBefore
    this.parseJson = options.parseJson ?? false
    this.#latencyAfterMs = options.latencyAfterMs ?? 0
  }

  /** The JSON variant's work per message: parses `body` (UTF-8 JSON) and drops the result. */
  parse(body: Buffer | string): void {
    try {
      JSON.parse(typeof body === 'string' ? body : body.toString('utf8'))
    } catch {
      this.parseFailures += 1
    }
  }

  /** Starts recording latencies of the messages born at or after `bornMs` (ms since the epoch). */
  measureLatencyFrom(bornMs: number): void {
    this.#latencyAfterMs = bornMs
  }

  /** Ends the window now although not every message arrived (the run's deadline). */
  finish(): void {
    if (this.end === undefined) {
      this.#takeEnd()
    }
  }

  /** The latency percentiles recorded so far; undefined when none was. */
  latency(): LatencySummary | undefined {
    return summarizeLatencies(this.#latencies, this.#latencyCount)
  }

  #takeEnd(): void {
    // Read everything at once, before anything else runs, so the window ends at the last message.
    this.end = {
      at: process.hrtime.bigint(),
      cpu: process.cpuUsage(this.#cpuBefore),
      usage: process.resourceUsage(),
      peakRssBytes: peakRssBytes(),
    }
    this.#onDone?.()
  }

  /** Resolves when `expected` distinct messages have been recorded. */
  readonly done = new Promise<void>((resolve) => {
    this.#onDone = resolve
  })

  /**
   * Records one delivered message of `topic` from queue (`brokerName`, `queueId`) at `queueOffset`, born (sent) at
   * `bornMs` (ms since the epoch; only latency runs read it).
   */
  record(topic: string, brokerName: string, queueId: number, queueOffset: number, bornMs = 0): void {
    if (this.#latencyAfterMs > 0 && bornMs >= this.#latencyAfterMs) {
      const latency = Math.max(0, Math.min(60_000, Date.now() - bornMs))
      this.#latencies[latency] = (this.#latencies[latency] as number) + 1
      this.#latencyCount += 1
    }
    if (topic !== this.#topic) {
      this.otherTopics += 1
      return
    }
    this.received += 1
    if (this.firstAt === undefined) {
      this.firstAt = process.hrtime.bigint()
    }
    let broker = this.#queues.get(brokerName)
    if (broker === undefined) {
      broker = []
      this.#queues.set(brokerName, broker)
    }
    let queue = broker[queueId]
    if (queue === undefined) {
      queue = new OffsetBitmap()
      broker[queueId] = queue
    }
    if (!queue.mark(queueOffset)) {
      return
    }
    this.distinct += 1
    if (this.end !== undefined) {
      return
    }
    this.lastAt = process.hrtime.bigint()
    if (this.distinct === this.#expected) {
      this.#takeEnd()
    } else if ((this.distinct & 1023) === 0) {
      this.lastProgressAt = process.hrtime.bigint()
    }
  }
}

/**
 * The message number a benchmark body carries: every body the benchmark sends is JSON starting `{"i":<n>,`
 * (bench/suite/load.ts), so a client whose messages do not say their queue and offset (the gRPC one) tells them apart
 * by it, without parsing the whole body.
 */
export function bodyIndex(body: Uint8Array): number {
  let value = 0
  // Skip `{"i":` (5 bytes), then read digits.
  for (let at = 5; at < body.length; at += 1) {
    const digit = (body[at] as number) - 48
    if (digit < 0 || digit > 9) {
      break
    }
    value = value * 10 + digit
  }
  return value
}

/** p50 / p99 / max of a histogram with one slot per whole millisecond; undefined when it is empty. */
export function summarizeLatencies(slots: ArrayLike<number>, count: number): LatencySummary | undefined {
  if (count === 0) {
    return undefined
  }
  const at = (share: number): number => {
    const rank = Math.ceil(share * count)
    let seen = 0
    for (let ms = 0; ms < slots.length; ms += 1) {
      seen += slots[ms] as number
      if (seen >= rank) {
        return ms
      }
    }
    return slots.length - 1
  }
  return { count, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: at(1) }
}

/** Errors a client reports on its own channel (events, log records): counted, never fatal. */
export class ClientErrors {
  count = 0
  first: string | undefined

  /** Notes one error. */
  note(error: unknown): void {
    this.count += 1
    this.first ??= error instanceof Error ? `${error.name}: ${error.message}` : String(error)
  }
}

/** What a client script supplies: start its consumer feeding `tally`, and a way to stop it. */
export interface ConsumerUnderTest {
  /**
   * Creates and starts a consumer of `args.group` subscribed to `args.topic` from its first offset,
   * whose listener calls `tally.record` for every message and does nothing else; resolves when its
   * start has. Returns its shutdown.
   */
  start(args: ConsumeRunArgs, tally: ConsumeTally, errors: ClientErrors): Promise<() => Promise<void>>
}

/** Shutdown is waited for this long at the most: the figures are already taken. */
const SHUTDOWN_GRACE_MS = 15_000

function seconds(from: bigint, to: bigint): number {
  return Number(to - from) / 1e9
}

/**
 * Runs the consumer until every preloaded message arrived, and returns the run's figures. Fails when
 * no new message arrived for `stallSeconds`, saying how far it got.
 */
export async function measureConsume(name: string, client: ConsumerUnderTest, args: ConsumeRunArgs): Promise<ConsumeRunResult> {
  const errors = new ClientErrors()
  const cpuBefore = process.cpuUsage()
  const usageBefore = process.resourceUsage()
  const start = process.hrtime.bigint()
  const tally = new ConsumeTally(args.topic, args.expected, cpuBefore, { parseJson: args.parseJson })
  tally.lastProgressAt = start
  const deadline =
    args.deadlineSeconds > 0 ? setTimeout(() => tally.finish(), args.deadlineSeconds * 1000) : undefined
  const stop = await client.start(args, tally, errors)
  const started = process.hrtime.bigint()
  if (args.latencyWarmupMs > 0) {
    tally.measureLatencyFrom(Date.now() + args.latencyWarmupMs)
    process.stdout.write('bench:ready\n')
  }
  let watchdog: NodeJS.Timeout | undefined
  const stalled = new Promise<never>((_, reject) => {
    watchdog = setInterval(() => {
      const idle = seconds(tally.lastProgressAt, process.hrtime.bigint())
      if (idle > args.stallSeconds) {
        reject(
          new Error(
            `${name}: no progress for ${args.stallSeconds} s: ${tally.distinct} of ${args.expected} distinct, ` +
              `${tally.received} received, ${tally.otherTopics} from other topics; client errors ${errors.count}` +
              (errors.first === undefined ? '' : ` (first: ${errors.first})`),
          ),
        )
      }
    }, 1000)
  })
  try {
    await Promise.race([tally.done, stalled])
  } finally {
    clearInterval(watchdog)
    clearTimeout(deadline)
  }
  const end = tally.end as WindowEnd
  const partial = tally.distinct < args.expected
  const shutdownStart = process.hrtime.bigint()
  await Promise.race([
    stop().catch((error: unknown) => errors.note(error)),
    new Promise<void>((resolve) => setTimeout(resolve, SHUTDOWN_GRACE_MS).unref()),
  ])
  const elapsedSeconds = seconds(start, end.at)
  const firstToLastSeconds =
    tally.firstAt === undefined || tally.lastAt === undefined ? 0 : seconds(tally.firstAt, tally.lastAt)
  const result: ConsumeRunResult = {
    client: name,
    expected: args.expected,
    received: tally.received,
    distinct: tally.distinct,
    duplicates: tally.received - tally.distinct,
    otherTopics: tally.otherTopics,
    startSeconds: seconds(start, started),
    firstMessageSeconds: tally.firstAt === undefined ? elapsedSeconds : seconds(start, tally.firstAt),
    elapsedSeconds,
    msgsPerSecond: tally.distinct / elapsedSeconds,
    cpuUserSeconds: end.cpu.user / 1e6,
    cpuSystemSeconds: end.cpu.system / 1e6,
    voluntaryContextSwitches: end.usage.voluntaryContextSwitches - usageBefore.voluntaryContextSwitches,
    involuntaryContextSwitches: end.usage.involuntaryContextSwitches - usageBefore.involuntaryContextSwitches,
    peakRssBytes: end.peakRssBytes,
    clientErrors: errors.count,
    shutdownSeconds: seconds(shutdownStart, process.hrtime.bigint()),
    firstToLastSeconds,
    firstToLastMsgsPerSecond: firstToLastSeconds > 0 ? (tally.distinct - 1) / firstToLastSeconds : 0,
    partial,
    parsedJson: args.parseJson,
  }
  const latency = tally.latency()
  if (latency !== undefined) {
    result.latency = latency
  }
  if (tally.parseFailures > 0) {
    errors.note(new Error(`${tally.parseFailures} bodies were not JSON`))
    result.clientErrors = errors.count
    result.firstClientError ??= errors.first
  }
  if (errors.first !== undefined) {
    result.firstClientError = errors.first
  }
  return result
}

/**
 * Prints the result line and ends the process: a client that keeps handles open after closing (ali-ons
 * does) must not hang the benchmark. A failure prints to stderr and exits non-zero.
 */
export function runConsumerClient(name: string, client: ConsumerUnderTest): void {
  measureConsume(name, client, parseConsumeRunArgs()).then(
    (result) => {
      process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0))
    },
    (error: unknown) => {
      process.stderr.write(`${name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
      process.exit(1)
    },
  )
}
