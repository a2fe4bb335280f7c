//! Message traces in the Java client's format, so that the RocketMQ dashboard and `mqadmin
//! queryMsgTraceById` read ours: a send leaves a `Pub` record, a listener call a `SubBefore`
//! record per message before it and a `SubAfter` record per message after it. Records are
//! text, fields split by `\u{1}` and records ended by `\u{2}`, in the field order of Java's
//! `TraceDataEncoder` (see [`TraceRecord::encode`]).
//!
//! A [`TraceDispatcher`] ships them as Java's `AsyncTraceDispatcher` does: records wait in a
//! bounded queue, a task takes up to [`BATCH_RECORDS`] at a time, packs the records of one
//! traced topic into messages of at most [`MAX_TRACE_MESSAGE_CHARS`] (keys: every record's
//! message id and keys, which is what `queryMsgTraceById` looks up) and sends them to the
//! trace topic through a producer of its own (group `_INNER_TRACE_PRODUCER-<group>`), which
//! may send to `RMQ_SYS_TRACE_TOPIC`, a topic the user-facing producer refuses.
//!
//! Tracing never slows or fails the message path: recording is a `try_send` on the queue;
//! a full queue drops the record, counts it, and logs the count at most once per
//! [`DROP_LOG_INTERVAL`]. Failed trace sends are counted and logged the same way.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use log::{debug, warn};
use rocketmq_remoting::message::properties::keys as property;
use rocketmq_remoting::message::{MessageExt, UniqIdGenerator};
use tokio::sync::{mpsc, Notify, Semaphore};
use tokio::task::JoinHandle;

use crate::producer::{OutgoingMessage, Producer, ProducerConfig};

/// The trace topic of brokers started with `traceTopicEnable=true` (Java's
/// `TopicValidator.RMQ_SYS_TRACE_TOPIC`).
pub const DEFAULT_TRACE_TOPIC: &str = "RMQ_SYS_TRACE_TOPIC";
/// Java's `TraceConstants.CONTENT_SPLITOR`: between the fields of a record.
pub const CONTENT_SPLITOR: char = '\u{1}';
/// Java's `TraceConstants.FIELD_SPLITOR`: after each record.
pub const FIELD_SPLITOR: char = '\u{2}';
/// The producer group of trace producers, before `-<group>` (Java's `GROUP_NAME_PREFIX`).
pub const TRACE_PRODUCER_GROUP_PREFIX: &str = "_INNER_TRACE_PRODUCER";
/// Records waiting to be sent; more are dropped (and counted).
pub const QUEUE_CAPACITY: usize = 16_384;
/// Records taken from the queue per round (Java: 100).
pub const BATCH_RECORDS: usize = 100;
/// A trace message is sent once its body reaches this many characters (Java: its trace
/// producer's max message size, 128,000 - 10,000).
pub const MAX_TRACE_MESSAGE_CHARS: usize = 118_000;
/// How long a round waits for more records once it has one (Java polls every 5 ms).
pub const BATCH_WAIT: Duration = Duration::from_millis(5);
/// Trace messages in flight at once (Java: 20 sender threads).
pub const SENDS_IN_FLIGHT: usize = 20;
/// Drops and failed sends are logged at most this often.
pub const DROP_LOG_INTERVAL: Duration = Duration::from_secs(10);
/// How long `shutdown` waits for the records still queued to be sent.
pub const SHUTDOWN_FLUSH_WAIT: Duration = Duration::from_secs(3);

/// Java's `MessageType` ordinals, as a `Pub` record carries them.
pub mod msg_type {
    pub const NORMAL: u8 = 0;
    pub const DELAY: u8 = 3;
}

/// Java's `ConsumeReturnType` ordinals, the `SubAfter` context code.
pub mod context_code {
    pub const SUCCESS: i32 = 0;
    pub const FAILED: i32 = 4;
}

