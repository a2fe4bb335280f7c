/**
 * `npm run bench:producer`: this project's Producer against ali-ons, side by side in one run.
 *
 * Creates a fresh topic (8 queues on every master broker by default) with this project's Admin, then
 * for each in-flight level runs `rounds` rounds of every client, interleaved (ours, ali-ons, ours, ...),
 * each run in a fresh child process (clients/<client>-producer.ts, compiled to plain JS first) that prints one JSON line. Prints a
 * progress line per run, a table of medians per in-flight level, and writes every raw run, the medians
 * and a description of the machine to results-producer.json.
 *
 * Flags: --count 50000 --body-size 100 --inflight 1,256 --rounds 3 --clients ours,ali-ons,engine
 * --warmup 1000 --queues 8 --namesrv 127.0.0.1:9876 (default: $NAMESRV_ADDR or that) --topic NAME
 * (reuse an existing topic) --out bench/results-producer.json --timeout-seconds 600 (per run).
 *
 * @module
 */
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join, relative } from 'node:path'
import { parseArgs } from 'node:util'
import { Admin } from '../index'
import type { RunResult } from './clients/measure'
import {
  clientScript,
  clientsArg,
  compileClients,
  describeMachine,
  formatRow,
  integerArg,
  integerFormat,
  median,
  ratio,
  runJsonChild,
} from './harness'

/** The engine's own benchmark binary (`crates/client/examples/bench_producer.rs`), built by {@link buildEngine}. */
const ENGINE_BINARY = join(__dirname, '..', 'target', 'release', 'examples', 'bench_producer')

/**
 * Client name to the command of one run (the program and its leading arguments). `engine` is the Rust
 * core alone, without Node: the same workload on one thread, the ceiling of the design.
 */
const CLIENT_COMMANDS: Readonly<Record<string, readonly string[]>> = {
  ours: [process.execPath, clientScript('ours-producer')],
  'ali-ons': [process.execPath, clientScript('ali-ons-producer')],
  'ours-ali-ons': [process.execPath, clientScript('ours-ali-ons-producer')],
  engine: [ENGINE_BINARY],
}

/** Builds the engine's benchmark binary (release) when the run includes the `engine` client. */
function buildEngine(): void {
  execFileSync('cargo', ['build', '--release', '--quiet', '-p', 'rocketmq-client', '--example', 'bench_producer'], {
    cwd: join(__dirname, '..'),
    stdio: 'inherit',
  })
}

interface Options {
  count: number
  bodySize: number
  inflight: number[]
  rounds: number
  clients: string[]
  warmup: number
  queues: number
  namesrv: string
  topic: string | undefined
  out: string
  timeoutSeconds: number
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      count: { type: 'string', default: '50000' },
      'body-size': { type: 'string', default: '100' },
      inflight: { type: 'string', default: '1,256' },
      rounds: { type: 'string', default: '3' },
      clients: { type: 'string', default: 'ours,ali-ons,engine' },
      warmup: { type: 'string', default: '1000' },
      queues: { type: 'string', default: '8' },
      namesrv: { type: 'string', default: process.env.NAMESRV_ADDR ?? '127.0.0.1:9876' },
      topic: { type: 'string' },
      out: { type: 'string', default: join(__dirname, 'results-producer.json') },
      'timeout-seconds': { type: 'string', default: '600' },
    },
  })
  const clients = clientsArg(values.clients, CLIENT_COMMANDS)
  return {
    count: integerArg('count', values.count, 1),
    bodySize: integerArg('body-size', values['body-size'], 1),
    inflight: values.inflight.split(',').map((level) => integerArg('inflight', level.trim(), 1)),
    rounds: integerArg('rounds', values.rounds, 1),
    clients,
    warmup: integerArg('warmup', values.warmup, 0),
    queues: integerArg('queues', values.queues, 1),
    namesrv: values.namesrv,
    topic: values.topic,
    out: values.out,
    timeoutSeconds: integerArg('timeout-seconds', values['timeout-seconds'], 1),
  }
}

