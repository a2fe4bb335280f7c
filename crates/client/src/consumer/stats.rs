//! The push consumer's counters ([`ConsumerStats`]): what it holds in memory now, what its
//! listener and pull loops did since it was created, and its offset store's metrics. The
//! "slow listener bounds memory" promise is checked by reading `messages_held` and
//! `bytes_held` against the pull thresholds.
//!
//! The event counts are relaxed atomics bumped on the hot paths ([`Counters`]); the held
//! amounts are summed over the process queues when asked, which costs one short lock per
//! held queue and nothing in between.

use std::sync::atomic::{AtomicU64, Ordering};

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
}

/// One event counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event {
    ConsumedOk,
    ConsumedFailed,
    SentBack,
    ConsumedAgainLocally,
    MalformedSkipped,
    FlowControlPause,
    Pull,
    PullError,
}

const EVENTS: usize = 8;

/// The event counts, kept for the consumer's whole life (across start and shutdown).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    counts: [AtomicU64; EVENTS],
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
            malformed_skipped: self.get(Event::MalformedSkipped),
            flow_control_pauses: self.get(Event::FlowControlPause),
            pulls: self.get(Event::Pull),
            pull_errors: self.get(Event::PullError),
            ..ConsumerStats::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_event_lands_in_its_own_field() {
        let counters = Counters::default();
        let events = [
            Event::ConsumedOk,
            Event::ConsumedFailed,
            Event::SentBack,
            Event::ConsumedAgainLocally,
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
                s.malformed_skipped,
                s.flow_control_pauses,
                s.pulls,
                s.pull_errors
            ],
            [1, 2, 3, 4, 5, 6, 7, 8]
        );
        assert_eq!(s.messages_held, 0);
    }
}
