//! A queue the push consumer holds: its [`ProcessQueue`] and the gate its consume calls
//! pass, which lets a drop wait for them (Java's `ProcessQueue.consumeLock`).
//!
//! Dropping a queue (rebalance gave it to another member, or an offset reset) must persist
//! an offset that includes the listener calls that were running, and must not let a call
//! that ends later move the offset again (after a reset that would undo it; after a
//! handover the new owner has started from the persisted one). So:
//! - a consume call enters the gate shared ([`QueueSlot::enter`]) before it calls the
//!   listener and leaves it once its verdict is settled; it does not start on a dropped
//!   queue;
//! - a drop ([`QueueSlot::release`]) marks the queue dropped, takes the gate exclusively
//!   for a bounded time (the calls in flight end and commit meanwhile), then closes it;
//! - every offset a queue's tasks write goes through [`QueueSlot::commit`], which refuses
//!   once the queue is closed. A call still running when the wait ends is thus ignored,
//!   and its messages are delivered again from the persisted offset.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{RwLock, RwLockReadGuard};

use super::process_queue::ProcessQueue;

/// How long a drop waits for the queue's listener calls in flight (Java tries the consume
/// lock for 1 s).
pub const DROP_CONSUME_WAIT: Duration = Duration::from_secs(1);

/// A held queue; see the module docs.
#[derive(Debug)]
pub struct QueueSlot {
    pq: Arc<ProcessQueue>,
    gate: RwLock<()>,
    closed: Mutex<bool>,
}

impl QueueSlot {
    /// A slot for a queue just added.
    pub fn new(pq: Arc<ProcessQueue>) -> Self {
        QueueSlot {
            pq,
            gate: RwLock::new(()),
            closed: Mutex::new(false),
        }
    }

    /// The queue's messages.
    pub fn pq(&self) -> &Arc<ProcessQueue> {
        &self.pq
    }

    /// A consume call's pass, held while the listener runs and its verdict is settled;
    /// `None` once the queue is being dropped (the call must not start).
    pub fn enter(&self) -> Option<RwLockReadGuard<'_, ()>> {
        if self.pq.is_dropped() {
            return None;
        }
        // A drop waiting for the gate makes this fail: no new call starts meanwhile.
        self.gate.try_read().ok()
    }

    /// Runs `write` (an offset update of this queue) unless the queue is closed; says
    /// whether it ran.
    pub fn commit(&self, write: impl FnOnce()) -> bool {
        let closed = self.closed.lock().unwrap_or_else(|p| p.into_inner());
        if *closed {
            return false;
        }
        write();
        true
    }

    /// Whether a drop has closed the queue: its tasks' verdicts no longer count.
    pub fn is_closed(&self) -> bool {
        *self.closed.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Marks the queue dropped, waits up to `wait` for the calls in flight, and closes it.
    /// True when every call ended in time.
    pub async fn release(&self, wait: Duration) -> bool {
        self.pq.set_dropped(true);
        let drained = tokio::time::timeout(wait, self.gate.write()).await.is_ok();
        *self.closed.lock().unwrap_or_else(|p| p.into_inner()) = true;
        drained
    }

    /// Waits, without bound, until no call of the queue is in flight. After a
    /// [`release`](Self::release) whose wait ended first, this says when the late call
    /// ended (orderly consumption keeps the queue's broker lock until then).
    pub async fn drained(&self) {
        drop(self.gate.write().await);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_drop_waits_for_the_call_in_flight_and_takes_its_commit() {
        let slot = Arc::new(QueueSlot::new(Arc::new(ProcessQueue::new(0))));
        let (entered_tx, entered) = tokio::sync::oneshot::channel();
        let (finish_tx, finish) = tokio::sync::oneshot::channel::<()>();
        let call = tokio::spawn({
            let slot = Arc::clone(&slot);
            async move {
                let _pass = slot.enter().expect("the queue is held");
                entered_tx.send(()).unwrap();
                finish.await.unwrap();
                slot.commit(|| {})
            }
        });
        entered.await.unwrap();
        let release = tokio::spawn({
            let slot = Arc::clone(&slot);
            async move { slot.release(Duration::from_secs(60)).await }
        });
        // The drop has begun: no new call may start.
        while !slot.pq().is_dropped() {
            tokio::task::yield_now().await;
        }
        assert!(slot.enter().is_none());
        finish_tx.send(()).unwrap();
        assert!(call.await.unwrap(), "the call in flight commits");
        assert!(release.await.unwrap(), "the drop saw every call end");
        assert!(!slot.commit(|| {}), "nothing commits once released");
    }

    #[tokio::test]
    async fn a_stuck_call_bounds_the_wait_and_its_late_commit_is_refused() {
        let slot = QueueSlot::new(Arc::new(ProcessQueue::new(0)));
        let pass = slot.enter().unwrap();
        assert!(!slot.release(Duration::from_millis(20)).await);
        let mut wrote = false;
        assert!(!slot.commit(|| wrote = true));
        assert!(!wrote);
        drop(pass);
    }
}