/// One trace record, with the fields Java's encoder writes for its type.
#[derive(Debug, Clone, PartialEq)]
pub enum TraceRecord {
    /// A message sent (only sends the broker answered are traced, as in Java).
    Pub {
        timestamp_ms: i64,
        region_id: String,
        group: String,
        topic: String,
        msg_id: String,
        tags: Option<String>,
        /// The KEYS property (keys joined by spaces).
        keys: Option<String>,
        /// The broker address the message was sent to.
        store_host: String,
        body_length: usize,
        cost_ms: i64,
        msg_type: u8,
        offset_msg_id: String,
        success: bool,
    },
    /// A message handed to the listener.
    SubBefore {
        timestamp_ms: i64,
        region_id: String,
        group: String,
        /// The listener call's id, shared by its `SubAfter` records.
        request_id: String,
        topic: String,
        msg_id: String,
        retry_times: i32,
        keys: Option<String>,
    },
    /// The listener's verdict on a message.
    SubAfter {
        request_id: String,
        topic: String,
        msg_id: String,
        /// The call's time divided by its message count, as Java.
        cost_ms: i64,
        success: bool,
        keys: Option<String>,
        context_code: i32,
        timestamp_ms: i64,
    },
}

/// Java appends a missing string as `null`; its decoder reads that back as the text "null".
fn or_null(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("null")
}

impl TraceRecord {
    /// Appends the record in Java's `TraceDataEncoder.encoderFromContextBean` layout.
    pub fn encode(&self, out: &mut String) {
        let fields: Vec<String> = match self {
            TraceRecord::Pub {
                timestamp_ms,
                region_id,
                group,
                topic,
                msg_id,
                tags,
                keys,
                store_host,
                body_length,
                cost_ms,
                msg_type,
                offset_msg_id,
                success,
            } => vec![
                "Pub".into(),
                timestamp_ms.to_string(),
                region_id.clone(),
                group.clone(),
                topic.clone(),
                msg_id.clone(),
                or_null(tags).into(),
                or_null(keys).into(),
                store_host.clone(),
                body_length.to_string(),
                cost_ms.to_string(),
                msg_type.to_string(),
                offset_msg_id.clone(),
                success.to_string(),
            ],
            TraceRecord::SubBefore {
                timestamp_ms,
                region_id,
                group,
                request_id,
                msg_id,
                retry_times,
                keys,
                ..
            } => vec![
                "SubBefore".into(),
                timestamp_ms.to_string(),
                region_id.clone(),
                group.clone(),
                request_id.clone(),
                msg_id.clone(),
                retry_times.to_string(),
                or_null(keys).into(),
            ],
            TraceRecord::SubAfter {
                request_id,
                msg_id,
                cost_ms,
                success,
                keys,
                context_code,
                timestamp_ms,
                ..
            } => vec![
                "SubAfter".into(),
                request_id.clone(),
                msg_id.clone(),
                cost_ms.to_string(),
                success.to_string(),
                or_null(keys).into(),
                context_code.to_string(),
                timestamp_ms.to_string(),
            ],
        };
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                out.push(CONTENT_SPLITOR);
            }
            out.push_str(field);
        }
        out.push(FIELD_SPLITOR);
    }

    /// The traced message's topic: Java packs the records of one topic per trace message.
    fn topic(&self) -> &str {
        match self {
            TraceRecord::Pub { topic, .. }
            | TraceRecord::SubBefore { topic, .. }
            | TraceRecord::SubAfter { topic, .. } => topic,
        }
    }

    /// What the trace message is indexed by for this record: the message id, and its keys.
    fn index_keys(&self) -> [Option<&str>; 2] {
        match self {
            TraceRecord::Pub { msg_id, keys, .. }
            | TraceRecord::SubBefore { msg_id, keys, .. }
            | TraceRecord::SubAfter { msg_id, keys, .. } => {
                [Some(msg_id), keys.as_deref().filter(|k| !k.is_empty())]
            }
        }
    }
}

