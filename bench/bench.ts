/**
 * `npm run bench`: every client side by side in one run, written to bench/results.md (with the chart
 * bench/results.svg) and bench/results.json.
 *
 * Phases (all by default, `--phases` picks):
 * 1. consume: per workload (body size × message count, `--workloads`) one fresh topic with `--queues` queues on
 *    every master broker, preloaded by this project's Producer; then `--rounds` rounds of every consumer client,
 *    interleaved, each run a fresh process with a fresh group from the first offset consuming every message with a
 *    listener that only counts; then the same with a listener that parses each body as JSON (`--json`).
 * 2. latency: per round and client a fresh topic, the consumer started, and this process sending `--latency-rate`
 *    messages/s for `--latency-warmup-seconds` + `--latency-seconds`; the consumer records consume time minus born
 *    time of the messages born after the warm-up.
 * 3. produce: every producer client at each `--inflight` level, interleaved (bench/producer.ts's machinery).
 *
 * Clients are taken by name from bench/clients (see suite/clients.ts); `engine` and `java` are built in. A RocketMQ 5
 * proxy is started for the gRPC clients (suite/proxy.ts) and stopped at the end.
 *
 * @module
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { freemem, loadavg } from 'node:os'
import { join, relative } from 'node:path'

import { Producer } from '../index'
import type { ConsumeRunResult } from './clients/consume-measure'
import type { RunResult } from './clients/measure'
import { compileClients, describeMachine, integerFormat, machineBusy, machineTicks, runJsonChild } from './harness'
import { type ClientKind, type ClientSpec, clientSpec } from './suite/clients'
import { type ChartSection, renderChart } from './suite/chart'
import {
  type ConsumeSummary,
  type LatencySummaryRow,
  type ProduceSummary,
  consumeFigures,
  summarizeConsume,
  summarizeLatency,
  summarizeProduce,
} from './suite/figures'
import { ROCKETMQ_VERSION, compileJava, javaVersion } from './suite/java'
import { createTopic, preload, sendSteadily } from './suite/load'
import { type BenchOptions, parseBenchOptions } from './suite/options'
import { type RunningProxy, startProxy } from './suite/proxy'
import { type ConsumeTable, isOursLabel, renderReport, workloadTitle } from './suite/report'

const ROOT = join(__dirname, '..')

/** A consumer run as results.json keeps it. */
interface ConsumeRecord extends ConsumeRunResult {
  phase: 'consume' | 'latency'
  bodySize: number
  variant: 'count' | 'json'
  round: number
  topic: string
  loadAverageBefore: number[]
  machineBusyShare?: number
}

/** A producer run as results.json keeps it. */
interface ProduceRecord extends RunResult {
  round: number
  loadAverageBefore: number[]
}

/** Runs of every phase, and what failed. */
class Ledger {
  consume: ConsumeRecord[] = []
  produce: ProduceRecord[] = []
  failures: string[] = []
  done = 0
  readonly total: number
  readonly #startedAt = Date.now()

  constructor(total: number) {
    this.total = total
  }

