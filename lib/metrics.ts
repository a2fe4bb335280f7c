/**
 * The `metrics()` snapshots of {@link Producer} and {@link Consumer}: counters, latency histograms, what the
 * consumer holds in memory and its lag per queue. The counters live in the Rust engine (relaxed atomics bumped
 * on the hot path); a snapshot copies them. The exporters (`registerPrometheusMetrics`,
 * `registerOpenTelemetryMetrics`) read these snapshots.
 *
 * @module
 */
import type { NativeHistogram, NativeProducerMetrics, NativeQueueMetrics } from './binding'
import type { Consumer } from './consumer'
import type { Producer } from './producer'
import { nativeBinding } from './native'

/**
 * A latency histogram with fixed buckets (the same for every histogram of every client, see
 * {@link latencyBoundsSeconds}): a count per bucket, their total and the sum of the durations.
 */
export interface LatencyHistogram {
  /** Upper bounds of the buckets in seconds, ascending and inclusive; the last bucket (`+Inf`) has none. */
  readonly boundsSeconds: readonly number[]
  /**
   * Count per bucket, not cumulative: `counts[i]` counts the durations above `boundsSeconds[i - 1]` and at most
   * `boundsSeconds[i]`; `counts[boundsSeconds.length]` those above every bound.
   */
  readonly counts: readonly number[]
  /** Every recorded duration. */
  readonly count: number
  /** The sum of the recorded durations, in seconds. */
  readonly sumSeconds: number
}

/** Outcomes of messages, as counted by a producer or a consumer. */
export interface MessageOutcomes {
  /** Messages sent (stored by a broker) or consumed (the listener succeeded). */
  readonly ok: number
  /** Messages whose send failed after its retries, or whose listener call failed (each delivery counts). */
  readonly failed: number
  /**
   * Producer: attempts made after a failed one, on another broker. Consumer: failed messages given another
   * delivery (sent back to the broker through the group's retry topic, or kept to be consumed again here).
   */
  readonly retried: number
}

/** The message trace dispatcher of a client with `enableMessageTrace`: what happened to its records. */
export interface TraceMetrics {
  /** Records queued for sending (a send leaves one, a consumed message two). */
  readonly recorded: number
  /** Records dropped because the bounded queue was full (the message path never waits for traces). */
  readonly dropped: number
  /** Trace messages sent to the trace topic (each packs many records). */
  readonly messagesSent: number
  /** Trace messages whose send failed; their records are lost. Drops and failures are logged at most every 10 s. */
  readonly sendFailures: number
}

/** A producer's counters; see {@link Producer.metrics}. */
export interface ProducerMetrics {
  /** The producer group. */
  readonly group: string
  /** Messages sent, failed and retried since the producer was created (a batch counts its messages). */
  readonly sent: MessageOutcomes
  /** How long each send took, from its first attempt to its outcome (retries included; one per send or batch). */
  readonly sendLatency: LatencyHistogram
  /** The message traces' counters, when `enableMessageTrace` is on and the producer was started. */
  readonly traces: TraceMetrics | undefined
}

/** One queue a consumer holds: its process queue and its lag. */
export interface QueueMetrics {
  readonly topic: string
  readonly brokerName: string
  readonly queueId: number
  /** Messages pulled and not yet consumed. */
  readonly messagesHeld: number
  /** Body bytes of those messages. */
  readonly bytesHeld: number
  /** The offset this member committed (in memory; it reaches the broker at the next persist); undefined before its first commit. */
  readonly committedOffset: bigint | undefined
  /** One past the queue's last message on the broker (GET_MAX_OFFSET); undefined when the broker did not answer. */
  readonly maxOffset: bigint | undefined
  /** `maxOffset - committedOffset` (never negative): messages stored and not yet consumed; undefined when either is unknown. */
  readonly lag: number | undefined
}

/** A consumer's counters; see {@link Consumer.metrics}. */
export interface ConsumerMetrics {
  /** The consumer group. */
  readonly group: string
  /** Messages consumed, failed and retried since the consumer was created. */
  readonly consumed: MessageOutcomes
  /** How long each pull took, request to answer (long polls the broker held included). */
  readonly pullLatency: LatencyHistogram
  /** How long each listener call took, call to verdict. */
  readonly listenerLatency: LatencyHistogram
  /** Pulls sent, and those that failed (each retried after a pause). */
  readonly pulls: { readonly sent: number; readonly failed: number }
  /** What the process queues hold now, over every held queue (bounded by the flow-control thresholds). */
  readonly processQueue: { readonly messages: number; readonly bytes: number }
  /** The sum of the known per-queue lags. */
  readonly lag: number
  /** Per held queue (none when not started), sorted by topic, broker, queue id. */
  readonly queues: readonly QueueMetrics[]
  /** The message traces' counters, when `enableMessageTrace` is on and the consumer was started. */
  readonly traces: TraceMetrics | undefined
}

/** The clients whose metrics an exporter reports. */
export interface MetricsSources {
  /** Producers, each labelled by its group. */
  producers?: readonly Producer[]
  /** Consumers, each labelled by its group. */
  consumers?: readonly Consumer[]
}

let bounds: readonly number[] | undefined

/** The upper bounds, in seconds, of every latency histogram's buckets (`+Inf` excluded), from the engine. */
export function latencyBoundsSeconds(): readonly number[] {
  bounds ??= Object.freeze(nativeBinding().latencyBoundsSeconds())
  return bounds
}

/** @internal A native histogram as a {@link LatencyHistogram}. */
export function fromNativeHistogram(h: NativeHistogram): LatencyHistogram {
  return { boundsSeconds: latencyBoundsSeconds(), counts: h.counts, count: h.count, sumSeconds: h.sumSeconds }
}

/** @internal The native producer counters as {@link ProducerMetrics}. */
export function fromNativeProducerMetrics(group: string, m: NativeProducerMetrics): ProducerMetrics {
  return {
    group,
    sent: { ok: m.messagesSentOk, failed: m.messagesSentFailed, retried: m.sendRetries },
    sendLatency: fromNativeHistogram(m.sendLatency),
    traces: m.traces ?? undefined,
  }
}

/** @internal One native queue's figures as {@link QueueMetrics}. */
export function fromNativeQueueMetrics(q: NativeQueueMetrics): QueueMetrics {
  const committedOffset = q.committedOffset ?? undefined
  const maxOffset = q.maxOffset ?? undefined
  const lag =
    committedOffset === undefined || maxOffset === undefined
      ? undefined
      : Number(maxOffset > committedOffset ? maxOffset - committedOffset : 0n)
  return {
    topic: q.queue.topic,
    brokerName: q.queue.brokerName,
    queueId: q.queue.queueId,
    messagesHeld: q.messagesHeld,
    bytesHeld: q.bytesHeld,
    committedOffset,
    maxOffset,
    lag,
  }
}