/// Packs records into trace message bodies and their keys: per traced topic, records are
/// appended until the body reaches [`MAX_TRACE_MESSAGE_CHARS`].
pub fn pack(records: Vec<TraceRecord>) -> Vec<(String, Vec<String>)> {
    let mut by_topic: BTreeMap<String, Vec<TraceRecord>> = BTreeMap::new();
    for record in records {
        by_topic
            .entry(record.topic().to_owned())
            .or_default()
            .push(record);
    }
    let mut messages = Vec::new();
    for records in by_topic.into_values() {
        let mut body = String::with_capacity(1024);
        let mut keys = BTreeSet::new();
        for record in &records {
            record.encode(&mut body);
            keys.extend(record.index_keys().into_iter().flatten().map(str::to_owned));
            if body.len() >= MAX_TRACE_MESSAGE_CHARS {
                messages.push((std::mem::take(&mut body), std::mem::take(&mut keys)));
            }
        }
        if !body.is_empty() {
            messages.push((body, keys));
        }
    }
    messages
        .into_iter()
        .map(|(body, keys)| (body, keys.into_iter().collect()))
        .collect()
}

/// A dispatcher's counters, for the `metrics()` snapshots.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TraceMetrics {
    /// Records queued.
    pub recorded: u64,
    /// Records dropped because the queue was full.
    pub dropped: u64,
    /// Trace messages sent.
    pub messages_sent: u64,
    /// Trace messages whose send failed (their records are lost).
    pub send_failures: u64,
}

#[derive(Debug, Default)]
struct Counters {
    recorded: AtomicU64,
    dropped: AtomicU64,
    messages_sent: AtomicU64,
    send_failures: AtomicU64,
    /// When drops or failures were last logged, ms since the epoch.
    last_logged_ms: AtomicI64,
}

impl Counters {
    /// Logs the drop and failure counts, at most once per [`DROP_LOG_INTERVAL`].
    fn log_losses(&self, topic: &str) {
        let now = now_ms();
        let last = self.last_logged_ms.load(Ordering::Relaxed);
        if now - last < DROP_LOG_INTERVAL.as_millis() as i64
            || self
                .last_logged_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        warn!(
            "message traces to {topic}: {} records dropped (queue full), {} trace messages failed so far",
            self.dropped.load(Ordering::Relaxed),
            self.send_failures.load(Ordering::Relaxed)
        );
    }
}

/// Queues trace records and sends them in batches to the trace topic (see the module docs).
pub struct TraceDispatcher {
    topic: String,
    queue: mpsc::Sender<TraceRecord>,
    counters: Arc<Counters>,
    stop: Arc<Notify>,
    worker: Mutex<Option<JoinHandle<()>>>,
    producer: Arc<Producer>,
    ids: UniqIdGenerator,
}

impl TraceDispatcher {
    /// Starts a dispatcher sending to `topic` through a producer of its own, made from
    /// `host` (the traced client's NameServer and names) with the trace producer's group.
    pub async fn start(
        host: &ProducerConfig,
        host_group: &str,
        topic: &str,
    ) -> crate::Result<Arc<Self>> {
        crate::validation::validate_topic(topic)?;
        let config = ProducerConfig {
            group: format!("{TRACE_PRODUCER_GROUP_PREFIX}-{host_group}"),
            send_timeout: Duration::from_secs(5),
            retry_times: 2,
            ..host.clone()
        };
        let producer = Arc::new(Producer::new(config)?);
        producer.start().await?;
        Ok(Self::launch(producer, topic, QUEUE_CAPACITY))
    }

    /// A dispatcher with a queue of `capacity` records whose task sends through `producer`.
    fn launch(producer: Arc<Producer>, topic: &str, capacity: usize) -> Arc<Self> {
        let ids = UniqIdGenerator::new(
            producer.local_ip().unwrap_or([127, 0, 0, 1].into()),
            std::process::id(),
        );
        let (queue, rx) = mpsc::channel(capacity);
        let counters = Arc::new(Counters::default());
        let stop = Arc::new(Notify::new());
        let worker = tokio::spawn(run(
            rx,
            Arc::clone(&producer),
            topic.to_owned(),
            Arc::clone(&counters),
            Arc::clone(&stop),
        ));
        Arc::new(TraceDispatcher {
            topic: topic.to_owned(),
            queue,
            counters,
            stop,
            worker: Mutex::new(Some(worker)),
            producer,
            ids,
        })
    }

    /// The trace topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Queues `record`, or drops and counts it when the queue is full. Never waits.
    pub fn record(&self, record: TraceRecord) {
        match self.queue.try_send(record) {
            Ok(()) => {
                self.counters.recorded.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                self.counters.log_losses(&self.topic);
            }
        }
    }

