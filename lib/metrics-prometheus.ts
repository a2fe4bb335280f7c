/**
 * Prometheus exporter: puts the producers' and consumers' metrics into a `prom-client` registry. `prom-client`
 * is an optional peer dependency and never loaded here: the caller passes its registry, and the metrics are
 * plain objects with the `get()` a prom-client registry reads (the contract of `registry.registerMetric`), so
 * every scrape takes fresh snapshots and nothing is recorded twice.
 *
 * Names follow Prometheus' conventions: a `rocketmq_` prefix, the unit in the name, `_total` counters,
 * `_seconds` histograms with the engine's fixed buckets.
 *
 * @module
 */
import type { ConsumerMetrics, LatencyHistogram, MetricsSources, ProducerMetrics } from './metrics'

/** The part of a `prom-client` `Registry` used here (`register` or `new Registry()`). */
export interface PrometheusRegistry {
  /**
   * Adds a metric; prom-client throws when a metric of that name is registered already. Typed `never` because
   * prom-client declares it for its own metric classes, while at run time it takes any object with `get()`
   * ({@link PrometheusMetric}), which is what is passed.
   */
  registerMetric(metric: never): void
  /** Removes the metric of that name. */
  removeSingleMetric(name: string): void
}

/** One sample of a metric, as a prom-client registry reads it. */
export interface PrometheusSample {
  /** The sample's own name when it differs from the metric's (`_bucket`, `_sum`, `_count` of a histogram). */
  metricName?: string
  /** Label names to values. */
  labels: Record<string, string | number>
  /** The value. */
  value: number
}

/** A metric as a prom-client registry reads it: its name, help, type and, per scrape, its samples. */
export interface PrometheusMetric {
  /** The metric's name. */
  readonly name: string
  /** Its help text. */
  readonly help: string
  /** `counter`, `gauge` or `histogram`. */
  readonly type: 'counter' | 'gauge' | 'histogram'
  /** How prom-client's cluster mode combines the values of workers. */
  readonly aggregator: 'sum'
  /** The samples now. */
  get(): Promise<{
    name: string
    help: string
    type: 'counter' | 'gauge' | 'histogram'
    aggregator: 'sum'
    values: PrometheusSample[]
  }>
  /** Nothing to reset: the values are the clients' own (prom-client calls this from `resetMetrics()`). */
  reset(): void
}

/** What {@link registerPrometheusMetrics} registered. */
export interface PrometheusRegistration {
  /** The names of the registered metrics. */
  readonly names: readonly string[]
  /** Removes them from the registry. */
  unregister(): void
}

type Labels = Record<string, string | number>

interface Snapshots {
  producers: ProducerMetrics[]
  consumers: ConsumerMetrics[]
}

/** One metric definition: how its samples come from the snapshots. */
interface Definition {
  name: string
  help: string
  type: 'counter' | 'gauge' | 'histogram'
  samples(s: Snapshots): PrometheusSample[]
}

function counter(name: string, help: string, values: (s: Snapshots) => [Labels, number][]): Definition {
  return { name, help, type: 'counter', samples: (s) => sum(values(s)) }
}

function gauge(name: string, help: string, values: (s: Snapshots) => [Labels, number][]): Definition {
  return { name, help, type: 'gauge', samples: (s) => sum(values(s)) }
}

/** Samples with equal labels added up: two clients of one group make one series. */
function sum(values: [Labels, number][]): PrometheusSample[] {
  const byKey = new Map<string, PrometheusSample>()
  for (const [labels, value] of values) {
    const key = JSON.stringify(labels)
    const seen = byKey.get(key)
    if (seen) {
      seen.value += value
    } else {
      byKey.set(key, { labels, value })
    }
  }
  return [...byKey.values()]
}

function histogram(name: string, help: string, values: (s: Snapshots) => [Labels, LatencyHistogram][]): Definition {
  return {
    name,
    help,
    type: 'histogram',
    samples: (s) => {
      const samples: PrometheusSample[] = []
      const merged = new Map<string, { labels: Labels; h: { counts: number[]; count: number; sum: number; bounds: readonly number[] } }>()
      for (const [labels, h] of values(s)) {
        const key = JSON.stringify(labels)
        const seen = merged.get(key)
        if (seen) {
          h.counts.forEach((c, i) => (seen.h.counts[i] = (seen.h.counts[i] ?? 0) + c))
          seen.h.count += h.count
          seen.h.sum += h.sumSeconds
        } else {
          merged.set(key, { labels, h: { counts: [...h.counts], count: h.count, sum: h.sumSeconds, bounds: h.boundsSeconds } })
        }
      }
      for (const { labels, h } of merged.values()) {
        let cumulative = 0
        h.bounds.forEach((bound, i) => {
          cumulative += h.counts[i] ?? 0
          samples.push({ metricName: `${name}_bucket`, labels: { ...labels, le: bound }, value: cumulative })
        })
        samples.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: h.count })
        samples.push({ metricName: `${name}_sum`, labels, value: h.sum })
        samples.push({ metricName: `${name}_count`, labels, value: h.count })
      }
      return samples
    },
  }
}

function queueLabels(group: string, q: { topic: string; brokerName: string; queueId: number }): Labels {
  return { group, topic: q.topic, broker: q.brokerName, queue_id: q.queueId }
}

