//! Where a consumer group's progress is kept: Java's `OffsetStore` and its two kinds.
//!
//! An offset here is always the *next* offset to consume in a queue, as in Java. Clustering
//! keeps offsets on the brokers ([`remote::RemoteOffsetStore`]: QUERY / UPDATE_CONSUMER_OFFSET),
//! broadcasting in a file of this client ([`local::LocalOffsetStore`], Java's file format).
//! Both hold an in-memory table that the consumer updates after each consumed batch and that
//! is persisted on a timer, when a queue is dropped and at shutdown.
//!
//! Departures from Java, each on purpose:
//! - "No offset" and "could not read" are `Ok(None)` and `Err(_)`, not the sentinels -1 / -2.
//! - A persist writes only offsets that changed since the last successful persist of that
//!   queue; Java rewrites every assigned queue every 5 s. A failed write stays pending and is
//!   tried again by the next persist.
//! - Every store keeps [`OffsetStoreCounters`]; the product API exposes them as
//!   [`OffsetStoreMetrics`].
//!
//! A consumer opens its own store at start; [`standalone::StandaloneOffsetStore`] is one made
//! apart from any consumer (with its persist timer), which a consumer may be given instead.

mod file;
pub mod local;
pub mod remote;
pub mod standalone;
mod table;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rocketmq_remoting::body::MessageQueue;

use crate::error::Result;

pub use local::LocalOffsetStore;
pub use remote::{BrokerAddrLookup, RemoteOffsetStore};
pub use standalone::{StandaloneOffsetStore, StandaloneStoreSettings};

/// A boxed future, so [`OffsetStore`] can be used as `dyn OffsetStore` (a consumer holds either
/// kind behind one pointer).
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where [`OffsetStore::read_offset`] looks, Java's `ReadOffsetType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOffsetType {
    /// The in-memory table only.
    ReadFromMemory,
    /// The backing store (broker or file) only; the answer also replaces the memory value.
    ReadFromStore,
    /// Memory when it knows the queue, else the backing store.
    MemoryFirstThenStore,
}

/// The operations the consumer needs from an offset store. Calls that may reach a broker or
/// the disk are async; the rest only touch memory.
pub trait OffsetStore: Send + Sync {
    /// Loads what the backing store holds before consumption starts (the local file; nothing
    /// for the broker store, which is read per queue).
    fn load(&self) -> StoreFuture<'_, Result<()>>;

    /// Sets the memory offset of `mq`. With `increase_only` a smaller value than the one held
    /// is ignored (a late commit after a newer one must not move progress back); without it
    /// the value is taken as is (resets, corrections of an illegal offset).
    fn update_offset(&self, mq: &MessageQueue, offset: i64, increase_only: bool);

    /// The offset of `mq`: `Ok(None)` when nothing is stored for it (a first start), `Err`
    /// when the store could not be asked.
    fn read_offset<'a>(
        &'a self,
        mq: &'a MessageQueue,
        kind: ReadOffsetType,
    ) -> StoreFuture<'a, Result<Option<i64>>>;

    /// Persists the offsets of `mqs` that changed since their last persist, and forgets the
    /// queues held in memory that are not in `mqs` (no longer assigned). An empty `mqs` does
    /// nothing, as in Java. Returns how many offsets were written; when some writes failed,
    /// the others are still done and the last error is returned.
    fn persist_all<'a>(&'a self, mqs: &'a BTreeSet<MessageQueue>)
        -> StoreFuture<'a, Result<usize>>;

    /// Persists the offset of one queue (a queue being dropped) if it changed since its last
    /// persist. Returns whether an offset was written.
    fn persist<'a>(&'a self, mq: &'a MessageQueue) -> StoreFuture<'a, Result<bool>>;

    /// Forgets the memory offset of `mq`.
    fn remove_offset(&self, mq: &MessageQueue);

    /// A copy of the memory table: the queues of `topic`, or all queues for `None` (Java:
    /// a blank topic).
    fn clone_offset_table(&self, topic: Option<&str>) -> BTreeMap<MessageQueue, i64>;

    /// The store's counters as of now.
    fn metrics(&self) -> OffsetStoreMetricsSnapshot;
}

/// Counters of one store, updated lock-free on every call.
#[derive(Debug, Default)]
pub struct OffsetStoreCounters {
    persist_success: AtomicU64,
    persist_failure: AtomicU64,
    persist_latency_micros: AtomicU64,
    cache_hits: AtomicU64,
    cache_misses: AtomicU64,
    store_reads: AtomicU64,
    store_read_failures: AtomicU64,
}

