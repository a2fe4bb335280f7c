/**
 * Metrics against the local cluster: the `metrics()` snapshots of a producer and a consumer after a known
 * workload (exact counts, histogram totals, lag that grows with unconsumed messages and drops to zero), and the
 * same values as the Prometheus (prom-client) and OpenTelemetry (sdk-metrics reader) exporters show them.
 */
import { randomBytes } from 'node:crypto'

import { type DataPoint, type Histogram, MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics'
import test from 'ava'
import { Registry } from 'prom-client'

import {
  Admin,
  type ConsumerMetrics,
  ConsumeFromWhere,
  ConsumeResult,
  Producer,
  latencyBoundsSeconds,
  registerOpenTelemetryMetrics,
  registerPrometheusMetrics,
} from '../index'
import { NAMESRV_ADDR, createTestTopic, uniqueName } from './helpers/cluster'
import { produce, recordingConsumer, waitFor } from './helpers/consumer'

const admin = new Admin({ namesrvAddr: NAMESRV_ADDR })
test.after.always(() => admin.close())

/** A reader the test collects from when it wants. */
class TestReader extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

/** A meter whose metrics `collect()` reads. */
function otel(): { meter: ReturnType<MeterProvider['getMeter']>; collect: () => Promise<ResourceMetrics> } {
  const reader = new TestReader()
  const provider = new MeterProvider({ readers: [reader] })
  return {
    meter: provider.getMeter('rocketmq-napi-test'),
    collect: async () => (await reader.collect()).resourceMetrics,
  }
}

/** The data points of the metric `name`. */
function points<T>(metrics: ResourceMetrics, name: string): DataPoint<T>[] {
  const found = metrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === name)
  return (found?.dataPoints ?? []) as DataPoint<T>[]
}

/** The value of a Prometheus sample line `name{labels} value` whose labels include every one of `labels`. */
async function promValue(registry: Registry, name: string, labels: Record<string, string>): Promise<number[]> {
  const text = await registry.metrics()
  const values: number[] = []
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)\{(.*)\} (\S+)$/.exec(line)
    if (!match || match[1] !== name) {
      continue
    }
    const own = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]))
    if (Object.entries(labels).every(([k, v]) => own[k] === v)) {
      values.push(Number(match[3]))
    }
  }
  return values
}

/** Polls `metrics()` until `condition` holds on a snapshot (bounded); returns the last snapshot. */
async function metricsWhen(
  read: () => Promise<ConsumerMetrics>,
  condition: (m: ConsumerMetrics) => boolean,
  limitMs = 60_000,
): Promise<ConsumerMetrics> {
  const deadline = Date.now() + limitMs
  let m = await read()
  while (!condition(m) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200))
    m = await read()
  }
  return m
}

