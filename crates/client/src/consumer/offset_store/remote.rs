//! Clustering offsets, kept by the brokers: Java's `RemoteBrokerOffsetStore`.
//!
//! Reads go to the broker that hosts the queue (QUERY_CONSUMER_OFFSET, 14); QUERY_NOT_FOUND
//! (22) is the normal answer for a group that never committed there and reads as `Ok(None)`.
//! Writes are UPDATE_CONSUMER_OFFSET (15). Java sends those oneway; this store waits for the
//! answer, because only the answer says whether the offset was kept (a 5.x broker refuses an
//! unknown group or topic) and the persist metrics would otherwise count socket writes. The
//! writes of one persist run concurrently, so a slow broker costs one timeout, not one per queue;
//! [`RemoteOffsetStore::with_max_writes_in_flight`] bounds how many run at once.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use log::{debug, info, warn};
use rocketmq_remoting::body::MessageQueue;
use rocketmq_remoting::codes::{request, response};
use rocketmq_remoting::header::{
    DecodeHeader, EncodeHeader, OffsetResponseHeader, QueryConsumerOffsetRequestHeader,
    UpdateConsumerOffsetRequestHeader,
};
use rocketmq_remoting::RemotingCommand;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::table::OffsetTable;
use super::{
    OffsetStore, OffsetStoreCounters, OffsetStoreMetricsSnapshot, ReadOffsetType, StoreFuture,
};
use crate::error::{ClientError, Result};
use crate::instance::ClientInstance;
use crate::remoting_client::RemotingClient;

/// Java's timeout of both offset commands (`1000 * 5`).
pub const DEFAULT_OFFSET_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Broker id of a master.
const MASTER_ID: i64 = 0;

/// Finds the address that answers offset commands for a queue's broker. Java's
/// `findBrokerAddressInAdmin`: the master, else any other member of the broker group; when the
/// broker is unknown, the queue's topic route is refreshed once and asked again.
pub trait BrokerAddrLookup: Send + Sync {
    /// The address for `mq`'s broker, or `None` when no member of it is known.
    fn broker_addr<'a>(&'a self, mq: &'a MessageQueue) -> StoreFuture<'a, Option<String>>;
}

/// A plain function of the broker name, for tests and fixed set-ups.
impl<F> BrokerAddrLookup for F
where
    F: Fn(&str) -> Option<String> + Send + Sync,
{
    fn broker_addr<'a>(&'a self, mq: &'a MessageQueue) -> StoreFuture<'a, Option<String>> {
        Box::pin(async move { self(&mq.broker_name) })
    }
}

/// The shared client instance knows every broker of the routes it caches.
impl BrokerAddrLookup for ClientInstance {
    fn broker_addr<'a>(&'a self, mq: &'a MessageQueue) -> StoreFuture<'a, Option<String>> {
        Box::pin(async move {
            let pick = |brokers: BTreeMap<String, BTreeMap<i64, String>>| {
                let members = brokers.get(&mq.broker_name)?;
                members
                    .get(&MASTER_ID)
                    .or_else(|| members.values().next())
                    .cloned()
            };
            if let Some(addr) = pick(self.routes().brokers()) {
                return Some(addr);
            }
            if let Err(err) = self.routes().refresh(&mq.topic).await {
                debug!("route refresh for the offset of {mq} failed: {err}");
            }
            pick(self.routes().brokers())
        })
    }
}

/// Offsets of one consumer group, kept by the brokers.
pub struct RemoteOffsetStore {
    group: String,
    remoting: RemotingClient,
    brokers: Arc<dyn BrokerAddrLookup>,
    timeout: Duration,
    table: OffsetTable,
    metrics: OffsetStoreCounters,
    /// One persist at a time: two overlapping ones (the timer and a dropped queue) could
    /// otherwise deliver an older offset of a queue after a newer one.
    persisting: tokio::sync::Mutex<()>,
    /// How many offset writes of one persist may wait for their answers at once; `None`
    /// for all of them.
    max_writes_in_flight: Option<usize>,
    /// Extra immediate attempts of a failed offset write within one persist.
    retry_times: u32,
}

impl std::fmt::Debug for RemoteOffsetStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteOffsetStore")
            .field("group", &self.group)
            .finish_non_exhaustive()
    }
}

impl RemoteOffsetStore {
    /// A store for `group` that reaches brokers through `remoting` at the addresses `brokers`
    /// gives.
    pub fn new(
        group: impl Into<String>,
        remoting: RemotingClient,
        brokers: Arc<dyn BrokerAddrLookup>,
    ) -> Self {
        RemoteOffsetStore {
            group: group.into(),
            remoting,
            brokers,
            timeout: DEFAULT_OFFSET_REQUEST_TIMEOUT,
            table: OffsetTable::default(),
            metrics: OffsetStoreCounters::default(),
            persisting: tokio::sync::Mutex::new(()),
            max_writes_in_flight: None,
            retry_times: 0,
        }
    }

    /// A store for `group` on the connections and routes of a client instance.
    pub fn for_instance(instance: &Arc<ClientInstance>, group: impl Into<String>) -> Self {
        let brokers: Arc<dyn BrokerAddrLookup> = instance.clone();
        Self::new(group, instance.remoting().clone(), brokers)
    }