  /** The progress prefix of the next run: `[12/160, 7 %, 3 min in]`. */
  next(): string {
    this.done += 1
    const minutes = ((Date.now() - this.#startedAt) / 60_000).toFixed(1)
    return `[${this.done}/${this.total}, ${Math.round((this.done / this.total) * 100)} %, ${minutes} min in]`
  }
}

/** What one consumer run is asked to do. */
interface ConsumeRunPlan {
  expected: number
  /** 0: no latency run. */
  latencyWarmupMs: number
  deadlineSeconds: number
  /** Called when the child says it has started (latency runs). */
  onReady?: () => void
}

function consumeArgs(
  spec: ClientSpec,
  run: ConsumeRunPlan & { topic: string; group: string; parseJson: boolean },
  options: BenchOptions,
  proxy: RunningProxy | undefined,
): string[] {
  const args = [
    ...spec.command.slice(1),
    '--namesrv',
    options.namesrv,
    '--topic',
    run.topic,
    '--group',
    run.group,
    '--expected',
    String(run.expected),
    '--stall-seconds',
    String(options.stallSeconds),
    '--parse-json',
    run.parseJson ? '1' : '0',
    '--latency-warmup-ms',
    String(run.latencyWarmupMs),
    '--deadline-seconds',
    String(run.deadlineSeconds),
  ]
  if (spec.needsProxy && proxy !== undefined) {
    args.push('--endpoints', proxy.endpoints)
  }
  return args
}

function groupName(client: string, tag: string): string {
  return `bench_${client.replace(/[^A-Za-z0-9]/g, '_')}_${tag}_${process.pid}_${Date.now()}`
}

/** Runs one consumer client once and records it (or its failure). */
async function consumeOnce(
  ledger: Ledger,
  spec: ClientSpec,
  label: string,
  record: Omit<ConsumeRecord, keyof ConsumeRunResult | 'loadAverageBefore' | 'machineBusyShare'>,
  run: ConsumeRunPlan,
  options: BenchOptions,
  proxy: RunningProxy | undefined,
): Promise<ConsumeRecord | undefined> {
  const prefix = `${ledger.next()} ${label}, round ${record.round}/${options.rounds}, ${spec.name}:`
  if (spec.needsProxy && proxy === undefined) {
    ledger.failures.push(`${label}, ${spec.name}: no proxy running (see the notes at the top)`)
    console.log(`${prefix} skipped: no proxy`)
    return undefined
  }
  const loadAverageBefore = loadavg()
  const ticks = machineTicks()
  try {
    const args = consumeArgs(spec, { ...run, topic: record.topic, group: groupName(spec.name, record.phase), parseJson: record.variant === 'json' }, options, proxy)
    const onReady = run.onReady
    const result = (await runJsonChild(
      spec.command[0] as string,
      args,
      options.timeoutSeconds,
      onReady === undefined ? undefined : (line) => line === 'bench:ready' && onReady(),
    )) as ConsumeRunResult
    const busy = machineBusy(ticks, machineTicks())
    const full: ConsumeRecord = { ...result, ...record, loadAverageBefore }
    if (busy !== undefined) {
      full.machineBusyShare = busy.share
    }
    ledger.consume.push(full)
    const f = consumeFigures(result)
    console.log(
      `${prefix} ${integerFormat.format(f.msgsPerSecond)} msgs/s, CPU ${f.cpuSecondsPerMillion.toFixed(2)} s/1M, RSS ${f.peakRssMb.toFixed(0)} MB, ` +
        `${integerFormat.format(result.distinct)}/${integerFormat.format(result.expected)} seen${result.partial ? ' (PARTIAL: deadline)' : ''}, ` +
        `dups ${result.duplicates}` +
        (result.latency === undefined ? '' : `, latency p50 ${result.latency.p50Ms} ms p99 ${result.latency.p99Ms} ms`) +
        (result.clientErrors > 0 ? `, client errors ${result.clientErrors} (${result.firstClientError ?? ''})` : '') +
        (busy === undefined ? '' : `; machine ${(busy.share * 100).toFixed(0)} % busy`),
    )
    return full
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    ledger.failures.push(`${label}, round ${record.round}, ${spec.name}: ${message}`)
    console.log(`${prefix} FAILED: ${message}`)
    return undefined
  }
}

/**
 * Runs the first consumer client once over `topic`, unrecorded. A freshly started cluster spends its first seconds
 * compiling (the brokers' JIT: 3.4 CPU s in the first 6 s run after a restart), and without this the client that
 * runs first in round 1 paid for it, which pulled every median toward the slower of the other two rounds.
 */
async function warmUpCluster(spec: ClientSpec, topic: string, expected: number, options: BenchOptions, proxy: RunningProxy | undefined): Promise<void> {
  if (spec.needsProxy && proxy === undefined) {
    return
  }
  const plan = { topic, group: groupName(spec.name, 'warmup'), expected, parseJson: false, latencyWarmupMs: 0, deadlineSeconds: options.deadlineSeconds }
  try {
    await runJsonChild(spec.command[0] as string, consumeArgs(spec, plan, options, proxy), options.timeoutSeconds)
    console.log(`warm-up: ${spec.name} consumed the first topic once (not recorded)`)
  } catch (error) {
    console.log(`warm-up: ${spec.name} failed (not recorded): ${error instanceof Error ? error.message : String(error)}`)
  }
}

async function consumePhase(ledger: Ledger, options: BenchOptions, proxy: RunningProxy | undefined): Promise<ConsumeTable[]> {
  const tables: ConsumeTable[] = []
  const specs = options.consumers.map((name) => clientSpec(name, 'consumer'))
  for (const [index, workload] of options.workloads.entries()) {
    const loaded = await preload(options.namesrv, options.queues, workload.bodySize, workload.messages, options.preloadInflight)
    const first = specs[0]
    if (index === 0 && first !== undefined) {
      await warmUpCluster(first, loaded.topic, loaded.stored, options, proxy)
    }
    const variants: ('count' | 'json')[] = options.jsonSizes.includes(workload.bodySize) ? ['count', 'json'] : ['count']
    for (const variant of variants) {
      const label = `consume ${workloadTitle(workload.bodySize, variant)}`
      for (let round = 1; round <= options.rounds; round += 1) {
        for (const spec of specs) {
          await consumeOnce(
            ledger,
            spec,
            label,
            { phase: 'consume', bodySize: workload.bodySize, variant, round, topic: loaded.topic },
            { expected: loaded.stored, latencyWarmupMs: 0, deadlineSeconds: options.deadlineSeconds },
            options,
            proxy,
          )
        }
      }
      const runs = ledger.consume.filter((r) => r.phase === 'consume' && r.topic === loaded.topic && r.variant === variant)
      tables.push({
        bodySize: workload.bodySize,
        variant,
        messages: loaded.stored,
        topic: loaded.topic,
        summaries: specs.map((spec) => summarizeConsume(spec.name, runs.filter((r) => r.client === spec.name))).filter((s): s is ConsumeSummary => s !== undefined),
      })
    }
  }
  return tables
}

async function latencyPhase(ledger: Ledger, options: BenchOptions, proxy: RunningProxy | undefined): Promise<LatencySummaryRow[]> {
  const specs = options.consumers.map((name) => clientSpec(name, 'consumer'))
  const total = options.latencyRate * (options.latencyWarmupSeconds + options.latencySeconds)
  const producer = new Producer({ namesrvAddr: options.namesrv, producerGroup: `bench_latency_${process.pid}` })
  await producer.start()
  try {
    for (let round = 1; round <= options.rounds; round += 1) {
      for (const spec of specs) {
        const topic = `BenchLatency_${spec.name.replace(/[^A-Za-z0-9]/g, '_')}_${Date.now()}`
        await createTopic(options.namesrv, topic, options.queues)
        // The sender starts when the consumer says it has started; a consumer that never does sends nothing.
        let startSending: () => void = () => undefined
        const ready = new Promise<void>((resolve) => {
          startSending = resolve
        })
        const consumer = consumeOnce(
          ledger,
          spec,
          `latency at ${integerFormat.format(options.latencyRate)} msgs/s`,
          { phase: 'latency', bodySize: 100, variant: 'count', round, topic },
          {
            expected: total,
            latencyWarmupMs: options.latencyWarmupSeconds * 1000,
            deadlineSeconds: options.latencyWarmupSeconds + options.latencySeconds + 60,
            onReady: () => startSending(),
          },
          options,
          proxy,
        )
        const sending = Promise.race([ready.then(() => true), consumer.then(() => false)]).then(async (started) => {
          if (!started) {
            return
          }
          const sent = await sendSteadily(producer, topic, 100, options.latencyRate, total).done
          if (sent.failed > 0 || sent.lateMs > 500) {
            console.log(`  steady sender: ${sent.failed} sends failed, finished ${sent.lateMs} ms behind schedule`)
          }
        })
        await Promise.all([consumer, sending])
      }
    }
  } finally {
    await producer.shutdown()
  }
  return specs
    .map((spec) => summarizeLatency(spec.name, ledger.consume.filter((r) => r.phase === 'latency' && r.client === spec.name)))
    .filter((row): row is LatencySummaryRow => row !== undefined)
}

async function producePhase(ledger: Ledger, options: BenchOptions, proxy: RunningProxy | undefined): Promise<ProduceSummary[]> {
  const specs = options.producers.map((name) => clientSpec(name, 'producer'))
  const topic = `BenchProducer_${Date.now()}`
  await createTopic(options.namesrv, topic, options.queues)
  for (const inflight of options.inflight) {
    for (let round = 1; round <= options.rounds; round += 1) {
      for (const spec of specs) {
        const prefix = `${ledger.next()} produce ${inflight} in flight, round ${round}/${options.rounds}, ${spec.name}:`
        if (spec.needsProxy && proxy === undefined) {
          ledger.failures.push(`produce ${inflight} in flight, ${spec.name}: no proxy running`)
          console.log(`${prefix} skipped: no proxy`)
          continue
        }
        const args = [
          ...spec.command.slice(1),
          '--namesrv',
          options.namesrv,
          '--topic',
          topic,
          '--group',
          groupName(spec.name, `p${inflight}`),
          '--count',
          String(options.producerCount),
          '--inflight',
          String(inflight),
          '--body-size',
          String(options.producerBodySize),
          '--warmup',
          String(options.producerWarmup),
        ]
        if (spec.needsProxy && proxy !== undefined) {
          args.push('--endpoints', proxy.endpoints)
        }
        const loadAverageBefore = loadavg()
        try {
          const run = (await runJsonChild(spec.command[0] as string, args, options.timeoutSeconds)) as RunResult
          ledger.produce.push({ ...run, client: spec.name, round, loadAverageBefore })
          const cpu = ((run.cpuUserSeconds + run.cpuSystemSeconds) / run.messages) * 1e6
          console.log(
            `${prefix} ${integerFormat.format(run.msgsPerSecond)} msgs/s, CPU ${cpu.toFixed(2)} s/1M, RSS ${(run.peakRssBytes / 2 ** 20).toFixed(0)} MB, ` +
              `errors ${run.errors}, not OK ${run.notOk}` +
              (run.firstError === undefined ? '' : ` (first error: ${run.firstError})`),
          )
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error)
          ledger.failures.push(`produce ${inflight} in flight, round ${round}, ${spec.name}: ${message}`)
          console.log(`${prefix} FAILED: ${message}`)
        }
      }
    }
  }
  const summaries: ProduceSummary[] = []
  for (const inflight of options.inflight) {
    for (const spec of specs) {
      const summary = summarizeProduce(spec.name, inflight, ledger.produce.filter((r) => r.client === spec.name && r.inflight === inflight))
      if (summary !== undefined) {
        summaries.push(summary)
      }
    }
  }
  return summaries
}

function firstLine(program: string, args: string[]): string {
  try {
    return execFileSync(program, args, { encoding: 'utf8', cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0]?.trim() ?? ''
  } catch {
    return 'unknown'
  }
}

/** The machine and the software versions, as results.md shows them. */
function machineTable(): Record<string, string> {
  const machine = describeMachine()
  const osRelease = existsSync('/etc/os-release') ? /PRETTY_NAME="([^"]*)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] : undefined
  const dirty = firstLine('git', ['status', '--porcelain', '--untracked-files=no']) === '' ? '' : ' (with uncommitted changes)'
  const addon = join(ROOT, 'rocketmq-napi.linux-x64-gnu.node')
  return {
    cores: String(machine.cores),
    'CPU model': String(machine.cpuModel),
    memory: `${((machine.memoryBytes as number) / 2 ** 30).toFixed(1)} GiB (${(freemem() / 2 ** 30).toFixed(1)} GiB free at start)`,
    OS: `${osRelease ?? ''} ${String(machine.platform)}`.trim(),
    Node: process.version,
    Rust: firstLine('rustc', ['--version']),
    Java: javaVersion(),
    broker: `RocketMQ ${ROCKETMQ_VERSION} (NameServer and both brokers on this machine)`,
    'git commit': `${firstLine('git', ['rev-parse', '--short', 'HEAD'])} on ${firstLine('git', ['rev-parse', '--abbrev-ref', 'HEAD'])}${dirty}`,
    addon: existsSync(addon) ? `${relative(ROOT, addon)} built ${new Date(Math.floor(Number(execFileSync('stat', ['-c', '%Y', addon], { encoding: 'utf8' })) * 1000)).toISOString()}` : 'missing',
    'load average at start': loadavg()
      .map((value) => value.toFixed(2))
      .join(', '),
  }
}

