//! The messages pulled for one message queue and not yet consumed (Java's `ProcessQueue`).
//!
//! Messages are kept sorted by queue offset, so the offset that is safe to commit is the
//! smallest one still held: a message that is slow to consume holds back the commit of its
//! whole queue (that is why the pull loop also bounds the span). Counters of messages and
//! body bytes drive the pull thresholds per queue and per topic.
//!
//! Orderly consumption takes messages out into a "consuming" map ([`take_messages`]) and then
//! either commits them or puts them back ([`commit`], [`rollback`],
//! [`make_message_to_consume_again`]); the counters include both maps until a commit.
//!
//! Sharing: one queue is written by its pull task (put), by up to `consumeThreadNum` consume
//! tasks at once (remove), by rebalance (drop, lock state) and read by the running-info
//! answer. So the state sits behind one `std::sync::Mutex` rather than being owned by one
//! task: every operation is a short, synchronous map update that never awaits while holding
//! the lock, callers need its answer at once (the committed offset, whether to pull), and a
//! task owning the state would turn each of those into a channel round trip. `dropped` is an
//! atomic besides, because the pull loop and every consume task check it on their hot path.
//!
//! No clock is read here: times are passed in (milliseconds since the epoch), which keeps the
//! type deterministic under test.
//!
//! [`take_messages`]: ProcessQueue::take_messages
//! [`commit`]: ProcessQueue::commit
//! [`rollback`]: ProcessQueue::rollback
//! [`make_message_to_consume_again`]: ProcessQueue::make_message_to_consume_again

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use rocketmq_remoting::body::ProcessQueueInfo;
use rocketmq_remoting::message::properties::keys;
use rocketmq_remoting::message::MessageExt;
use tokio::sync::futures::Notified;
use tokio::sync::Notify;

/// A queue not pulled for this long is considered stuck by rebalance (Java
/// `rocketmq.client.pull.pullMaxIdleTime`, 120 s).
pub const PULL_MAX_IDLE_MILLIS: i64 = 120_000;

/// A queue lock not renewed for this long is no longer trusted by orderly consumption (Java
/// `rocketmq.client.rebalance.lockMaxLiveTime`, 30 s).
pub const REBALANCE_LOCK_MAX_LIVE_MILLIS: i64 = 30_000;

/// The messages held for one message queue. See the module doc.
#[derive(Debug)]
pub struct ProcessQueue {
    state: Mutex<State>,
    dropped: AtomicBool,
    /// Woken when messages leave and the queue is back within the limits its waiting pull
    /// loop gave (`State::flow_wait`).
    space_freed: Notify,
}

/// The flow-control limits a waiting pull loop needs the queue back within (see
/// [`ProcessQueue::space_freed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowLimits {
    pub messages: u64,
    pub bytes: u64,
    pub max_span: i64,
}

#[derive(Debug)]
struct State {
    /// Pulled, not yet consumed (nor taken by an orderly consumer).
    messages: BTreeMap<i64, Arc<MessageExt>>,
    /// Taken by an orderly consumer, not yet committed.
    consuming: BTreeMap<i64, Arc<MessageExt>>,
    /// Messages in both maps.
    count: u64,
    /// Body bytes of the messages in both maps.
    size: u64,
    /// Largest offset ever put (Java `queueOffsetMax`); the commit point once all is consumed.
    max_offset: i64,
    /// Whether an orderly consume task is scheduled for this queue (Java `consuming`).
    dispatched: bool,
    /// Messages on the broker after the last one pulled (Java `msgAccCnt`).
    acc_count: i64,
    last_pull_ms: i64,
    last_consume_ms: i64,
    locked: bool,
    last_lock_ms: i64,
    try_unlock_times: i64,
    /// The limits the pull loop waits to get under, while it waits.
    flow_wait: Option<FlowLimits>,
}

