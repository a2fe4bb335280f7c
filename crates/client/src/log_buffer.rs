//! A bounded buffer for log records on their way to a consumer that drains them in batches (the
//! binding's JavaScript sink). Producers of records must never wait for the consumer: when the buffer is
//! full, new records are dropped and counted instead, so a flood of debug logging costs memory bounded
//! by the capacity and at most one pending wake-up of the consumer, however many records arrive.
//!
//! The buffer tracks whether a wake-up is already on its way, so that the caller schedules exactly one
//! per batch: [`LogBuffer::push`] says when to schedule one, [`LogBuffer::take`] (run by the woken
//! consumer) ends it.

use std::collections::VecDeque;

/// Records waiting for the consumer, in the order they were pushed.
#[derive(Debug)]
pub struct LogBuffer<T> {
    records: VecDeque<T>,
    capacity: usize,
    dropped: u64,
    wake_pending: bool,
}

/// What [`LogBuffer::take`] hands the consumer.
#[derive(Debug, PartialEq, Eq)]
pub struct Drained<T> {
    /// The buffered records, oldest first.
    pub records: Vec<T>,
    /// Records dropped because the buffer was full, all of them pushed after the last of `records`.
    pub dropped: u64,
}

impl<T> LogBuffer<T> {
    /// An empty buffer holding at most `capacity` records. `const` so it can sit in a `static`.
    pub const fn new(capacity: usize) -> Self {
        Self {
            records: VecDeque::new(),
            capacity,
            dropped: 0,
            wake_pending: false,
        }
    }

    /// Buffers `record`, or counts it as dropped when the buffer is full. Returns true when the caller
    /// must wake the consumer: no wake-up was pending. A full buffer drops without waking when one is
    /// pending, since the pending one will drain everything.
    pub fn push(&mut self, record: T) -> bool {
        if self.records.len() < self.capacity {
            self.records.push_back(record);
        } else {
            self.dropped += 1;
        }
        !std::mem::replace(&mut self.wake_pending, true)
    }

    /// The wake-up [`push`](Self::push) asked for could not be scheduled; the next push asks again
    /// rather than leaving the records stranded.
    pub fn wake_failed(&mut self) {
        self.wake_pending = false;
    }

    /// Asks for a wake-up for what is already buffered (e.g. after the consumer changed). Returns true
    /// when the caller must wake the consumer: something is buffered or dropped, and no wake-up is
    /// pending.
    pub fn request_wake(&mut self) -> bool {
        if self.records.is_empty() && self.dropped == 0 {
            return false;
        }
        !std::mem::replace(&mut self.wake_pending, true)
    }

    /// Whether a wake-up is on its way to the consumer.
    pub fn wake_pending(&self) -> bool {
        self.wake_pending
    }

    /// Hands over every buffered record and the count of dropped ones, and ends the pending wake-up:
    /// records pushed from now on need a new one.
    pub fn take(&mut self) -> Drained<T> {
        self.wake_pending = false;
        Drained {
            records: self.records.drain(..).collect(),
            dropped: std::mem::take(&mut self.dropped),
        }
    }

    /// Number of buffered records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether no record is buffered.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_push_of_a_batch_asks_for_a_wake_up() {
        let mut buffer = LogBuffer::new(10);
        assert!(buffer.push(1));
        assert!(!buffer.push(2));
        assert!(!buffer.push(3));
        assert_eq!(
            buffer.take(),
            Drained {
                records: vec![1, 2, 3],
                dropped: 0
            }
        );
        assert!(buffer.push(4), "a push after a drain starts a new batch");
    }

    #[test]
    fn a_full_buffer_drops_and_counts_and_keeps_the_oldest_records() {
        let mut buffer = LogBuffer::new(3);
        for record in 0..8 {
            buffer.push(record);
        }
        assert_eq!(buffer.len(), 3);
        assert_eq!(
            buffer.take(),
            Drained {
                records: vec![0, 1, 2],
                dropped: 5
            }
        );
        assert!(buffer.is_empty());
        buffer.push(9);
        assert_eq!(
            buffer.take().dropped,
            0,
            "the count restarts after it is handed over"
        );
    }

    #[test]
    fn a_failed_wake_up_is_asked_for_again_by_the_next_push() {
        let mut buffer = LogBuffer::new(3);
        assert!(buffer.push(1));
        buffer.wake_failed();
        assert!(!buffer.wake_pending());
        assert!(buffer.push(2));
        assert_eq!(buffer.take().records, vec![1, 2]);
    }

    #[test]
    fn a_wake_up_is_requested_only_for_buffered_or_dropped_records() {
        let mut buffer = LogBuffer::new(1);
        assert!(!buffer.request_wake(), "nothing to deliver");
        buffer.push(1);
        assert!(!buffer.request_wake(), "one is already pending");
        buffer.wake_failed();
        assert!(buffer.request_wake());
        buffer.take();
        buffer.push(2);
        buffer.push(3);
        buffer.take();
        assert!(!buffer.request_wake());
    }

    #[test]
    fn a_drop_into_a_full_buffer_without_a_pending_wake_up_asks_for_one() {
        let mut buffer = LogBuffer::new(1);
        assert!(buffer.push(1));
        buffer.wake_failed();
        assert!(
            buffer.push(2),
            "the dropped record still needs the buffer drained"
        );
        assert_eq!(
            buffer.take(),
            Drained {
                records: vec![1],
                dropped: 1
            }
        );
    }
}