/** A run that produced no result line: the child failed, timed out or printed garbage. */
interface FailedRun {
  client: string
  inflight: number
  round: number
  failure: string
}

/** Runs one client script in a fresh process and parses its JSON line. */
function runChild(client: string, inflight: number, round: number, topic: string, options: Options): Promise<RunResult> {
  const [program, ...leading] = CLIENT_COMMANDS[client] as readonly string[]
  const args = [
    ...leading,
    '--namesrv',
    options.namesrv,
    '--topic',
    topic,
    '--group',
    `bench_${client.replace(/[^A-Za-z0-9]/g, '_')}_${process.pid}_${inflight}_${round}`,
    '--count',
    String(options.count),
    '--inflight',
    String(inflight),
    '--body-size',
    String(options.bodySize),
    '--warmup',
    String(options.warmup),
  ]
  return runJsonChild(program as string, args, options.timeoutSeconds) as Promise<RunResult>
}

/** The figures the table compares, derived from one run. */
interface Figures {
  msgsPerSecond: number
  cpuSecondsPer100k: number
  peakRssMb: number
  contextSwitchesPerMessage: number
}

function figuresOf(run: RunResult): Figures {
  const cpu = run.cpuUserSeconds + run.cpuSystemSeconds
  return {
    msgsPerSecond: run.msgsPerSecond,
    cpuSecondsPer100k: (cpu / run.messages) * 100_000,
    peakRssMb: run.peakRssBytes / (1024 * 1024),
    contextSwitchesPerMessage: (run.voluntaryContextSwitches + run.involuntaryContextSwitches) / run.messages,
  }
}

/** Per (client, in-flight level): the medians of the rounds that produced a result. */
interface Summary extends Figures {
  client: string
  inflight: number
  rounds: number
  errors: number
  notOk: number
}

function summarize(client: string, inflight: number, runs: RunResult[]): Summary | undefined {
  if (runs.length === 0) {
    return undefined
  }
  const figures = runs.map(figuresOf)
  return {
    client,
    inflight,
    rounds: runs.length,
    errors: runs.reduce((sum, run) => sum + run.errors, 0),
    notOk: runs.reduce((sum, run) => sum + run.notOk, 0),
    msgsPerSecond: median(figures.map((f) => f.msgsPerSecond)),
    cpuSecondsPer100k: median(figures.map((f) => f.cpuSecondsPer100k)),
    peakRssMb: median(figures.map((f) => f.peakRssMb)),
    contextSwitchesPerMessage: median(figures.map((f) => f.contextSwitchesPerMessage)),
  }
}

/** The table of one in-flight level, with ratios ours / ali-ons when both ran. */
function renderTable(inflight: number, summaries: Summary[], failures: FailedRun[]): string {
  const header = ['client', 'rounds', 'msgs/s', 'CPU s/100k msgs', 'peak RSS MB', 'ctx sw/msg', 'errors', 'not OK']
  const rows = summaries.map((s) => [
    s.client,
    String(s.rounds),
    integerFormat.format(s.msgsPerSecond),
    s.cpuSecondsPer100k.toFixed(2),
    s.peakRssMb.toFixed(0),
    s.contextSwitchesPerMessage.toFixed(2),
    String(s.errors),
    String(s.notOk),
  ])
  const widths = header.map((cell, column) => Math.max(cell.length, ...rows.map((row) => (row[column] as string).length)))
  const lines = [`in flight ${inflight} (medians of the rounds)`, formatRow(header, widths), ...rows.map((row) => formatRow(row, widths))]
  const ours = summaries.find((s) => s.client === 'ours')
  const peer = summaries.find((s) => s.client === 'ali-ons')
  if (ours !== undefined && peer !== undefined) {
    lines.push(
      `ours / ali-ons: msgs/s ${ratio(ours.msgsPerSecond, peer.msgsPerSecond)}, CPU per msg ${ratio(ours.cpuSecondsPer100k, peer.cpuSecondsPer100k)}, ` +
        `ctx sw per msg ${ratio(ours.contextSwitchesPerMessage, peer.contextSwitchesPerMessage)} (target: msgs/s >= 1.2x, CPU <= 0.7x)`,
    )
  }
  for (const failure of failures.filter((f) => f.inflight === inflight)) {
    lines.push(`FAILED: ${failure.client} round ${failure.round}: ${failure.failure}`)
  }
  return lines.join('\n')
}