impl State {
    /// Largest minus smallest offset waiting (0 when none).
    fn span(&self) -> i64 {
        match (
            self.messages.keys().next(),
            self.messages.keys().next_back(),
        ) {
            (Some(first), Some(last)) => last - first,
            _ => 0,
        }
    }

    /// After messages left: whether a waiting pull loop may go on, which ends its wait.
    /// Checked under the lock the removal held, so the loop wakes once, when it can pull,
    /// not at every message a slow listener finishes.
    fn flow_wait_ends(&mut self) -> bool {
        let Some(limits) = self.flow_wait else {
            return false;
        };
        let within = self.count <= limits.messages
            && self.size <= limits.bytes
            && self.span() <= limits.max_span;
        if within {
            self.flow_wait = None;
        }
        within
    }
}

fn body_size(message: &MessageExt) -> u64 {
    message.body.len() as u64
}

impl ProcessQueue {
    /// An empty queue; its pull, consume and lock times start at `now_ms`, as Java's do.
    pub fn new(now_ms: i64) -> Self {
        Self {
            state: Mutex::new(State {
                messages: BTreeMap::new(),
                consuming: BTreeMap::new(),
                count: 0,
                size: 0,
                max_offset: 0,
                dispatched: false,
                acc_count: 0,
                last_pull_ms: now_ms,
                last_consume_ms: now_ms,
                locked: false,
                last_lock_ms: now_ms,
                try_unlock_times: 0,
                flow_wait: None,
            }),
            dropped: AtomicBool::new(false),
            space_freed: Notify::new(),
        }
    }

