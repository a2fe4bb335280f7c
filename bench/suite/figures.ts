/**
 * From raw runs to the figures results.md shows: per client and workload, the median of the rounds of each figure,
 * and each client's ratio to its baseline (ours, or for a drop-in subpath the peer it replaces).
 *
 * @module
 */
import type { ConsumeRunResult } from '../clients/consume-measure'
import type { RunResult } from '../clients/measure'
import { median } from '../harness'

/** The figures of one consumer run. */
export interface ConsumeFigures {
  /** First to last message. */
  msgsPerSecond: number
  /** User + system CPU seconds of the client process over the run's window, per million messages seen. */
  cpuSecondsPerMillion: number
  peakRssMb: number
  duplicates: number
  partial: boolean
}

/** Figures of one consumer run; CPU per message counts the messages the run saw (all of them unless partial). */
export function consumeFigures(run: ConsumeRunResult): ConsumeFigures {
  return {
    msgsPerSecond: run.firstToLastMsgsPerSecond > 0 ? run.firstToLastMsgsPerSecond : run.msgsPerSecond,
    // A run that saw nothing has no CPU per message (NaN, shown as n/a), not its CPU divided by one.
    cpuSecondsPerMillion: run.distinct > 0 ? ((run.cpuUserSeconds + run.cpuSystemSeconds) / run.distinct) * 1e6 : Number.NaN,
    peakRssMb: run.peakRssBytes / 2 ** 20,
    duplicates: run.duplicates,
    partial: run.partial,
  }
}

/** The median of the finite values; NaN when there is none. */
function finiteMedian(values: readonly number[]): number {
  const finite = values.filter(Number.isFinite)
  return finite.length === 0 ? Number.NaN : median(finite)
}

/** Medians over the rounds of one client on one workload. */
export interface ConsumeSummary {
  client: string
  rounds: number
  msgsPerSecond: number
  cpuSecondsPerMillion: number
  peakRssMb: number
  /** Total over the rounds. */
  duplicates: number
  /** Rounds that hit their deadline. */
  partialRounds: number
  /** Median distinct messages seen. */
  seen: number
  clientErrors: number
}

/** The medians of `runs` (one client, one workload); undefined without runs. */
export function summarizeConsume(client: string, runs: readonly ConsumeRunResult[]): ConsumeSummary | undefined {
  if (runs.length === 0) {
    return undefined
  }
  const figures = runs.map(consumeFigures)
  return {
    client,
    rounds: runs.length,
    msgsPerSecond: median(figures.map((f) => f.msgsPerSecond)),
    cpuSecondsPerMillion: finiteMedian(figures.map((f) => f.cpuSecondsPerMillion)),
    peakRssMb: median(figures.map((f) => f.peakRssMb)),
    duplicates: figures.reduce((sum, f) => sum + f.duplicates, 0),
    partialRounds: figures.filter((f) => f.partial).length,
    seen: median(runs.map((run) => run.distinct)),
    clientErrors: runs.reduce((sum, run) => sum + run.clientErrors, 0),
  }
}

/** Medians of the latency runs of one client. */
export interface LatencySummaryRow {
  client: string
  rounds: number
  p50Ms: number
  p99Ms: number
  maxMs: number
  /** Median messages measured per round. */
  measured: number
  cpuSecondsPerMillion: number
}

/** The medians of one client's latency runs; undefined when none measured a latency. */
export function summarizeLatency(client: string, runs: readonly ConsumeRunResult[]): LatencySummaryRow | undefined {
  const measured = runs.filter((run) => run.latency !== undefined)
  if (measured.length === 0) {
    return undefined
  }
  const pick = (get: (run: ConsumeRunResult) => number): number => median(measured.map(get))
  return {
    client,
    rounds: measured.length,
    p50Ms: pick((run) => run.latency?.p50Ms ?? 0),
    p99Ms: pick((run) => run.latency?.p99Ms ?? 0),
    maxMs: pick((run) => run.latency?.maxMs ?? 0),
    measured: pick((run) => run.latency?.count ?? 0),
    cpuSecondsPerMillion: pick((run) => consumeFigures(run).cpuSecondsPerMillion),
  }
}

/** Medians of one producer client at one in-flight level. */
export interface ProduceSummary {
  client: string
  inflight: number
  rounds: number
  msgsPerSecond: number
  cpuSecondsPerMillion: number
  peakRssMb: number
  errors: number
}

/** The medians of `runs` (one client, one level); undefined without runs. */
export function summarizeProduce(client: string, inflight: number, runs: readonly RunResult[]): ProduceSummary | undefined {
  if (runs.length === 0) {
    return undefined
  }
  return {
    client,
    inflight,
    rounds: runs.length,
    msgsPerSecond: median(runs.map((run) => run.msgsPerSecond)),
    cpuSecondsPerMillion: median(runs.map((run) => ((run.cpuUserSeconds + run.cpuSystemSeconds) / run.messages) * 1e6)),
    peakRssMb: median(runs.map((run) => run.peakRssBytes / 2 ** 20)),
    errors: runs.reduce((sum, run) => sum + run.errors + run.notOk, 0),
  }
}
