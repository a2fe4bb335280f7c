/**
 * OpenTelemetry exporter: reports the producers' and consumers' metrics through a `Meter` of the
 * OpenTelemetry metrics API (`@opentelemetry/api`, an optional peer dependency, never loaded here: the caller
 * passes its meter). Names follow the messaging semantic conventions where one exists
 * (`messaging.client.sent.messages`, `messaging.client.consumed.messages`, `messaging.client.operation.duration`,
 * `messaging.process.duration`, with `messaging.system` = `rocketmq`); what they do not cover is under
 * `rocketmq.` (retries, process queues, lag).
 *
 * Counters and gauges are observable instruments read from fresh snapshots at each collection. The API has no
 * observable histogram, so the durations go to synchronous histograms with the engine's bucket bounds: at each
 * collection every bucket's new count is recorded, each at its bucket's midpoint (the last bucket at twice its lower
 * bound). Bucket counts and totals are exact; the sums are estimates.
 *
 * @module
 */
import type { Consumer } from './consumer'
import {
  type ConsumerMetrics,
  type LatencyHistogram,
  type MetricsSources,
  type ProducerMetrics,
  latencyBoundsSeconds,
} from './metrics'
import type { Producer } from './producer'

/** Attribute values as the OpenTelemetry API takes them. */
export type OtelAttributes = Record<string, string | number | boolean>

/** The part of an OpenTelemetry `Observable` used here. */
export type OtelObservable = object

/** The part of the OpenTelemetry `BatchObservableResult` used here. */
export interface OtelBatchObservableResult {
  /** Reports the value of one observable instrument. */
  observe(observable: OtelObservable, value: number, attributes?: OtelAttributes): void
}

/** The part of an OpenTelemetry `Histogram` used here. */
export interface OtelHistogram {
  /** Records one value. */
  record(value: number, attributes?: OtelAttributes): void
}

/** Instrument options, as the OpenTelemetry API takes them. */
export interface OtelInstrumentOptions {
  /** What the instrument measures. */
  description?: string
  /** Its unit (UCUM). */
  unit?: string
  /** Bucket boundaries for a histogram. */
  advice?: { explicitBucketBoundaries?: number[] }
}

/** The part of an OpenTelemetry `Meter` used here (`metrics.getMeter('rocketmq-napi')` from `@opentelemetry/api`). */
export interface OtelMeter {
  /** A histogram instrument. */
  createHistogram(name: string, options?: OtelInstrumentOptions): OtelHistogram
  /** An observable counter. */
  createObservableCounter(name: string, options?: OtelInstrumentOptions): OtelObservable
  /** An observable gauge. */
  createObservableGauge(name: string, options?: OtelInstrumentOptions): OtelObservable
  /** Adds a callback that observes several instruments in one go. */
  addBatchObservableCallback(
    callback: (result: OtelBatchObservableResult) => void | Promise<void>,
    observables: OtelObservable[],
  ): void
  /** Removes that callback. */
  removeBatchObservableCallback(
    callback: (result: OtelBatchObservableResult) => void | Promise<void>,
    observables: OtelObservable[],
  ): void
}

/** What {@link registerOpenTelemetryMetrics} registered. */
export interface OpenTelemetryRegistration {
  /** Stops reporting (the histograms keep what they recorded). */
  unregister(): void
}

const SYSTEM = { 'messaging.system': 'rocketmq' } as const
/** `error.type` of a failure: the snapshots do not tell failures apart. */
const FAILED = { 'error.type': '_OTHER' } as const

/**
 * Reports the metrics of `sources` through `meter` at each collection of the meter's provider.
 *
 * ```ts
 * import { metrics } from '@opentelemetry/api'
 * registerOpenTelemetryMetrics(metrics.getMeter('rocketmq-napi'), { producers: [producer], consumers: [consumer] })
 * ```
 *
 * @param meter an OpenTelemetry meter
 * @param sources the producers and consumers to report
 * @returns `unregister()`
 */
