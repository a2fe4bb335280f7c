//! Counters and latency histograms shared by the producer and the push consumer, read by
//! the `metrics()` snapshots of the binding and, through them, by the Prometheus and
//! OpenTelemetry exporters of the TypeScript layer.
//!
//! Everything here is bumped on hot paths (every send, every pull, every listener call), so
//! a record is a couple of relaxed atomic additions and a search over a short constant
//! array: no lock, no allocation. A snapshot reads the atomics one by one; it is not an
//! atomic picture of all of them, which no exporter needs (each value only ever grows).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The upper bounds (inclusive, seconds) of the latency histograms' buckets, the last
/// bucket (`+Inf`) excluded. Fixed, so exporters can declare them and histograms of
/// different clients add up. From half a millisecond (a send on a quiet local broker) to
/// 30 s (a long-polling pull the broker held for its whole suspend time); the middle
/// follows OpenTelemetry's advice for messaging durations.
pub const LATENCY_BOUNDS_SECONDS: [f64; 19] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0,
    7.5, 10.0, 20.0, 30.0,
];

/// The same bounds in microseconds, as records compare them.
const LATENCY_BOUNDS_MICROS: [u64; 19] = [
    500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 75_000, 100_000, 250_000, 500_000, 750_000,
    1_000_000, 2_500_000, 5_000_000, 7_500_000, 10_000_000, 20_000_000, 30_000_000,
];

/// Buckets of a histogram: one per bound, and the `+Inf` one.
pub const LATENCY_BUCKETS: usize = LATENCY_BOUNDS_SECONDS.len() + 1;

/// A latency histogram with the fixed [`LATENCY_BOUNDS_SECONDS`]: a count per bucket and
/// the sum of every recorded duration.
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; LATENCY_BUCKETS],
    sum_micros: AtomicU64,
}

impl Histogram {
    /// Records one duration.
    pub fn record(&self, took: Duration) {
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let bucket = LATENCY_BOUNDS_MICROS.partition_point(|&bound| bound < micros);
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// The counts and sum now.
    pub fn snapshot(&self) -> HistogramSnapshot {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        HistogramSnapshot {
            count: counts.iter().sum(),
            counts,
            sum_seconds: self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6,
        }
    }
}

/// A histogram's values as of one snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSnapshot {
    /// Per bucket (not cumulative), [`LATENCY_BUCKETS`] of them: entry `i` counts the
    /// durations above bound `i - 1` and at most bound `i`; the last one those above every
    /// bound.
    pub counts: Vec<u64>,
    /// Every recorded duration.
    pub count: u64,
    /// Their sum, in seconds.
    pub sum_seconds: f64,
}

impl Default for HistogramSnapshot {
    fn default() -> Self {
        HistogramSnapshot {
            counts: vec![0; LATENCY_BUCKETS],
            count: 0,
            sum_seconds: 0.0,
        }
    }
}

/// A producer's counters, kept for its whole life.
#[derive(Debug, Default)]
pub struct ProducerCounters {
    sent_ok: AtomicU64,
    sent_failed: AtomicU64,
    retries: AtomicU64,
    send_latency: Histogram,
}

impl ProducerCounters {
    /// One send (of `messages` messages: more than one for a batch) that took `took`, from
    /// its first attempt to its outcome.
    pub fn sent(&self, messages: u64, ok: bool, took: Duration) {
        let counter = if ok { &self.sent_ok } else { &self.sent_failed };
        counter.fetch_add(messages, Ordering::Relaxed);
        self.send_latency.record(took);
    }

    /// One attempt after a failed one, on another broker.
    pub fn retried(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters now.
    pub fn snapshot(&self) -> ProducerMetrics {
        ProducerMetrics {
            messages_sent_ok: self.sent_ok.load(Ordering::Relaxed),
            messages_sent_failed: self.sent_failed.load(Ordering::Relaxed),
            send_retries: self.retries.load(Ordering::Relaxed),
            send_latency: self.send_latency.snapshot(),
        }
    }
}

/// A producer's counters as of one call of `Producer::metrics`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProducerMetrics {
    /// Messages the brokers stored (a batch counts its messages).
    pub messages_sent_ok: u64,
    /// Messages whose send failed, after its retries; messages refused by validation before
    /// anything was sent are not counted.
    pub messages_sent_failed: u64,
    /// Attempts made after a failed one (each on another broker where possible).
    pub send_retries: u64,
    /// How long each send took, retries included (one entry per send or batch).
    pub send_latency: HistogramSnapshot,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_in_seconds_and_micros_agree() {
        for (s, us) in LATENCY_BOUNDS_SECONDS.iter().zip(LATENCY_BOUNDS_MICROS) {
            assert_eq!((s * 1e6).round() as u64, us);
        }
    }

    #[test]
    fn a_duration_lands_in_the_first_bucket_whose_bound_it_does_not_pass() {
        let h = Histogram::default();
        h.record(Duration::from_micros(200)); // bucket 0 (<= 0.5 ms)
        h.record(Duration::from_micros(500)); // bucket 0: bounds are inclusive
        h.record(Duration::from_micros(501)); // bucket 1
        h.record(Duration::from_millis(40)); // <= 50 ms: bucket 6
        h.record(Duration::from_secs(31)); // +Inf
        let s = h.snapshot();
        assert_eq!(s.count, 5);
        assert_eq!(s.counts.len(), LATENCY_BUCKETS);
        assert_eq!(s.counts[0], 2);
        assert_eq!(s.counts[1], 1);
        assert_eq!(s.counts[6], 1);
        assert_eq!(s.counts[LATENCY_BUCKETS - 1], 1);
        assert!((s.sum_seconds - 31.041201).abs() < 1e-9);
    }

    #[test]
    fn producer_counters_count_messages_and_sends() {
        let c = ProducerCounters::default();
        c.sent(1, true, Duration::from_millis(1));
        c.sent(3, true, Duration::from_millis(2));
        c.sent(1, false, Duration::from_millis(3));
        c.retried();
        let m = c.snapshot();
        assert_eq!(m.messages_sent_ok, 4);
        assert_eq!(m.messages_sent_failed, 1);
        assert_eq!(m.send_retries, 1);
        assert_eq!(m.send_latency.count, 3);
    }
}