    /// For the pull loop under flow control: completes when messages leave (consumed,
    /// committed or cleared) and the queue is back within `limits`. Enable it, then check
    /// the limits again before awaiting it, so a removal in between is not missed; call
    /// [`stop_waiting`](Self::stop_waiting) when done.
    pub fn space_freed(&self, limits: FlowLimits) -> Notified<'_> {
        self.state().flow_wait = Some(limits);
        self.space_freed.notified()
    }

    /// The pull loop no longer waits on [`space_freed`](Self::space_freed).
    pub fn stop_waiting(&self) {
        self.state().flow_wait = None;
    }

    /// The state, even after a panic elsewhere poisoned the lock: every update leaves the
    /// maps and counters consistent before it could panic, and a consumer must keep going.
    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds the messages of one pull. A message whose offset is already held replaces the
    /// held one but counts once (Java keeps the newer object too). Returns true when an
    /// orderly consume task should be scheduled: messages are waiting and none is
    /// scheduled yet. Concurrent consumption dispatches every pull and ignores it.
    ///
    /// The broker's backlog behind this pull is read from the `MAX_OFFSET` property of the
    /// last message (the pull loop copies it from the response header).
    pub fn put_messages(&self, messages: impl IntoIterator<Item = Arc<MessageExt>>) -> bool {
        let mut state = self.state();
        let mut last = None;
        for message in messages {
            let offset = message.queue_offset;
            let size = body_size(&message);
            last = Some(Arc::clone(&message));
            if state.messages.insert(offset, message).is_none() {
                state.count += 1;
                state.size += size;
                // Java records the last inserted offset; pulls only move forward, so that
                // is the largest, and taking the max keeps it so even if one did not.
                state.max_offset = state.max_offset.max(offset);
            }
        }
        if let Some(last) = last {
            let backlog = last
                .property(keys::MAX_OFFSET)
                .and_then(|max| max.parse::<i64>().ok())
                .map(|max| max - last.queue_offset);
            if let Some(backlog) = backlog.filter(|b| *b > 0) {
                state.acc_count = backlog;
            }
        }
        let dispatch = !state.messages.is_empty() && !state.dispatched;
        if dispatch {
            state.dispatched = true;
        }
        dispatch
    }

    /// Removes consumed messages by offset and returns the offset that is now safe to
    /// commit: the smallest offset still held, or the largest offset ever put + 1 when
    /// nothing is left. `None` (Java's −1) when the queue held nothing at the call, in which
    /// case there is nothing to commit. Offsets not held are ignored. Records `now_ms` as
    /// the last consume time.
    pub fn remove_messages(&self, offsets: &[i64], now_ms: i64) -> Option<i64> {
        let commit = {
            let mut state = self.state();
            state.last_consume_ms = now_ms;
            if state.messages.is_empty() {
                return None;
            }
            for offset in offsets {
                if let Some(message) = state.messages.remove(offset) {
                    state.count = state.count.saturating_sub(1);
                    state.size = state.size.saturating_sub(body_size(&message));
                }
            }
            if state.count == 0 {
                state.size = 0;
            }
            let commit = match state.messages.keys().next() {
                Some(first) => *first,
                None => state.max_offset + 1,
            };
            (commit, state.flow_wait_ends())
        };
        let (commit, wake) = commit;
        if wake {
            self.space_freed.notify_waiters();
        }
        Some(commit)
    }

    /// Largest minus smallest offset held (0 when empty), compared with
    /// `consumeConcurrentlyMaxSpan` before each pull.
    pub fn max_span(&self) -> i64 {
        self.state().span()
    }

    /// Messages held, including those an orderly consumer has taken but not committed.
    pub fn message_count(&self) -> u64 {
        self.state().count
    }

    /// Body bytes of the messages counted by [`message_count`](Self::message_count).
    pub fn message_size(&self) -> u64 {
        self.state().size
    }

    /// Whether a message with this offset is waiting (not taken by an orderly consumer).
    pub fn contains(&self, offset: i64) -> bool {
        self.state().messages.contains_key(&offset)
    }

    /// Whether any message is waiting (Java `hasTempMessage`).
    pub fn has_waiting_messages(&self) -> bool {
        !self.state().messages.is_empty()
    }

    /// Messages on the broker after the last one pulled, as of the last pull.
    pub fn acc_count(&self) -> i64 {
        self.state().acc_count
    }

    /// Whether rebalance has taken this queue away; pull and consume tasks then stop.
    pub fn is_dropped(&self) -> bool {
        self.dropped.load(Ordering::Acquire)
    }

    /// Marks the queue taken away (or, with false, back in use).
    pub fn set_dropped(&self, dropped: bool) {
        self.dropped.store(dropped, Ordering::Release);
    }

    /// Records a pull, for [`is_pull_expired`](Self::is_pull_expired).
    pub fn set_last_pull(&self, now_ms: i64) {
        self.state().last_pull_ms = now_ms;
    }

    /// Time of the last pull.
    pub fn last_pull(&self) -> i64 {
        self.state().last_pull_ms
    }

    /// Time of the last removal or take.
    pub fn last_consume(&self) -> i64 {
        self.state().last_consume_ms
    }

    /// Whether the last pull is more than [`PULL_MAX_IDLE_MILLIS`] old, which makes
    /// rebalance drop the queue so that it restarts.
    pub fn is_pull_expired(&self, now_ms: i64) -> bool {
        now_ms - self.state().last_pull_ms > PULL_MAX_IDLE_MILLIS
    }

    /// The oldest waiting message if its consumption started more than `timeout_ms` ago
    /// (its `CONSUME_START_TIME` property), for the expired-message sweep of concurrent
    /// consumption: the caller sends it back and removes it, which unblocks the offset.
    pub fn first_expired(&self, now_ms: i64, timeout_ms: i64) -> Option<Arc<MessageExt>> {
        let state = self.state();
        let first = state.messages.values().next()?;
        let started: i64 = first.property(keys::CONSUME_START_TIME)?.parse().ok()?;
        (now_ms - started > timeout_ms).then(|| Arc::clone(first))
    }

    /// Orderly: moves up to `batch_size` of the smallest offsets into the consuming map and
    /// returns them. An empty result clears the dispatched mark, so that the next pull
    /// schedules a consume task again. Records `now_ms` as the last consume time.
    pub fn take_messages(&self, batch_size: usize, now_ms: i64) -> Vec<Arc<MessageExt>> {
        let mut state = self.state();
        state.last_consume_ms = now_ms;
        let mut taken = Vec::with_capacity(batch_size.min(state.messages.len()));
        while taken.len() < batch_size {
            let Some((offset, message)) = state.messages.pop_first() else {
                break;
            };
            state.consuming.insert(offset, Arc::clone(&message));
            taken.push(message);
        }
        if taken.is_empty() {
            state.dispatched = false;
        }
        taken
    }

    /// Orderly: the taken messages are consumed. Drops them and returns the offset to commit
    /// (the largest taken + 1), or `None` when nothing was taken.
    pub fn commit(&self) -> Option<i64> {
        let last = {
            let mut state = self.state();
            let last = *state.consuming.keys().next_back()?;
            let consuming = std::mem::take(&mut state.consuming);
            state.count = state.count.saturating_sub(consuming.len() as u64);
            if state.count == 0 {
                state.size = 0;
            } else {
                let bytes: u64 = consuming.values().map(|m| body_size(m)).sum();
                state.size = state.size.saturating_sub(bytes);
            }
            (last, state.flow_wait_ends())
        };
        let (last, wake) = last;
        if wake {
            self.space_freed.notify_waiters();
        }
        Some(last + 1)
    }

    /// Orderly: puts every taken message back to be consumed again.
    pub fn rollback(&self) {
        let mut state = self.state();
        let consuming = std::mem::take(&mut state.consuming);
        state.messages.extend(consuming);
    }

    /// Orderly: puts these taken messages back (the caller may pass updated copies, e.g.
    /// with a higher reconsume count). The counters already include them.
    pub fn make_message_to_consume_again(
        &self,
        messages: impl IntoIterator<Item = Arc<MessageExt>>,
    ) {
        let mut state = self.state();
        for message in messages {
            state.consuming.remove(&message.queue_offset);
            state.messages.insert(message.queue_offset, message);
        }
    }

    /// Forgets every message (the queue is being dropped or its offset reset).
    pub fn clear(&self) {
        let wake = {
            let mut state = self.state();
            state.messages.clear();
            state.consuming.clear();
            state.count = 0;
            state.size = 0;
            state.max_offset = 0;
            state.flow_wait_ends()
        };
        if wake {
            self.space_freed.notify_waiters();
        }
    }

    /// Records the lock state from LOCK_BATCH_MQ; `now_ms` is the lock time when locked.
    pub fn set_locked(&self, locked: bool, now_ms: i64) {
        let mut state = self.state();
        state.locked = locked;
        if locked {
            state.last_lock_ms = now_ms;
        }
    }

    /// Whether the broker lock is held and younger than [`REBALANCE_LOCK_MAX_LIVE_MILLIS`].
    pub fn is_locked(&self, now_ms: i64) -> bool {
        let state = self.state();
        state.locked && now_ms - state.last_lock_ms <= REBALANCE_LOCK_MAX_LIVE_MILLIS
    }

    /// Counts a failed attempt to unlock the queue while messages were still consuming.
    pub fn inc_try_unlock_times(&self) {
        self.state().try_unlock_times += 1;
    }

    /// The queue's line in the GET_CONSUMER_RUNNING_INFO answer, as Java's
    /// `fillProcessQueueInfo`; `commit_offset` comes from the offset store.
    pub fn info(&self, commit_offset: i64) -> ProcessQueueInfo {
        let state = self.state();
        let mut info = ProcessQueueInfo {
            commit_offset,
            cached_msg_size_in_mib: i32::try_from(state.size / (1024 * 1024)).unwrap_or(i32::MAX),
            locked: state.locked,
            try_unlock_times: state.try_unlock_times,
            last_lock_timestamp: state.last_lock_ms,
            dropped: self.is_dropped(),
            last_pull_timestamp: state.last_pull_ms,
            last_consume_timestamp: state.last_consume_ms,
            ..ProcessQueueInfo::default()
        };
        if let (Some(first), Some(last)) = (
            state.messages.keys().next(),
            state.messages.keys().next_back(),
        ) {
            info.cached_msg_min_offset = *first;
            info.cached_msg_max_offset = *last;
            info.cached_msg_count = i32::try_from(state.messages.len()).unwrap_or(i32::MAX);
        }
        if let (Some(first), Some(last)) = (
            state.consuming.keys().next(),
            state.consuming.keys().next_back(),
        ) {
            info.transaction_msg_min_offset = *first;
            info.transaction_msg_max_offset = *last;
            info.transaction_msg_count = i32::try_from(state.consuming.len()).unwrap_or(i32::MAX);
        }
        info
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const _: fn() = || {
        fn shared_between_tasks<T: Send + Sync>() {}
        shared_between_tasks::<ProcessQueue>();
    };
    use super::test_messages::{message, message_with};
    use rocketmq_remoting::message::Properties;

    const NOW: i64 = 1_764_000_000_000;

    fn queue_with(offsets: impl IntoIterator<Item = i64>) -> ProcessQueue {
        let queue = ProcessQueue::new(NOW);
        queue.put_messages(offsets.into_iter().map(|o| message(o, 10)));
        queue
    }

    #[test]
    fn committed_offset_waits_for_the_smallest_outstanding_message() {
        let queue = queue_with(100..105);
        // 101, 103 and 104 finish first: 100 is still out, so nothing past it is committed.
        assert_eq!(queue.remove_messages(&[103], NOW), Some(100));
        assert_eq!(queue.remove_messages(&[101, 104], NOW), Some(100));
        // 100 finishes: the commit jumps to the next one still out, 102.
        assert_eq!(queue.remove_messages(&[100], NOW), Some(102));
        // The last one: everything consumed, commit the offset after the largest pulled.
        assert_eq!(queue.remove_messages(&[102], NOW), Some(105));
        assert_eq!(queue.message_count(), 0);
    }

    /// Whether `freed` has completed, without waiting.
    fn woken(freed: std::pin::Pin<&mut Notified<'_>>) -> bool {
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        std::future::Future::poll(freed, &mut cx).is_ready()
    }

    #[test]
    fn a_flow_controlled_pull_loop_is_woken_once_the_queue_is_within_its_limits() {
        let queue = queue_with(100..110);
        let within = |messages| FlowLimits {
            messages,
            bytes: 1 << 20,
            max_span: 2000,
        };
        // 10 held, waiting to get to 8: the first removal leaves 9 and wakes nobody, the
        // second leaves 8.
        let freed = queue.space_freed(within(8));
        let mut freed = std::pin::pin!(freed);
        freed.as_mut().enable();
        queue.remove_messages(&[105], NOW);
        assert!(!woken(freed.as_mut()), "still over the limit");
        queue.remove_messages(&[106], NOW);
        assert!(woken(freed.as_mut()), "woken within the limit");
        queue.stop_waiting();

        // Orderly commits (8 held, 2 taken and committed) and a clear wake it too.
        let freed = queue.space_freed(within(6));
        let mut freed = std::pin::pin!(freed);
        freed.as_mut().enable();
        queue.take_messages(2, NOW);
        queue.commit();
        assert!(woken(freed.as_mut()), "woken by the commit");
        let freed = queue.space_freed(within(0));
        let mut freed = std::pin::pin!(freed);
        freed.as_mut().enable();
        queue.clear();
        assert!(woken(freed.as_mut()), "woken by the clear");
        queue.stop_waiting();

        // The span limit counts too: 200 and 3000 span 2800.
        let queue = queue_with([200, 3000]);
        let freed = queue.space_freed(within(10));
        let mut freed = std::pin::pin!(freed);
        freed.as_mut().enable();
        queue.remove_messages(&[200], NOW);
        assert!(woken(freed.as_mut()), "woken once the span is within");
    }

    #[test]
    fn removing_from_an_empty_queue_commits_nothing() {
        let queue = ProcessQueue::new(NOW);
        assert_eq!(queue.remove_messages(&[0], NOW), None);
        // Java answers −1 whenever the map is empty at the call, even after messages.
        let queue = queue_with([7]);
        assert_eq!(queue.remove_messages(&[7], NOW), Some(8));
        assert_eq!(queue.remove_messages(&[7], NOW), None);
    }

    #[test]
    fn removing_unknown_offsets_changes_nothing_but_reports_the_commit_point() {
        let queue = queue_with([5, 6]);
        assert_eq!(queue.remove_messages(&[1, 9], NOW + 1), Some(5));
        assert_eq!(queue.message_count(), 2);
        assert_eq!(queue.message_size(), 20);
        assert_eq!(queue.last_consume(), NOW + 1);
    }

    #[test]
    fn duplicates_are_counted_once() {
        let queue = ProcessQueue::new(NOW);
        queue.put_messages([message(1, 10), message(2, 20)]);
        queue.put_messages([message(2, 20), message(3, 30)]);
        assert_eq!(queue.message_count(), 3);
        assert_eq!(queue.message_size(), 60);
        assert_eq!(queue.remove_messages(&[1, 2, 3], NOW), Some(4));
        assert_eq!((queue.message_count(), queue.message_size()), (0, 0));
    }

    #[test]
    fn counters_follow_puts_and_removes() {
        let queue = ProcessQueue::new(NOW);
        queue.put_messages([message(10, 100), message(11, 0), message(12, 1000)]);
        assert_eq!((queue.message_count(), queue.message_size()), (3, 1100));
        queue.remove_messages(&[12], NOW);
        assert_eq!((queue.message_count(), queue.message_size()), (2, 100));
        queue.remove_messages(&[10, 11], NOW);
        assert_eq!((queue.message_count(), queue.message_size()), (0, 0));
    }

    #[test]
    fn span_is_last_minus_first_offset_held() {
        let queue = ProcessQueue::new(NOW);
        assert_eq!(queue.max_span(), 0);
        queue.put_messages([message(100, 1)]);
        assert_eq!(queue.max_span(), 0);
        queue.put_messages([message(2100, 1), message(150, 1)]);
        assert_eq!(queue.max_span(), 2000);
        queue.remove_messages(&[100], NOW);
        assert_eq!(queue.max_span(), 1950);
    }

    #[test]
    fn dispatch_is_asked_once_until_a_take_finds_nothing() {
        let queue = ProcessQueue::new(NOW);
        assert!(!queue.put_messages([]));
        assert!(queue.put_messages([message(0, 1)]));
        assert!(!queue.put_messages([message(1, 1)]));
        assert_eq!(queue.take_messages(10, NOW).len(), 2);
        assert!(
            !queue.put_messages([message(2, 1)]),
            "a consume task is still running"
        );
        assert_eq!(queue.take_messages(10, NOW).len(), 1);
        assert!(queue.take_messages(10, NOW).is_empty());
        assert!(queue.put_messages([message(3, 1)]));
    }

    #[test]
    fn backlog_comes_from_the_last_message_of_the_pull() {
        let queue = ProcessQueue::new(NOW);
        let with_max = |offset, max: &str| {
            let mut props = Properties::default();
            props.insert(keys::MAX_OFFSET, max);
            message_with(offset, 1, props)
        };
        queue.put_messages([with_max(10, "900"), with_max(11, "1000")]);
        assert_eq!(queue.acc_count(), 989);
        // Nothing behind the last one: Java keeps the previous figure.
        queue.put_messages([with_max(999, "999")]);
        assert_eq!(queue.acc_count(), 989);
        queue.put_messages([message(1000, 1)]);
        assert_eq!(queue.acc_count(), 989);
    }

    #[test]
    fn orderly_take_commit_and_rollback() {
        let queue = queue_with(0..5);
        let taken = queue.take_messages(2, NOW);
        let offsets: Vec<i64> = taken.iter().map(|m| m.queue_offset).collect();
        assert_eq!(offsets, [0, 1]);
        // Taken messages still count until committed, and are no longer waiting.
        assert_eq!(queue.message_count(), 5);
        assert!(!queue.contains(0));
        assert_eq!(queue.commit(), Some(2));
        assert_eq!((queue.message_count(), queue.message_size()), (3, 30));
        assert_eq!(queue.commit(), None, "nothing taken since");

        // A failed batch goes back and is taken again first, in order.
        assert_eq!(queue.take_messages(2, NOW).len(), 2);
        queue.rollback();
        let again: Vec<i64> = queue
            .take_messages(3, NOW)
            .iter()
            .map(|m| m.queue_offset)
            .collect();
        assert_eq!(again, [2, 3, 4]);
        assert_eq!(queue.message_count(), 3);

        // SUSPEND_CURRENT_QUEUE_A_MOMENT: the batch goes back with a higher reconsume count.
        let retried: Vec<Arc<MessageExt>> = (2..5)
            .map(|offset| {
                let mut copy = (*message(offset, 10)).clone();
                copy.reconsume_times = 1;
                Arc::new(copy)
            })
            .collect();
        queue.make_message_to_consume_again(retried);
        assert_eq!(queue.commit(), None, "nothing is taken any more");
        assert_eq!(queue.message_count(), 3);
        let again = queue.take_messages(3, NOW);
        let seen: Vec<(i64, i32)> = again
            .iter()
            .map(|m| (m.queue_offset, m.reconsume_times))
            .collect();
        assert_eq!(seen, [(2, 1), (3, 1), (4, 1)]);
        assert_eq!(queue.commit(), Some(5));
        assert_eq!((queue.message_count(), queue.message_size()), (0, 0));
    }

    #[test]
    fn pull_expiry_and_lock_expiry_use_the_given_clock() {
        let queue = ProcessQueue::new(NOW);
        assert!(!queue.is_pull_expired(NOW + PULL_MAX_IDLE_MILLIS));
        assert!(queue.is_pull_expired(NOW + PULL_MAX_IDLE_MILLIS + 1));
        queue.set_last_pull(NOW + PULL_MAX_IDLE_MILLIS);
        assert!(!queue.is_pull_expired(NOW + PULL_MAX_IDLE_MILLIS + 1));

        assert!(!queue.is_locked(NOW));
        queue.set_locked(true, NOW);
        assert!(queue.is_locked(NOW + REBALANCE_LOCK_MAX_LIVE_MILLIS));
        assert!(!queue.is_locked(NOW + REBALANCE_LOCK_MAX_LIVE_MILLIS + 1));
    }

    #[test]
    fn expired_message_is_the_oldest_one_started_too_long_ago() {
        let queue = ProcessQueue::new(NOW);
        let started = |offset, at: i64| {
            let mut props = Properties::default();
            props.insert(keys::CONSUME_START_TIME, at.to_string());
            message_with(offset, 1, props)
        };
        queue.put_messages([started(1, NOW), started(2, NOW - 1_000_000)]);
        // Only the first message is looked at, as in Java.
        assert!(queue.first_expired(NOW + 100, 100).is_none());
        assert_eq!(queue.first_expired(NOW + 101, 100).unwrap().queue_offset, 1);
        queue.put_messages([message(0, 1)]);
        assert!(
            queue.first_expired(NOW + 1_000_000, 100).is_none(),
            "not started"
        );
    }

    #[test]
    fn dropped_flag_and_clear() {
        let queue = queue_with(0..3);
        assert!(!queue.is_dropped());
        queue.set_dropped(true);
        assert!(queue.is_dropped());
        queue.clear();
        assert_eq!((queue.message_count(), queue.message_size()), (0, 0));
        assert!(!queue.has_waiting_messages());
        assert_eq!(queue.remove_messages(&[0], NOW), None);
    }

    #[test]
    fn one_pull_thread_and_several_consume_threads_end_with_everything_committed() {
        const TOTAL: i64 = 4_000;
        let queue = Arc::new(ProcessQueue::new(NOW));
        let (to_consumers, work) = std::sync::mpsc::channel::<Vec<i64>>();
        let work = Arc::new(Mutex::new(work));
        let consumers: Vec<_> = (0..4)
            .map(|_| {
                let (queue, work) = (Arc::clone(&queue), Arc::clone(&work));
                std::thread::spawn(move || {
                    let mut highest_commit = -1;
                    loop {
                        let batch = work.lock().unwrap().recv();
                        let Ok(batch) = batch else {
                            return highest_commit;
                        };
                        for offset in batch {
                            let committed = queue.remove_messages(&[offset], NOW);
                            highest_commit = highest_commit.max(committed.unwrap_or(-1));
                        }
                    }
                })
            })
            .collect();
        for start in (0..TOTAL).step_by(32) {
            let batch: Vec<i64> = (start..(start + 32).min(TOTAL)).collect();
            queue.put_messages(batch.iter().map(|o| message(*o, 3)));
            to_consumers.send(batch).unwrap();
        }
        drop(to_consumers);
        let highest = consumers.into_iter().map(|c| c.join().unwrap()).max();
        assert_eq!(highest, Some(TOTAL));
        assert_eq!((queue.message_count(), queue.message_size()), (0, 0));
    }

    #[test]
    fn info_describes_waiting_and_taken_messages() {
        let queue = ProcessQueue::new(NOW);
        queue.put_messages([
            message(10, 1024 * 1024),
            message(11, 1024 * 1024),
            message(12, 1),
        ]);
        queue.put_messages([message(13, 1), message(14, 1)]);
        queue.take_messages(2, NOW + 5);
        queue.set_locked(true, NOW + 6);
        queue.inc_try_unlock_times();
        queue.set_dropped(true);
        queue.set_last_pull(NOW + 7);
        let info = queue.info(9);
        assert_eq!(
            info,
            ProcessQueueInfo {
                commit_offset: 9,
                cached_msg_min_offset: 12,
                cached_msg_max_offset: 14,
                cached_msg_count: 3,
                cached_msg_size_in_mib: 2,
                transaction_msg_min_offset: 10,
                transaction_msg_max_offset: 11,
                transaction_msg_count: 2,
                locked: true,
                try_unlock_times: 1,
                last_lock_timestamp: NOW + 6,
                dropped: true,
                last_pull_timestamp: NOW + 7,
                last_consume_timestamp: NOW + 5,
            }
        );
    }
}

/// Messages for the unit tests of this module and its siblings.
#[cfg(test)]
pub(crate) mod test_messages {
    use std::net::SocketAddr;
    use std::sync::Arc;

    use rocketmq_remoting::message::properties::Properties;
    use rocketmq_remoting::message::MessageExt;

    /// A message of topic `T` at `offset` with a body of `body_len` bytes.
    pub(crate) fn message(offset: i64, body_len: usize) -> Arc<MessageExt> {
        message_with(offset, body_len, Properties::default())
    }

    /// [`message`] with `properties`.
    pub(crate) fn message_with(
        offset: i64,
        body_len: usize,
        properties: Properties,
    ) -> Arc<MessageExt> {
        let host: SocketAddr = "127.0.0.1:10911".parse().unwrap();
        Arc::new(MessageExt {
            topic: "T".to_owned(),
            flag: 0,
            properties,
            body: vec![b'x'; body_len].into(),
            store_size: 0,
            body_crc: 0,
            queue_id: 0,
            queue_offset: offset,
            commit_log_offset: 0,
            sys_flag: 0,
            born_timestamp: 0,
            born_host: host,
            store_timestamp: 0,
            store_host: host,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            offset_msg_id: String::new(),
            broker_name: String::new(),
        })
    }
}
