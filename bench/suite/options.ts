/**
 * The flags of `npm run bench` (see bench/README.md for the table).
 *
 * @module
 */
import { join } from 'node:path'
import { parseArgs } from 'node:util'

import { integerArg } from '../harness'
import { type ClientKind, clientSpec, knownClients } from './clients'

/** One preloaded topic: messages of one body size. */
export interface Workload {
  bodySize: number
  messages: number
}

/** Everything a run of the benchmark does. */
export interface BenchOptions {
  workloads: Workload[]
  /** Body sizes whose topic is also consumed by the JSON variant. */
  jsonSizes: number[]
  consumers: string[]
  producers: string[]
  rounds: number
  phases: Set<'consume' | 'latency' | 'produce'>
  latencySeconds: number
  latencyWarmupSeconds: number
  latencyRate: number
  inflight: number[]
  producerCount: number
  producerWarmup: number
  producerBodySize: number
  queues: number
  preloadInflight: number
  namesrv: string
  proxyPort: number
  deadlineSeconds: number
  stallSeconds: number
  timeoutSeconds: number
  outDir: string
  /** Only write results.md and results.svg again from results.json (e.g. after editing bench/findings.md). */
  renderOnly: boolean
}

function clientList(value: string, kind: ClientKind): string[] {
  const names = value === 'all' ? knownClients(kind) : value.split(',').map((name) => name.trim()).filter((name) => name !== '')
  for (const name of names) {
    clientSpec(name, kind)
  }
  return names
}

function workloads(value: string): Workload[] {
  return value.split(',').map((entry) => {
    const [size, count] = entry.split(':')
    if (size === undefined || count === undefined) {
      throw new Error(`--workloads takes size:messages pairs, e.g. 100:1000000,1024:200000; got ${JSON.stringify(entry)}`)
    }
    const bodySize = integerArg('workloads (body size)', size, 16)
    return { bodySize, messages: integerArg('workloads (messages)', count, 1) }
  })
}

/** Parses process.argv (and the BENCH_* environment overrides). */
export function parseBenchOptions(): BenchOptions {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string', default: process.env.BENCH_MESSAGES ?? '1000000' },
      workloads: { type: 'string' },
      json: { type: 'string', default: 'all' },
      consumers: { type: 'string', default: process.env.BENCH_CONSUMERS ?? 'all' },
      producers: { type: 'string', default: process.env.BENCH_PRODUCERS ?? 'all' },
      clients: { type: 'string' },
      rounds: { type: 'string', default: process.env.BENCH_ROUNDS ?? '3' },
      phases: { type: 'string', default: 'consume,latency,produce' },
      'latency-seconds': { type: 'string', default: '30' },
      'latency-warmup-seconds': { type: 'string', default: '8' },
      'latency-rate': { type: 'string', default: '5000' },
      inflight: { type: 'string', default: '1,256' },
      'producer-count': { type: 'string', default: '50000' },
      'producer-warmup': { type: 'string', default: '1000' },
      'producer-body-size': { type: 'string', default: '100' },
      queues: { type: 'string', default: '8' },
      'preload-inflight': { type: 'string', default: '512' },
      namesrv: { type: 'string', default: process.env.NAMESRV_ADDR ?? '127.0.0.1:9876' },
      'proxy-port': { type: 'string', default: '32081' },
      'deadline-seconds': { type: 'string', default: '120' },
      'stall-seconds': { type: 'string', default: '60' },
      'timeout-seconds': { type: 'string', default: '900' },
      'out-dir': { type: 'string', default: join(__dirname, '..') },
      'render-only': { type: 'boolean', default: false },
    },
  })
  const messages = integerArg('messages', values.messages, 1)
  const list = workloads(values.workloads ?? `100:${messages},1024:200000,16384:20000`)
  const jsonSizes =
    values.json === 'all' ? list.map((w) => w.bodySize) : values.json === 'none' ? [] : values.json.split(',').map((size) => integerArg('json', size, 1))
  const phases = new Set(
    values.phases.split(',').map((phase) => {
      if (phase !== 'consume' && phase !== 'latency' && phase !== 'produce') {
        throw new Error(`--phases takes consume, latency, produce; got ${JSON.stringify(phase)}`)
      }
      return phase
    }),
  )
  return {
    workloads: list,
    jsonSizes,
    // --clients narrows both lists to the names each side knows.
    consumers: clientList(values.clients ?? values.consumers, 'consumer'),
    producers:
      values.clients === undefined
        ? clientList(values.producers, 'producer')
        : values.clients.split(',').filter((name) => knownClients('producer').includes(name.trim())),
    rounds: integerArg('rounds', values.rounds, 1),
    phases,
    latencySeconds: integerArg('latency-seconds', values['latency-seconds'], 1),
    latencyWarmupSeconds: integerArg('latency-warmup-seconds', values['latency-warmup-seconds'], 0),
    latencyRate: integerArg('latency-rate', values['latency-rate'], 1),
    inflight: values.inflight.split(',').map((level) => integerArg('inflight', level.trim(), 1)),
    producerCount: integerArg('producer-count', values['producer-count'], 1),
    producerWarmup: integerArg('producer-warmup', values['producer-warmup'], 0),
    producerBodySize: integerArg('producer-body-size', values['producer-body-size'], 1),
    queues: integerArg('queues', values.queues, 1),
    preloadInflight: integerArg('preload-inflight', values['preload-inflight'], 1),
    namesrv: values.namesrv,
    proxyPort: integerArg('proxy-port', values['proxy-port'], 1),
    deadlineSeconds: integerArg('deadline-seconds', values['deadline-seconds'], 0),
    stallSeconds: integerArg('stall-seconds', values['stall-seconds'], 1),
    timeoutSeconds: integerArg('timeout-seconds', values['timeout-seconds'], 1),
    outDir: values['out-dir'],
    renderOnly: values['render-only'],
  }
}
