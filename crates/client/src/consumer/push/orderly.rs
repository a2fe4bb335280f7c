//! The push consumer's orderly mode (Java's `ConsumeMessageOrderlyService` and the orderly
//! parts of `RebalanceImpl`): what the engine does when it was made with a
//! [`MessageListenerOrderly`] ([`PushConsumer::new_orderly`]). The verdict rules are in
//! [`crate::consumer::orderly`], the lock requests in [`crate::consumer::lock`].
//!
//! - One consume task per queue at most: a pull that adds messages to a queue with no task
//!   starts one ([`ProcessQueue::put_messages`] says when). The task takes the smallest
//!   offsets held, calls the listener, applies the verdict, and goes on until the queue is
//!   empty; so one call per queue at a time, in offset order. Calls of different queues
//!   share the consume permits (`consume_thread_num`) as concurrent calls do.
//! - Clustering: a queue is locked on its broker (LOCK_BATCH_MQ) before it is added, and
//!   its start offset is read only then, so it includes what the previous owner persisted
//!   before unlocking. Every held queue is locked again every [`RELOCK_INTERVAL`]; a queue
//!   whose lock is not held, or older than 30 s, is neither pulled nor consumed until a
//!   lock succeeds again. A queue dropped by a rebalance waits for its listener call (the
//!   slot's gate), its offset is persisted, then it is unlocked (oneway, as Java); at
//!   shutdown every held queue is unlocked after the offsets are persisted, waiting for
//!   the answers. A call still running when the drop's wait ends keeps its queue locked
//!   until it ends (at most [`UNLOCK_AFTER_CALL_WAIT`]), so the next owner cannot begin
//!   while it runs.
//! - Broadcasting: no broker locks (every member holds every queue); order per queue as above.
//! - No consume timeout: Java's orderly service cancels nothing either, and starting the
//!   same messages again while a call still runs would break the order this mode exists for.
//!
//! [`PushConsumer::new_orderly`]: super::PushConsumer::new_orderly

use std::collections::BTreeSet;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use log::{debug, info, warn};
use rocketmq_remoting::body::{ConsumeMessageDirectlyResult, ConsumeResult, MessageQueue};
use rocketmq_remoting::message::MessageExt;

use super::{lock, now_ms, Engine, Event};
use crate::consumer::lock::{
    apply_lock_answer, by_broker, lock_batch, master_addr, unlock_batch, LOCK_REQUEST_TIMEOUT,
    RELOCK_INTERVAL,
};
use crate::consumer::orderly::{
    self as rules, ConsumeOrderlyContext, ConsumeOrderlyStatus, MessageListenerOrderly,
    OrderlyFuture, OrderlyOutcome, Plan, MAX_TIME_CONSUME_CONTINUOUSLY,
};
use crate::consumer::queue_slot::QueueSlot;
use crate::consumer::send_back::send_back_with;

/// A queue whose lock is lost waits this long before it tries again (Java's
/// `tryLockLaterAndReconsume` and the pull's `PULL_TIME_DELAY_MILLS_WHEN_EXCEPTION`).
pub const NOT_LOCKED_DELAY: Duration = Duration::from_secs(3);
/// How long a dropped queue whose listener call still runs stays locked at most, waiting
/// for that call: past the broker's own lock life (60 s) unlocking no longer matters.
pub const UNLOCK_AFTER_CALL_WAIT: Duration = Duration::from_secs(60);
/// CONSUMER_SEND_MSG_BACK's delay level that sends a message straight to `%DLQ%<group>`.
const DLQ_DELAY_LEVEL: i32 = -1;

/// The concurrent listener of an orderly consumer, which the engine never calls: pulled
/// messages and CONSUME_MESSAGE_DIRECTLY ([`consume_directly`]) go to the orderly listener.
pub(super) struct OrderlyOnly;

impl super::MessageListenerConcurrently for OrderlyOnly {
    fn consume(
        &self,
        _messages: Vec<Arc<MessageExt>>,
        _context: super::ConsumeContext,
    ) -> super::ConsumeFuture {
        Box::pin(async { super::ConsumeConcurrentlyStatus::ReconsumeLater.into() })
    }
}