async function createTopic(options: Options): Promise<string> {
  const topic = `BenchProducer_${Date.now()}`
  const admin = new Admin({ namesrvAddr: options.namesrv })
  try {
    const brokers = await admin.createTopic({ topic, queueNums: options.queues })
    console.log(`topic ${topic}: ${options.queues} queues on each of ${brokers.join(', ')}`)
  } finally {
    await admin.close()
  }
  return topic
}

async function main(): Promise<void> {
  const options = parseOptions()
  const machine = describeMachine()
  compileClients()
  if (options.clients.includes('engine')) {
    buildEngine()
  }
  const startedAt = new Date().toISOString()
  const topic = options.topic ?? (await createTopic(options))
  console.log(
    `${options.count} messages of ${options.bodySize} B (tag + key) per run after ${options.warmup} warm-up sends; ` +
      `in flight ${options.inflight.join(', ')}; ${options.rounds} rounds of ${options.clients.join(', ')} interleaved; ` +
      `${machine.cores} cores, node ${process.version}`,
  )
  const runs: (RunResult & { round: number })[] = []
  const failures: FailedRun[] = []
  const total = options.inflight.length * options.rounds * options.clients.length
  let done = 0
  for (const inflight of options.inflight) {
    for (let round = 1; round <= options.rounds; round += 1) {
      for (const client of options.clients) {
        done += 1
        const prefix = `[${done}/${total}] in flight ${inflight}, round ${round}/${options.rounds}, ${client}:`
        try {
          const run = await runChild(client, inflight, round, topic, options)
          runs.push({ ...run, round })
          const f = figuresOf(run)
          console.log(
            `${prefix} ${integerFormat.format(f.msgsPerSecond)} msgs/s, CPU ${f.cpuSecondsPer100k.toFixed(2)} s/100k, ` +
              `RSS ${f.peakRssMb.toFixed(0)} MB, ${f.contextSwitchesPerMessage.toFixed(2)} ctx sw/msg, ` +
              `${run.elapsedSeconds.toFixed(1)} s, errors ${run.errors}, not OK ${run.notOk}` +
              (run.firstError === undefined ? '' : ` (first error: ${run.firstError})`),
          )
        } catch (error) {
          const failure = error instanceof Error ? error.message : String(error)
          failures.push({ client, inflight, round, failure })
          console.log(`${prefix} FAILED: ${failure}`)
        }
      }
    }
  }

  const summaries: Summary[] = []
  console.log('')
  for (const inflight of options.inflight) {
    const level: Summary[] = []
    for (const client of options.clients) {
      const summary = summarize(
        client,
        inflight,
        runs.filter((run) => run.client === client && run.inflight === inflight),
      )
      if (summary !== undefined) {
        level.push(summary)
      }
    }
    summaries.push(...level)
    console.log(renderTable(inflight, level, failures))
    console.log('')
  }

  const results = {
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: { ...machine, loadAverageAtEnd: loadavg() },
    workload: {
      topic,
      queuesPerBroker: options.queues,
      count: options.count,
      bodySize: options.bodySize,
      warmup: options.warmup,
      inflight: options.inflight,
      rounds: options.rounds,
      clients: options.clients,
    },
    runs,
    failures,
    medians: summaries,
  }
  writeFileSync(options.out, `${JSON.stringify(results, null, 2)}\n`)
  console.log(`raw runs and medians written to ${relative(process.cwd(), options.out)}`)
  if (failures.length > 0 || runs.some((run) => run.errors > 0)) {
    process.exitCode = 1
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error))
  process.exit(1)
})