    /// A new id for a listener call's records (Java: a unique message id per context).
    pub fn request_id(&self) -> String {
        self.ids.next_id()
    }

    /// The counters now.
    pub fn metrics(&self) -> TraceMetrics {
        let c = &self.counters;
        TraceMetrics {
            recorded: c.recorded.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            messages_sent: c.messages_sent.load(Ordering::Relaxed),
            send_failures: c.send_failures.load(Ordering::Relaxed),
        }
    }

    /// Sends what is queued (waiting at most [`SHUTDOWN_FLUSH_WAIT`]), then shuts the trace
    /// producer down. Idempotent.
    pub async fn shutdown(&self) {
        let worker = self.worker.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(worker) = worker {
            self.stop.notify_one();
            if tokio::time::timeout(SHUTDOWN_FLUSH_WAIT, worker)
                .await
                .is_err()
            {
                warn!(
                    "message traces to {}: records still unsent after {SHUTDOWN_FLUSH_WAIT:?} are lost",
                    self.topic
                );
            }
            self.producer.shutdown().await;
        }
    }
}

/// The dispatcher's task: batches, packs and sends until stopped, then sends what is left.
async fn run(
    mut rx: mpsc::Receiver<TraceRecord>,
    producer: Arc<Producer>,
    topic: String,
    counters: Arc<Counters>,
    stop: Arc<Notify>,
) {
    let sends = Arc::new(Semaphore::new(SENDS_IN_FLIGHT));
    let mut stopping = false;
    while !stopping {
        let mut batch = Vec::with_capacity(BATCH_RECORDS);
        tokio::select! {
            record = rx.recv() => match record {
                Some(record) => batch.push(record),
                None => stopping = true,
            },
            _ = stop.notified() => stopping = true,
        }
        if stopping {
            while let Ok(record) = rx.try_recv() {
                batch.push(record);
            }
        } else {
            let deadline = tokio::time::Instant::now() + BATCH_WAIT;
            while batch.len() < BATCH_RECORDS {
                match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(Some(record)) => batch.push(record),
                    _ => break,
                }
            }
        }
        for (body, keys) in pack(batch) {
            let Ok(permit) = Arc::clone(&sends).acquire_owned().await else {
                return;
            };
            let producer = Arc::clone(&producer);
            let counters = Arc::clone(&counters);
            let topic = topic.clone();
            tokio::spawn(async move {
                let message = OutgoingMessage {
                    topic: topic.clone(),
                    body: Bytes::from(body),
                    keys,
                    ..OutgoingMessage::default()
                };
                match producer.send_trace_message(message).await {
                    Ok(result) => {
                        counters.messages_sent.fetch_add(1, Ordering::Relaxed);
                        debug!("trace message {} sent to {topic}", result.msg_id);
                    }
                    Err(err) => {
                        counters.send_failures.fetch_add(1, Ordering::Relaxed);
                        debug!("trace message to {topic} failed: {err}");
                        counters.log_losses(&topic);
                    }
                }
                drop(permit);
            });
        }
    }
    // Every send in flight settles before the producer is shut down.
    let _ = sends.acquire_many(SENDS_IN_FLIGHT as u32).await;
}

/// The `SubBefore` record of `message` handed to a listener of `group`, or `None` when
/// the broker switched traces off for it (`TRACE_ON=false`).
pub fn sub_before(
    group: &str,
    request_id: &str,
    message: &MessageExt,
    timestamp_ms: i64,
) -> Option<TraceRecord> {
    if message.property(property::TRACE_ON) == Some("false") {
        return None;
    }
    Some(TraceRecord::SubBefore {
        timestamp_ms,
        region_id: message
            .property(property::MSG_REGION)
            .unwrap_or_default()
            .to_owned(),
        group: group.to_owned(),
        request_id: request_id.to_owned(),
        topic: message.topic.clone(),
        msg_id: message.msg_id().to_owned(),
        retry_times: message.reconsume_times,
        keys: message.property(property::KEYS).map(str::to_owned),
    })
}