/// CONSUME_MESSAGE_DIRECTLY (an admin tool asking this client to consume one message) for an
/// orderly consumer, as Java's `ConsumeMessageOrderlyService.consumeMessageDirectly`: the
/// listener's verdict as is (COMMIT and ROLLBACK too), with the context's autoCommit; nothing
/// is committed. Runs on a blocking-pool thread (see the processor's docs).
pub(super) fn consume_directly(
    listener: &dyn MessageListenerOrderly,
    message: MessageExt,
    started_ms: i64,
) -> ConsumeMessageDirectlyResult {
    let queue = MessageQueue::new(
        message.topic.clone(),
        message.broker_name.clone(),
        message.queue_id,
    );
    let call = std::panic::catch_unwind(AssertUnwindSafe(|| {
        listener.consume(vec![Arc::new(message)], ConsumeOrderlyContext { queue })
    }));
    let outcome = match (call, tokio::runtime::Handle::try_current()) {
        (Ok(call), Ok(handle)) => handle
            .block_on(handle.spawn(call))
            .map_err(|err| err.to_string()),
        (Err(_), _) => Err("the listener panicked".to_owned()),
        (_, Err(err)) => Err(err.to_string()),
    };
    let (consume_result, auto_commit, remark) = match outcome {
        Ok(outcome) => (
            match outcome.status {
                ConsumeOrderlyStatus::Success => ConsumeResult::CrSuccess,
                ConsumeOrderlyStatus::Commit => ConsumeResult::CrCommit,
                ConsumeOrderlyStatus::Rollback => ConsumeResult::CrRollback,
                ConsumeOrderlyStatus::SuspendCurrentQueueAMoment => ConsumeResult::CrLater,
            },
            outcome.auto_commit,
            None,
        ),
        Err(err) => (ConsumeResult::CrThrowException, true, Some(err)),
    };
    ConsumeMessageDirectlyResult {
        order: true,
        auto_commit,
        consume_result,
        remark,
        spent_time_mills: now_ms() - started_ms,
    }
}

/// An orderly call's future whose panic becomes `None` (the listener runs inside `poll`).
struct CatchUnwind(OrderlyFuture);

impl Future for CatchUnwind {
    type Output = Option<OrderlyOutcome>;

    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        match std::panic::catch_unwind(AssertUnwindSafe(|| self.0.as_mut().poll(cx))) {
            Ok(poll) => poll.map(Some),
            Err(_) => std::task::Poll::Ready(None),
        }
    }
}

impl Engine {
    /// Whether this engine consumes orderly.
    pub(super) fn is_orderly(&self) -> bool {
        self.orderly.is_some()
    }

    /// Whether queues are locked on their brokers: orderly and clustering.
    pub(super) fn locks_queues(&self) -> bool {
        self.is_orderly() && !self.config.broadcasting()
    }

    /// LOCK_BATCH_MQ of `queues`, one request per broker; the queues locked now. A broker
    /// that cannot be reached locks none of its queues.
    async fn lock_queues(&self, queues: &[MessageQueue]) -> BTreeSet<MessageQueue> {
        let mut locked = BTreeSet::new();
        let brokers = self.instance.routes().brokers();
        for (broker, queues) in by_broker(queues) {
            let Some(addr) = master_addr(&brokers, &broker) else {
                debug!(
                    "consumer {}: no master of {broker} to lock {} queue(s)",
                    self.group(),
                    queues.len()
                );
                continue;
            };
            match lock_batch(
                self.instance.remoting(),
                &addr,
                self.group(),
                self.instance.client_id(),
                &queues,
                LOCK_REQUEST_TIMEOUT,
            )
            .await
            {
                Ok(ok) => locked.extend(ok),
                Err(err) => warn!(
                    "consumer {}: locking {} queue(s) of {broker} failed: {err}",
                    self.group(),
                    queues.len()
                ),
            }
        }
        locked
    }

