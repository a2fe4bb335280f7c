/**
 * `npm run bench:consumer`: this project's Consumer against ali-ons' push consumer, side by side in one
 * run.
 *
 * Creates a fresh topic (8 queues on every master broker by default), preloads it with this project's
 * Producer (many sends in flight), reads back how many messages every queue holds, then runs `rounds`
 * rounds of every client, interleaved (ours, ali-ons, ours, ...). Each run is a fresh child process
 * (clients/<client>-consumer.ts, compiled to plain JS first) with a fresh consumer group that consumes
 * the whole topic from its first offset with a listener that only counts, and prints one JSON line.
 * Prints a line per run, a table of medians with the ratios ours / ali-ons, and writes every raw run,
 * the medians, the workload, the machine and how busy it was during each run to results-consumer.json.
 *
 * Flags (environment overrides in brackets): --messages 1000000 [BENCH_MESSAGES] --body-size 100
 * --rounds 2 [BENCH_ROUNDS] --clients ours,ali-ons [BENCH_CLIENTS] --queues 8 --preload-inflight 512
 * --namesrv 127.0.0.1:9876 (default: $NAMESRV_ADDR or that) --topic NAME (consume an existing topic as it
 * is, no preload) --out bench/results-consumer.json --timeout-seconds 900 --stall-seconds 60 (per run).
 * BENCH_OURS_CONFIG (JSON) overrides settings of our consumer (clients/ours-consumer.ts).
 *
 * @module
 */
import { writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join, relative } from 'node:path'
import { parseArgs } from 'node:util'
import { Admin, Producer } from '../index'
import type { ConsumeRunResult } from './clients/consume-measure'
import {
  type MachineTicks,
  clientScript,
  clientsArg,
  compileClients,
  describeMachine,
  formatTable,
  integerArg,
  integerFormat,
  machineBusy,
  machineTicks,
  median,
  ratio,
  runJsonChild,
} from './harness'

/** Client name to the command of one run (the program and its leading arguments). */
const CLIENT_COMMANDS: Readonly<Record<string, readonly string[]>> = {
  ours: [process.execPath, clientScript('ours-consumer')],
  'ali-ons': [process.execPath, clientScript('ali-ons-consumer')],
  'ours-ali-ons': [process.execPath, clientScript('ours-ali-ons-consumer')],
}

/** The target of issue 6: ahead of ali-ons in msgs/s, at most a third of its CPU per message, RSS under 200 MB. */
const TARGET = { msgsPerSecondRatio: 1, cpuRatio: 1 / 3, peakRssMb: 200 } as const

/** The tag every preloaded message carries (no key: the broker would index a million of them). */
const BENCH_TAG = 'bench'

interface Options {
  messages: number
  bodySize: number
  rounds: number
  clients: string[]
  queues: number
  preloadInflight: number
  namesrv: string
  topic: string | undefined
  out: string
  timeoutSeconds: number
  stallSeconds: number
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string', default: process.env.BENCH_MESSAGES ?? '1000000' },
      'body-size': { type: 'string', default: '100' },
      rounds: { type: 'string', default: process.env.BENCH_ROUNDS ?? '2' },
      clients: { type: 'string', default: process.env.BENCH_CLIENTS ?? 'ours,ali-ons' },
      queues: { type: 'string', default: '8' },
      'preload-inflight': { type: 'string', default: '512' },
      namesrv: { type: 'string', default: process.env.NAMESRV_ADDR ?? '127.0.0.1:9876' },
      topic: { type: 'string' },
      out: { type: 'string', default: join(__dirname, 'results-consumer.json') },
      'timeout-seconds': { type: 'string', default: '900' },
      'stall-seconds': { type: 'string', default: '60' },
    },
  })
  const clients = clientsArg(values.clients, CLIENT_COMMANDS)
  return {
    messages: integerArg('messages', values.messages, 1),
    bodySize: integerArg('body-size', values['body-size'], 1),
    rounds: integerArg('rounds', values.rounds, 1),
    clients,
    queues: integerArg('queues', values.queues, 1),
    preloadInflight: integerArg('preload-inflight', values['preload-inflight'], 1),
    namesrv: values.namesrv,
    topic: values.topic,
    out: values.out,
    timeoutSeconds: integerArg('timeout-seconds', values['timeout-seconds'], 1),
    stallSeconds: integerArg('stall-seconds', values['stall-seconds'], 1),
  }
}

/** What the preload left in the topic. */
interface Preload {
  topic: string
  /** Messages stored (the sum over the queues of max offset minus min offset): what every run must see. */
  stored: number
  /** Queues holding them, `broker:queueId` to message count. */
  perQueue: Record<string, number>
  /** Seconds the preload's sends took (0 for an existing topic). */
  sendSeconds: number
  /** Sends that failed or were not fully stored (the run goes on with what was stored). */
  failedSends: number
}

