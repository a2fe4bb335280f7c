//! Orderly consumption's listener contract and verdict rules (Java's `MessageListenerOrderly`,
//! `ConsumeOrderlyContext`, `ConsumeOrderlyStatus` and
//! `ConsumeMessageOrderlyService.processConsumeResult`). The engine side (one consume task per
//! queue, queue locks) is `push::orderly`; this module holds what needs no I/O, so the rules
//! are tested alone.
//!
//! A queue's messages go to the listener one call at a time, in queue-offset order: each
//! call takes up to `consume_message_batch_max_size` of the smallest offsets held into the
//! process queue's "consuming" map ([`ProcessQueue::take_messages`]), and the verdict
//! decides what happens to them ([`plan`]):
//!
//! | verdict | `auto_commit` (default) | `auto_commit = false` |
//! |---|---|---|
//! | SUCCESS | commit the batch | nothing committed; the batch stays taken until a COMMIT |
//! | COMMIT | as SUCCESS (Java logs it as illegal) | commit everything taken since the last commit |
//! | ROLLBACK | as SUCCESS (Java logs it as illegal) | put everything taken since the last commit back, consume it again after the suspend time |
//! | SUSPEND_CURRENT_QUEUE_A_MOMENT, a panic, a throw | retry the batch after the suspend time | the same |
//!
//! A retry is local (nothing goes to the broker, order is kept): each message's
//! `reconsume_times` goes up by one and the same messages come again after the suspend
//! time ([`suspend_delay`]: the context's value when it set one, else the consumer's
//! `suspend_current_queue_time`, clamped to 10 ms..30 s as Java). A message that has
//! already been consumed `max_reconsume_times` times is instead sent to `%DLQ%<group>`
//! (CONSUMER_SEND_MSG_BACK with delay level −1; Java sends a copy to the retry topic that
//! the broker moves to the DLQ for the same reason) and counts as done; when none is left to
//! retry the batch commits and the queue moves on. Java's orderly default for
//! `max_reconsume_times` is unbounded ([`orderly_max_reconsume_times`]): a message that
//! always fails blocks its queue.
//!
//! [`ProcessQueue::take_messages`]: super::process_queue::ProcessQueue::take_messages

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use rocketmq_remoting::body::MessageQueue;
use rocketmq_remoting::message::MessageExt;

/// Java's `suspendCurrentQueueTimeMillis` default.
pub const DEFAULT_SUSPEND_CURRENT_QUEUE_TIME: Duration = Duration::from_millis(1000);
/// The shortest and longest suspend Java allows.
const SUSPEND_MIN_MILLIS: i64 = 10;
const SUSPEND_MAX_MILLIS: i64 = 30_000;
/// A consume task gives the runtime back after this long on one queue (Java's
/// `rocketmq.client.maxTimeConsumeContinuously`, 60 s).
pub const MAX_TIME_CONSUME_CONTINUOUSLY: Duration = Duration::from_secs(60);

/// What an orderly listener says of a batch (Java's `ConsumeOrderlyStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumeOrderlyStatus {
    /// Consumed.
    Success,
    /// Consumed; with `auto_commit = false`, commit everything taken since the last commit.
    Commit,
    /// With `auto_commit = false`: consume everything taken since the last commit again.
    Rollback,
    /// Not consumed: the same messages again after the suspend time.
    SuspendCurrentQueueAMoment,
}

/// An orderly verdict with what the context lets the listener set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderlyOutcome {
    /// The verdict.
    pub status: ConsumeOrderlyStatus,
    /// Java's `ConsumeOrderlyContext.suspendCurrentQueueTimeMillis`: how long the queue
    /// waits before a retry or a rollback is consumed; −1 (or any negative) keeps the
    /// consumer's setting.
    pub suspend_millis: i64,
    /// Java's `ConsumeOrderlyContext.autoCommit` as the listener left it.
    pub auto_commit: bool,
}

impl OrderlyOutcome {
    /// `status` with the context's defaults: the consumer's suspend time, auto commit.
    pub fn new(status: ConsumeOrderlyStatus) -> Self {
        OrderlyOutcome {
            status,
            suspend_millis: -1,
            auto_commit: true,
        }
    }
}

impl From<ConsumeOrderlyStatus> for OrderlyOutcome {
    fn from(status: ConsumeOrderlyStatus) -> Self {
        OrderlyOutcome::new(status)
    }
}

/// What an orderly listener learns besides the messages.
#[derive(Debug, Clone)]
pub struct ConsumeOrderlyContext {
    /// The queue every message of the batch comes from.
    pub queue: MessageQueue,
}

/// The future an orderly listener returns (see [`super::push::ConsumeFuture`]).
pub type OrderlyFuture = Pin<Box<dyn Future<Output = OrderlyOutcome> + Send + 'static>>;

