//! The `metrics()` snapshots as JavaScript objects: the producer's and the consumer's
//! counters, latency histograms and per-queue figures (see `lib/metrics.ts`). Counts are
//! f64 so they never wrap (exact up to 2^53).

use napi::bindgen_prelude::BigInt;
use napi_derive::napi;
use rocketmq_client::consumer::push::QueueMetrics;
use rocketmq_client::metrics::{HistogramSnapshot, ProducerMetrics, LATENCY_BOUNDS_SECONDS};
use rocketmq_client::trace::TraceMetrics;

use crate::consumer::NativeMessageQueue;

/// The upper bounds, in seconds, of every latency histogram's buckets (`+Inf` excluded).
#[napi]
pub fn latency_bounds_seconds() -> Vec<f64> {
    LATENCY_BOUNDS_SECONDS.to_vec()
}

/// One latency histogram: a count per bucket (not cumulative; one more than the bounds,
/// the last for `+Inf`), their total and the sum of the durations.
#[napi(object)]
pub struct NativeHistogram {
    pub counts: Vec<f64>,
    pub count: f64,
    pub sum_seconds: f64,
}

impl From<HistogramSnapshot> for NativeHistogram {
    fn from(h: HistogramSnapshot) -> Self {
        NativeHistogram {
            counts: h.counts.into_iter().map(|c| c as f64).collect(),
            count: h.count as f64,
            sum_seconds: h.sum_seconds,
        }
    }
}

/// A producer's counters.
#[napi(object)]
pub struct NativeProducerMetrics {
    pub messages_sent_ok: f64,
    pub messages_sent_failed: f64,
    pub send_retries: f64,
    pub send_latency: NativeHistogram,
    /// The message trace dispatcher's counters, when traces are on and the producer started.
    pub traces: Option<NativeTraceMetrics>,
}

/// A trace dispatcher's counters.
#[napi(object)]
pub struct NativeTraceMetrics {
    pub recorded: f64,
    pub dropped: f64,
    pub messages_sent: f64,
    pub send_failures: f64,
}

impl From<TraceMetrics> for NativeTraceMetrics {
    fn from(t: TraceMetrics) -> Self {
        NativeTraceMetrics {
            recorded: t.recorded as f64,
            dropped: t.dropped as f64,
            messages_sent: t.messages_sent as f64,
            send_failures: t.send_failures as f64,
        }
    }
}

impl From<ProducerMetrics> for NativeProducerMetrics {
    fn from(m: ProducerMetrics) -> Self {
        NativeProducerMetrics {
            messages_sent_ok: m.messages_sent_ok as f64,
            messages_sent_failed: m.messages_sent_failed as f64,
            send_retries: m.send_retries as f64,
            send_latency: m.send_latency.into(),
            traces: None,
        }
    }
}

/// One held queue: what it holds, the committed offset and the broker's max offset (each
/// absent when unknown).
#[napi(object)]
pub struct NativeQueueMetrics {
    pub queue: NativeMessageQueue,
    pub messages_held: f64,
    pub bytes_held: f64,
    pub committed_offset: Option<BigInt>,
    pub max_offset: Option<BigInt>,
}

impl From<QueueMetrics> for NativeQueueMetrics {
    fn from(q: QueueMetrics) -> Self {
        NativeQueueMetrics {
            messages_held: q.messages_held as f64,
            bytes_held: q.bytes_held as f64,
            committed_offset: q.committed_offset.map(BigInt::from),
            max_offset: q.max_offset.map(BigInt::from),
            queue: q.queue.into(),
        }
    }
}