/** Sends `options.messages` bodies of `options.bodySize` bytes with `options.preloadInflight` sends outstanding. */
async function sendAll(topic: string, options: Options): Promise<{ failed: number; seconds: number }> {
  const producer = new Producer({ namesrvAddr: options.namesrv, producerGroup: `bench_preload_${process.pid}` })
  await producer.start()
  const body = Buffer.alloc(options.bodySize, 0x61)
  let next = 0
  let failed = 0
  let firstError: string | undefined
  const start = process.hrtime.bigint()
  const step = Math.max(1, Math.floor(options.messages / 10))
  const worker = async (): Promise<void> => {
    while (next < options.messages) {
      next += 1
      if (next % step === 0) {
        process.stdout.write(`  preload: ${integerFormat.format(next)} sent\n`)
      }
      try {
        const sent = await producer.send({ topic, body, tags: BENCH_TAG })
        if (sent.status !== 'SEND_OK') {
          failed += 1
        }
      } catch (error) {
        failed += 1
        firstError ??= error instanceof Error ? `${error.name}: ${error.message}` : String(error)
      }
    }
  }
  try {
    await Promise.all(Array.from({ length: Math.min(options.preloadInflight, options.messages) }, worker))
  } finally {
    await producer.shutdown()
  }
  if (firstError !== undefined) {
    console.log(`  preload: ${failed} sends failed; first error: ${firstError}`)
  }
  return { failed, seconds: Number(process.hrtime.bigint() - start) / 1e9 }
}

/** Message count per queue of `topic`, read from the brokers (max offset minus min offset). */
async function countStored(admin: Admin, topic: string): Promise<Record<string, number>> {
  const route = await admin.getTopicRoute(topic)
  const perQueue: Record<string, number> = {}
  for (const queueData of route.queueDatas) {
    for (let queueId = 0; queueId < queueData.readQueueNums; queueId += 1) {
      const [max, min] = await Promise.all([
        admin.getMaxOffset(topic, queueData.brokerName, queueId),
        admin.getMinOffset(topic, queueData.brokerName, queueId),
      ])
      perQueue[`${queueData.brokerName}:${queueId}`] = max - min
    }
  }
  return perQueue
}

function sum(values: Iterable<number>): number {
  let total = 0
  for (const value of values) {
    total += value
  }
  return total
}

/**
 * Creates and preloads a fresh topic (or takes an existing one as it is) and returns what it holds.
 * After the sends, waits for the brokers' consume queues to show every stored message: a send is
 * acknowledged once in the commit log, and the queue index follows a moment later.
 */
async function preload(options: Options): Promise<Preload> {
  const admin = new Admin({ namesrvAddr: options.namesrv })
  try {
    if (options.topic !== undefined) {
      const perQueue = await countStored(admin, options.topic)
      return { topic: options.topic, stored: sum(Object.values(perQueue)), perQueue, sendSeconds: 0, failedSends: 0 }
    }
    const topic = `BenchConsumer_${Date.now()}`
    const brokers = await admin.createTopic({ topic, queueNums: options.queues })
    console.log(`topic ${topic}: ${options.queues} queues on each of ${brokers.join(', ')}`)
    const sent = await sendAll(topic, options)
    const wanted = options.messages - sent.failed
    let perQueue = await countStored(admin, topic)
    for (let attempt = 0; attempt < 50 && sum(Object.values(perQueue)) < wanted; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 200))
      perQueue = await countStored(admin, topic)
    }
    const stored = sum(Object.values(perQueue))
    console.log(
      `preloaded ${integerFormat.format(stored)} × ${options.bodySize} B in ${sent.seconds.toFixed(1)} s ` +
        `(${integerFormat.format(options.messages / sent.seconds)} msgs/s, ${options.preloadInflight} in flight)` +
        (sent.failed > 0 ? `; ${sent.failed} sends failed` : ''),
    )
    return { topic, stored, perQueue, sendSeconds: sent.seconds, failedSends: sent.failed }
  } finally {
    await admin.close()
  }
}

/** A run that produced no result line: the child failed, stalled, timed out or printed garbage. */
interface FailedRun {
  client: string
  round: number
  failure: string
}

/** One run's result with what the parent observed around it. */
interface Run extends ConsumeRunResult {
  round: number
  group: string
  /** Load averages (1, 5, 15 min) right before the run. */
  loadAverageBefore: number[]
  /** Share of all cores' time the machine was busy during the run (brokers and everyone else included). */
  machineBusyShare?: number
  /** Busy core-seconds of the whole machine during the run, minus the client's own CPU seconds. */
  otherCoreSeconds?: number
}