    /// Locks one queue; the time of the lock when it was granted.
    async fn lock_one(&self, mq: &MessageQueue) -> Option<i64> {
        let locked = self.lock_queues(std::slice::from_ref(mq)).await;
        locked.contains(mq).then(now_ms)
    }

    /// Locks a queue about to be added; the time of the lock when it was granted.
    pub(super) async fn lock_new_queue(&self, mq: &MessageQueue) -> Option<i64> {
        let at = self.lock_one(mq).await;
        if at.is_none() {
            info!(
                "consumer {}: {mq} is locked by another member; not added this round",
                self.group()
            );
        }
        at
    }

    /// Locks every held queue, and records the answers (Java's `lockAll`).
    async fn relock_held(&self) {
        let held: Vec<(MessageQueue, Arc<QueueSlot>)> = lock(&self.queues)
            .iter()
            .map(|(mq, slot)| (mq.clone(), Arc::clone(slot)))
            .collect();
        if held.is_empty() {
            return;
        }
        let asked: Vec<MessageQueue> = held.iter().map(|(mq, _)| mq.clone()).collect();
        let locked = self.lock_queues(&asked).await;
        let now = now_ms();
        apply_lock_answer(
            &asked,
            &locked,
            |mq| {
                held.iter()
                    .find(|(held, _)| held == mq)
                    .map(|(_, slot)| slot.pq().as_ref())
            },
            now,
        );
        for (mq, _) in held.iter().filter(|(mq, _)| !locked.contains(mq)) {
            warn!(
                "consumer {}: the lock of {mq} was not renewed; it is not consumed until a lock succeeds",
                self.group()
            );
        }
    }

    /// Renews the held queues' locks every [`RELOCK_INTERVAL`] (nothing to do unless
    /// orderly clustering).
    pub(super) async fn relock_loop(self: Arc<Self>) {
        if !self.locks_queues() {
            return;
        }
        while self.pause(RELOCK_INTERVAL).await {
            self.relock_held().await;
        }
    }

    /// UNLOCK_BATCH_MQ of `queues`, one request per broker; failures are logged (the
    /// broker's lock then expires on its own).
    async fn unlock_queues(&self, queues: &[MessageQueue], oneway: bool) {
        let brokers = self.instance.routes().brokers();
        for (broker, queues) in by_broker(queues) {
            let Some(addr) = master_addr(&brokers, &broker) else {
                continue;
            };
            match unlock_batch(
                self.instance.remoting(),
                &addr,
                self.group(),
                self.instance.client_id(),
                &queues,
                oneway,
            )
            .await
            {
                Ok(()) => info!(
                    "consumer {}: unlocked {} queue(s) of {broker}",
                    self.group(),
                    queues.len()
                ),
                Err(err) => warn!(
                    "consumer {}: unlocking {} queue(s) of {broker} failed: {err}",
                    self.group(),
                    queues.len()
                ),
            }
        }
    }

    /// Unlocks queues a rebalance dropped (their offsets already persisted), each once its
    /// listener call ended (bounded by [`UNLOCK_AFTER_CALL_WAIT`]). In a task of its own,
    /// so a slow call holds back no rebalance.
    pub(super) fn unlock_dropped(self: &Arc<Self>, dropped: &[(MessageQueue, Arc<QueueSlot>)]) {
        if !self.locks_queues() || dropped.is_empty() {
            return;
        }
        let engine = Arc::clone(self);
        let dropped = dropped.to_vec();
        tokio::spawn(async move {
            for (mq, slot) in &dropped {
                if tokio::time::timeout(UNLOCK_AFTER_CALL_WAIT, slot.drained())
                    .await
                    .is_err()
                {
                    warn!(
                        "consumer {}: a listener call on dropped {mq} still runs after {:?}; unlocking it anyway",
                        engine.group(),
                        UNLOCK_AFTER_CALL_WAIT
                    );
                }
            }
            let queues: Vec<MessageQueue> = dropped.into_iter().map(|(mq, _)| mq).collect();
            engine.unlock_queues(&queues, true).await;
        });
    }

