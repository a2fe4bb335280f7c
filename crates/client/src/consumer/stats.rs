//! The push consumer's counters ([`ConsumerStats`]): what it holds in memory now, what its
//! listener and pull loops did since it was created, and its offset store's metrics. The
//! "slow listener bounds memory" promise is checked by reading `messages_held` and
//! `bytes_held` against the pull thresholds.
//!
//! The event counts are relaxed atomics bumped on the hot paths (`Counters`); the held
//! amounts are summed over the process queues when asked, which costs one short lock per
//! held queue and nothing in between.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rocketmq_remoting::body::ConsumeStatus;

use crate::metrics::{Histogram, HistogramSnapshot};

pub use super::offset_store::OffsetStoreMetrics;

/// A push consumer's counters as of one call of `PushConsumer::stats`.
#[derive(Debug, Clone, Default)]
pub struct ConsumerStats {
    /// Messages pulled and not yet consumed, over every held queue.
    pub messages_held: u64,
    /// Body bytes of those messages.
    pub bytes_held: u64,
    /// The most messages one queue holds.
    pub max_messages_held_by_a_queue: u64,
    /// Queues this consumer holds now.
    pub queues_held: u64,
    /// Messages the listener consumed (ConsumeSuccess).
    pub consumed_ok: u64,
    /// Messages the listener failed: ReconsumeLater, a panic or a call past
    /// `consume_timeout`.
    pub consumed_failed: u64,
    /// Failed messages sent back to the broker (redelivered through `%RETRY%<group>`).
    pub sent_back: u64,
    /// Failed messages that could not be sent back and are consumed again here.
    pub consumed_again_locally: u64,
    /// Failed messages of a broadcasting consumer, logged and committed without another
    /// attempt, as the Java client drops them.
    pub dropped_after_failure: u64,
    /// Malformed records of pull responses skipped by the decoder.
    pub malformed_skipped: u64,
    /// Pulls put off because a queue was over a flow-control threshold.
    pub flow_control_pauses: u64,
    /// Pulls sent.
    pub pulls: u64,
    /// Pulls that failed (transport error or an error answer); each is retried.
    pub pull_errors: u64,
    /// The offset store's metrics.
    pub offset_store: OffsetStoreMetrics,
    /// How long each pull took, from request to answer (a long poll the broker held
    /// included); failed pulls too.
    pub pull_latency: HistogramSnapshot,
    /// How long each listener call took, from the call to its verdict.
    pub listener_latency: HistogramSnapshot,
}

/// One held queue as of one call of `PushConsumer::queue_metrics`: what it holds and how
/// far behind the broker the group's progress on it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMetrics {
    pub queue: rocketmq_remoting::body::MessageQueue,
    /// Messages pulled and not yet consumed.
    pub messages_held: u64,
    /// Body bytes of those messages.
    pub bytes_held: u64,
    /// The offset this consumer committed (in memory; it reaches the broker or the file
    /// at the next persist), `None` before its first commit of the queue.
    pub committed_offset: Option<i64>,
    /// One past the queue's last message on the broker, `None` when the broker could not
    /// be asked.
    pub max_offset: Option<i64>,
}

impl QueueMetrics {
    /// Messages stored and not yet consumed by the group: the broker's max offset minus
    /// the committed offset (never negative), when both are known.
    pub fn lag(&self) -> Option<u64> {
        match (self.max_offset, self.committed_offset) {
            (Some(max), Some(committed)) => Some(max.saturating_sub(committed).max(0) as u64),
            _ => None,
        }
    }
}

/// One event counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event {
    ConsumedOk,
    ConsumedFailed,
    SentBack,
    ConsumedAgainLocally,
    DroppedAfterFailure,
    MalformedSkipped,
    FlowControlPause,
    Pull,
    PullError,
}

const EVENTS: usize = 9;

/// The event counts, kept for the consumer's whole life (across start and shutdown).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    counts: [AtomicU64; EVENTS],
    /// See [`ConsumerStats::pull_latency`].
    pub(crate) pull_latency: Histogram,
    /// See [`ConsumerStats::listener_latency`].
    pub(crate) listener_latency: Histogram,
}

impl Counters {
    /// Counts `n` events of `event`.
    pub(crate) fn add(&self, event: Event, n: u64) {
        if n > 0 {
            self.counts[event as usize].fetch_add(n, Ordering::Relaxed);
        }
    }

    pub(crate) fn get(&self, event: Event) -> u64 {
        self.counts[event as usize].load(Ordering::Relaxed)
    }

    /// The event counts as [`ConsumerStats`]; the held amounts and store metrics are the
    /// caller's to fill in.
    pub(crate) fn stats(&self) -> ConsumerStats {
        ConsumerStats {
            consumed_ok: self.get(Event::ConsumedOk),
            consumed_failed: self.get(Event::ConsumedFailed),
            sent_back: self.get(Event::SentBack),
            consumed_again_locally: self.get(Event::ConsumedAgainLocally),
            dropped_after_failure: self.get(Event::DroppedAfterFailure),
            malformed_skipped: self.get(Event::MalformedSkipped),
            flow_control_pauses: self.get(Event::FlowControlPause),
            pulls: self.get(Event::Pull),
            pull_errors: self.get(Event::PullError),
            pull_latency: self.pull_latency.snapshot(),
            listener_latency: self.listener_latency.snapshot(),
            ..ConsumerStats::default()
        }
    }
}

/// How long the sample behind the rates of [`TopicStatus::status`] may get before it is
/// renewed (Java's ConsumerStatsManager samples per minute).
pub(crate) const STATUS_WINDOW: Duration = Duration::from_secs(60);

