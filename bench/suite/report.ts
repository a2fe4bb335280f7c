/**
 * results.md: the machine and parameters at the top, the chart, one table per consumer workload with each client's
 * ratios to its baseline, the goal of issue 9 checked on the headline workload, latency, producers, failures, and
 * the profile findings kept in bench/findings.md (written by people, copied in verbatim so a re-run keeps them).
 *
 * @module
 */
import { baselineOf, isOurs } from './clients'
import type { ConsumeSummary, LatencySummaryRow, ProduceSummary } from './figures'

/** Whether a client is this project's own (drawn in this project's colour). */
export const isOursLabel = isOurs

/** One consumer workload's medians. */
export interface ConsumeTable {
  bodySize: number
  variant: 'count' | 'json'
  messages: number
  topic: string
  summaries: ConsumeSummary[]
}

/** What the report is made of. */
export interface ReportInput {
  startedAt: string
  finishedAt: string
  machine: Record<string, string>
  parameters: Record<string, string>
  consume: ConsumeTable[]
  latency: LatencySummaryRow[]
  latencyNote: string
  produce: ProduceSummary[]
  failures: string[]
  notes: string[]
  chartFile: string | undefined
  findings: string | undefined
}

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 })

/** `value` as a multiple of `base`; n/a when either is missing (a run that saw nothing has NaN figures). */
export function times(value: number | null, base: number | null | undefined): string {
  return base === undefined || base === null || !Number.isFinite(base) || base <= 0 || value === null || !Number.isFinite(value)
    ? 'n/a'
    : `${(value / base).toFixed(2)}x`
}

/** `value` with `digits` decimals; n/a for a missing figure (NaN is written to results.json as null). */
function fixed(value: number | null, digits: number): string {
  return value === null || !Number.isFinite(value) ? 'n/a' : value.toFixed(digits)
}

function table(header: string[], rows: string[][]): string[] {
  return [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`, ...rows.map((row) => `| ${row.join(' | ')} |`)]
}

/** The title of a consumer workload, e.g. `100 B, count-only listener`. */
export function workloadTitle(bodySize: number, variant: 'count' | 'json'): string {
  const size = bodySize >= 1024 && bodySize % 1024 === 0 ? `${bodySize / 1024} KiB` : `${bodySize} B`
  return `${size}, ${variant === 'count' ? 'count-only listener' : 'listener parses each body as JSON'}`
}

function consumeSection(t: ConsumeTable): string[] {
  const names = t.summaries.map((s) => s.client)
  const byName = new Map(t.summaries.map((s) => [s.client, s]))
  const rows = t.summaries.map((s) => {
    const baseName = baselineOf(s.client, names)
    const base = baseName === undefined ? undefined : byName.get(baseName)
    return [
      isOurs(s.client) ? `**${s.client}**` : s.client,
      integer.format(s.msgsPerSecond),
      fixed(s.cpuSecondsPerMillion, 2),
      s.peakRssMb.toFixed(0),
      String(s.duplicates),
      s.partialRounds > 0 ? `${s.rounds} (${s.partialRounds} partial, saw ${integer.format(s.seen)})` : String(s.rounds),
      base === undefined ? '' : `${times(s.msgsPerSecond, base.msgsPerSecond)} of ${base.client}`,
      base === undefined ? '' : `${times(s.cpuSecondsPerMillion, base.cpuSecondsPerMillion)} of ${base.client}`,
    ]
  })
  return [
    `### ${workloadTitle(t.bodySize, t.variant)} (${integer.format(t.messages)} messages, topic ${t.topic})`,
    '',
    ...table(['client', 'msgs/s', 'CPU s / 1M msgs', 'peak RSS MB', 'duplicates', 'rounds', 'msgs/s ratio', 'CPU/msg ratio'], rows),
    '',
  ]
}

/**
 * The goal of issue 9 on one workload: ours ≥ 1.5× the best peer's msgs/s, at ≤ 1/3 of the lowest CPU per message
 * among the peers, within 80 % of the engine's msgs/s.
 */