export function registerOpenTelemetryMetrics(meter: OtelMeter, sources: MetricsSources): OpenTelemetryRegistration {
  const producers: readonly Producer[] = [...(sources.producers ?? [])]
  const consumers: readonly Consumer[] = [...(sources.consumers ?? [])]
  const boundaries = [...latencyBoundsSeconds()]
  const message = { unit: '{message}' }
  const sent = meter.createObservableCounter('messaging.client.sent.messages', {
    ...message,
    description: 'Messages producers attempted to send (error.type set on those that failed after their retries).',
  })
  const retries = meter.createObservableCounter('rocketmq.client.send.retries', {
    unit: '{attempt}',
    description: 'Send attempts made after a failed one, on another broker.',
  })
  const consumed = meter.createObservableCounter('messaging.client.consumed.messages', {
    ...message,
    description: 'Messages delivered to the listener (error.type set on deliveries the listener failed).',
  })
  const retried = meter.createObservableCounter('rocketmq.consumer.retried.messages', {
    ...message,
    description: 'Failed messages given another delivery.',
  })
  const held = meter.createObservableGauge('rocketmq.consumer.process_queue.messages', {
    ...message,
    description: 'Messages pulled and not yet consumed, per held queue.',
  })
  const heldBytes = meter.createObservableGauge('rocketmq.consumer.process_queue.size', {
    unit: 'By',
    description: 'Body bytes of the messages pulled and not yet consumed, per held queue.',
  })
  const lag = meter.createObservableGauge('rocketmq.consumer.lag', {
    ...message,
    description: "Messages stored and not yet consumed per held queue: the broker's max offset minus the committed offset.",
  })
  const traceDropped = meter.createObservableCounter('rocketmq.client.trace.dropped', {
    unit: '{record}',
    description: 'Message trace records dropped because the trace queue was full.',
  })
  const duration = { unit: 's', advice: { explicitBucketBoundaries: boundaries } }
  const operationDuration = meter.createHistogram('messaging.client.operation.duration', {
    ...duration,
    description: 'Duration of sends (operation send) and pulls (operation pull, long polls included).',
  })
  const processDuration = meter.createHistogram('messaging.process.duration', {
    ...duration,
    description: 'Duration of listener calls.',
  })
  const fed = new Histograms()

  const observe = async (result: OtelBatchObservableResult): Promise<void> => {
    const producerSnapshots: [Producer, ProducerMetrics][] = producers.map((p) => [p, p.metrics()])
    const consumerSnapshots: [Consumer, ConsumerMetrics][] = await Promise.all(
      consumers.map(async (c): Promise<[Consumer, ConsumerMetrics]> => [c, await c.metrics()]),
    )
    for (const [producer, m] of producerSnapshots) {
      const attributes = { ...SYSTEM, 'messaging.operation.name': 'send', 'messaging.rocketmq.client_group': m.group }
      result.observe(sent, m.sent.ok, attributes)
      result.observe(sent, m.sent.failed, { ...attributes, ...FAILED })
      result.observe(retries, m.sent.retried, attributes)
      if (m.traces) {
        result.observe(traceDropped, m.traces.dropped, attributes)
      }
      fed.feed(producer, 'send', m.sendLatency, operationDuration, { ...attributes, 'messaging.operation.type': 'send' })
    }
    for (const [consumer, m] of consumerSnapshots) {
      const group = { ...SYSTEM, 'messaging.consumer.group.name': m.group }
      const process = { ...group, 'messaging.operation.name': 'process', 'messaging.operation.type': 'process' }
      result.observe(consumed, m.consumed.ok, process)
      result.observe(consumed, m.consumed.failed, { ...process, ...FAILED })
      result.observe(retried, m.consumed.retried, group)
      if (m.traces) {
        result.observe(traceDropped, m.traces.dropped, group)
      }
      for (const q of m.queues) {
        const queue = {
          ...group,
          'messaging.destination.name': q.topic,
          'messaging.destination.partition.id': String(q.queueId),
          'rocketmq.broker.name': q.brokerName,
        }
        result.observe(held, q.messagesHeld, queue)
        result.observe(heldBytes, q.bytesHeld, queue)
        if (q.lag !== undefined) {
          result.observe(lag, q.lag, queue)
        }
      }
      fed.feed(consumer, 'pull', m.pullLatency, operationDuration, {
        ...group,
        'messaging.operation.name': 'pull',
        'messaging.operation.type': 'receive',
      })
      fed.feed(consumer, 'process', m.listenerLatency, processDuration, process)
    }
  }
  const observables = [sent, retries, consumed, retried, held, heldBytes, lag, traceDropped]
  meter.addBatchObservableCallback(observe, observables)
  return { unregister: () => meter.removeBatchObservableCallback(observe, observables) }
}

/** Feeds synchronous histograms with what the engine's histograms counted since the last collection. */
class Histograms {
  readonly #seen = new WeakMap<object, Map<string, readonly number[]>>()

  feed(client: object, which: string, h: LatencyHistogram, into: OtelHistogram, attributes: OtelAttributes): void {
    let byName = this.#seen.get(client)
    if (!byName) {
      byName = new Map()
      this.#seen.set(client, byName)
    }
    const before = byName.get(which) ?? []
    byName.set(which, h.counts)
    h.counts.forEach((count, i) => {
      const value = representative(h.boundsSeconds, i)
      for (let n = count - (before[i] ?? 0); n > 0; n--) {
        into.record(value, attributes)
      }
    })
  }
}

/** A value inside bucket `i`: its midpoint, or the lower bound of the last (unbounded) bucket. */
function representative(bounds: readonly number[], i: number): number {
  const lower = i === 0 ? 0 : (bounds[i - 1] ?? 0)
  const upper = bounds[i]
  return upper === undefined ? lower * 2 : (lower + upper) / 2
}