function parameterTable(options: BenchOptions, proxy: RunningProxy | undefined): Record<string, string> {
  return {
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    'consumer workloads': options.workloads.map((w) => `${integerFormat.format(w.messages)} × ${w.bodySize} B`).join(', '),
    'JSON variant on': options.jsonSizes.length === 0 ? 'none' : options.jsonSizes.map((size) => `${size} B`).join(', '),
    topics: `fresh per workload, ${options.queues} queues on each master broker; preloaded by this project's Producer (${options.preloadInflight} in flight)`,
    consumers: options.consumers.join(', '),
    producers: options.producers.join(', '),
    rounds: `${options.rounds}, clients interleaved within each round, after one unrecorded warm-up run of the first consumer; medians shown`,
    'per-run deadline': options.deadlineSeconds > 0 ? `${options.deadlineSeconds} s (a slower run reports what it saw, marked partial)` : 'none',
    latency: `${integerFormat.format(options.latencyRate)} msgs/s of 100 B for ${options.latencyWarmupSeconds} s warm-up + ${options.latencySeconds} s measured`,
    'producer runs': `${integerFormat.format(options.producerCount)} × ${options.producerBodySize} B (tag + key) after ${options.producerWarmup} warm-up sends, in flight ${options.inflight.join(' and ')}`,
    proxy: proxy === undefined ? 'not started' : `rocketmq-proxy ${ROCKETMQ_VERSION} (Maven Central jars) on ${proxy.endpoints}, cluster mode`,
  }
}