export function goalLines(t: ConsumeTable): string[] {
  const peers = t.summaries.filter((s) => !isOurs(s.client))
  if (peers.length === 0) {
    return []
  }
  const fastest = peers.reduce((a, b) => (b.msgsPerSecond > a.msgsPerSecond ? b : a))
  const measured = peers.filter((s) => s.cpuSecondsPerMillion !== null && Number.isFinite(s.cpuSecondsPerMillion))
  const leanest = (measured.length > 0 ? measured : peers).reduce((a, b) => (b.cpuSecondsPerMillion < a.cpuSecondsPerMillion ? b : a))
  const engine = t.summaries.find((s) => s.client === 'engine')
  const lines = [
    `Fastest peer: ${fastest.client} (${integer.format(fastest.msgsPerSecond)} msgs/s); lowest peer CPU per message: ${leanest.client} ` +
      `(${leanest.cpuSecondsPerMillion.toFixed(2)} s / 1M).`,
    '',
  ]
  const rows = t.summaries
    .filter((s) => s.client === 'ours' || s.client === 'ours-tuned' || s.client === 'ours-orderly')
    .map((s) => {
      const speed = s.msgsPerSecond / fastest.msgsPerSecond
      const cpu = s.cpuSecondsPerMillion / leanest.cpuSecondsPerMillion
      const ceiling = engine === undefined ? undefined : s.msgsPerSecond / engine.msgsPerSecond
      const met = speed >= 1.5 && cpu <= 1 / 3 && (ceiling === undefined || ceiling >= 0.8)
      return [
        s.client,
        `${speed.toFixed(2)}x ${speed >= 1.5 ? '(met)' : '(missed)'}`,
        `${cpu.toFixed(2)}x ${cpu <= 1 / 3 ? '(met)' : '(missed)'}`,
        ceiling === undefined ? 'n/a' : `${(ceiling * 100).toFixed(0)} % ${ceiling >= 0.8 ? '(met)' : '(missed)'}`,
        met ? '**met**' : '**missed**',
      ]
    })
  return [
    ...lines,
    ...table(['client', 'msgs/s vs fastest peer (goal ≥ 1.5x)', 'CPU/msg vs leanest peer (goal ≤ 0.33x)', 'of the engine ceiling (goal ≥ 80 %)', 'goal'], rows),
    '',
  ]
}

/** The whole results.md. */
export function renderReport(input: ReportInput): string {
  const out: string[] = [
    '# Benchmark results',
    '',
    `Written by \`npm run bench\` (bench/bench.ts), ${input.startedAt} to ${input.finishedAt}. Absolute figures depend on the machine ` +
      'and on what else ran on it (the brokers share its cores); compare the ratios of one run. bench/README.md says how every ' +
      'figure is measured.',
    '',
    '## Machine',
    '',
    ...table(
      ['', ''],
      Object.entries(input.machine).map(([key, value]) => [key, value]),
    ),
    '',
    '## Parameters',
    '',
    ...table(
      ['', ''],
      Object.entries(input.parameters).map(([key, value]) => [key, value]),
    ),
    '',
  ]
  if (input.notes.length > 0) {
    out.push(...input.notes.map((note) => `- ${note}`), '')
  }
  if (input.consume.length > 0) {
    out.push('## Consumers', '')
    if (input.chartFile !== undefined) {
      out.push(`![messages/s and CPU per message of every client](${input.chartFile})`, '')
    }
    out.push(
      'Medians of the rounds. msgs/s: distinct messages from the first to the last; CPU: user + system of the whole client process ' +
        '(the JVM\'s process CPU for java) from before the consumer is created to the last message, per million messages; peak RSS: VmHWM. ' +
        'Ratios: each client against ours (a drop-in subpath `ours-<peer>` against that peer). A partial round hit the per-run deadline: ' +
        'its figures cover what it saw.',
      '',
    )
    const headline = input.consume[0]
    if (headline !== undefined) {
      out.push(`### Goal of issue 9 on ${workloadTitle(headline.bodySize, headline.variant)}`, '', ...goalLines(headline))
    }
    for (const t of input.consume) {
      out.push(...consumeSection(t))
    }
  }
  if (input.latency.length > 0) {
    out.push('## End-to-end latency', '', input.latencyNote, '')
    out.push(
      ...table(
        ['client', 'p50 ms', 'p99 ms', 'max ms', 'messages measured', 'CPU s / 1M msgs', 'rounds'],
        input.latency.map((row) => [
          isOurs(row.client) ? `**${row.client}**` : row.client,
          String(row.p50Ms),
          String(row.p99Ms),
          String(row.maxMs),
          integer.format(row.measured),
          fixed(row.cpuSecondsPerMillion, 2),
          String(row.rounds),
        ]),
      ),
      '',
    )
  }
  if (input.produce.length > 0) {
    out.push('## Producers', '')
    for (const inflight of [...new Set(input.produce.map((p) => p.inflight))]) {
      const level = input.produce.filter((p) => p.inflight === inflight)
      const ours = level.find((p) => p.client === 'ours')
      out.push(
        `### ${inflight} in flight`,
        '',
        ...table(
          ['client', 'msgs/s', 'CPU s / 1M msgs', 'peak RSS MB', 'errors', 'rounds', 'msgs/s ratio', 'CPU/msg ratio'],
          level.map((p) => [
            isOurs(p.client) ? `**${p.client}**` : p.client,
            integer.format(p.msgsPerSecond),
            fixed(p.cpuSecondsPerMillion, 2),
            p.peakRssMb.toFixed(0),
            String(p.errors),
            String(p.rounds),
            ours === undefined || p.client === 'ours' ? '' : `${times(p.msgsPerSecond, ours.msgsPerSecond)} of ours`,
            ours === undefined || p.client === 'ours' ? '' : `${times(p.cpuSecondsPerMillion, ours.cpuSecondsPerMillion)} of ours`,
          ]),
        ),
        '',
      )
    }
  }
  if (input.failures.length > 0) {
    out.push('## Failed runs', '', ...input.failures.map((failure) => `- ${failure}`), '')
  }
  if (input.findings !== undefined) {
    out.push(input.findings.trim(), '')
  }
  return out.join('\n')
}
