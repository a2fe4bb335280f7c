//! Listener calls waiting for their verdict from JavaScript, by call id.
//!
//! Ids are handed out in sequence and mostly answered in the order they were handed out, so
//! the calls sit in a ring indexed by `id - first`: a call is added and answered without
//! hashing, and the ring never rehashes. A hash map of ids was a tenth of the runtime
//! thread's time per message with one message per listener call (bench/findings.md).

use std::collections::VecDeque;

/// Waiting calls: each id's slot holds what answers it until it is answered.
pub struct PendingVerdicts<T> {
    /// Id of `slots[0]`.
    first: u32,
    /// `None`: answered; dropped from the front once everything before it is answered too.
    slots: VecDeque<Option<T>>,
}

impl<T> PendingVerdicts<T> {
    /// An empty table whose first id is `first`.
    pub fn new(first: u32) -> Self {
        PendingVerdicts {
            first,
            slots: VecDeque::new(),
        }
    }

    /// Adds a waiting call; returns its id. Ids wrap around after `u32::MAX`.
    pub fn add(&mut self, waiter: T) -> u32 {
        let id = self.first.wrapping_add(self.slots.len() as u32);
        self.slots.push_back(Some(waiter));
        id
    }

    /// Takes the waiter of `id`; `None` for an id that is answered already or unknown.
    pub fn take(&mut self, id: u32) -> Option<T> {
        let index = id.wrapping_sub(self.first) as usize;
        let waiter = self.slots.get_mut(index)?.take();
        while matches!(self.slots.front(), Some(None)) {
            self.slots.pop_front();
            self.first = self.first.wrapping_add(1);
        }
        waiter
    }

    /// Forgets every waiting call (their waiters are dropped). Ids go on from where they were,
    /// so an answer to a forgotten call finds nothing.
    pub fn clear(&mut self) {
        self.first = self.first.wrapping_add(self.slots.len() as u32);
        self.slots.clear();
    }

    /// Calls waiting.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.slots.iter().filter(|slot| slot.is_some()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_in_any_order_reach_their_own_waiter_once() {
        let mut pending = PendingVerdicts::new(1);
        let ids: Vec<u32> = (0..5).map(|n| pending.add(n * 10)).collect();
        assert_eq!(ids, vec![1, 2, 3, 4, 5]);
        assert_eq!(pending.take(3), Some(20));
        assert_eq!(pending.take(3), None);
        assert_eq!(pending.take(1), Some(0));
        assert_eq!(pending.take(2), Some(10));
        // 1 to 3 answered: the ring starts at 4 now.
        assert_eq!(pending.slots.len(), 2);
        assert_eq!(pending.add(50), 6);
        assert_eq!(pending.take(6), Some(50));
        assert_eq!(pending.take(5), Some(40));
        assert_eq!(pending.take(4), Some(30));
        assert_eq!(pending.len(), 0);
        assert!(pending.slots.is_empty());
    }

    #[test]
    fn unknown_and_cleared_ids_find_nothing() {
        let mut pending = PendingVerdicts::new(1);
        assert_eq!(pending.take(0), None);
        assert_eq!(pending.take(7), None);
        let a = pending.add('a');
        pending.clear();
        assert_eq!(pending.take(a), None);
        let b = pending.add('b');
        assert_ne!(a, b);
        assert_eq!(pending.take(b), Some('b'));
    }

    #[test]
    fn ids_wrap_around() {
        let mut pending = PendingVerdicts::new(u32::MAX - 1);
        let ids: Vec<u32> = (0..4).map(|n| pending.add(n)).collect();
        assert_eq!(ids, vec![u32::MAX - 1, u32::MAX, 0, 1]);
        assert_eq!(pending.take(0), Some(2));
        assert_eq!(pending.take(u32::MAX - 1), Some(0));
        assert_eq!(pending.take(u32::MAX), Some(1));
        assert_eq!(pending.take(1), Some(3));
        assert_eq!(pending.len(), 0);
    }
}
