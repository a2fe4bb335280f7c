//! Flow control of the push consumer's pull loops (Java's checks at the top of
//! `DefaultMQPushConsumerImpl.pullMessage`): a queue is not pulled while it holds more
//! messages or body bytes than its limits, or while the offsets it holds span too far.
//!
//! The per-queue limits are `pull_threshold_for_queue` and `pull_threshold_size_for_queue`,
//! unless a topic-wide threshold is set: then, as Java's `RebalancePushImpl.messageQueueChanged`
//! does after each rebalance, the per-queue limit becomes the topic threshold divided by the
//! number of the topic's queues this consumer holds (at least 1). So the memory a slow
//! listener can fill is bounded per topic however many queues the consumer gets.
//! A consumer-wide threshold (`pull_threshold_for_all`, the seed's setting; Java has none)
//! is split the same way over every queue the consumer holds, all topics together, and a
//! queue's limit is the smaller of the two shares: the consumer then holds at most about
//! that threshold (plus one pull per queue) whatever it subscribes to.
//! [`QueueLimits`] holds those numbers per topic; rebalance updates them and every pull
//! loop of the topic reads them.

use std::sync::atomic::{AtomicU64, Ordering};

use super::process_queue::{FlowLimits, ProcessQueue};

/// The limits every queue of one topic pulls under.
#[derive(Debug)]
pub struct QueueLimits {
    messages: AtomicU64,
    bytes: AtomicU64,
    max_span: i64,
}

/// The thresholds flow control starts from (the consumer's configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    pub per_queue_messages: u64,
    pub per_queue_bytes: u64,
    pub per_topic_messages: Option<u64>,
    pub per_topic_bytes: Option<u64>,
    /// Consumer-wide, over the queues of every topic.
    pub all_messages: Option<u64>,
    pub all_bytes: Option<u64>,
    pub max_span: i64,
}

impl Thresholds {
    /// The per-queue (messages, bytes) limits when `queues_held` queues of the topic and
    /// `all_queues_held` queues in all are held: a topic threshold split evenly (at least
    /// 1), else the per-queue threshold; and no more than the consumer-wide threshold
    /// split over all the queues.
    pub fn per_queue(&self, queues_held: usize, all_queues_held: usize) -> (u64, u64) {
        let split = |total: Option<u64>, queues: usize| match total {
            Some(total) if queues > 0 => Some((total / queues as u64).max(1)),
            _ => None,
        };
        let limit = |topic: Option<u64>, queue: u64, all: Option<u64>| {
            let own = split(topic, queues_held).unwrap_or(queue);
            split(all, all_queues_held).map_or(own, |share| own.min(share))
        };
        (
            limit(
                self.per_topic_messages,
                self.per_queue_messages,
                self.all_messages,
            ),
            limit(self.per_topic_bytes, self.per_queue_bytes, self.all_bytes),
        )
    }
}

impl QueueLimits {
    /// The limits before any queue of the topic is held.
    pub fn new(thresholds: &Thresholds) -> Self {
        QueueLimits {
            messages: AtomicU64::new(thresholds.per_queue_messages),
            bytes: AtomicU64::new(thresholds.per_queue_bytes),
            max_span: thresholds.max_span,
        }
    }

    /// Recomputes the per-queue limits for `queues_held` queues of the topic among
    /// `all_queues_held` in all.
    pub fn update(&self, thresholds: &Thresholds, queues_held: usize, all_queues_held: usize) {
        let (messages, bytes) = thresholds.per_queue(queues_held, all_queues_held);
        self.messages.store(messages, Ordering::Relaxed);
        self.bytes.store(bytes, Ordering::Relaxed);
    }

    /// The per-queue (messages, bytes) limits now.
    pub fn get(&self) -> (u64, u64) {
        (
            self.messages.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
        )
    }

    /// The limits now, for a pull loop waiting to get back within them.
    pub fn flow_limits(&self) -> FlowLimits {
        let (messages, bytes) = self.get();
        FlowLimits {
            messages,
            bytes,
            max_span: self.max_span,
        }
    }