/// Consumes each queue's messages one call at a time, in queue order; calls of different
/// queues run at once, up to `consume_thread_num`.
pub trait MessageListenerOrderly: Send + Sync + 'static {
    /// Consumes `messages`; the returned future says how it went.
    fn consume(
        &self,
        messages: Vec<Arc<MessageExt>>,
        context: ConsumeOrderlyContext,
    ) -> OrderlyFuture;
}

impl<F, Fut> MessageListenerOrderly for F
where
    F: Fn(Vec<Arc<MessageExt>>, ConsumeOrderlyContext) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: Into<OrderlyOutcome>,
{
    fn consume(
        &self,
        messages: Vec<Arc<MessageExt>>,
        context: ConsumeOrderlyContext,
    ) -> OrderlyFuture {
        let future = self(messages, context);
        Box::pin(async move { future.await.into() })
    }
}

/// The reconsume limit of an orderly consumer: a negative setting (Java's −1, "unset")
/// means unbounded, `i32::MAX` as Java's `getMaxReconsumeTimes`.
pub fn orderly_max_reconsume_times(configured: i32) -> i32 {
    if configured < 0 {
        i32::MAX
    } else {
        configured
    }
}

/// How long a queue waits before a retry: the context's value unless negative, else the
/// consumer's; clamped to 10 ms..30 s (Java's `submitConsumeRequestLater`).
pub fn suspend_delay(context_millis: i64, consumer: Duration) -> Duration {
    let millis = if context_millis < 0 {
        i64::try_from(consumer.as_millis()).unwrap_or(i64::MAX)
    } else {
        context_millis
    };
    Duration::from_millis(millis.clamp(SUSPEND_MIN_MILLIS, SUSPEND_MAX_MILLIS) as u64)
}

/// What to do with a taken batch after its verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Commit everything taken (the process queue's `commit`), then go on.
    Commit,
    /// Leave the batch taken (manual commit, SUCCESS) and go on.
    KeepTaken,
    /// Put everything taken back (`rollback`), wait `after`, go on.
    Rollback { after: Duration },
    /// Retry: `to_dlq` have reached the limit and go to the DLQ (done once sent),
    /// `again` are put back with their `reconsume_times` raised; wait `after` unless
    /// `again` is empty.
    Retry {
        to_dlq: Vec<Arc<MessageExt>>,
        again: Vec<Arc<MessageExt>>,
        after: Duration,
    },
}

/// Java's `processConsumeResult` for one verdict on `batch` (see the module doc's table).
pub fn plan(
    outcome: &OrderlyOutcome,
    batch: &[Arc<MessageExt>],
    max_reconsume_times: i32,
    consumer_suspend: Duration,
) -> Plan {
    let after = suspend_delay(outcome.suspend_millis, consumer_suspend);
    match (outcome.status, outcome.auto_commit) {
        (ConsumeOrderlyStatus::SuspendCurrentQueueAMoment, _) => {
            let (to_dlq, retry): (Vec<_>, Vec<_>) = batch
                .iter()
                .cloned()
                .partition(|m| m.reconsume_times >= max_reconsume_times);
            Plan::Retry {
                to_dlq,
                again: retry.iter().map(raised).collect(),
                after,
            }
        }
        (_, true) | (ConsumeOrderlyStatus::Commit, false) => Plan::Commit,
        (ConsumeOrderlyStatus::Success, false) => Plan::KeepTaken,
        (ConsumeOrderlyStatus::Rollback, false) => Plan::Rollback { after },
    }
}