test('a producer counts every message sent and failed, and both exporters show the counts', async (t) => {
  const topic = await createTestTopic(admin, 'metrics_producer')
  const group = uniqueName('metrics_producer')
  // The broker's own limit (4 MiB) refuses what this producer lets through: a failure no retry changes.
  const producer = new Producer({ namesrvAddr: NAMESRV_ADDR, producerGroup: group, maxMessageSize: 8 * 1024 * 1024 })
  await producer.start()
  t.teardown(() => producer.shutdown())
  t.deepEqual(producer.metrics().sent, { ok: 0, failed: 0, retried: 0 })

  await produce(producer, 40, (i) => ({ topic, body: `m-${i}` }))
  await producer.sendBatch([1, 2, 3].map((i) => ({ topic, body: `b-${i}` })))
  await t.throwsAsync(producer.send({ topic, body: randomBytes(5 * 1024 * 1024) }))

  const m = producer.metrics()
  t.is(m.group, group)
  t.deepEqual(m.sent, { ok: 43, failed: 1, retried: 0 })
  t.is(m.sendLatency.count, 42, 'one entry per send and per batch')
  t.is(m.sendLatency.counts.reduce((a, b) => a + b, 0), 42)
  t.deepEqual(m.sendLatency.boundsSeconds, latencyBoundsSeconds())
  t.is(m.sendLatency.counts.length, latencyBoundsSeconds().length + 1)
  t.true(m.sendLatency.sumSeconds > 0)

  const registry = new Registry()
  const registration = registerPrometheusMetrics(registry, { producers: [producer] })
  t.deepEqual(await promValue(registry, 'rocketmq_producer_messages_sent_total', { group, result: 'success' }), [43])
  t.deepEqual(await promValue(registry, 'rocketmq_producer_messages_sent_total', { group, result: 'failure' }), [1])
  t.deepEqual(await promValue(registry, 'rocketmq_producer_send_duration_seconds_count', { group }), [42])
  t.deepEqual(await promValue(registry, 'rocketmq_producer_send_duration_seconds_bucket', { group, le: '+Inf' }), [42])
  const text = await registry.metrics()
  t.regex(text, /# TYPE rocketmq_producer_send_duration_seconds histogram/)
  t.regex(text, /# TYPE rocketmq_producer_messages_sent_total counter/)
  t.throws(() => registerPrometheusMetrics(registry, { producers: [producer] }), { message: /already been registered/ })
  registration.unregister()
  t.notRegex(await registry.metrics(), /rocketmq_/)
  // An OpenMetrics registry names the counter without `_total` and its samples with it.
  const openMetrics = new Registry<typeof Registry.OPENMETRICS_CONTENT_TYPE>()
  openMetrics.setContentType(Registry.OPENMETRICS_CONTENT_TYPE)
  registerPrometheusMetrics(openMetrics, { producers: [producer] })
  const openText = await openMetrics.metrics()
  t.regex(openText, /^# TYPE rocketmq_producer_messages_sent counter$/m)
  t.regex(openText, new RegExp(`^rocketmq_producer_messages_sent_total\\{group="${group}",result="success"\\} 43$`, 'm'))
  t.notRegex(openText, /_total_total/)

  const { meter, collect } = otel()
  registerOpenTelemetryMetrics(meter, { producers: [producer] })
  const collected = await collect()
  const sent = points<number>(collected, 'messaging.client.sent.messages').filter(
    (p) => p.attributes['messaging.rocketmq.client_group'] === group,
  )
  t.deepEqual(
    sent.map((p) => [p.attributes['error.type'] ?? 'ok', p.value]).sort(),
    [
      ['_OTHER', 1],
      ['ok', 43],
    ],
  )
  t.is(sent[0]?.attributes['messaging.system'], 'rocketmq')
  const durations = points<Histogram>(collected, 'messaging.client.operation.duration')
  t.is(durations.length, 1)
  t.is(durations[0]?.value.count, 42)
  t.deepEqual(durations[0]?.value.buckets.boundaries, [...latencyBoundsSeconds()])
  t.deepEqual(durations[0]?.value.buckets.counts, m.sendLatency.counts)
  // Collected again with nothing new: the histogram does not count anything twice.
  t.is(points<Histogram>(await collect(), 'messaging.client.operation.duration')[0]?.value.count, 42)
})

test('a consumer counts consumed, failed and retried messages, and its lag follows what is left to consume', async (t) => {
  const topic = await createTestTopic(admin, 'metrics_consumer')
  const producer = new Producer({ namesrvAddr: NAMESRV_ADDR, producerGroup: uniqueName('metrics_consumer_producer') })
  await producer.start()
  t.teardown(() => producer.shutdown())
  await produce(producer, 100, (i) => ({ topic, body: `m-${i}` }))

  // m-0..m-4 fail once (redelivered a second later through the retry topic); late-* wait for `release`.
  const failedOnce = new Set<string>()
  let release: () => void = () => {}
  const released = new Promise<void>((resolve) => (release = resolve))
  const { consumer, deliveries } = await recordingConsumer(
    t,
    topic,
    { consumeFromWhere: ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET },
    {
      verdict: async (messages, context) => {
        const body = messages[0]?.body.toString() ?? ''
        if (body.startsWith('late-')) {
          await released
        }
        if (/^m-[0-4]$/.test(body) && !failedOnce.has(body)) {
          failedOnce.add(body)
          context.delayLevelWhenNextConsume = 1
          return ConsumeResult.RECONSUME_LATER
        }
        return ConsumeResult.SUCCESS
      },
    },
  )
  const ofTopic = (m: ConsumerMetrics) => m.queues.filter((q) => q.topic === topic)
  const topicLag = (m: ConsumerMetrics) => ofTopic(m).reduce((sum, q) => sum + (q.lag ?? Number.NaN), 0)

  t.true(await waitFor(() => deliveries.length >= 105), `delivered ${deliveries.length} of 105`)
  // Counted once each verdict is settled, a moment after the delivery was recorded.
  let m = await metricsWhen(() => consumer.metrics(), (s) => topicLag(s) === 0 && s.consumed.ok + s.consumed.failed === 105)
  t.is(topicLag(m), 0, 'everything consumed: no lag')
  t.is(ofTopic(m).length, 16, 'every queue of the topic is held')
  t.deepEqual(m.consumed, { ok: 100, failed: 5, retried: 5 })
  t.is(m.listenerLatency.count, 105, 'one listener call per delivery (batch size 1)')
  t.true(m.pullLatency.count > 0)
  t.true(m.pulls.sent >= m.pullLatency.count)
  for (const q of ofTopic(m)) {
    t.is(typeof q.maxOffset, 'bigint')
    t.is(q.committedOffset, q.maxOffset)
  }

  // 20 more, whose listener calls wait: they are pulled and held, and the lag counts them exactly.
  await produce(producer, 20, (i) => ({ topic, body: `late-${i}` }))
  // A broker indexes a message a moment after answering its send, and one reading asks for the max offsets
  // before it counts what is held: wait for a reading that has all 20 in both.
  m = await metricsWhen(() => consumer.metrics(), (s) => s.processQueue.messages === 20 && topicLag(s) === 20)
  t.is(m.processQueue.messages, 20)
  t.true(m.processQueue.bytes >= 20 * 'late-0'.length)
  t.is(topicLag(m), 20)
  t.is(m.lag, 20)

  const registry = new Registry()
  registerPrometheusMetrics(registry, { consumers: [consumer] })
  const lags = await promValue(registry, 'rocketmq_consumer_lag_messages', { group: m.group, topic })
  t.is(lags.length, 16)
  t.is(
    lags.reduce((a, b) => a + b, 0),
    20,
  )
  t.deepEqual(await promValue(registry, 'rocketmq_consumer_messages_consumed_total', { group: m.group, result: 'failure' }), [5])
  t.deepEqual(await promValue(registry, 'rocketmq_consumer_messages_retried_total', { group: m.group }), [5])
  const held = await promValue(registry, 'rocketmq_consumer_process_queue_messages', { group: m.group, topic })
  t.is(
    held.reduce((a, b) => a + b, 0),
    20,
  )

  const { meter, collect } = otel()
  registerOpenTelemetryMetrics(meter, { consumers: [consumer] })
  const otelLag = points<number>(await collect(), 'rocketmq.consumer.lag').filter(
    (p) => p.attributes['messaging.destination.name'] === topic,
  )
  t.is(otelLag.length, 16)
  t.is(
    otelLag.reduce((sum, p) => sum + p.value, 0),
    20,
  )

  release()
  m = await metricsWhen(() => consumer.metrics(), (s) => topicLag(s) === 0 && s.consumed.ok === 120)
  t.is(topicLag(m), 0, 'lag drops to zero once consumed')
  t.is(m.consumed.ok, 120)
  t.is(m.processQueue.messages, 0)
  const collected = await collect()
  t.is(
    points<number>(collected, 'rocketmq.consumer.lag')
      .filter((p) => p.attributes['messaging.destination.name'] === topic)
      .reduce((sum, p) => sum + p.value, 0),
    0,
  )
  const consumed = points<number>(collected, 'messaging.client.consumed.messages')
  t.deepEqual(consumed.map((p) => [p.attributes['error.type'] ?? 'ok', p.value]).sort(), [
    ['_OTHER', 5],
    ['ok', 120],
  ])
  t.is(points<Histogram>(collected, 'messaging.process.duration')[0]?.value.count, 125)
})