/// What one topic's pulls and listener calls did, for the `statusTable` of
/// GET_CONSUMER_RUNNING_INFO (`mqadmin consumerStatus`): Java's pull and consume RT/TPS.
#[derive(Debug)]
pub(crate) struct TopicStatus {
    totals: [AtomicU64; TOTALS],
    /// The totals at the start of the current window, and when it started.
    window: Mutex<(Instant, [u64; TOTALS])>,
}

/// Indexes of [`TopicStatus::totals`].
const PULLS: usize = 0;
const PULL_MICROS: usize = 1;
const PULLED: usize = 2;
const CALLS: usize = 3;
const CALL_MICROS: usize = 4;
const OK: usize = 5;
const FAILED: usize = 6;
const TOTALS: usize = 7;

impl TopicStatus {
    pub(crate) fn new(now: Instant) -> Self {
        TopicStatus {
            totals: Default::default(),
            window: Mutex::new((now, [0; TOTALS])),
        }
    }

    /// One pull that took `took` and brought `messages`.
    pub(crate) fn pulled(&self, took: Duration, messages: usize) {
        self.totals[PULLS].fetch_add(1, Ordering::Relaxed);
        self.totals[PULL_MICROS].fetch_add(took.as_micros() as u64, Ordering::Relaxed);
        self.totals[PULLED].fetch_add(messages as u64, Ordering::Relaxed);
    }

    /// One listener call that took `took` and settled `ok` and `failed` messages.
    pub(crate) fn consumed(&self, took: Duration, ok: usize, failed: usize) {
        self.totals[CALLS].fetch_add(1, Ordering::Relaxed);
        self.totals[CALL_MICROS].fetch_add(took.as_micros() as u64, Ordering::Relaxed);
        self.totals[OK].fetch_add(ok as u64, Ordering::Relaxed);
        self.totals[FAILED].fetch_add(failed as u64, Ordering::Relaxed);
    }

    /// Averages (ms) and rates (per second) since the window started; a window older than
    /// [`STATUS_WINDOW`] then starts again at `now`. `consume_failed_msgs` counts the
    /// failures of the window (Java: of the last hour).
    pub(crate) fn status(&self, now: Instant) -> ConsumeStatus {
        let totals: [u64; TOTALS] = std::array::from_fn(|i| self.totals[i].load(Ordering::Relaxed));
        let mut window = self.window.lock().unwrap_or_else(|p| p.into_inner());
        let (since, base) = *window;
        let d: [u64; TOTALS] = std::array::from_fn(|i| totals[i].saturating_sub(base[i]));
        let secs = now.saturating_duration_since(since).as_secs_f64();
        let per_second = |n: u64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
        let avg_ms = |micros: u64, n: u64| {
            if n > 0 {
                micros as f64 / n as f64 / 1000.0
            } else {
                0.0
            }
        };
        if now.saturating_duration_since(since) >= STATUS_WINDOW {
            *window = (now, totals);
        }
        ConsumeStatus {
            pull_rt: avg_ms(d[PULL_MICROS], d[PULLS]),
            pull_tps: per_second(d[PULLED]),
            consume_rt: avg_ms(d[CALL_MICROS], d[CALLS]),
            consume_ok_tps: per_second(d[OK]),
            consume_failed_tps: per_second(d[FAILED]),
            consume_failed_msgs: i64::try_from(d[FAILED]).unwrap_or(i64::MAX),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_table_averages_and_rates_over_its_window() {
        let start = Instant::now();
        let topic = TopicStatus::new(start);
        topic.pulled(Duration::from_millis(4), 10);
        topic.pulled(Duration::from_millis(2), 30);
        topic.consumed(Duration::from_millis(6), 3, 1);
        let s = topic.status(start + Duration::from_secs(2));
        assert_eq!(s.pull_rt, 3.0);
        assert_eq!(s.pull_tps, 20.0);
        assert_eq!(s.consume_rt, 6.0);
        assert_eq!(s.consume_ok_tps, 1.5);
        assert_eq!(s.consume_failed_tps, 0.5);
        assert_eq!(s.consume_failed_msgs, 1);
        // A full window starts a new one: what came before no longer counts.
        let later = start + STATUS_WINDOW;
        assert_eq!(topic.status(later).consume_failed_msgs, 1);
        topic.consumed(Duration::from_millis(1), 5, 0);
        let s = topic.status(later + Duration::from_secs(5));
        assert_eq!((s.consume_ok_tps, s.consume_failed_msgs), (1.0, 0));
        assert_eq!(s.pull_tps, 0.0);
    }

    #[test]
    fn each_event_lands_in_its_own_field() {
        let counters = Counters::default();
        let events = [
            Event::ConsumedOk,
            Event::ConsumedFailed,
            Event::SentBack,
            Event::ConsumedAgainLocally,
            Event::DroppedAfterFailure,
            Event::MalformedSkipped,
            Event::FlowControlPause,
            Event::Pull,
            Event::PullError,
        ];
        for (i, event) in events.into_iter().enumerate() {
            counters.add(event, i as u64 + 1);
        }
        let s = counters.stats();
        assert_eq!(
            [
                s.consumed_ok,
                s.consumed_failed,
                s.sent_back,
                s.consumed_again_locally,
                s.dropped_after_failure,
                s.malformed_skipped,
                s.flow_control_pauses,
                s.pulls,
                s.pull_errors
            ],
            [1, 2, 3, 4, 5, 6, 7, 8, 9]
        );
        assert_eq!(s.messages_held, 0);
    }
}