function chartSections(tables: ConsumeTable[]): ChartSection[] {
  return tables.map((t) => ({
    title: `${workloadTitle(t.bodySize, t.variant)}: ${integerFormat.format(t.messages)} messages`,
    rows: t.summaries.map((s) => ({
      label: s.client,
      msgsPerSecond: s.msgsPerSecond,
      cpuMicrosPerMessage: s.cpuSecondsPerMillion,
      ours: isOursLabel(s.client),
      ...(s.partialRounds > 0 ? { note: 'partial' } : {}),
    })),
  }))
}

function buildClients(options: BenchOptions): void {
  compileClients()
  const all = [...options.consumers.map((n) => clientSpec(n, 'consumer')), ...options.producers.map((n) => clientSpec(n, 'producer'))]
  const examples = [...new Set(all.map((spec) => spec.cargoExample).filter((example): example is string => example !== undefined))]
  if (examples.length > 0) {
    execFileSync('cargo', ['build', '--release', '--quiet', '-p', 'rocketmq-client', ...examples.flatMap((example) => ['--example', example])], {
      cwd: ROOT,
      stdio: 'inherit',
    })
  }
  if (all.some((spec) => spec.name === 'java')) {
    compileJava()
  }
}

function countRuns(options: BenchOptions): number {
  let total = 0
  if (options.phases.has('consume')) {
    const variants = options.workloads.reduce((sum, w) => sum + (options.jsonSizes.includes(w.bodySize) ? 2 : 1), 0)
    total += variants * options.rounds * options.consumers.length
  }
  if (options.phases.has('latency')) {
    total += options.rounds * options.consumers.length
  }
  if (options.phases.has('produce')) {
    total += options.inflight.length * options.rounds * options.producers.length
  }
  return total
}