/** Every metric, in the order registered. */
const DEFINITIONS: readonly Definition[] = [
  counter('rocketmq_producer_messages_sent_total', 'Messages sent by producers, by result (success: stored by a broker; failure: failed after its retries).', (s) =>
    s.producers.flatMap((p) => [
      [{ group: p.group, result: 'success' }, p.sent.ok],
      [{ group: p.group, result: 'failure' }, p.sent.failed],
    ]),
  ),
  counter('rocketmq_producer_send_retries_total', 'Send attempts made after a failed one, on another broker.', (s) =>
    s.producers.map((p) => [{ group: p.group }, p.sent.retried]),
  ),
  histogram('rocketmq_producer_send_duration_seconds', 'How long each send took, retries included.', (s) =>
    s.producers.map((p) => [{ group: p.group }, p.sendLatency]),
  ),
  counter('rocketmq_consumer_messages_consumed_total', 'Messages the listener consumed, by result (failure: each failed delivery).', (s) =>
    s.consumers.flatMap((c) => [
      [{ group: c.group, result: 'success' }, c.consumed.ok],
      [{ group: c.group, result: 'failure' }, c.consumed.failed],
    ]),
  ),
  counter('rocketmq_consumer_messages_retried_total', 'Failed messages given another delivery (sent back through the retry topic, or consumed again here).', (s) =>
    s.consumers.map((c) => [{ group: c.group }, c.consumed.retried]),
  ),
  counter('rocketmq_consumer_pulls_total', 'Pull requests sent, by result.', (s) =>
    s.consumers.flatMap((c) => [
      [{ group: c.group, result: 'success' }, c.pulls.sent - c.pulls.failed],
      [{ group: c.group, result: 'failure' }, c.pulls.failed],
    ]),
  ),
  histogram('rocketmq_consumer_pull_duration_seconds', 'How long each pull took, request to answer (long polls included).', (s) =>
    s.consumers.map((c) => [{ group: c.group }, c.pullLatency]),
  ),
  histogram('rocketmq_consumer_process_duration_seconds', 'How long each listener call took, call to verdict.', (s) =>
    s.consumers.map((c) => [{ group: c.group }, c.listenerLatency]),
  ),
  counter('rocketmq_trace_records_dropped_total', 'Message trace records dropped because the trace queue was full.', (s) => [
    ...s.producers.filter((p) => p.traces).map((p): [Labels, number] => [{ group: p.group, role: 'producer' }, p.traces?.dropped ?? 0]),
    ...s.consumers.filter((c) => c.traces).map((c): [Labels, number] => [{ group: c.group, role: 'consumer' }, c.traces?.dropped ?? 0]),
  ]),
  gauge('rocketmq_consumer_process_queue_messages', 'Messages pulled and not yet consumed, per held queue.', (s) =>
    s.consumers.flatMap((c) => c.queues.map((q): [Labels, number] => [queueLabels(c.group, q), q.messagesHeld])),
  ),
  gauge('rocketmq_consumer_process_queue_bytes', 'Body bytes of the messages pulled and not yet consumed, per held queue.', (s) =>
    s.consumers.flatMap((c) => c.queues.map((q): [Labels, number] => [queueLabels(c.group, q), q.bytesHeld])),
  ),
  gauge('rocketmq_consumer_lag_messages', "Messages stored and not yet consumed per held queue: the broker's max offset minus the committed offset.", (s) =>
    s.consumers.flatMap((c) =>
      c.queues.filter((q) => q.lag !== undefined).map((q): [Labels, number] => [queueLabels(c.group, q), q.lag ?? 0]),
    ),
  ),
]

/**
 * Registers the metrics of `sources` in a prom-client registry; each scrape reads fresh snapshots (one
 * `metrics()` per client per scrape, shared by every metric of the scrape: a consumer's asks its brokers for
 * the queues' max offsets).
 *
 * ```ts
 * import { register } from 'prom-client'
 * registerPrometheusMetrics(register, { producers: [producer], consumers: [consumer] })
 * ```
 *
 * @param registry prom-client's `register`, or a `new Registry()`
 * @param sources the producers and consumers to export
 * @returns the names registered, and `unregister()`
 * @throws Error from prom-client when one of the names is registered already
 */
export function registerPrometheusMetrics(registry: PrometheusRegistry, sources: MetricsSources): PrometheusRegistration {
  const producers = [...(sources.producers ?? [])]
  const consumers = [...(sources.consumers ?? [])]
  // One snapshot per scrape: a scrape calls every metric's get() in one go, before any of them settles.
  let pending: Promise<Snapshots> | undefined
  const snapshots = (): Promise<Snapshots> => {
    if (!pending) {
      pending = (async () => ({
        producers: producers.map((p) => p.metrics()),
        consumers: await Promise.all(consumers.map((c) => c.metrics())),
      }))()
      setImmediate(() => {
        pending = undefined
      })
    }
    return pending
  }
  const registered: string[] = []
  try {
    for (const d of DEFINITIONS) {
      const register = registry.registerMetric as (metric: PrometheusMetric) => void
      const metric = {
        name: d.name,
        help: d.help,
        type: d.type,
        aggregator: 'sum' as const,
        // `metric.name`, not `d.name`: an OpenMetrics registry renames a counter (drops `_total`, which it adds
        // to each sample) before it reads the samples.
        get: async () => ({ name: metric.name, help: d.help, type: d.type, aggregator: 'sum' as const, values: d.samples(await snapshots()) }),
        reset: () => {},
      }
      register.call(registry, metric)
      registered.push(d.name)
    }
  } catch (error) {
    for (const name of registered) {
      registry.removeSingleMetric(name)
    }
    throw error
  }
  return {
    names: registered,
    unregister: () => {
      for (const name of registered) {
        registry.removeSingleMetric(name)
      }
    },
  }
}