    /// Unlocks `held` at shutdown (offsets already persisted), waiting for the answers.
    pub(super) async fn unlock_at_shutdown(&self, held: &BTreeSet<MessageQueue>) {
        if !self.locks_queues() || held.is_empty() {
            return;
        }
        let queues: Vec<MessageQueue> = held.iter().cloned().collect();
        self.unlock_queues(&queues, false).await;
    }

    /// Whether a held queue may be pulled now: always unless it must be locked and is not.
    pub(super) fn may_pull(&self, slot: &QueueSlot) -> bool {
        !self.locks_queues() || slot.pq().is_locked(now_ms())
    }

    /// Adds pulled messages to an orderly queue and starts its consume task unless one runs.
    pub(super) fn put_orderly(
        self: &Arc<Self>,
        mq: &MessageQueue,
        slot: &Arc<QueueSlot>,
        messages: Vec<MessageExt>,
    ) {
        let group = self.group();
        let messages = messages
            .into_iter()
            .map(|m| Arc::new(super::restore_retry_topic(group, m)));
        if slot.pq().put_messages(messages) {
            tokio::spawn(Arc::clone(self).consume_orderly(mq.clone(), Arc::clone(slot)));
        }
    }

    /// The queue's consume task; see the module doc. Ends when the queue has nothing left
    /// (the next pull starts another), is dropped, or the consumer stops.
    async fn consume_orderly(self: Arc<Self>, mq: MessageQueue, slot: Arc<QueueSlot>) {
        let pq = Arc::clone(slot.pq());
        let batch_size = self.config.consume_message_batch_max_size;
        let max_reconsume = rules::orderly_max_reconsume_times(self.config.max_reconsume_times);
        let mut turn_began = Instant::now();
        loop {
            if pq.is_dropped() || self.stopped() {
                return;
            }
            // A busy queue gives the other tasks of the runtime a turn now and then (Java
            // resubmits its request after `maxTimeConsumeContinuously`).
            if turn_began.elapsed() > MAX_TIME_CONSUME_CONTINUOUSLY {
                tokio::task::yield_now().await;
                turn_began = Instant::now();
            }
            if self.locks_queues() && !pq.is_locked(now_ms()) {
                match self.lock_one(&mq).await {
                    Some(at) => pq.set_locked(true, at),
                    None => {
                        warn!(
                            "consumer {}: the lock of {mq} is lost or expired; consuming it again once a lock succeeds",
                            self.group()
                        );
                        pq.set_locked(false, now_ms());
                        if !self.pause(NOT_LOCKED_DELAY).await {
                            return;
                        }
                        continue;
                    }
                }
            }
            let Ok(permit) = self.consume_permits.acquire().await else {
                return;
            };
            if self.stopped() {
                return;
            }
            let Some(pass) = slot.enter() else {
                return;
            };
            let batch = pq.take_messages(batch_size, now_ms());
            if batch.is_empty() {
                return;
            }
            let started = Instant::now();
            let traced = self.trace_before(&batch);
            let outcome = self.orderly_verdict(&mq, batch.clone()).await;
            let count = batch.len() as u64;
            let failed = outcome.status == ConsumeOrderlyStatus::SuspendCurrentQueueAMoment;
            let took = started.elapsed();
            self.counters.listener_latency.record(took);
            self.trace_after(traced, &batch, took, !failed);
            if let Some(status) = self.topic_status(&mq.topic) {
                let (ok, bad) = if failed {
                    (0, batch.len())
                } else {
                    (batch.len(), 0)
                };
                status.consumed(took, ok, bad);
            }
            self.counters.add(
                if failed {
                    Event::ConsumedFailed
                } else {
                    Event::ConsumedOk
                },
                count,
            );
            let plan = rules::plan(
                &outcome,
                &batch,
                max_reconsume,
                self.config.suspend_current_queue_time,
            );
            let wait = match plan {
                Plan::Commit => {
                    self.commit_taken(&mq, &slot);
                    None
                }
                Plan::KeepTaken => None,
                Plan::Rollback { after } => {
                    pq.rollback();
                    Some(after)
                }
                Plan::Retry {
                    to_dlq,
                    mut again,
                    after,
                } => {
                    for message in to_dlq {
                        if self.stopped() || slot.is_closed() {
                            // Left for the next owner (or start) instead.
                            again.push(rules::raised(&message));
                            continue;
                        }
                        match send_back_with(
                            &self.instance,
                            self.group(),
                            &message,
                            DLQ_DELAY_LEVEL,
                            &self.config.send_back_options(),
                        )
                        .await
                        {
                            Ok(_) => {
                                self.counters.add(Event::SentBack, 1);
                                warn!(
                                    "consumer {}: {mq}@{} failed {} times; moved to the dead-letter queue",
                                    self.group(),
                                    message.queue_offset,
                                    message.reconsume_times + 1
                                );
                            }
                            Err(err) => {
                                warn!(
                                    "consumer {}: moving {mq}@{} to the dead-letter queue failed, consuming it again: {err}",
                                    self.group(),
                                    message.queue_offset
                                );
                                again.push(rules::raised(&message));
                            }
                        }
                    }
                    if again.is_empty() {
                        if outcome.auto_commit {
                            self.commit_taken(&mq, &slot);
                        }
                        None
                    } else {
                        self.counters
                            .add(Event::ConsumedAgainLocally, again.len() as u64);
                        pq.make_message_to_consume_again(again);
                        Some(after)
                    }
                }
            };
            drop(pass);
            drop(permit);
            if let Some(after) = wait {
                if !self.pause(after).await {
                    return;
                }
            }
        }
    }

