//! The in-memory offset table both stores share: current offsets plus what was last
//! persisted, so a persist can skip the queues that did not move.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use rocketmq_remoting::body::MessageQueue;

use super::{OffsetStoreCounters, ReadOffsetType};

#[derive(Debug, Clone, Copy)]
struct Entry {
    offset: i64,
    /// The value the backing store is known to hold, if any.
    persisted: Option<i64>,
}

#[derive(Debug, Default)]
pub(crate) struct OffsetTable {
    entries: Mutex<HashMap<MessageQueue, Entry>>,
}

impl OffsetTable {
    /// The memory half of a read of `kind`, shared by both stores: `Some(answer)` when
    /// memory answers (it holds the queue, or only memory may be read), `None` when the
    /// backing store must be asked. Counts the cache lookup in `metrics`.
    pub(crate) fn read_memory_first(
        &self,
        mq: &MessageQueue,
        kind: ReadOffsetType,
        metrics: &OffsetStoreCounters,
    ) -> Option<Option<i64>> {
        if kind == ReadOffsetType::ReadFromStore {
            return None;
        }
        let held = self.get(mq);
        metrics.record_cache_lookup(held.is_some());
        (held.is_some() || kind == ReadOffsetType::ReadFromMemory).then_some(held)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<MessageQueue, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Java's `updateOffset`: with `increase_only`, only a larger value replaces the held one.
    pub(crate) fn update(&self, mq: &MessageQueue, offset: i64, increase_only: bool) {
        let mut entries = self.lock();
        match entries.get_mut(mq) {
            Some(entry) if increase_only => entry.offset = entry.offset.max(offset),
            Some(entry) => entry.offset = offset,
            None => {
                entries.insert(
                    mq.clone(),
                    Entry {
                        offset,
                        persisted: None,
                    },
                );
            }
        }
    }

    /// Takes a value read from the backing store: it becomes the memory value and, since
    /// the store holds it, needs no persist.
    pub(crate) fn set_from_store(&self, mq: &MessageQueue, offset: i64) {
        self.lock().insert(
            mq.clone(),
            Entry {
                offset,
                persisted: Some(offset),
            },
        );
    }

    pub(crate) fn get(&self, mq: &MessageQueue) -> Option<i64> {
        self.lock().get(mq).map(|e| e.offset)
    }

    pub(crate) fn remove(&self, mq: &MessageQueue) -> bool {
        self.lock().remove(mq).is_some()
    }

    /// Forgets every queue not in `keep`; returns the forgotten ones.
    pub(crate) fn retain(&self, keep: &BTreeSet<MessageQueue>) -> Vec<MessageQueue> {
        let mut entries = self.lock();
        let gone: Vec<MessageQueue> = entries
            .keys()
            .filter(|mq| !keep.contains(*mq))
            .cloned()
            .collect();
        for mq in &gone {
            entries.remove(mq);
        }
        gone
    }

    /// The queues of `among` whose offset differs from the last persisted one, with that offset.
    pub(crate) fn changed(&self, among: &BTreeSet<MessageQueue>) -> Vec<(MessageQueue, i64)> {
        let entries = self.lock();
        among
            .iter()
            .filter_map(|mq| {
                let entry = entries.get(mq)?;
                (entry.persisted != Some(entry.offset)).then(|| (mq.clone(), entry.offset))
            })
            .collect()
    }

    /// Records that the store now holds `offset` for `mq` (if the queue is still held).
    pub(crate) fn mark_persisted(&self, mq: &MessageQueue, offset: i64) {
        if let Some(entry) = self.lock().get_mut(mq) {
            entry.persisted = Some(offset);
        }
    }

    pub(crate) fn snapshot(&self, topic: Option<&str>) -> BTreeMap<MessageQueue, i64> {
        self.lock()
            .iter()
            .filter(|(mq, _)| topic.is_none_or(|t| t.trim().is_empty() || mq.topic == t))
            .map(|(mq, e)| (mq.clone(), e.offset))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mq(id: i32) -> MessageQueue {
        MessageQueue::new("T", "b", id)
    }

    #[test]
    fn increase_only_never_moves_back_but_a_plain_update_does() {
        let table = OffsetTable::default();
        table.update(&mq(0), 10, true);
        table.update(&mq(0), 7, true);
        assert_eq!(table.get(&mq(0)), Some(10));
        table.update(&mq(0), 12, true);
        assert_eq!(table.get(&mq(0)), Some(12));
        table.update(&mq(0), 3, false);
        assert_eq!(table.get(&mq(0)), Some(3));
    }

    #[test]
    fn only_values_that_moved_since_their_persist_are_changed() {
        let table = OffsetTable::default();
        let all: BTreeSet<_> = (0..3).map(mq).collect();
        table.update(&mq(0), 5, true);
        table.set_from_store(&mq(1), 9);
        assert_eq!(table.changed(&all), vec![(mq(0), 5)]);
        table.mark_persisted(&mq(0), 5);
        assert!(table.changed(&all).is_empty());
        table.update(&mq(1), 11, true);
        assert_eq!(table.changed(&all), vec![(mq(1), 11)]);
        assert_eq!(table.retain(&[mq(1)].into_iter().collect()), vec![mq(0)]);
        assert_eq!(table.snapshot(None).len(), 1);
    }
}