/// The `SubAfter` record of `message`, after a call of `count` messages that took
/// `took_ms` and ended in `success`.
pub fn sub_after(
    request_id: &str,
    message: &MessageExt,
    took_ms: i64,
    count: usize,
    success: bool,
) -> TraceRecord {
    TraceRecord::SubAfter {
        request_id: request_id.to_owned(),
        topic: message.topic.clone(),
        msg_id: message.msg_id().to_owned(),
        cost_ms: took_ms / count.max(1) as i64,
        success,
        keys: message.property(property::KEYS).map(str::to_owned),
        context_code: if success {
            context_code::SUCCESS
        } else {
            context_code::FAILED
        },
        timestamp_ms: now_ms(),
    }
}

/// Milliseconds since the epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pub_record(msg_id: &str, keys: Option<&str>) -> TraceRecord {
        TraceRecord::Pub {
            timestamp_ms: 1700000000000,
            region_id: "DefaultRegion".into(),
            group: "g".into(),
            topic: "t".into(),
            msg_id: msg_id.into(),
            tags: None,
            keys: keys.map(Into::into),
            store_host: "127.0.0.1:10911".into(),
            body_length: 5,
            cost_ms: 2,
            msg_type: msg_type::NORMAL,
            offset_msg_id: "OFF".into(),
            success: true,
        }
    }

    /// A dispatcher whose producer was never started: every trace send fails at once.
    fn unstarted(capacity: usize) -> Arc<TraceDispatcher> {
        let producer = Producer::new(ProducerConfig {
            namesrv_addr: "127.0.0.1:9876".into(),
            group: "trace_test".into(),
            ..ProducerConfig::default()
        })
        .unwrap();
        TraceDispatcher::launch(Arc::new(producer), "Traces", capacity)
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_full_queue_drops_and_counts_records_and_failed_sends_are_counted() {
        let dispatcher = unstarted(4);
        // The task cannot run between these calls (one thread, no await): the queue fills.
        for i in 0..10 {
            dispatcher.record(pub_record(&format!("ID{i}"), None));
        }
        let m = dispatcher.metrics();
        assert_eq!((m.recorded, m.dropped), (4, 6));
        // The four queued records make one trace message, whose send fails (not started).
        dispatcher.shutdown().await;
        assert_eq!(dispatcher.metrics().send_failures, 1);
        assert_eq!(dispatcher.metrics().messages_sent, 0);
    }

    #[test]
    fn records_are_encoded_in_the_java_field_order() {
        let mut out = String::new();
        pub_record("ID", Some("k1 k2")).encode(&mut out);
        assert_eq!(
            out,
            "Pub\u{1}1700000000000\u{1}DefaultRegion\u{1}g\u{1}t\u{1}ID\u{1}null\u{1}k1 k2\u{1}127.0.0.1:10911\u{1}5\u{1}2\u{1}0\u{1}OFF\u{1}true\u{2}"
        );
        let mut out = String::new();
        TraceRecord::SubAfter {
            request_id: "R".into(),
            topic: "t".into(),
            msg_id: "ID".into(),
            cost_ms: 3,
            success: false,
            keys: None,
            context_code: context_code::FAILED,
            timestamp_ms: 9,
        }
        .encode(&mut out);
        assert_eq!(
            out,
            "SubAfter\u{1}R\u{1}ID\u{1}3\u{1}false\u{1}null\u{1}4\u{1}9\u{2}"
        );
    }

    #[test]
    fn packing_keys_each_message_by_ids_and_keys_and_splits_large_bodies() {
        let packed = pack(vec![pub_record("A", Some("k")), pub_record("B", None)]);
        assert_eq!(packed.len(), 1);
        assert_eq!(packed[0].1, vec!["A", "B", "k"]);
        assert_eq!(packed[0].0.matches(FIELD_SPLITOR).count(), 2);

        let many: Vec<_> = (0..2000)
            .map(|i| pub_record(&format!("{i:0>100}"), None))
            .collect();
        let packed = pack(many);
        assert!(packed.len() > 1);
        let records: usize = packed
            .iter()
            .map(|(body, _)| body.matches(FIELD_SPLITOR).count())
            .sum();
        assert_eq!(records, 2000);
        for (body, _) in &packed {
            // A body stops growing at the first record that reaches the limit.
            assert!(body.len() < MAX_TRACE_MESSAGE_CHARS + 400);
        }
    }
}