    /// Sets the timeout of each offset request (default 5 s, as Java).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Bounds the offset writes of one persist that run at once (the address lookup and the
    /// UPDATE_CONSUMER_OFFSET round trip) to `max` (at least 1); by default all of them run
    /// at once. A smaller bound spares the brokers a burst when a member holds many queues,
    /// at the cost of more round trips one after another.
    pub fn with_max_writes_in_flight(mut self, max: usize) -> Self {
        self.max_writes_in_flight = Some(max.max(1));
        self
    }

    /// Sets how many times a failed offset write is tried again at once within one persist
    /// (default 0, as Java).
    pub fn with_retry_times(mut self, retry_times: u32) -> Self {
        self.retry_times = retry_times;
        self
    }

    /// The consumer group.
    pub fn group(&self) -> &str {
        &self.group
    }

    /// QUERY_CONSUMER_OFFSET: the broker's offset of `mq`, `None` when it has none.
    ///
    /// `setZeroIfNotFound` is left out, as the Java client does: a 5.x broker then answers 0
    /// rather than QUERY_NOT_FOUND for a group it does not know on a queue whose first message
    /// is still in memory (protocol.md §2.6).
    pub async fn query_broker_offset(&self, mq: &MessageQueue) -> Result<Option<i64>> {
        let addr = self.addr_of(mq).await?;
        let header = QueryConsumerOffsetRequestHeader {
            consumer_group: self.group.clone(),
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            set_zero_if_not_found: None,
            broker_name: Some(mq.broker_name.clone()),
        };
        let command =
            RemotingCommand::request(request::QUERY_CONSUMER_OFFSET, header.to_ext_fields());
        let answer = self.remoting.request(&addr, command, self.timeout).await?;
        match answer.code {
            response::SUCCESS => Ok(Some(
                OffsetResponseHeader::from_ext_fields(&answer.ext_fields)?.offset,
            )),
            response::QUERY_NOT_FOUND => Ok(None),
            code => Err(ClientError::BrokerResponse {
                message: format!(
                    "query offset of group {} for {mq} at {addr} failed: {}",
                    self.group,
                    answer.remark.unwrap_or_default()
                ),
                code,
            }),
        }
    }

    /// UPDATE_CONSUMER_OFFSET: stores `offset` for `mq` on its broker and waits for the
    /// answer. Does not touch the memory table.
    pub async fn update_broker_offset(&self, mq: &MessageQueue, offset: i64) -> Result<()> {
        let addr = self.addr_of(mq).await?;
        send_update(
            self.remoting.clone(),
            addr,
            self.group.clone(),
            mq.clone(),
            offset,
            self.timeout,
        )
        .await
    }

    async fn addr_of(&self, mq: &MessageQueue) -> Result<String> {
        addr_of(self.brokers.as_ref(), mq).await
    }

    /// Writes `changed`, at most `max_writes_in_flight` at a time; returns how many were
    /// stored and the last error.
    async fn write_offsets(
        &self,
        changed: Vec<(MessageQueue, i64)>,
    ) -> (usize, Option<ClientError>) {
        let permits = Arc::new(Semaphore::new(
            self.max_writes_in_flight
                .unwrap_or(changed.len())
                .clamp(1, Semaphore::MAX_PERMITS),
        ));
        let mut writes = JoinSet::new();
        for (mq, offset) in changed {
            let (remoting, brokers, group, timeout, permits) = (
                self.remoting.clone(),
                Arc::clone(&self.brokers),
                self.group.clone(),
                self.timeout,
                Arc::clone(&permits),
            );
            let attempts = self.retry_times.saturating_add(1);
            writes.spawn(async move {
                // The semaphore is never closed, so the permit always comes.
                let _permit = permits.acquire_owned().await;
                let started = Instant::now();
                let mut attempt = 1;
                let outcome = loop {
                    let outcome = match addr_of(brokers.as_ref(), &mq).await {
                        Ok(addr) => {
                            let (remoting, group) = (remoting.clone(), group.clone());
                            send_update(remoting, addr, group, mq.clone(), offset, timeout).await
                        }
                        Err(err) => Err(err),
                    };
                    match outcome {
                        Err(err) if attempt < attempts => {
                            debug!("offset {offset} of group {group} for {mq}: attempt {attempt}/{attempts} failed, trying again: {err}");
                            attempt += 1;
                        }
                        other => break other,
                    }
                };
                (mq, offset, outcome, started.elapsed())
            });
        }
        let mut written = 0;
        let mut last_error = None;
        while let Some(joined) = writes.join_next().await {
            let Ok((mq, offset, outcome, took)) = joined else {
                continue; // only a panic or an abort ends a write task without an outcome
            };
            self.metrics.record_persist(outcome.is_ok(), took);
            match outcome {
                Ok(()) => {
                    self.table.mark_persisted(&mq, offset);
                    written += 1;
                    debug!("persisted offset {offset} of group {} for {mq}", self.group);
                }
                Err(err) => {
                    warn!(
                        "offset {offset} of group {} for {mq} not persisted: {err}",
                        self.group
                    );
                    last_error = Some(err);
                }
            }
        }
        (written, last_error)
    }
}