function runChild(client: string, round: number, preloaded: Preload, options: Options): Promise<{ result: ConsumeRunResult; group: string }> {
  const [program, ...leading] = CLIENT_COMMANDS[client] as readonly string[]
  const group = `bench_consumer_${client.replace(/[^A-Za-z0-9]/g, '_')}_${process.pid}_${round}`
  const args = [
    ...leading,
    '--namesrv',
    options.namesrv,
    '--topic',
    preloaded.topic,
    '--group',
    group,
    '--expected',
    String(preloaded.stored),
    '--stall-seconds',
    String(options.stallSeconds),
  ]
  return (runJsonChild(program as string, args, options.timeoutSeconds) as Promise<ConsumeRunResult>).then((result) => ({ result, group }))
}

/** The figures the table compares, derived from one run. */
interface Figures {
  msgsPerSecond: number
  cpuSecondsPerMillion: number
  peakRssMb: number
  contextSwitchesPerMessage: number
  firstMessageSeconds: number
}

function figuresOf(run: ConsumeRunResult): Figures {
  const cpu = run.cpuUserSeconds + run.cpuSystemSeconds
  return {
    msgsPerSecond: run.msgsPerSecond,
    cpuSecondsPerMillion: (cpu / run.expected) * 1_000_000,
    peakRssMb: run.peakRssBytes / (1024 * 1024),
    contextSwitchesPerMessage: (run.voluntaryContextSwitches + run.involuntaryContextSwitches) / run.expected,
    firstMessageSeconds: run.firstMessageSeconds,
  }
}

/** Per client: the medians of the rounds that produced a result, and the duplicates of all of them. */
interface Summary extends Figures {
  client: string
  rounds: number
  duplicates: number
  clientErrors: number
}

function summarize(client: string, runs: Run[]): Summary | undefined {
  if (runs.length === 0) {
    return undefined
  }
  const figures = runs.map(figuresOf)
  const middle = (pick: (f: Figures) => number): number => median(figures.map(pick))
  return {
    client,
    rounds: runs.length,
    duplicates: sum(runs.map((run) => run.duplicates)),
    clientErrors: sum(runs.map((run) => run.clientErrors)),
    msgsPerSecond: middle((f) => f.msgsPerSecond),
    cpuSecondsPerMillion: middle((f) => f.cpuSecondsPerMillion),
    peakRssMb: middle((f) => f.peakRssMb),
    contextSwitchesPerMessage: middle((f) => f.contextSwitchesPerMessage),
    firstMessageSeconds: middle((f) => f.firstMessageSeconds),
  }
}

/** The ratios ours / ali-ons of the medians, and whether the target is met. */
interface Comparison {
  msgsPerSecondRatio: number
  cpuPerMessageRatio: number
  peakRssRatio: number
  targetMet: boolean
}

function compare(ours: Summary, peer: Summary): Comparison {
  const comparison = {
    msgsPerSecondRatio: ours.msgsPerSecond / peer.msgsPerSecond,
    cpuPerMessageRatio: ours.cpuSecondsPerMillion / peer.cpuSecondsPerMillion,
    peakRssRatio: ours.peakRssMb / peer.peakRssMb,
  }
  return {
    ...comparison,
    targetMet:
      comparison.msgsPerSecondRatio > TARGET.msgsPerSecondRatio &&
      comparison.cpuPerMessageRatio <= TARGET.cpuRatio &&
      ours.peakRssMb < TARGET.peakRssMb,
  }
}

function renderTable(summaries: Summary[], failures: FailedRun[]): string {
  const header = ['client', 'rounds', 'msgs/s', 'CPU s/1M msgs', 'peak RSS MB', 'ctx sw/msg', 'first msg s', 'duplicates', 'client errors']
  const rows = summaries.map((s) => [
    s.client,
    String(s.rounds),
    integerFormat.format(s.msgsPerSecond),
    s.cpuSecondsPerMillion.toFixed(2),
    s.peakRssMb.toFixed(0),
    s.contextSwitchesPerMessage.toFixed(3),
    s.firstMessageSeconds.toFixed(2),
    String(s.duplicates),
    String(s.clientErrors),
  ])
  const lines = ['medians of the rounds (duplicates and client errors: totals)', ...formatTable(header, rows)]
  const ours = summaries.find((s) => s.client === 'ours')
  const peer = summaries.find((s) => s.client === 'ali-ons')
  if (ours !== undefined && peer !== undefined) {
    const c = compare(ours, peer)
    lines.push(
      `ours / ali-ons: msgs/s ${ratio(ours.msgsPerSecond, peer.msgsPerSecond)}, CPU per msg ${ratio(ours.cpuSecondsPerMillion, peer.cpuSecondsPerMillion)}, ` +
        `peak RSS ${ratio(ours.peakRssMb, peer.peakRssMb)}; target (msgs/s > 1x, CPU <= 0.33x, RSS < ${TARGET.peakRssMb} MB): ` +
        (c.targetMet ? 'met' : 'MISSED'),
    )
  }
  for (const failure of failures) {
    lines.push(`FAILED: ${failure.client} round ${failure.round}: ${failure.failure}`)
  }
  return lines.join('\n')
}