    /// Why `pq` must wait before its next pull, if it must.
    pub fn check(&self, pq: &ProcessQueue) -> Option<&'static str> {
        let (messages, bytes) = self.get();
        if pq.message_count() > messages {
            Some("message count")
        } else if pq.message_size() > bytes {
            Some("message size")
        } else if pq.max_span() > self.max_span {
            Some("offset span")
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thresholds() -> Thresholds {
        Thresholds {
            per_queue_messages: 1000,
            per_queue_bytes: 100 << 20,
            per_topic_messages: None,
            per_topic_bytes: None,
            all_messages: None,
            all_bytes: None,
            max_span: 2000,
        }
    }

    #[test]
    fn topic_thresholds_are_split_over_the_queues_held_as_java_does() {
        let plain = thresholds();
        assert_eq!(plain.per_queue(8, 8), (1000, 100 << 20));
        let topic = Thresholds {
            per_topic_messages: Some(1000),
            per_topic_bytes: Some(4096),
            ..plain
        };
        assert_eq!(topic.per_queue(8, 8), (125, 512));
        assert_eq!(topic.per_queue(3, 3), (333, 1365));
        // Never below 1, and with no queue held the per-queue thresholds stand.
        assert_eq!(topic.per_queue(5000, 5000), (1, 1));
        assert_eq!(topic.per_queue(0, 0), (1000, 100 << 20));
        // Only the one that is set is split.
        let messages_only = Thresholds {
            per_topic_messages: Some(10),
            ..plain
        };
        assert_eq!(messages_only.per_queue(2, 2), (5, 100 << 20));
    }

    #[test]
    fn a_consumer_wide_threshold_is_split_over_every_queue_held_and_caps_each_share() {
        let all = Thresholds {
            all_messages: Some(64),
            all_bytes: Some(64 << 20),
            ..thresholds()
        };
        // 16 queues of this topic among 32 in all: 64 / 32 each, below the per-queue 1000.
        assert_eq!(all.per_queue(16, 32), (2, 2 << 20));
        // The other topic's queues count as much as this one's.
        assert_eq!(all.per_queue(1, 32), (2, 2 << 20));
        // Never below 1.
        assert_eq!(all.per_queue(100, 1000), (1, (64 << 20) / 1000));
        // A share larger than the per-queue threshold leaves that one.
        assert_eq!(all.per_queue(1, 1), (64, 64 << 20));
        let both = Thresholds {
            all_messages: Some(1000),
            per_topic_messages: Some(40),
            ..thresholds()
        };
        // The smaller of the topic share (40 / 4) and the consumer-wide one (1000 / 8).
        assert_eq!(both.per_queue(4, 8).0, 10);
        assert_eq!(both.per_queue(4, 400).0, 2);
        // With no queue held the per-queue thresholds stand.
        assert_eq!(all.per_queue(0, 0), (1000, 100 << 20));
    }

    use crate::consumer::process_queue::test_messages::message;

    #[test]
    fn a_queue_waits_over_its_count_size_or_span_limit() {
        let limits = QueueLimits::new(&Thresholds {
            per_queue_messages: 2,
            per_queue_bytes: 100,
            max_span: 10,
            ..thresholds()
        });
        let pq = ProcessQueue::new(0);
        assert_eq!(limits.check(&pq), None);
        pq.put_messages([message(0, 1), message(1, 1)]);
        assert_eq!(limits.check(&pq), None);
        pq.put_messages([message(2, 1)]);
        assert_eq!(limits.check(&pq), Some("message count"));

        let pq = ProcessQueue::new(0);
        pq.put_messages([message(0, 101)]);
        assert_eq!(limits.check(&pq), Some("message size"));

        let pq = ProcessQueue::new(0);
        pq.put_messages([message(0, 1), message(11, 1)]);
        assert_eq!(limits.check(&pq), Some("offset span"));
    }

    #[test]
    fn a_rebalance_that_changes_the_queues_held_changes_the_limits() {
        let t = Thresholds {
            per_topic_messages: Some(4),
            ..thresholds()
        };
        let limits = QueueLimits::new(&t);
        let pq = ProcessQueue::new(0);
        pq.put_messages([message(0, 1), message(1, 1), message(2, 1)]);
        limits.update(&t, 1, 1);
        assert_eq!(limits.check(&pq), None);
        limits.update(&t, 2, 2);
        assert_eq!(limits.check(&pq), Some("message count"));
    }
}