    /// Commits what the queue's task took (Java sets the offset, not only upward: a
    /// rollback may have gone back).
    fn commit_taken(&self, mq: &MessageQueue, slot: &QueueSlot) {
        if let Some(offset) = slot.pq().commit() {
            slot.commit(|| self.store.update_offset(mq, offset, false));
        }
    }

    /// The orderly listener's verdict on `messages`; a panic counts as
    /// SUSPEND_CURRENT_QUEUE_A_MOMENT, as Java's exception does.
    async fn orderly_verdict(
        &self,
        mq: &MessageQueue,
        messages: Vec<Arc<MessageExt>>,
    ) -> OrderlyOutcome {
        let Some(listener) = &self.orderly else {
            return ConsumeOrderlyStatus::SuspendCurrentQueueAMoment.into();
        };
        let context = ConsumeOrderlyContext { queue: mq.clone() };
        let call =
            std::panic::catch_unwind(AssertUnwindSafe(|| listener.consume(messages, context)));
        let outcome = match call {
            Ok(call) => CatchUnwind(call).await,
            Err(_) => None,
        };
        outcome.unwrap_or_else(|| {
            warn!(
                "consumer {}: the orderly listener panicked on {mq}; suspending the queue a moment",
                self.group()
            );
            ConsumeOrderlyStatus::SuspendCurrentQueueAMoment.into()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consumer::process_queue::test_messages::message;

    fn directly(status: ConsumeOrderlyStatus, auto_commit: bool) -> ConsumeMessageDirectlyResult {
        let listener = move |_: Vec<Arc<MessageExt>>, _: ConsumeOrderlyContext| async move {
            OrderlyOutcome {
                status,
                suspend_millis: -1,
                auto_commit,
            }
        };
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let _entered = runtime.enter();
        consume_directly(&listener, MessageExt::clone(&message(3, 1)), now_ms())
    }

    #[test]
    fn an_admin_consume_gets_the_orderly_verdict_as_is() {
        let result = directly(ConsumeOrderlyStatus::Commit, false);
        assert!(result.order);
        assert!(!result.auto_commit);
        assert_eq!(result.consume_result, ConsumeResult::CrCommit);
        let result = directly(ConsumeOrderlyStatus::SuspendCurrentQueueAMoment, true);
        assert_eq!(result.consume_result, ConsumeResult::CrLater);
        assert!(result.auto_commit);
        assert_eq!(
            directly(ConsumeOrderlyStatus::Rollback, false).consume_result,
            ConsumeResult::CrRollback
        );
        assert_eq!(
            directly(ConsumeOrderlyStatus::Success, true).consume_result,
            ConsumeResult::CrSuccess
        );
    }
}