async function main(): Promise<void> {
  const options = parseOptions()
  const machine = describeMachine()
  compileClients()
  const startedAt = new Date().toISOString()
  const preloaded = await preload(options)
  if (preloaded.stored === 0) {
    throw new Error(`topic ${preloaded.topic} holds no message`)
  }
  if (process.env.BENCH_OURS_CONFIG !== undefined && process.env.BENCH_OURS_CONFIG !== '') {
    console.log(`ours runs with BENCH_OURS_CONFIG=${process.env.BENCH_OURS_CONFIG}`)
  }
  console.log(
    `${integerFormat.format(preloaded.stored)} messages per run from the first offset, a fresh group each; ` +
      `${options.rounds} rounds of ${options.clients.join(', ')} interleaved; ${machine.cores} cores, node ${process.version}`,
  )
  const runs: Run[] = []
  const failures: FailedRun[] = []
  const total = options.rounds * options.clients.length
  let done = 0
  for (let round = 1; round <= options.rounds; round += 1) {
    for (const client of options.clients) {
      done += 1
      const prefix = `[${done}/${total}] round ${round}/${options.rounds}, ${client}:`
      const loadAverageBefore = loadavg()
      const ticksBefore: MachineTicks | undefined = machineTicks()
      try {
        const { result, group } = await runChild(client, round, preloaded, options)
        const busy = machineBusy(ticksBefore, machineTicks())
        const run: Run = { ...result, round, group, loadAverageBefore }
        if (busy !== undefined) {
          run.machineBusyShare = busy.share
          run.otherCoreSeconds = busy.coreSeconds - (result.cpuUserSeconds + result.cpuSystemSeconds)
        }
        runs.push(run)
        const f = figuresOf(result)
        console.log(
          `${prefix} ${integerFormat.format(f.msgsPerSecond)} msgs/s, CPU ${f.cpuSecondsPerMillion.toFixed(2)} s/1M, ` +
            `RSS ${f.peakRssMb.toFixed(0)} MB, ${f.contextSwitchesPerMessage.toFixed(3)} ctx sw/msg, ` +
            `${result.elapsedSeconds.toFixed(1)} s (first message at ${result.firstMessageSeconds.toFixed(2)} s), ` +
            `duplicates ${result.duplicates}, client errors ${result.clientErrors}` +
            (busy === undefined ? '' : `; machine ${(busy.share * 100).toFixed(0)} % busy, load ${loadAverageBefore[0]?.toFixed(2)}`),
        )
      } catch (error) {
        const failure = error instanceof Error ? error.message : String(error)
        failures.push({ client, round, failure })
        console.log(`${prefix} FAILED: ${failure}`)
      }
    }
  }

  const summaries: Summary[] = []
  for (const client of options.clients) {
    const summary = summarize(
      client,
      runs.filter((run) => run.client === client),
    )
    if (summary !== undefined) {
      summaries.push(summary)
    }
  }
  console.log('')
  console.log(renderTable(summaries, failures))
  console.log('')

  const ours = summaries.find((s) => s.client === 'ours')
  const peer = summaries.find((s) => s.client === 'ali-ons')
  const results = {
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: { ...machine, loadAverageAtEnd: loadavg() },
    workload: {
      topic: preloaded.topic,
      queuesPerBroker: options.queues,
      messages: preloaded.stored,
      perQueue: preloaded.perQueue,
      bodySize: options.bodySize,
      preloadSeconds: preloaded.sendSeconds,
      preloadInflight: options.preloadInflight,
      failedPreloadSends: preloaded.failedSends,
      rounds: options.rounds,
      clients: options.clients,
      oursConfigOverrides: process.env.BENCH_OURS_CONFIG ?? null,
    },
    target: TARGET,
    runs,
    failures,
    medians: summaries,
    comparison: ours !== undefined && peer !== undefined ? compare(ours, peer) : undefined,
  }
  writeFileSync(options.out, `${JSON.stringify(results, null, 2)}\n`)
  console.log(`raw runs and medians written to ${relative(process.cwd(), options.out)}`)
  if (failures.length > 0 || runs.length === 0) {
    process.exitCode = 1
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error))
  process.exit(1)
})