impl OffsetStoreCounters {
    /// One offset written (`ok`) or not, and how long the attempt took.
    pub fn record_persist(&self, ok: bool, took: Duration) {
        let counter = if ok {
            &self.persist_success
        } else {
            &self.persist_failure
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.persist_latency_micros
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
    }

    /// A memory lookup: found (`hit`) or not.
    pub fn record_cache_lookup(&self, hit: bool) {
        let counter = if hit {
            &self.cache_hits
        } else {
            &self.cache_misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A read from the backing store, and whether it failed.
    pub fn record_store_read(&self, ok: bool) {
        self.store_reads.fetch_add(1, Ordering::Relaxed);
        if !ok {
            self.store_read_failures.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The counters as of now.
    pub fn snapshot(&self) -> OffsetStoreMetricsSnapshot {
        OffsetStoreMetricsSnapshot {
            persist_success_count: self.persist_success.load(Ordering::Relaxed),
            persist_failure_count: self.persist_failure.load(Ordering::Relaxed),
            total_persist_latency: Duration::from_micros(
                self.persist_latency_micros.load(Ordering::Relaxed),
            ),
            cache_hit_count: self.cache_hits.load(Ordering::Relaxed),
            cache_miss_count: self.cache_misses.load(Ordering::Relaxed),
            store_read_count: self.store_reads.load(Ordering::Relaxed),
            store_read_failure_count: self.store_read_failures.load(Ordering::Relaxed),
        }
    }
}

/// A copy of [`OffsetStoreCounters`] with the derived rates. A rate is `None` until there is
/// something to divide: "no persist yet" is not a 0 % success rate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OffsetStoreMetricsSnapshot {
    /// Successful writes to the backing store: one per UPDATE_CONSUMER_OFFSET for the broker
    /// store, one per file replacement for the local store. Persists with nothing changed
    /// write nothing and count nothing.
    pub persist_success_count: u64,
    /// Writes that failed (no broker address, an error answer, a timeout, an I/O error).
    pub persist_failure_count: u64,
    /// Time spent in every write attempt, successful or not.
    pub total_persist_latency: Duration,
    /// Reads answered from memory.
    pub cache_hit_count: u64,
    /// Reads that found nothing in memory (and went to the store, unless memory-only).
    pub cache_miss_count: u64,
    /// Reads of the backing store.
    pub store_read_count: u64,
    /// Reads of the backing store that failed.
    pub store_read_failure_count: u64,
}

impl OffsetStoreMetricsSnapshot {
    /// Successful writes over all write attempts.
    pub fn persist_success_rate(&self) -> Option<f64> {
        ratio(
            self.persist_success_count,
            self.persist_success_count + self.persist_failure_count,
        )
    }

    /// Memory hits over memory lookups.
    pub fn cache_hit_rate(&self) -> Option<f64> {
        ratio(
            self.cache_hit_count,
            self.cache_hit_count + self.cache_miss_count,
        )
    }

    /// Mean duration of one write attempt.
    pub fn avg_persist_latency(&self) -> Option<Duration> {
        let attempts = self.persist_success_count + self.persist_failure_count;
        (attempts > 0).then(|| {
            Duration::from_nanos((self.total_persist_latency.as_nanos() / attempts as u128) as u64)
        })
    }
}

/// The store's metrics as the consumer's counters show them: plain numbers, a rate or an
/// average being 0 while there is nothing to divide (see the counts next to it).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct OffsetStoreMetrics {
    /// Writes of an offset to the backing store attempted (successful or not).
    pub persist_count: u64,
    /// Those writes that failed.
    pub persist_failures: u64,
    /// Successful writes over attempted writes, from 0 to 1; 0 before the first write.
    pub persist_success_rate: f64,
    /// Mean duration of one write attempt, in milliseconds; 0 before the first write.
    pub avg_persist_latency_ms: f64,
    /// Offset reads answered from memory.
    pub cache_hits: u64,
    /// Offset reads that found nothing in memory.
    pub cache_misses: u64,
    /// Hits over memory lookups, from 0 to 1; 0 before the first lookup.
    pub cache_hit_rate: f64,
}

impl From<OffsetStoreMetricsSnapshot> for OffsetStoreMetrics {
    fn from(s: OffsetStoreMetricsSnapshot) -> Self {
        OffsetStoreMetrics {
            persist_count: s.persist_success_count + s.persist_failure_count,
            persist_failures: s.persist_failure_count,
            persist_success_rate: s.persist_success_rate().unwrap_or(0.0),
            avg_persist_latency_ms: s
                .avg_persist_latency()
                .map_or(0.0, |d| d.as_secs_f64() * 1000.0),
            cache_hits: s.cache_hit_count,
            cache_misses: s.cache_miss_count,
            cache_hit_rate: s.cache_hit_rate().unwrap_or(0.0),
        }
    }
}

fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_absent_until_measured_then_derived_from_counts() {
        let metrics = OffsetStoreCounters::default();
        let empty = metrics.snapshot();
        assert_eq!(empty.persist_success_rate(), None);
        assert_eq!(empty.cache_hit_rate(), None);
        assert_eq!(empty.avg_persist_latency(), None);

        metrics.record_persist(true, Duration::from_millis(3));
        metrics.record_persist(true, Duration::from_millis(1));
        metrics.record_persist(false, Duration::from_millis(8));
        metrics.record_persist(true, Duration::from_millis(0));
        metrics.record_cache_lookup(true);
        metrics.record_cache_lookup(false);
        metrics.record_store_read(false);
        let s = metrics.snapshot();
        assert_eq!((s.persist_success_count, s.persist_failure_count), (3, 1));
        assert_eq!(s.persist_success_rate(), Some(0.75));
        assert_eq!(s.avg_persist_latency(), Some(Duration::from_millis(3)));
        assert_eq!(s.cache_hit_rate(), Some(0.5));
        assert_eq!((s.store_read_count, s.store_read_failure_count), (1, 1));

        let view = OffsetStoreMetrics::from(s);
        assert_eq!((view.persist_count, view.persist_failures), (4, 1));
        assert_eq!(view.persist_success_rate, 0.75);
        assert_eq!(view.avg_persist_latency_ms, 3.0);
        assert_eq!((view.cache_hits, view.cache_misses), (1, 1));
        assert_eq!(view.cache_hit_rate, 0.5);
        assert_eq!(
            OffsetStoreMetrics::from(empty),
            OffsetStoreMetrics::default()
        );
    }
}