/// A copy of `message` with one more delivery counted (Java raises it in place).
pub fn raised(message: &Arc<MessageExt>) -> Arc<MessageExt> {
    let mut again = MessageExt::clone(message);
    again.reconsume_times = again.reconsume_times.saturating_add(1);
    Arc::new(again)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consumer::process_queue::test_messages::message;
    use crate::consumer::process_queue::ProcessQueue;

    const SUSPEND: Duration = DEFAULT_SUSPEND_CURRENT_QUEUE_TIME;

    fn outcome(status: ConsumeOrderlyStatus, auto_commit: bool) -> OrderlyOutcome {
        OrderlyOutcome {
            status,
            suspend_millis: -1,
            auto_commit,
        }
    }

    fn offsets(messages: &[Arc<MessageExt>]) -> Vec<i64> {
        messages.iter().map(|m| m.queue_offset).collect()
    }

    fn queue_of(range: std::ops::Range<i64>) -> ProcessQueue {
        let pq = ProcessQueue::new(0);
        pq.put_messages(range.map(|o| message(o, 1)));
        pq
    }

    #[test]
    fn orderly_reconsume_limit_is_unbounded_unless_set() {
        assert_eq!(orderly_max_reconsume_times(-1), i32::MAX);
        assert_eq!(orderly_max_reconsume_times(0), 0);
        assert_eq!(orderly_max_reconsume_times(3), 3);
    }

    #[test]
    fn the_suspend_is_the_contexts_else_the_consumers_clamped() {
        assert_eq!(suspend_delay(-1, SUSPEND), SUSPEND);
        assert_eq!(suspend_delay(250, SUSPEND), Duration::from_millis(250));
        assert_eq!(suspend_delay(0, SUSPEND), Duration::from_millis(10));
        assert_eq!(suspend_delay(99_000, SUSPEND), Duration::from_secs(30));
        assert_eq!(
            suspend_delay(-1, Duration::from_secs(60)),
            Duration::from_secs(30)
        );
    }

    #[test]
    fn batches_are_taken_in_offset_order_and_success_commits_past_them() {
        let pq = queue_of(0..5);
        let batch = pq.take_messages(2, 0);
        assert_eq!(offsets(&batch), vec![0, 1]);
        let plan = plan(
            &outcome(ConsumeOrderlyStatus::Success, true),
            &batch,
            i32::MAX,
            SUSPEND,
        );
        assert_eq!(plan, Plan::Commit);
        assert_eq!(pq.commit(), Some(2));
        assert_eq!(offsets(&pq.take_messages(10, 0)), vec![2, 3, 4]);
    }

    #[test]
    fn auto_commit_treats_commit_and_rollback_as_success() {
        for status in [ConsumeOrderlyStatus::Commit, ConsumeOrderlyStatus::Rollback] {
            assert_eq!(
                plan(&outcome(status, true), &[], i32::MAX, SUSPEND),
                Plan::Commit
            );
        }
    }

    #[test]
    fn a_suspended_batch_comes_again_first_with_its_count_raised() {
        let pq = queue_of(0..4);
        let batch = pq.take_messages(2, 0);
        let Plan::Retry {
            to_dlq,
            again,
            after,
        } = plan(
            &outcome(ConsumeOrderlyStatus::SuspendCurrentQueueAMoment, true),
            &batch,
            i32::MAX,
            SUSPEND,
        )
        else {
            panic!("a suspend retries");
        };
        assert!(to_dlq.is_empty());
        assert_eq!(after, SUSPEND);
        assert!(again.iter().all(|m| m.reconsume_times == 1));
        pq.make_message_to_consume_again(again);
        let next = pq.take_messages(2, 0);
        assert_eq!(
            offsets(&next),
            vec![0, 1],
            "order kept: the same messages first"
        );
        assert!(next.iter().all(|m| m.reconsume_times == 1));
        assert_eq!(pq.message_count(), 4, "nothing left the queue");
    }

    #[test]
    fn past_the_limit_a_message_goes_to_the_dlq_and_the_rest_retry() {
        let mut at_limit = MessageExt::clone(&message(0, 1));
        at_limit.reconsume_times = 3;
        let batch = vec![Arc::new(at_limit), message(1, 1)];
        let Plan::Retry { to_dlq, again, .. } = plan(
            &outcome(ConsumeOrderlyStatus::SuspendCurrentQueueAMoment, true),
            &batch,
            3,
            SUSPEND,
        ) else {
            panic!("a suspend retries");
        };
        assert_eq!(offsets(&to_dlq), vec![0]);
        assert_eq!(offsets(&again), vec![1]);
    }

    #[test]
    fn manual_commit_keeps_success_taken_until_commit() {
        let pq = queue_of(0..4);
        let first = pq.take_messages(1, 0);
        assert_eq!(
            plan(
                &outcome(ConsumeOrderlyStatus::Success, false),
                &first,
                i32::MAX,
                SUSPEND
            ),
            Plan::KeepTaken
        );
        let second = pq.take_messages(1, 0);
        assert_eq!(offsets(&second), vec![1]);
        assert_eq!(
            plan(
                &outcome(ConsumeOrderlyStatus::Commit, false),
                &second,
                i32::MAX,
                SUSPEND
            ),
            Plan::Commit
        );
        assert_eq!(pq.commit(), Some(2), "both batches commit together");
        assert_eq!(pq.message_count(), 2);
    }

    #[test]
    fn manual_rollback_puts_everything_since_the_last_commit_back() {
        let pq = queue_of(0..4);
        pq.take_messages(1, 0);
        pq.take_messages(1, 0);
        let plan = plan(
            &OrderlyOutcome {
                status: ConsumeOrderlyStatus::Rollback,
                suspend_millis: 50,
                auto_commit: false,
            },
            &[],
            i32::MAX,
            SUSPEND,
        );
        assert_eq!(
            plan,
            Plan::Rollback {
                after: Duration::from_millis(50)
            }
        );
        pq.rollback();
        assert_eq!(offsets(&pq.take_messages(10, 0)), vec![0, 1, 2, 3]);
    }
}