/** What results.md is rendered from; results.json holds it (and the raw runs), so `--render-only` can redo the report. */
interface SavedResults {
  startedAt: string
  finishedAt: string
  machine: Record<string, string>
  parameters: Record<string, string>
  latencyNote: string
  notes: string[]
  consume: ConsumeTable[]
  latency: LatencySummaryRow[]
  produce: ProduceSummary[]
  failures: string[]
}

/** Writes results.md (with bench/findings.md appended) and the chart results.svg into `outDir`. */
function writeReport(saved: SavedResults, outDir: string): void {
  const chartFile = saved.consume.length > 0 ? 'results.svg' : undefined
  if (chartFile !== undefined) {
    writeFileSync(join(outDir, chartFile), renderChart('Consumers: messages/s and CPU per message (medians of the rounds)', chartSections(saved.consume)))
  }
  const findingsPath = join(__dirname, 'findings.md')
  writeFileSync(
    join(outDir, 'results.md'),
    renderReport({ ...saved, chartFile, findings: existsSync(findingsPath) ? readFileSync(findingsPath, 'utf8') : undefined }),
  )
}

async function main(): Promise<void> {
  const options = parseBenchOptions()
  if (options.renderOnly) {
    writeReport(JSON.parse(readFileSync(join(options.outDir, 'results.json'), 'utf8')) as SavedResults, options.outDir)
    console.log(`wrote ${relative(process.cwd(), join(options.outDir, 'results.md'))} and results.svg from results.json`)
    return
  }
  // Made before the first run: a missing --out-dir must not cost the whole run at its end.
  mkdirSync(options.outDir, { recursive: true })
  const startedAt = new Date().toISOString()
  const machine = machineTable()
  buildClients(options)
  const notes: string[] = []
  const kinds: [string[], ClientKind][] = [
    [options.consumers, 'consumer'],
    [options.producers, 'producer'],
  ]
  const needsProxy = kinds.some(([names, kind]) => names.some((name) => clientSpec(name, kind).needsProxy))
  let proxy: RunningProxy | undefined
  if (needsProxy) {
    try {
      proxy = await startProxy(options.namesrv, options.proxyPort)
      console.log(`proxy started (pid ${proxy.pid}) on ${proxy.endpoints}`)
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error)
      notes.push(`The RocketMQ 5 proxy could not be started, so the gRPC clients did not run: ${why}`)
      console.log(`proxy: ${why}`)
    }
  }
  const stopProxy = async (): Promise<void> => {
    await proxy?.stop()
    proxy = undefined
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void stopProxy().finally(() => process.exit(130))
    })
  }
  const ledger = new Ledger(countRuns(options))
  let consume: ConsumeTable[] = []
  let latency: LatencySummaryRow[] = []
  let produce: ProduceSummary[] = []
  const parameters = parameterTable(options, proxy)
  try {
    if (options.phases.has('consume')) {
      consume = await consumePhase(ledger, options, proxy)
    }
    if (options.phases.has('latency')) {
      latency = await latencyPhase(ledger, options, proxy)
    }
    if (options.phases.has('produce')) {
      produce = await producePhase(ledger, options, proxy)
    }
  } finally {
    await stopProxy()
  }
  const finishedAt = new Date().toISOString()
  const saved: SavedResults = {
    startedAt,
    finishedAt,
    machine,
    parameters,
    latencyNote:
      `A fresh topic per run; once the consumer has started, this benchmark's own process sends ${integerFormat.format(options.latencyRate)} messages/s ` +
      `of 100 B with this project's Producer for ${options.latencyWarmupSeconds + options.latencySeconds} s; the consumer records consume time minus born ` +
      `time (both ms clocks of this machine) of the messages born after the first ${options.latencyWarmupSeconds} s. Medians of the rounds; a client ` +
      'slower than the rate falls behind and its latency grows with the backlog.',
    notes,
    consume,
    latency,
    produce,
    failures: ledger.failures,
  }
  writeFileSync(
    join(options.outDir, 'results.json'),
    `${JSON.stringify({ ...saved, options: { ...options, phases: [...options.phases] }, runs: { consume: ledger.consume, produce: ledger.produce } }, null, 2)}\n`,
  )
  writeReport(saved, options.outDir)
  console.log(`\nwrote ${relative(process.cwd(), join(options.outDir, 'results.md'))}, results.json and results.svg`)
  if (ledger.failures.length > 0) {
    console.log(`${ledger.failures.length} runs failed; see results.md`)
    process.exitCode = 1
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error))
  process.exit(1)
})