/// Offsets to write, with their queues.
type OffsetWrites = Vec<(MessageQueue, i64)>;

/// Splits offset writes into the first of each (broker, topic) and the rest, so that the first
/// is answered before the others are sent. A broker keeps a group's offsets of one topic in a
/// map it creates on the first commit with a check-then-put (4.9.x's `ConsumerOffsetManager.
/// commitOffset`): two first commits of one topic handled at once by its worker threads each
/// create a map, and the second `put` drops the first's offset although both were answered
/// SUCCESS. Seen against 4.9.7 (one queue of four read back 0); as this store only sends
/// offsets that changed, a lost one would not be sent again while its queue stays idle.
fn first_of_each_broker_topic(changed: OffsetWrites) -> (OffsetWrites, OffsetWrites) {
    let mut seen = std::collections::HashSet::new();
    changed
        .into_iter()
        .partition(|(mq, _)| seen.insert((mq.broker_name.clone(), mq.topic.clone())))
}

async fn addr_of(brokers: &dyn BrokerAddrLookup, mq: &MessageQueue) -> Result<String> {
    brokers.broker_addr(mq).await.ok_or_else(|| {
        ClientError::BrokerNotAvailable(format!(
            "no address known for broker {} of {mq}",
            mq.broker_name
        ))
    })
}

async fn send_update(
    remoting: RemotingClient,
    addr: String,
    group: String,
    mq: MessageQueue,
    offset: i64,
    timeout: Duration,
) -> Result<()> {
    let header = UpdateConsumerOffsetRequestHeader {
        consumer_group: group,
        topic: mq.topic.clone(),
        queue_id: mq.queue_id,
        commit_offset: offset,
        broker_name: Some(mq.broker_name.clone()),
    };
    let command = RemotingCommand::request(request::UPDATE_CONSUMER_OFFSET, header.to_ext_fields());
    let answer = remoting.request(&addr, command, timeout).await?;
    if answer.code == response::SUCCESS {
        Ok(())
    } else {
        Err(ClientError::BrokerResponse {
            message: format!(
                "update offset of {mq} to {offset} at {addr} failed: {}",
                answer.remark.unwrap_or_default()
            ),
            code: answer.code,
        })
    }
}

impl OffsetStore for RemoteOffsetStore {
    fn load(&self) -> StoreFuture<'_, Result<()>> {
        Box::pin(async { Ok(()) })
    }

    fn update_offset(&self, mq: &MessageQueue, offset: i64, increase_only: bool) {
        self.table.update(mq, offset, increase_only);
    }

    fn read_offset<'a>(
        &'a self,
        mq: &'a MessageQueue,
        kind: ReadOffsetType,
    ) -> StoreFuture<'a, Result<Option<i64>>> {
        Box::pin(async move {
            if let Some(answer) = self.table.read_memory_first(mq, kind, &self.metrics) {
                return Ok(answer);
            }
            let read = self.query_broker_offset(mq).await;
            self.metrics.record_store_read(read.is_ok());
            if let Ok(Some(offset)) = read {
                self.table.set_from_store(mq, offset);
            }
            read
        })
    }

    fn persist_all<'a>(
        &'a self,
        mqs: &'a BTreeSet<MessageQueue>,
    ) -> StoreFuture<'a, Result<usize>> {
        Box::pin(async move {
            if mqs.is_empty() {
                return Ok(0);
            }
            let _one_at_a_time = self.persisting.lock().await;
            for mq in self.table.retain(mqs) {
                info!(
                    "group {}: forgot the offset of {mq}, no longer assigned",
                    self.group
                );
            }
            // The first offset of each topic on each broker goes alone, the rest after it: see
            // `first_of_each_broker_topic`.
            let (firsts, rest) = first_of_each_broker_topic(self.table.changed(mqs));
            let (written_first, first_error) = self.write_offsets(firsts).await;
            let (written, last_error) = self.write_offsets(rest).await;
            match last_error.or(first_error) {
                Some(err) => Err(err),
                None => Ok(written_first + written),
            }
        })
    }

    fn persist<'a>(&'a self, mq: &'a MessageQueue) -> StoreFuture<'a, Result<bool>> {
        Box::pin(async move {
            let _one_at_a_time = self.persisting.lock().await;
            let only = BTreeSet::from([mq.clone()]);
            let (written, last_error) = self.write_offsets(self.table.changed(&only)).await;
            match last_error {
                Some(err) => Err(err),
                None => Ok(written > 0),
            }
        })
    }

    fn remove_offset(&self, mq: &MessageQueue) {
        if self.table.remove(mq) {
            info!("group {}: removed the offset of {mq}", self.group);
        }
    }

    fn clone_offset_table(&self, topic: Option<&str>) -> BTreeMap<MessageQueue, i64> {
        self.table.snapshot(topic)
    }

    fn metrics(&self) -> OffsetStoreMetricsSnapshot {
        self.metrics.snapshot()
    }
}
