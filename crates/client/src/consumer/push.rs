//! The push consumer engine (Java's `DefaultMQPushConsumerImpl`, `RebalanceImpl` and
//! `ConsumeMessageConcurrentlyService`): it assembles the building blocks of this module's
//! siblings into a consumer that pulls its share of a group's queues and hands the messages
//! to a listener, concurrently.
//!
//! Tasks of a started consumer, all on the runtime that called [`PushConsumer::start`]:
//! - one rebalance task: every `rebalance_interval`, when the broker says the group changed
//!   ([`ConsumerHooks::rebalance_soon`]) and when a subscribed topic's route changes, it
//!   applies the offset resets brokers asked for, plans each topic
//!   ([`rebalance::plan_rebalance`]), drops queues and adds queues (start offset from
//!   [`start_offset::compute_pull_from_where`], a fresh [`ProcessQueue`], a pull task);
//! - one pull task per held queue: flow control ([`QueueLimits`]; a queue over a limit
//!   checks again once messages leave it, or after `flow_control_interval` at the
//!   latest), long-polling pull, dispatch; a failed
//!   pull backs off [`PULL_ERROR_DELAY`] and the loop goes on;
//! - one short task per consume batch, holding a permit of a semaphore sized
//!   `consume_thread_num` while the listener runs (Java's consume thread pool);
//! - one task persisting the offsets every `persist_consumer_offset_interval`.
//!
//! Never lose a message: a batch leaves its [`ProcessQueue`] only when the listener said
//! [`ConsumeConcurrentlyStatus::ConsumeSuccess`], and the committed offset is the smallest
//! offset still held, so a failed or slow batch holds the queue's commit back. A batch the
//! listener failed (ReconsumeLater, a panic, a call past `consume_timeout`) is sent back to
//! the broker ([`send_back`]), which delivers it again through `%RETRY%<group>` after a
//! delay, or moves it to `%DLQ%<group>` past `max_reconsume_times`; a message that cannot be
//! sent back is consumed again locally after [`CONSUME_LATER_DELAY`] with its
//! `reconsume_times` raised, as Java's `consumeLater` fallback does. A call past
//! `consume_timeout` is cancelled, so its late verdict never counts (Java's
//! `cleanExpireMsg` has the same effect). Messages are delivered at least once: a queue
//! that moves to another member may deliver its uncommitted messages there again.
//!
//! Dropping a queue (rebalance, or an offset reset from a broker, see
//! `Engine::apply_resets`) goes through its [`QueueSlot`]: pulls stop, the listener calls
//! in flight get up to [`DROP_CONSUME_WAIT`] to finish and commit, then the offset is
//! persisted and later verdicts of that queue are ignored.
//!
//! Subscriptions are TAG or SQL92 ([`ExpressionType`]); the SQL92 ones are checked by the
//! brokers at start ([`selector`]). [`PushConsumer::stats`] reads the counters.
//!
//! Subscriptions may change while the consumer runs ([`PushConsumer::subscribe_live`],
//! [`PushConsumer::unsubscribe`], Java's `subscribe` / `unsubscribe` after start): a SQL92
//! expression is checked by the brokers first (a refused one changes nothing), the brokers
//! are told at once by a heartbeat, and a rebalance round runs at once: a new topic's queues
//! are added and pulled, an unsubscribed topic's are dropped as a rebalance drops a queue
//! (offsets persisted). A replaced expression holds for every pull made after it; a pull
//! still held by a broker under the old one is abandoned and made again, so no message is
//! filtered by an expression that no longer applies (see the `subscriptions` module). The group's
//! retry topic cannot be unsubscribed.
//!
//! Two message models, as Java's:
//! - CLUSTERING (the default): the members of a group share the queues
//!   ([`PushConsumerConfig::allocate_strategy`]), offsets live on the brokers
//!   ([`RemoteOffsetStore`]), failed messages are sent back, and the group's retry topic is
//!   subscribed besides the user's topics.
//! - BROADCASTING: every member holds every queue of its subscriptions (no consumer list, no
//!   strategy), offsets live in a file of this client ([`LocalOffsetStore`], Java's format and
//!   path `<offset_store_dir>/<clientId>/<group>/offsets.json`), loaded at start and
//!   persisted as in clustering. There is no retry topic: a message the listener fails
//!   (ReconsumeLater, a panic, a call past `consume_timeout`) is logged at warn, counted
//!   ([`ConsumerStats::dropped_after_failure`]) and committed like a consumed one, as
//!   Java's `ConsumeMessageConcurrentlyService` drops it ("BROADCASTING, the message consume
//!   failed, drop it"). A failure verdict while shutting down still leaves its messages
//!   uncommitted: the next start of this member delivers them again. With no `instance_name`
//!   the client id keeps Java's `DEFAULT` (clustering takes the process id), so the file is
//!   found again by the next run.

mod orderly;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use log::{debug, info, warn};
use rocketmq_remoting::body::running_info::props;
use rocketmq_remoting::body::{
    ConsumeFromWhere, ConsumeMessageDirectlyResult, ConsumeResult, ConsumeType, ConsumerData,
    ConsumerRunningInfo, MessageModel, MessageQueue, SubscriptionData,
};
use rocketmq_remoting::message::properties::keys;
use rocketmq_remoting::message::MessageExt;
use tokio::sync::{watch, Notify, Semaphore};
use tokio::task::{JoinHandle, JoinSet};

use super::allocate::{AllocateAveragely, AllocateStrategy};
use super::config_rules;
use super::flow_control::{QueueLimits, Thresholds};
use super::offset_store::local::{self, LocalOffsetStore};
use super::offset_store::remote::{RemoteOffsetStore, DEFAULT_OFFSET_REQUEST_TIMEOUT};
use super::offset_store::{OffsetStore, ReadOffsetType};
use super::orderly::{MessageListenerOrderly, DEFAULT_SUSPEND_CURRENT_QUEUE_TIME};
use super::pause::{PauseSwitch, PAUSED_PULL_DELAY};
use super::process_queue::ProcessQueue;
use super::pull::{PullRequest, PullStatus, Puller, DEFAULT_PULL_TIMEOUT, DEFAULT_SUSPEND_TIMEOUT};
use super::queue_slot::{QueueSlot, DROP_CONSUME_WAIT};
use super::rebalance::{self, HeldQueue, RebalanceInput};
use super::selector;
pub use super::selector::ExpressionType;
use super::send_back::{
    send_back_with, SendBackOptions, DEFAULT_COMPRESS_OVER, DEFAULT_MAX_RECONSUME_TIMES,
    DEFAULT_SEND_BACK_RETRY_TIMES, SEND_BACK_TIMEOUT,
};
use super::start_offset::{self, QueueOffsets};
pub use super::stats::{ConsumerStats, OffsetStoreMetrics, QueueMetrics};
use super::stats::{Counters, Event, TopicStatus};
use super::subscriptions::LiveSubscriptions;
use crate::error::{ClientError, Result};
use crate::instance::{ClientInstance, InstanceConfig};
use crate::processor::{ClientProcessor, ConsumerHooks};
use crate::trace::{self, TraceDispatcher, TraceMetrics, DEFAULT_TRACE_TOPIC};
use crate::validation::validate_topic;

/// Java's back-off when a queue is over a flow-control threshold
/// (`PULL_TIME_DELAY_MILLS_WHEN_FLOW_CONTROL`): the default of
/// [`PushConsumerConfig::flow_control_interval`].
pub const FLOW_CONTROL_DELAY: Duration = Duration::from_millis(50);
/// Java's back-off after a failed pull (`pullTimeDelayMillsWhenException`).
pub const PULL_ERROR_DELAY: Duration = Duration::from_secs(3);
/// How long a failed batch waits before it is consumed again (Java's `consumeLater`).
pub const CONSUME_LATER_DELAY: Duration = Duration::from_secs(5);
/// How long [`PushConsumer::shutdown`] waits for listener calls in flight.
pub const SHUTDOWN_CONSUME_WAIT: Duration = Duration::from_secs(10);
/// Java's `consumeTimeout` default, 15 minutes.
pub const DEFAULT_CONSUME_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// Java 5.x rebalances again this soon when a round left an allocated queue unbalanced.
const UNBALANCED_RETRY: Duration = Duration::from_secs(1);
/// The instance name of a broadcasting consumer that sets none: Java's `ClientConfig`
/// default, which only a clustering consumer replaces with the process id. A name that is
/// the same from run to run keeps the client id, and so the offsets file's path, stable.
pub const BROADCASTING_DEFAULT_INSTANCE_NAME: &str = "DEFAULT";

/// What the listener says of a batch (Java's `ConsumeConcurrentlyStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumeConcurrentlyStatus {
    /// Consumed: the messages may be committed.
    ConsumeSuccess,
    /// Failed: deliver the messages again later.
    ReconsumeLater,
}

/// Something a running consumer tells its owner about, through
/// [`PushConsumer::on_event`]. Told on the runtime, never awaited: a slow receiver must hand
/// it on rather than work inside the call.
#[derive(Debug, Clone)]
pub enum ConsumerEvent {
    /// A rebalance changed the queues this member holds; `queues` is the new set.
    Rebalanced {
        /// Every queue held now, the retry topic's included.
        queues: Vec<MessageQueue>,
    },
    /// The periodic persist wrote the offsets of `queues` queues.
    OffsetsPersisted {
        /// How many queues' offsets were written.
        queues: usize,
    },
    /// A pull of `queue` failed; the queue is pulled again after [`PULL_ERROR_DELAY`]. One
    /// event per failed pull, so at most one per queue per [`PULL_ERROR_DELAY`].
    PullFailed {
        /// The queue whose pull failed.
        queue: MessageQueue,
        /// Why.
        error: ClientError,
    },
    /// A rebalance round could not share out `topic` (no route, or the group's consumer
    /// list unavailable); the queues held stay held and a later round tries again. At most
    /// one per topic per [`REBALANCE_FAILURE_REPORT_INTERVAL`].
    RebalanceFailed {
        /// The topic not rebalanced.
        topic: String,
        /// Why.
        error: ClientError,
    },
}

/// The shortest time between two [`ConsumerEvent::RebalanceFailed`] of one topic: rounds
/// run on every route change and notification, and an outage must not become a flood.
pub const REBALANCE_FAILURE_REPORT_INTERVAL: Duration = Duration::from_secs(3);

/// Receives [`ConsumerEvent`]s.
pub type ConsumerEventSink = Arc<dyn Fn(ConsumerEvent) + Send + Sync>;

/// What the listener learns besides the messages (Java's `ConsumeConcurrentlyContext`).
#[derive(Debug, Clone)]
pub struct ConsumeContext {
    /// The queue every message of the batch comes from.
    pub queue: MessageQueue,
}

/// The listener's verdict on a batch with what Java's `ConsumeConcurrentlyContext` lets it
/// set: the delay level of a message sent back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsumeOutcome {
    /// Success or retry.
    pub status: ConsumeConcurrentlyStatus,
    /// Delay level of the messages sent back on ReconsumeLater (Java's
    /// `delayLevelWhenNextConsume`): 0 lets the broker choose (3 + reconsume times),
    /// below 0 sends them straight to `%DLQ%<group>`, above 0 is that level.
    pub delay_level: i32,
}

impl From<ConsumeConcurrentlyStatus> for ConsumeOutcome {
    fn from(status: ConsumeConcurrentlyStatus) -> Self {
        ConsumeOutcome {
            status,
            delay_level: 0,
        }
    }
}

/// The future a listener returns. `Send + 'static` so the engine can run it on its own task
/// (a panic in it is then caught and counts as [`ConsumeConcurrentlyStatus::ReconsumeLater`]),
/// and so a binding can complete it from another thread (a JS callback).
pub type ConsumeFuture = Pin<Box<dyn Future<Output = ConsumeOutcome> + Send + 'static>>;

/// Consumes messages concurrently: up to `consume_thread_num` calls run at once, each with
/// at most `consume_message_batch_max_size` messages of one queue.
pub trait MessageListenerConcurrently: Send + Sync + 'static {
    /// Consumes `messages`; the returned future says how it went.
    fn consume(&self, messages: Vec<Arc<MessageExt>>, context: ConsumeContext) -> ConsumeFuture;
}

impl<F, Fut> MessageListenerConcurrently for F
where
    F: Fn(Vec<Arc<MessageExt>>, ConsumeContext) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: Into<ConsumeOutcome>,
{
    fn consume(&self, messages: Vec<Arc<MessageExt>>, context: ConsumeContext) -> ConsumeFuture {
        let future = self(messages, context);
        Box::pin(async move { future.await.into() })
    }
}

/// Push consumer settings; the defaults are the Java push consumer's.
#[derive(Debug, Clone)]
pub struct PushConsumerConfig {
    /// Consumer group name.
    pub group: String,
    /// `host:port;host:port`.
    pub namesrv_addr: String,
    /// Java's `instanceName`: part of the client id. Default: the process id.
    pub instance_name: Option<String>,
    /// Java's `unitName`.
    pub unit_name: Option<String>,
    /// ACL credentials requests are signed with (`accessKey` / `secretKey` /
    /// `securityToken`); none for a cluster without ACL.
    pub credentials: Option<crate::acl::Credentials>,
    /// TLS for every connection (`tls` setting); `None` for plain TCP.
    pub tls: Option<crate::tls::TlsConfig>,
    /// Java's `namespace`: the group and the topics are `<namespace>%<name>` on the brokers
    /// (the retry topic `%RETRY%<namespace>%<group>`); the consumer takes and shows the bare
    /// names (the binding unwraps what it hands out). None or blank: no namespace.
    pub namespace: Option<String>,
    /// Clustering (the default: members share the queues, offsets on the brokers) or
    /// broadcasting (every member consumes every queue, offsets in a local file). See the
    /// module doc.
    pub message_model: MessageModel,
    /// Broadcasting only: where the offsets files live, each at
    /// `<dir>/<clientId>/<group>/offsets.json` (Java's `rocketmq.client.localOffsetStoreDir`).
    /// Default (`None`): `~/.rocketmq_offsets`, Java's default. Refused for clustering,
    /// whose offsets live on the brokers.
    pub offset_store_dir: Option<PathBuf>,
    /// Where a group with no stored offset starts.
    pub consume_from_where: ConsumeFromWhere,
    /// For [`ConsumeFromWhere::ConsumeFromTimestamp`], in milliseconds since the epoch.
    /// Default (`None`): half an hour before start, as Java.
    pub consume_timestamp_ms: Option<i64>,
    /// How the group's queues are shared among its members.
    pub allocate_strategy: Arc<dyn AllocateStrategy>,
    /// Messages asked for per pull.
    pub pull_batch_size: i32,
    /// No pull while a queue holds more unconsumed messages than this.
    pub pull_threshold_for_queue: u64,
    /// No pull while a queue holds more unconsumed body bytes than this.
    pub pull_threshold_size_for_queue: u64,
    /// Java's `pullThresholdForTopic` (-1 there, `None` here: unset). When set, the
    /// per-queue message limit is this divided by the topic's queues held (at least 1),
    /// instead of `pull_threshold_for_queue`.
    pub pull_threshold_for_topic: Option<u64>,
    /// Java's `pullThresholdSizeForTopic`, in bytes here (Java counts MiB). When set, the
    /// per-queue byte limit is this divided by the topic's queues held (at least 1),
    /// instead of `pull_threshold_size_for_queue`.
    pub pull_threshold_size_for_topic: Option<u64>,
    /// No pull while the offsets held by a queue span more than this.
    pub consume_concurrently_max_span: i64,
    /// Listener calls in flight at most.
    pub consume_thread_num: usize,
    /// Messages per listener call at most.
    pub consume_message_batch_max_size: usize,
    /// Java's `consumeTimeout`: a listener call running longer counts as ReconsumeLater
    /// (its messages are sent back) and its late verdict is ignored.
    pub consume_timeout: Duration,
    /// The listener itself runs at most `consume_thread_num` calls at once and times each
    /// out `consume_timeout` after it began, queueing the others as Java's consume
    /// executor queues its requests: a listener in another runtime does, such as the
    /// Node.js binding's, where the calls handed over in one crossing are what it costs.
    /// The engine then hands it every batch that is ready (the flow-control thresholds
    /// bound them) and sets no timer of its own. Default false.
    pub listener_limits_calls: bool,
    /// How often consumed offsets are written to the brokers.
    pub persist_consumer_offset_interval: Duration,
    /// How often the queues are shared out again besides the broker's notifications.
    pub rebalance_interval: Duration,
    /// Pause between two pulls of a queue.
    pub pull_interval: Duration,
    /// Deliveries of a message before the broker moves it to `%DLQ%<group>` instead of
    /// the retry topic. Java's default for concurrent consumers: 16.
    pub max_reconsume_times: i32,
    /// A consumer-wide message limit over every queue held (the seed's
    /// `pullThresholdForAll`; Java has none): each queue's limit is at most this divided by
    /// the queues held, as a topic threshold is split. Default (`None`): no such limit.
    pub pull_threshold_for_all: Option<u64>,
    /// The same in body bytes (the seed's `pullThresholdSizeForAll`, which counts MiB).
    pub pull_threshold_size_for_all: Option<u64>,
    /// The longest a flow-controlled queue waits before it checks its limits again (Java's
    /// `PULL_TIME_DELAY_MILLS_WHEN_FLOW_CONTROL`, 50 ms; the seed's `flowControlInterval`);
    /// it checks sooner when messages leave the queue.
    pub flow_control_interval: Duration,
    /// The client's budget for a long-polling pull (Java's
    /// `consumerTimeoutMillisWhenSuspend`, 30 s); must exceed `broker_suspend_max_time`.
    pub consumer_timeout_when_suspend: Duration,
    /// How long the broker may hold a pull that finds nothing (Java's
    /// `brokerSuspendMaxTimeMillis`, 15 s).
    pub broker_suspend_max_time: Duration,
    /// Budget of CONSUMER_SEND_MSG_BACK and of the fallback send to the retry topic (the
    /// seed's `consumerTimeoutMillisSendMessage`; Java's 5 s for the first).
    pub consumer_timeout_send_message: Duration,
    /// Budget of the consumer's other broker requests: offset queries and updates, the
    /// max-offset and search-by-time queries, the group's consumer list, CHECK_CLIENT_CONFIG
    /// (the seed's `consumerTimeoutMillisOfRequest`). Default (`None`): each request's own,
    /// as Java (5 s for offsets, 6 s for queue offsets, 3 s for the others).
    pub consumer_timeout_of_request: Option<Duration>,
    /// Orderly consumers: how long a queue waits before messages the listener suspended
    /// (or rolled back) are consumed again, unless the call's answer sets its own (Java's
    /// `suspendCurrentQueueTimeMillis`, 1 s). See the `orderly` module.
    pub suspend_current_queue_time: Duration,
    /// Offsets are committed as batches succeed (the seed's `enableAutoCommit`); `false`
    /// (manual commits) is refused until orderly listeners bring COMMIT/ROLLBACK.
    pub auto_commit: bool,
    /// Message traces (the seed's `enableMessageTrace`, Java's `enableMsgTrace`): each
    /// message handed to the listener leaves a `SubBefore` and a `SubAfter` record in the
    /// trace topic (see [`crate::trace`]).
    pub enable_message_trace: bool,
    /// The trace topic (the seed's `customizedTraceTopic`); `RMQ_SYS_TRACE_TOPIC` when
    /// unset. Only read when `enable_message_trace` is on.
    pub customized_trace_topic: Option<String>,
    /// Whether the fallback copy of a failed message sent to `%RETRY%<group>` may be
    /// zlib-compressed (the seed's `enableMessageCompression`; Java's inner producer does).
    pub enable_message_compression: bool,
    /// That copy's body is compressed from this many bytes on (Java's
    /// `compressMsgBodyOverHowmuch`, 4096), when zlib makes it smaller.
    pub compress_msg_body_over: usize,
    /// Extra attempts of that fallback send, within its budget (the seed's
    /// `retryTimesWhenSendAsyncFailed`; Java's inner producer retries twice).
    pub send_back_retry_times: u32,
    /// Extra immediate attempts of a failed offset write within one persist (the seed's
    /// `offsetStoreRetryTimes`; Java makes none).
    pub offset_store_retry_times: u32,
}

impl Default for PushConsumerConfig {
    fn default() -> Self {
        PushConsumerConfig {
            group: String::new(),
            namesrv_addr: String::new(),
            instance_name: None,
            unit_name: None,
            credentials: None,
            tls: None,
            namespace: None,
            message_model: MessageModel::Clustering,
            offset_store_dir: None,
            consume_from_where: ConsumeFromWhere::ConsumeFromLastOffset,
            consume_timestamp_ms: None,
            allocate_strategy: Arc::new(AllocateAveragely),
            pull_batch_size: 32,
            pull_threshold_for_queue: 1000,
            pull_threshold_size_for_queue: 100 * 1024 * 1024,
            pull_threshold_for_topic: None,
            pull_threshold_size_for_topic: None,
            consume_concurrently_max_span: 2000,
            consume_thread_num: 20,
            consume_message_batch_max_size: 1,
            consume_timeout: DEFAULT_CONSUME_TIMEOUT,
            listener_limits_calls: false,
            persist_consumer_offset_interval: Duration::from_secs(5),
            rebalance_interval: Duration::from_secs(20),
            pull_interval: Duration::ZERO,
            max_reconsume_times: DEFAULT_MAX_RECONSUME_TIMES,
            pull_threshold_for_all: None,
            pull_threshold_size_for_all: None,
            flow_control_interval: FLOW_CONTROL_DELAY,
            consumer_timeout_when_suspend: DEFAULT_PULL_TIMEOUT,
            broker_suspend_max_time: DEFAULT_SUSPEND_TIMEOUT,
            consumer_timeout_send_message: SEND_BACK_TIMEOUT,
            consumer_timeout_of_request: None,
            suspend_current_queue_time: DEFAULT_SUSPEND_CURRENT_QUEUE_TIME,
            auto_commit: true,
            enable_message_trace: false,
            customized_trace_topic: None,
            enable_message_compression: true,
            compress_msg_body_over: DEFAULT_COMPRESS_OVER,
            send_back_retry_times: DEFAULT_SEND_BACK_RETRY_TIMES,
            offset_store_retry_times: 0,
        }
    }
}

/// Listener calls handed over at most when the listener queues them itself
/// ([`PushConsumerConfig::listener_limits_calls`]); the flow-control thresholds keep the
/// real number far lower.
const CALLS_HANDED_TO_A_QUEUEING_LISTENER: usize = 1 << 20;

impl PushConsumerConfig {
    /// Listener calls the engine hands over before their verdicts came back.
    fn calls_in_flight(&self) -> usize {
        if self.listener_limits_calls {
            CALLS_HANDED_TO_A_QUEUEING_LISTENER
        } else {
            self.consume_thread_num
        }
    }

    fn broadcasting(&self) -> bool {
        self.message_model == MessageModel::Broadcasting
    }

    /// The instance name the client id is formed from: the configured one, else Java's
    /// `DEFAULT` when broadcasting; `None` leaves the instance's default (the process id).
    fn effective_instance_name(&self) -> Option<&str> {
        match self
            .instance_name
            .as_deref()
            .filter(|n| !n.trim().is_empty())
        {
            Some(name) => Some(name),
            None if self.broadcasting() => Some(BROADCASTING_DEFAULT_INSTANCE_NAME),
            None => None,
        }
    }

    /// The directory of a broadcasting consumer's offsets files.
    fn resolved_offset_store_dir(&self) -> Result<PathBuf> {
        self.offset_store_dir
            .clone()
            .or_else(local::default_store_dir)
            .ok_or_else(|| {
                ClientError::Config(
                    "offsetStoreDir: no home directory for the default ~/.rocketmq_offsets; set offsetStoreDir".into(),
                )
            })
    }

    /// What the consumer subscribes to once started: the user's subscriptions and, when
    /// clustering, the group's retry topic, where the broker puts the messages sent back for
    /// a later attempt (Java's `copySubscription`). A broadcasting consumer sends nothing
    /// back, so it has no retry topic.
    fn subscriptions_to_start(
        &self,
        mut subscriptions: BTreeMap<String, SubscriptionData>,
    ) -> BTreeMap<String, SubscriptionData> {
        if !self.broadcasting() {
            let retry = rebalance::retry_topic(&self.group);
            subscriptions
                .entry(retry.clone())
                .or_insert_with(|| SubscriptionData::tag(retry, "*", now_ms()));
        }
        subscriptions
    }

    /// The group as the heartbeat describes it.
    fn consumer_data(&self, subscription_data_set: Vec<SubscriptionData>) -> ConsumerData {
        ConsumerData {
            group_name: self.group.clone(),
            consume_type: ConsumeType::ConsumePassively,
            message_model: self.message_model,
            consume_from_where: self.consume_from_where,
            subscription_data_set,
            unit_mode: false,
        }
    }

    /// Checks what Java's `checkConfig` checks, the rules between settings, and refuses
    /// what this engine cannot do yet (see [`config_rules`]).
    pub fn validate(&self) -> Result<()> {
        config_rules::validate(self)
    }

    /// The budget of a broker request whose own default is `default`.
    fn request_timeout(&self, default: Duration) -> Duration {
        self.consumer_timeout_of_request.unwrap_or(default)
    }

    /// How failed messages go back to the broker.
    fn send_back_options(&self) -> SendBackOptions {
        SendBackOptions {
            max_reconsume_times: self.max_reconsume_times,
            timeout: self.consumer_timeout_send_message,
            retry_times: self.send_back_retry_times,
            compress_over: self
                .enable_message_compression
                .then_some(self.compress_msg_body_over),
        }
    }

    /// The flow-control thresholds of this configuration.
    fn thresholds(&self) -> Thresholds {
        Thresholds {
            per_queue_messages: self.pull_threshold_for_queue,
            per_queue_bytes: self.pull_threshold_size_for_queue,
            per_topic_messages: self.pull_threshold_for_topic,
            per_topic_bytes: self.pull_threshold_size_for_topic,
            all_messages: self.pull_threshold_for_all,
            all_bytes: self.pull_threshold_size_for_all,
            max_span: self.consume_concurrently_max_span,
        }
    }
}

/// A message pulled from the group's retry topic carries the topic it was first sent to;
/// the listener sees that one, as Java's `resetRetryAndNamespace` does.
fn restore_retry_topic(group: &str, mut message: MessageExt) -> MessageExt {
    if rebalance::is_retry_topic_of(&message.topic, group) {
        if let Some(original) = message.property(keys::RETRY_TOPIC) {
            message.topic = original.to_owned();
        }
    }
    message
}

/// The model's name as Java's enum spells it.
fn message_model_name(model: MessageModel) -> &'static str {
    match model {
        MessageModel::Clustering => "CLUSTERING",
        MessageModel::Broadcasting => "BROADCASTING",
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// A consumer group member that pulls its share of the subscribed topics' queues and hands
/// their messages to a [`MessageListenerConcurrently`].
pub struct PushConsumer {
    config: PushConsumerConfig,
    listener: Arc<dyn MessageListenerConcurrently>,
    /// Set by [`PushConsumer::new_orderly`]: the queues are consumed orderly (see `orderly`).
    orderly: Option<Arc<dyn MessageListenerOrderly>>,
    subscriptions: Mutex<BTreeMap<String, SubscriptionData>>,
    running: tokio::sync::Mutex<Option<Running>>,
    /// Event counts over the consumer's life, shared with each engine it starts.
    counters: Arc<Counters>,
    /// The running engine, for [`PushConsumer::stats`] without awaiting `running`.
    live_engine: Mutex<Option<Arc<Engine>>>,
    /// The offset store's metrics as the last shutdown left them.
    store_metrics_at_shutdown: Mutex<OffsetStoreMetrics>,
    /// What pulls are paused; kept across starts.
    paused: Arc<PauseSwitch>,
    /// Where events go, if anywhere; read at start.
    events: Mutex<Option<ConsumerEventSink>>,
    /// A store the user gave ([`PushConsumer::use_offset_store`]), used instead of opening one.
    given_store: Mutex<Option<Arc<dyn OffsetStore>>>,
    /// Why the last shutdown could not persist the offsets, until
    /// [`take_shutdown_failure`](PushConsumer::take_shutdown_failure).
    shutdown_failure: Mutex<Option<ClientError>>,
    /// The trace dispatcher of the current or last start, when traces are on.
    last_tracer: Mutex<Option<Arc<TraceDispatcher>>>,
}

impl std::fmt::Debug for PushConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushConsumer")
            .field("group", &self.config.group)
            .field("subscriptions", &lock(&self.subscriptions).keys())
            .finish()
    }
}

/// What a started consumer owns.
struct Running {
    engine: Arc<Engine>,
    tasks: Vec<JoinHandle<()>>,
}

impl PushConsumer {
    /// A consumer of `config.group`, not started. Fails on an unusable configuration.
    pub fn new(
        config: PushConsumerConfig,
        listener: Arc<dyn MessageListenerConcurrently>,
    ) -> Result<Self> {
        config.validate()?;
        let mut config = config;
        if let Some(ns) = crate::namespace::effective(config.namespace.as_deref()) {
            crate::namespace::validate_namespace(ns)?;
            config.group = crate::namespace::wrap(Some(ns), &config.group);
        }
        Ok(PushConsumer {
            config,
            listener,
            orderly: None,
            subscriptions: Mutex::new(BTreeMap::new()),
            running: tokio::sync::Mutex::new(None),
            counters: Arc::default(),
            live_engine: Mutex::new(None),
            store_metrics_at_shutdown: Mutex::new(OffsetStoreMetrics::default()),
            paused: Arc::default(),
            events: Mutex::new(None),
            given_store: Mutex::new(None),
            shutdown_failure: Mutex::new(None),
            last_tracer: Mutex::new(None),
        })
    }

    /// A consumer of `config.group` whose listener is orderly (Java's `MessageListenerOrderly`):
    /// one call at a time per queue in queue order, the queues locked on their brokers when
    /// clustering. See the `orderly` module for the verdicts and `push::orderly` for the rest.
    /// Java's orderly default for `max_reconsume_times` is unbounded: give −1 for it.
    pub fn new_orderly(
        config: PushConsumerConfig,
        listener: Arc<dyn MessageListenerOrderly>,
    ) -> Result<Self> {
        let mut consumer = Self::new(config, Arc::new(orderly::OrderlyOnly))?;
        consumer.orderly = Some(listener);
        Ok(consumer)
    }

    /// Makes every start use `store` (the user's, e.g. a
    /// [`StandaloneOffsetStore`](super::offset_store::StandaloneOffsetStore)'s) instead of
    /// opening the group's own, so that what the consumer commits is what the store's owner
    /// reads. `group` and `model` are the store's: they must be the consumer's, since the
    /// offsets of one group (and where they live) mean nothing to another. The consumer does
    /// not load, start or stop the store; its owner does. It commits into it after each
    /// consumed batch, persists the queues it holds on its own timer and at shutdown, as
    /// with its own store.
    pub fn use_offset_store(
        &self,
        store: Arc<dyn OffsetStore>,
        group: &str,
        store_namespace: Option<&str>,
        model: MessageModel,
    ) -> Result<()> {
        // `group` and the consumer's are both as the brokers know them (namespace included),
        // so a store made in the consumer's namespace matches; the message shows the names
        // as their users gave them.
        if group != self.config.group || model != self.config.message_model {
            let name = super::offset_store::standalone::message_model_name;
            let shown = |group: &str, namespace: Option<&str>, model| {
                let namespace = crate::namespace::effective(namespace);
                let bare = crate::namespace::unwrap(namespace, group);
                match namespace {
                    Some(ns) => format!("{bare:?} in namespace {ns:?} ({})", name(model)),
                    None => format!("{bare:?} ({})", name(model)),
                }
            };
            return Err(ClientError::Config(format!(
                "offsetStore is for group {} but the consumer's consumerGroup is {}; the store's group, namespace and messageModel must be the consumer's",
                shown(group, store_namespace, model),
                shown(&self.config.group, self.namespace(), self.config.message_model),
            )));
        }
        *lock(&self.given_store) = Some(store);
        Ok(())
    }

    /// The consumer's namespace (None: none); see [`PushConsumerConfig::namespace`].
    pub fn namespace(&self) -> Option<&str> {
        crate::namespace::effective(self.config.namespace.as_deref())
    }

    /// The offset store of the running consumer (the given one or its own); `None` when not
    /// started.
    pub fn offset_store(&self) -> Option<Arc<dyn OffsetStore>> {
        lock(&self.live_engine)
            .as_ref()
            .map(|engine| Arc::clone(&engine.store))
    }

    /// Subscribes to `topic` with a TAG expression (`*`, `A || B`). Before [`start`] only;
    /// a second call for the same topic replaces the first.
    ///
    /// [`start`]: PushConsumer::start
    pub fn subscribe(&self, topic: &str, expression: &str) -> Result<()> {
        self.subscribe_with(topic, ExpressionType::Tag, expression)
    }

    /// Subscribes to `topic` with an expression of `expression_type`: TAG as
    /// [`subscribe`](PushConsumer::subscribe), or SQL92 (`a > 5 AND TAGS = 'x'`, evaluated by
    /// the brokers, which [`start`](PushConsumer::start) asks first). Before `start` only
    /// (a running consumer changes with [`subscribe_live`](PushConsumer::subscribe_live)); a
    /// second call for the same topic replaces the first. An empty SQL92 expression is
    /// [`ClientError::InvalidSelector`].
    pub fn subscribe_with(
        &self,
        topic: &str,
        expression_type: ExpressionType,
        expression: &str,
    ) -> Result<()> {
        validate_topic(topic)?;
        let topic = &self.in_namespace(topic);
        if self.running.try_lock().map(|r| r.is_some()).unwrap_or(true) {
            return Err(ClientError::State(
                "subscribe before start: the consumer is running (subscribe_live changes a running one)".into(),
            ));
        }
        let data = selector::subscription_data(topic, expression_type, expression, now_ms())?;
        lock(&self.subscriptions).insert(topic.to_owned(), data);
        Ok(())
    }

    /// Subscribes to `topic`, or replaces its expression, before start as
    /// [`subscribe_with`](Self::subscribe_with) and while running as Java's `subscribe` after
    /// start: a SQL92 expression is checked by the brokers of the topic first (a refusal is
    /// [`ClientError::InvalidSelector`] and leaves the subscriptions as they were), then the
    /// brokers get a heartbeat with it, then a rebalance round runs (a new topic's queues
    /// are added), all before this returns. The same expression again changes nothing.
    /// The group's retry topic is refused: the consumer subscribes it itself.
    ///
    /// `Err`: refused, nothing changed. `Ok(Some(err))`: the change took effect, but no
    /// broker took the heartbeat telling it (`err` says so); the periodic heartbeat retries.
    pub async fn subscribe_live(
        &self,
        topic: &str,
        expression_type: ExpressionType,
        expression: &str,
    ) -> Result<Option<ClientError>> {
        validate_topic(topic)?;
        let topic = &self.in_namespace(topic);
        self.refuse_retry_topic(topic)?;
        // Held throughout: a start or shutdown meanwhile would miss the change.
        let running = self.running.lock().await;
        let Some(engine) = running.as_ref().map(|r| Arc::clone(&r.engine)) else {
            let data = selector::subscription_data(topic, expression_type, expression, now_ms())?;
            lock(&self.subscriptions).insert(topic.to_owned(), data);
            return Ok(None);
        };
        let unchanged = engine
            .subscriptions
            .advertised_of(topic)
            .is_some_and(|old| {
                old.expression_type == expression_type.as_str()
                    && old.sub_string == expression.trim()
            });
        if unchanged {
            return Ok(None);
        }
        let version = engine.subscriptions.next_version(topic, now_ms());
        let data = selector::subscription_data(topic, expression_type, expression, version)?;
        if selector::needs_broker_check(&data) {
            let check = BTreeMap::from([(topic.to_owned(), data.clone())]);
            self.check_selectors(&engine.instance, &check).await?;
        } else if let Err(err) = engine.instance.routes().get(topic).await {
            // As at start: a topic without a route yet is pulled once it has one.
            warn!(
                "consumer {}: no route for {topic} yet: {err}",
                self.config.group
            );
        }
        let untold = Arc::clone(&engine).subscribe(data.clone()).await;
        lock(&self.subscriptions).insert(topic.to_owned(), data);
        Ok(untold)
    }

    /// Removes the subscription of `topic` (nothing when it has none). While running, as
    /// Java's `unsubscribe` after start: its queues are dropped at once (their offsets
    /// persisted, as a rebalance drop does), then the brokers get a heartbeat without it.
    /// The group's retry topic is refused.
    ///
    /// `Err`: refused, nothing changed. `Ok(Some(err))`: the topic is unsubscribed, but the
    /// offsets of a queue it held could not be persisted (messages after the last persisted
    /// offset are delivered again), or no broker took the heartbeat; `err` is the first.
    pub async fn unsubscribe(&self, topic: &str) -> Result<Option<ClientError>> {
        let topic = &self.in_namespace(topic);
        self.refuse_retry_topic(topic)?;
        let running = self.running.lock().await;
        let mut incomplete = None;
        if let Some(engine) = running.as_ref().map(|r| Arc::clone(&r.engine)) {
            incomplete = Arc::clone(&engine).unsubscribe(topic).await;
        }
        lock(&self.subscriptions).remove(topic);
        Ok(incomplete)
    }

    /// The retry topic of a clustering group belongs to the consumer, which subscribes it at
    /// start and must keep it: it carries every failed message back.
    fn refuse_retry_topic(&self, topic: &str) -> Result<()> {
        if !self.config.broadcasting() && topic == rebalance::retry_topic(&self.config.group) {
            return Err(ClientError::Validation(format!(
                "{topic} is the group's retry topic; the consumer subscribes it itself and keeps it"
            )));
        }
        Ok(())
    }

    /// Joins the group and starts consuming. Fails when already started, when nothing is
    /// subscribed, or when the client instance cannot start.
    pub async fn start(&self) -> Result<()> {
        let mut running = self.running.lock().await;
        if running.is_some() {
            return Err(ClientError::State("the consumer is already started".into()));
        }
        let subscriptions = lock(&self.subscriptions).clone();
        if subscriptions.is_empty() {
            return Err(ClientError::State(
                "subscribe to at least one topic before start".into(),
            ));
        }
        let subscriptions = self.config.subscriptions_to_start(subscriptions);

        let instance_config = InstanceConfig::new(&self.config.namesrv_addr)?
            .with_names(
                self.config.effective_instance_name(),
                self.config.unit_name.as_deref(),
            )
            .with_credentials(self.config.credentials.clone())
            .with_tls(self.config.tls.clone());
        let instance = ClientInstance::acquire(instance_config).await?;
        // As Java's start: load the routes, and have the brokers check the SQL92
        // expressions before telling them who we are, so a bad one fails here.
        for topic in subscriptions.keys() {
            // The broker makes the retry topic only when the group's first message is sent
            // back; no route for it is the normal case at start.
            if let Err(err) = instance.routes().get(topic).await {
                if !rebalance::is_retry_topic(topic) {
                    warn!(
                        "consumer {}: no route for {topic} yet: {err}",
                        self.config.group
                    );
                }
            }
        }
        if let Err(err) = self.check_selectors(&instance, &subscriptions).await {
            instance.release().await;
            return Err(err);
        }
        let store = match self.open_offset_store(&instance).await {
            Ok(store) => store,
            Err(err) => {
                instance.release().await;
                return Err(err);
            }
        };
        let mut engine = Engine::new(
            self.config.clone(),
            Arc::clone(&self.listener),
            Arc::clone(&instance),
            subscriptions,
            store,
            Arc::clone(&self.counters),
            Arc::clone(&self.paused),
        );
        engine.events = lock(&self.events).clone();
        engine.orderly = self.orderly.clone();
        if self.config.enable_message_trace {
            match self.start_tracer().await {
                Ok(tracer) => {
                    *lock(&self.last_tracer) = Some(Arc::clone(&tracer));
                    engine.tracer = Some(tracer);
                }
                Err(err) => {
                    instance.release().await;
                    return Err(err);
                }
            }
        }
        let engine = Arc::new(engine);
        let provider_engine = Arc::downgrade(&engine);
        let config = self.config.clone();
        let provider = move || {
            let subscription_data_set = provider_engine
                .upgrade()
                .map(|e| e.subscriptions.advertised())
                .unwrap_or_default();
            config.consumer_data(subscription_data_set)
        };
        if let Err(err) = instance.register_consumer(&self.config.group, Arc::new(provider)) {
            instance.release().await;
            return Err(err);
        }
        let processor = ClientProcessor::install(&instance);
        let hooks = Arc::new(Hooks {
            engine: Arc::downgrade(&engine),
        });
        if let Err(err) = processor.register(&self.config.group, hooks) {
            instance.unregister_consumer(&self.config.group).await;
            instance.release().await;
            return Err(err);
        }

        // Tell the brokers who we are, then rebalance at once, so the first round already
        // finds this client in the group. A broker with ACL that refuses the heartbeat would
        // leave the consumer outside its group for good: the start fails with its reason.
        if let Err(refused) = instance.heartbeat_checking_access().await {
            processor.unregister(&self.config.group);
            instance.unregister_consumer(&self.config.group).await;
            instance.release().await;
            return Err(refused);
        }

        let tasks = vec![
            tokio::spawn(Arc::clone(&engine).rebalance_loop()),
            tokio::spawn(Arc::clone(&engine).persist_loop()),
            tokio::spawn(Arc::clone(&engine).relock_loop()),
        ];
        info!(
            "consumer {} started as {}",
            engine.group(),
            instance.client_id()
        );
        *lock(&self.live_engine) = Some(Arc::clone(&engine));
        *running = Some(Running { engine, tasks });
        Ok(())
    }

    /// The group's offset store on `instance`: the one given by
    /// [`use_offset_store`](Self::use_offset_store) if any, as it is; else the brokers' when
    /// clustering; when broadcasting, the local file of this client id, loaded now (Java's
    /// `offsetStore.load()` at start), so that a file neither readable nor recoverable from
    /// its backup fails the start instead of silently starting over.
    async fn open_offset_store(
        &self,
        instance: &Arc<ClientInstance>,
    ) -> Result<Arc<dyn OffsetStore>> {
        if let Some(given) = lock(&self.given_store).clone() {
            return Ok(given);
        }
        let group = &self.config.group;
        if !self.config.broadcasting() {
            let timeout = self.config.request_timeout(DEFAULT_OFFSET_REQUEST_TIMEOUT);
            return Ok(Arc::new(
                RemoteOffsetStore::for_instance(instance, group.clone())
                    .with_timeout(timeout)
                    .with_retry_times(self.config.offset_store_retry_times),
            ));
        }
        let dir = self.config.resolved_offset_store_dir()?;
        let store = LocalOffsetStore::new(dir, instance.client_id(), group)
            .with_retry_times(self.config.offset_store_retry_times);
        // Not the configuration's fault: the file exists but neither it nor its backup reads.
        store.load().await.map_err(|err| {
            ClientError::Offset(format!(
                "loading the offsets file {}: {err}",
                store.path().display()
            ))
        })?;
        info!(
            "consumer {group}: broadcasting, offsets in {}",
            store.path().display()
        );
        Ok(Arc::new(store))
    }

    /// CHECK_CLIENT_CONFIG of each SQL92 subscription to the masters of its topic.
    async fn check_selectors(
        &self,
        instance: &ClientInstance,
        subscriptions: &BTreeMap<String, SubscriptionData>,
    ) -> Result<()> {
        for (topic, subscription) in subscriptions {
            if !selector::needs_broker_check(subscription) {
                continue;
            }
            let route = instance.routes().get(topic).await?;
            selector::check_sql92_subscription_within(
                instance.remoting(),
                &route,
                instance.client_id(),
                &self.config.group,
                subscription,
                self.config
                    .request_timeout(selector::CHECK_CLIENT_CONFIG_TIMEOUT),
            )
            .await?;
        }
        Ok(())
    }

    /// Sends this consumer's [`ConsumerEvent`]s to `sink` from the next start on.
    pub fn on_event(&self, sink: ConsumerEventSink) {
        *lock(&self.events) = Some(sink);
    }

    /// Stops pulling `topics` (every topic, the retry topic included, when `None`) until
    /// [`resume`](Self::resume); what was pulled is still consumed (Java's `suspend()`).
    /// Works before start too.
    pub fn pause(&self, topics: Option<&[String]>) {
        let topics = topics.map(|t| self.all_in_namespace(t));
        self.paused.pause(topics.as_deref());
    }

    /// `topic` as the brokers know it (see [`PushConsumerConfig::namespace`]).
    pub fn in_namespace(&self, topic: &str) -> String {
        crate::namespace::wrap(self.config.namespace.as_deref(), topic)
    }

    fn all_in_namespace(&self, topics: &[String]) -> Vec<String> {
        topics.iter().map(|t| self.in_namespace(t)).collect()
    }

    /// Pulls `topics` again (everything paused when `None`).
    pub fn resume(&self, topics: Option<&[String]>) {
        let topics = topics.map(|t| self.all_in_namespace(t));
        self.paused.resume(topics.as_deref());
    }

    /// Whether pulls of `topic` are paused now.
    pub fn is_paused(&self, topic: &str) -> bool {
        self.paused.is_paused(&self.in_namespace(topic))
    }

    /// The first step of [`shutdown`](Self::shutdown), taken at once: pulls, rebalances and
    /// new listener calls stop; verdicts of failure from now on leave their messages
    /// uncommitted instead of sending them back. Does nothing when not started (or while
    /// `start` holds the consumer). Reads the live engine rather than waiting for the
    /// consumer's lock, which a subscription change holds for a while.
    pub fn begin_shutdown(&self) {
        if let Some(engine) = lock(&self.live_engine).as_ref() {
            engine.signal_stop();
        }
    }

    /// Leaves the group: stops rebalancing and pulling, waits up to
    /// [`SHUTDOWN_CONSUME_WAIT`] for listener calls in flight, persists the offsets, then
    /// unregisters and releases the client instance. Does nothing when not started.
    pub async fn shutdown(&self) {
        self.shutdown_within(SHUTDOWN_CONSUME_WAIT).await;
    }

    /// [`shutdown`](Self::shutdown) waiting up to `wait` (instead of
    /// [`SHUTDOWN_CONSUME_WAIT`]) for the listener calls in flight; their messages, if
    /// still running then, are left uncommitted for the group.
    pub async fn shutdown_within(&self, wait: Duration) {
        let Some(running) = self.running.lock().await.take() else {
            return;
        };
        let engine = running.engine;
        engine.signal_stop();
        for task in running.tasks {
            let _ = task.await;
        }
        // Every permit back means no listener call is in flight; batches still waiting
        // see the stop and leave their messages uncommitted.
        let permits = u32::try_from(engine.config.calls_in_flight()).unwrap_or(u32::MAX);
        if tokio::time::timeout(wait, engine.consume_permits.acquire_many(permits))
            .await
            .is_err()
        {
            warn!(
                "consumer {}: listener calls still running after {:?}; their messages will be delivered again",
                engine.group(),
                wait
            );
        }
        let held: BTreeSet<MessageQueue> = lock(&engine.queues).keys().cloned().collect();
        if let Err(err) = engine.persist_held(&held).await {
            warn!(
                "consumer {}: persisting offsets at shutdown: {err}",
                engine.group()
            );
            *lock(&self.shutdown_failure) = Some(err);
        }
        engine.unlock_at_shutdown(&held).await;
        let released = std::mem::take(&mut *lock(&engine.queues));
        for slot in released.values() {
            slot.pq().set_dropped(true);
        }
        *lock(&self.store_metrics_at_shutdown) = engine.store.metrics().into();
        *lock(&self.live_engine) = None;
        ClientProcessor::install(&engine.instance).unregister(engine.group());
        engine.instance.unregister_consumer(engine.group()).await;
        if let Some(tracer) = &engine.tracer {
            // After the last listener verdicts: their records go out too (bounded wait).
            tracer.shutdown().await;
        }
        engine.instance.release().await;
        info!("consumer {} shut down", engine.group());
    }

    /// Why the last [`shutdown`](Self::shutdown) could not persist the offsets of the
    /// queues it held (a broker down, the offsets file not writable), if it could not; the
    /// shutdown itself completed. Taken: a second call answers `None`. Messages after the
    /// last offsets persisted are delivered again (to the group, or to this member's next
    /// start when broadcasting).
    pub fn take_shutdown_failure(&self) -> Option<ClientError> {
        lock(&self.shutdown_failure).take()
    }

    /// The client id, once started.
    pub async fn client_id(&self) -> Option<String> {
        self.running
            .lock()
            .await
            .as_ref()
            .map(|r| r.engine.instance.client_id().to_owned())
    }

    /// The consumer's counters now: what it holds (zero when not started), what its
    /// listener and pulls did since it was created, and its offset store's metrics (of the
    /// current or last start). Cheap: no I/O, one short lock per held queue.
    pub fn stats(&self) -> ConsumerStats {
        let mut stats = self.counters.stats();
        stats.offset_store = *lock(&self.store_metrics_at_shutdown);
        if let Some(engine) = lock(&self.live_engine).clone() {
            for slot in lock(&engine.queues).values() {
                let held = slot.pq().message_count();
                stats.messages_held += held;
                stats.bytes_held += slot.pq().message_size();
                stats.max_messages_held_by_a_queue = stats.max_messages_held_by_a_queue.max(held);
                stats.queues_held += 1;
            }
            stats.offset_store = engine.store.metrics().into();
        }
        stats
    }

    /// Per queue held now (none when not started): what it holds, the offset committed in
    /// memory and the broker's max offset, asked of the brokers (GET_MAX_OFFSET, every
    /// queue at once, each within the consumer's offset request timeout). A broker that
    /// does not answer leaves `max_offset` unset for its queues; nothing fails.
    pub async fn queue_metrics(&self) -> Vec<QueueMetrics> {
        let Some(engine) = lock(&self.live_engine).clone() else {
            return Vec::new();
        };
        let slots: Vec<(MessageQueue, Arc<QueueSlot>)> = lock(&engine.queues)
            .iter()
            .map(|(mq, slot)| (mq.clone(), Arc::clone(slot)))
            .collect();
        let mut queries = JoinSet::new();
        for (index, (mq, _)) in slots.iter().enumerate() {
            let engine = Arc::clone(&engine);
            let mq = mq.clone();
            queries.spawn(async move { (index, engine.offsets.max_offset(&mq).await.ok()) });
        }
        let mut max_offsets = vec![None; slots.len()];
        while let Some(joined) = queries.join_next().await {
            if let Ok((index, max)) = joined {
                max_offsets[index] = max;
            }
        }
        let mut metrics = Vec::with_capacity(slots.len());
        for ((mq, slot), max_offset) in slots.into_iter().zip(max_offsets) {
            // Read after the broker answered: a commit racing the query then shows as a
            // smaller lag, never a negative one.
            let committed_offset = engine
                .store
                .read_offset(&mq, ReadOffsetType::ReadFromMemory)
                .await
                .ok()
                .flatten();
            metrics.push(QueueMetrics {
                messages_held: slot.pq().message_count(),
                bytes_held: slot.pq().message_size(),
                committed_offset,
                max_offset,
                queue: mq,
            });
        }
        metrics
    }

    /// The trace dispatcher's counters, once started with traces on.
    pub fn trace_metrics(&self) -> Option<TraceMetrics> {
        lock(&self.last_tracer).as_ref().map(|t| t.metrics())
    }

    /// Starts the dispatcher of this consumer's message traces, with a trace producer on
    /// the consumer's NameServer and client names.
    async fn start_tracer(&self) -> Result<Arc<TraceDispatcher>> {
        let host = crate::producer::ProducerConfig {
            namesrv_addr: self.config.namesrv_addr.clone(),
            instance_name: self.config.effective_instance_name().map(str::to_owned),
            unit_name: self.config.unit_name.clone(),
            // On a secured cluster the trace producer signs with the consumer's keys.
            credentials: self.config.credentials.clone(),
            tls: self.config.tls.clone(),
            ..Default::default()
        };
        let topic = self
            .config
            .customized_trace_topic
            .as_deref()
            .unwrap_or(DEFAULT_TRACE_TOPIC);
        TraceDispatcher::start(&host, &self.config.group, topic).await
    }

    /// The queues this consumer holds now (empty when not started).
    pub async fn assigned_queues(&self) -> BTreeSet<MessageQueue> {
        match self.running.lock().await.as_ref() {
            Some(r) => lock(&r.engine.queues).keys().cloned().collect(),
            None => BTreeSet::new(),
        }
    }
}

/// The state shared by the tasks of a started consumer.
struct Engine {
    config: PushConsumerConfig,
    /// Where events go, if anywhere.
    events: Option<ConsumerEventSink>,
    /// What pulls are paused (shared with the [`PushConsumer`]).
    paused: Arc<PauseSwitch>,
    listener: Arc<dyn MessageListenerConcurrently>,
    /// The orderly listener, when the consumer is orderly (set after `new`, as `events`).
    orderly: Option<Arc<dyn MessageListenerOrderly>>,
    instance: Arc<ClientInstance>,
    /// Topic → subscription, the retry topic included when clustering; changed by
    /// [`Engine::subscribe`] and [`Engine::unsubscribe`].
    subscriptions: LiveSubscriptions,
    /// The brokers' store when clustering, the local file's when broadcasting.
    store: Arc<dyn OffsetStore>,
    puller: Puller,
    offsets: QueueOffsets,
    queues: Mutex<BTreeMap<MessageQueue, Arc<QueueSlot>>>,
    /// Per subscribed topic, the per-queue flow-control limits its pull loops read.
    limits: Mutex<BTreeMap<String, Arc<QueueLimits>>>,
    counters: Arc<Counters>,
    /// Per subscribed topic, the pull and consume figures of the running info's
    /// `statusTable`.
    status: Mutex<BTreeMap<String, Arc<TopicStatus>>>,
    /// Held by a rebalance round: the periodic ones and those a subscription change runs
    /// must not interleave.
    rebalance_turn: tokio::sync::Mutex<()>,
    /// Offset resets a broker asked for (topic, offsets), applied by the next rebalance.
    resets: Mutex<Vec<(String, BTreeMap<MessageQueue, i64>)>>,
    /// Where a queue dropped by a reset starts when rebalance adds it again, even if
    /// persisting the reset failed.
    reset_to: Mutex<BTreeMap<MessageQueue, i64>>,
    consume_permits: Semaphore,
    rebalance_now: Notify,
    consume_timestamp_ms: i64,
    stop: watch::Sender<bool>,
    /// When the consumer started, ms since the epoch: `mqadmin consumerStatus -g` compares
    /// the members' running infos and fails on a member without it.
    started_ms: i64,
    /// When each topic's last [`ConsumerEvent::RebalanceFailed`] was told.
    rebalance_failures_told: Mutex<BTreeMap<String, Instant>>,
    /// Per unsubscribed topic, the first offset its dropped queues could not persist, for
    /// [`Engine::unsubscribe`] to report (whichever round dropped them).
    unsubscribe_drop_failures: Mutex<BTreeMap<String, ClientError>>,
    /// Where message traces go, when they are on (set after `new`, as `events`).
    tracer: Option<Arc<TraceDispatcher>>,
}

impl Engine {
    fn new(
        config: PushConsumerConfig,
        listener: Arc<dyn MessageListenerConcurrently>,
        instance: Arc<ClientInstance>,
        subscriptions: BTreeMap<String, SubscriptionData>,
        store: Arc<dyn OffsetStore>,
        counters: Arc<Counters>,
        paused: Arc<PauseSwitch>,
    ) -> Self {
        let thresholds = config.thresholds();
        let limits = subscriptions
            .keys()
            .map(|topic| (topic.clone(), Arc::new(QueueLimits::new(&thresholds))))
            .collect();
        let status = subscriptions
            .keys()
            .map(|topic| (topic.clone(), Arc::new(TopicStatus::new(Instant::now()))))
            .collect();
        let consume_timestamp_ms = config
            .consume_timestamp_ms
            .unwrap_or_else(|| start_offset::default_consume_timestamp_ms(now_ms()));
        Engine {
            events: None,
            orderly: None,
            paused,
            store,
            puller: Puller::for_instance(&instance),
            offsets: QueueOffsets::for_instance(&instance)
                .with_timeout(config.request_timeout(start_offset::DEFAULT_QUEUE_OFFSET_TIMEOUT)),
            consume_permits: Semaphore::new(config.calls_in_flight()),
            listener,
            instance,
            subscriptions: LiveSubscriptions::new(subscriptions),
            queues: Mutex::new(BTreeMap::new()),
            limits: Mutex::new(limits),
            counters,
            status: Mutex::new(status),
            rebalance_turn: tokio::sync::Mutex::new(()),
            resets: Mutex::new(Vec::new()),
            reset_to: Mutex::new(BTreeMap::new()),
            rebalance_now: Notify::new(),
            consume_timestamp_ms,
            stop: watch::channel(false).0,
            started_ms: now_ms(),
            rebalance_failures_told: Mutex::new(BTreeMap::new()),
            unsubscribe_drop_failures: Mutex::new(BTreeMap::new()),
            tracer: None,
            config,
        }
    }

    fn group(&self) -> &str {
        &self.config.group
    }

    /// The running-info figures of `topic`, while it is subscribed.
    fn topic_status(&self, topic: &str) -> Option<Arc<TopicStatus>> {
        lock(&self.status).get(topic).cloned()
    }

    /// Records the `SubBefore` traces of a listener call about to run, when traces are on;
    /// returns the call's request id (for its `SubAfter` records).
    ///
    /// A queueing listener was handed its first call before this runs: the records then
    /// follow the hand-over, not the call's start in JavaScript, by at most the queueing.
    fn trace_before(&self, messages: &[Arc<MessageExt>]) -> Option<String> {
        let tracer = self.tracer.as_ref()?;
        let request_id = tracer.request_id();
        let now = trace::now_ms();
        for message in messages {
            if let Some(record) = trace::sub_before(self.group(), &request_id, message, now) {
                tracer.record(record);
            }
        }
        Some(request_id)
    }

    /// Records the `SubAfter` traces of a listener call that took `took`.
    fn trace_after(
        &self,
        request_id: Option<String>,
        messages: &[Arc<MessageExt>],
        took: Duration,
        success: bool,
    ) {
        let (Some(tracer), Some(request_id)) = (self.tracer.as_ref(), request_id) else {
            return;
        };
        let took_ms = i64::try_from(took.as_millis()).unwrap_or(i64::MAX);
        for message in messages {
            if message.property(keys::TRACE_ON) == Some("false") {
                continue;
            }
            tracer.record(trace::sub_after(
                &request_id,
                message,
                took_ms,
                messages.len(),
                success,
            ));
        }
    }

    fn stopped(&self) -> bool {
        *self.stop.borrow()
    }

    /// Tells every task to stop, those not running yet included. `send_replace`, not
    /// `send`: `send` leaves the value unchanged when no receiver exists at that moment,
    /// and the engine keeps none of its own. Right after start the rebalance task may not
    /// have subscribed yet (and the persist task holds a receiver only while it waits), so
    /// a `send` then was lost: the rebalance loop later saw `false`, ran on, and shutdown
    /// waited for it forever.
    fn signal_stop(&self) {
        self.stop.send_replace(true);
    }

    /// Sleeps `delay`; false when the consumer stopped meanwhile.
    async fn pause(&self, delay: Duration) -> bool {
        let mut stop = self.stop.subscribe();
        if *stop.borrow_and_update() {
            return false;
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => !self.stopped(),
            _ = stop.changed() => false,
        }
    }

    async fn rebalance_loop(self: Arc<Self>) {
        let mut stop = self.stop.subscribe();
        let mut route_changes = self.instance.routes().subscribe();
        // A deadline rather than a sleep per wait: a route change of another topic must not
        // push the periodic round back.
        let mut next_round = tokio::time::Instant::now();
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(next_round) => {}
                _ = self.rebalance_now.notified() => {}
                change = route_changes.recv() => match change {
                    Ok(change) if self.subscriptions.is_active(&change.topic) => {}
                    // Lagged: some change was missed, so rebalance to be safe.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Ok(_) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                        route_changes = self.instance.routes().subscribe();
                        continue;
                    }
                },
                _ = stop.changed() => return,
            }
            if self.stopped() {
                return;
            }
            let balanced = Arc::clone(&self).rebalance().await;
            next_round = tokio::time::Instant::now()
                + if balanced {
                    self.config.rebalance_interval
                } else {
                    UNBALANCED_RETRY
                };
        }
    }

    /// One round over every subscribed topic; false when some allocated queue is not held
    /// yet (try again soon).
    async fn rebalance(self: Arc<Self>) -> bool {
        let _turn = self.rebalance_turn.lock().await;
        let mut changed = self.apply_resets().await;
        let mut balanced = true;
        let my_cid = self.instance.client_id().to_owned();
        let subscriptions = self.subscriptions.active();
        // Java's truncateMessageQueueNotMyTopic: an unsubscribed topic's queues go first.
        let unsubscribed: Vec<(MessageQueue, Arc<QueueSlot>)> = {
            let mut queues = lock(&self.queues);
            let gone = rebalance::queues_of_unsubscribed_topics(queues.keys(), |topic| {
                subscriptions.contains_key(topic)
            });
            gone.into_iter()
                .filter_map(|mq| queues.remove(&mq).map(|slot| (mq, slot)))
                .collect()
        };
        changed |= !unsubscribed.is_empty();
        for (mq, err) in self.drop_queues(&unsubscribed).await {
            lock(&self.unsubscribe_drop_failures)
                .entry(mq.topic)
                .or_insert(err);
        }
        // Pull loops of the queues added, started once every topic's limits are set.
        let mut starting = Vec::new();
        for topic in subscriptions.keys() {
            let route = match self.instance.routes().get(topic).await {
                Ok(route) => route,
                Err(err) => {
                    // A retry topic exists only once the broker made it; quiet until then.
                    if !rebalance::is_retry_topic(topic) {
                        warn!("consumer {}: no route for {topic}: {err}", self.group());
                        self.tell_rebalance_failure(topic, err);
                    }
                    continue;
                }
            };
            let queues = route.consumer_queues(topic);
            // Broadcasting takes every queue: Java asks for no consumer list then.
            let cids = if self.config.broadcasting() {
                Vec::new()
            } else {
                let timeout = self
                    .config
                    .request_timeout(self.instance.config().request_timeout);
                match rebalance::consumer_ids_within(&self.instance, topic, self.group(), timeout)
                    .await
                {
                    Ok(cids) => cids,
                    Err(err) => {
                        warn!(
                            "consumer {}: consumer list of {topic} unavailable: {err}",
                            self.group()
                        );
                        self.tell_rebalance_failure(topic, err);
                        continue;
                    }
                }
            };
            let held: BTreeMap<MessageQueue, HeldQueue> = lock(&self.queues)
                .iter()
                .map(|(mq, slot)| {
                    (
                        mq.clone(),
                        HeldQueue {
                            last_pull_ms: slot.pq().last_pull(),
                            dropped: slot.pq().is_dropped(),
                        },
                    )
                })
                .collect();
            let input = RebalanceInput {
                group: self.group(),
                topic,
                message_model: self.config.message_model,
                queues: &queues,
                cids: &cids,
                my_cid: &my_cid,
                strategy: self.config.allocate_strategy.as_ref(),
                now_ms: now_ms(),
            };
            let plan = match rebalance::plan_rebalance(&input, &held) {
                Ok(plan) => plan,
                Err(err) => {
                    debug!("consumer {}: {topic} not rebalanced: {err}", self.group());
                    continue;
                }
            };
            balanced &= plan.balanced;
            let dropping: Vec<(MessageQueue, Arc<QueueSlot>)> = {
                let mut queues = lock(&self.queues);
                plan.to_drop
                    .iter()
                    .filter_map(|mq| queues.remove(mq).map(|slot| (mq.clone(), slot)))
                    .collect()
            };
            changed |= !dropping.is_empty();
            self.drop_queues(&dropping).await;
            for mq in &plan.to_add {
                if lock(&self.queues).contains_key(mq) {
                    continue;
                }
                // Orderly clustering: locked first, so the start offset read below includes
                // what the previous owner persisted before it unlocked.
                let locked_at = if self.locks_queues() {
                    let Some(at) = self.lock_new_queue(mq).await else {
                        balanced = false;
                        continue;
                    };
                    Some(at)
                } else {
                    None
                };
                // Java's removeDirtyOffset: a memory offset left from an earlier hold would
                // hide the broker's.
                self.store.remove_offset(mq);
                let reset = lock(&self.reset_to).remove(mq);
                if let Some(offset) = reset {
                    self.store.update_offset(mq, offset, false);
                }
                let computed = match reset {
                    Some(offset) => Ok(offset),
                    None => {
                        start_offset::compute_pull_from_where(
                            self.store.as_ref(),
                            &self.offsets,
                            mq,
                            self.config.consume_from_where,
                            self.consume_timestamp_ms,
                        )
                        .await
                    }
                };
                let start = match computed {
                    Ok(start) => start,
                    Err(err) => {
                        warn!(
                            "consumer {}: no start offset for {mq}, next round retries: {err}",
                            self.group()
                        );
                        balanced = false;
                        continue;
                    }
                };
                let slot = Arc::new(QueueSlot::new(Arc::new(ProcessQueue::new(now_ms()))));
                if let Some(at) = locked_at {
                    slot.pq().set_locked(true, at);
                }
                lock(&self.queues).insert(mq.clone(), Arc::clone(&slot));
                info!("consumer {}: added {mq} starting at {start}", self.group());
                starting.push((mq.clone(), slot, start));
                changed = true;
            }
        }
        // The limits for the share this round ends with (a consumer-wide threshold depends
        // on every topic's queues), set before any new pull loop starts, so none pulls
        // under looser ones meanwhile.
        self.update_limits();
        for (mq, slot, start) in starting {
            tokio::spawn(Arc::clone(&self).pull_loop(mq, slot, start));
        }
        if changed {
            self.instance.heartbeat_soon();
            self.emit(|| ConsumerEvent::Rebalanced {
                queues: lock(&self.queues).keys().cloned().collect(),
            });
        }
        balanced
    }

    /// Persists the offsets of `held` (and forgets the others). On the local 5.3.3 cluster,
    /// a new group's first concurrent writes of one topic sometimes lost one: answered
    /// SUCCESS, then read back as not found (about one cluster-test run in five). That fits
    /// a broker creating the group's offset map of a topic on first commit without a lock
    /// (not checked in the broker source). So one queue per broker and topic is written
    /// alone first; the store's concurrent writes of the rest then find the map. With that,
    /// twelve runs in a row passed.
    /// The local store writes its file once per call, so a broadcasting consumer skips
    /// this (each extra write would also push the backup file forward).
    async fn persist_held(&self, held: &BTreeSet<MessageQueue>) -> Result<usize> {
        if self.config.broadcasting() {
            return self.store.persist_all(held).await;
        }
        let offsets = self.store.clone_offset_table(None);
        let mut seen = BTreeSet::new();
        for mq in held.iter().filter(|mq| offsets.contains_key(*mq)) {
            if seen.insert((mq.broker_name.as_str(), mq.topic.as_str())) {
                if let Err(err) = self.store.persist(mq).await {
                    warn!("consumer {}: persisting {mq}: {err}", self.group());
                }
            }
        }
        self.store.persist_all(held).await
    }

    async fn persist_loop(self: Arc<Self>) {
        while self
            .pause(self.config.persist_consumer_offset_interval)
            .await
        {
            let held: BTreeSet<MessageQueue> = lock(&self.queues).keys().cloned().collect();
            match self.persist_held(&held).await {
                Ok(queues) => self.emit(|| ConsumerEvent::OffsetsPersisted { queues }),
                Err(err) => warn!("consumer {}: persisting offsets: {err}", self.group()),
            }
        }
    }

    /// Tells the event sink, if any; `event` is built only then.
    fn emit(&self, event: impl FnOnce() -> ConsumerEvent) {
        if let Some(sink) = &self.events {
            sink(event());
        }
    }

    /// Tells [`ConsumerEvent::RebalanceFailed`] of `topic`, unless one was told less than
    /// [`REBALANCE_FAILURE_REPORT_INTERVAL`] ago.
    fn tell_rebalance_failure(&self, topic: &str, error: ClientError) {
        if self.events.is_none() {
            return;
        }
        let now = Instant::now();
        let due = {
            let mut told = lock(&self.rebalance_failures_told);
            let due = told
                .get(topic)
                .is_none_or(|last| now.duration_since(*last) >= REBALANCE_FAILURE_REPORT_INTERVAL);
            if due {
                told.insert(topic.to_owned(), now);
            }
            due
        };
        if due {
            self.emit(|| ConsumerEvent::RebalanceFailed {
                topic: topic.to_owned(),
                error,
            });
        }
    }

    /// Drops `dropping` (already taken out of the held queues): their listener calls in
    /// flight are waited for, then each offset is persisted and forgotten. Returns the
    /// queues whose offset could not be persisted, with why.
    async fn drop_queues(
        self: &Arc<Self>,
        dropping: &[(MessageQueue, Arc<QueueSlot>)],
    ) -> Vec<(MessageQueue, ClientError)> {
        self.release_all(dropping).await;
        let mut not_persisted = Vec::new();
        for (mq, _) in dropping {
            if let Err(err) = self.store.persist(mq).await {
                warn!("consumer {}: persisting {mq} on drop: {err}", self.group());
                not_persisted.push((mq.clone(), err));
            }
            self.store.remove_offset(mq);
            self.puller.forget(mq);
            info!("consumer {}: dropped {mq}", self.group());
        }
        self.unlock_dropped(dropping);
        not_persisted
    }

    /// Adds or replaces a subscription of the running consumer (its SQL92 expression
    /// already checked): advertised, the heartbeat sent, then active; a new topic is
    /// rebalanced at once. The `subscriptions` module says why in this order. Returns why
    /// no broker took the heartbeat, if none did.
    async fn subscribe(self: Arc<Self>, subscription: SubscriptionData) -> Option<ClientError> {
        let topic = subscription.topic.clone();
        let new_topic = !self.subscriptions.is_active(&topic);
        if new_topic {
            let thresholds = self.config.thresholds();
            lock(&self.limits)
                .entry(topic.clone())
                .or_insert_with(|| Arc::new(QueueLimits::new(&thresholds)));
            lock(&self.status)
                .entry(topic.clone())
                .or_insert_with(|| Arc::new(TopicStatus::new(Instant::now())));
        }
        self.subscriptions.advertise(subscription.clone());
        let untold = self.heartbeat_now().await;
        self.subscriptions.activate(subscription);
        info!(
            "consumer {}: {} {topic}",
            self.group(),
            if new_topic {
                "subscribed"
            } else {
                "changed the expression of"
            }
        );
        if new_topic {
            Arc::clone(&self).rebalance().await;
        }
        untold
    }

    /// Removes a subscription of the running consumer: inactive (its pulls stop), its
    /// queues dropped by a rebalance round at once, then out of the heartbeat. Returns the
    /// first failure of what the removal does: an offset of a dropped queue not persisted,
    /// else no broker taking the heartbeat.
    async fn unsubscribe(self: Arc<Self>, topic: &str) -> Option<ClientError> {
        // Not subscribed: nothing to remove, nothing that can fail.
        self.subscriptions.advertised_of(topic)?;
        self.subscriptions.deactivate(topic);
        Arc::clone(&self).rebalance().await;
        let not_persisted = lock(&self.unsubscribe_drop_failures).remove(topic);
        self.subscriptions.withdraw(topic);
        let untold = self.heartbeat_now().await;
        lock(&self.limits).remove(topic);
        lock(&self.status).remove(topic);
        info!("consumer {}: unsubscribed {topic}", self.group());
        not_persisted.or(untold)
    }

    /// Sends the heartbeat now and waits for the brokers' answers, so that what follows
    /// (pulls with a new expression) finds them told. Returns a failure when no broker
    /// took it.
    async fn heartbeat_now(&self) -> Option<ClientError> {
        if self.instance.send_heartbeat_to_all_brokers().await > 0 {
            return None;
        }
        warn!(
            "consumer {}: no broker took the heartbeat with the changed subscriptions; the periodic one retries",
            self.group()
        );
        Some(ClientError::BrokerNotAvailable(
            "no broker took the heartbeat with the changed subscriptions; the periodic heartbeat retries".into(),
        ))
    }

    /// Drops `slots` together: each is marked dropped at once, then waits up to
    /// [`DROP_CONSUME_WAIT`] for its listener calls in flight, so their commits make it
    /// into the offset persisted next.
    async fn release_all(&self, slots: &[(MessageQueue, Arc<QueueSlot>)]) {
        for (_, slot) in slots {
            slot.pq().set_dropped(true);
        }
        let mut waits = JoinSet::new();
        for (mq, slot) in slots {
            let (mq, slot) = (mq.clone(), Arc::clone(slot));
            waits.spawn(async move { (mq, slot.release(DROP_CONSUME_WAIT).await) });
        }
        while let Some(joined) = waits.join_next().await {
            if let Ok((mq, false)) = joined {
                warn!(
                    "consumer {}: a listener call on {mq} still runs after {:?}; its verdict will be ignored and its messages delivered again",
                    self.group(),
                    DROP_CONSUME_WAIT
                );
            }
        }
    }

    /// Recomputes every topic's per-queue limits for the queues held now (Java's
    /// `messageQueueChanged`, per topic; the consumer-wide threshold over all of them).
    fn update_limits(&self) {
        let mut held_per_topic: BTreeMap<&str, usize> = BTreeMap::new();
        let queues = lock(&self.queues);
        for mq in queues.keys() {
            *held_per_topic.entry(mq.topic.as_str()).or_default() += 1;
        }
        let thresholds = self.config.thresholds();
        for (topic, limits) in lock(&self.limits).iter() {
            let held = held_per_topic.get(topic.as_str()).copied().unwrap_or(0);
            limits.update(&thresholds, held, queues.len());
        }
    }

    /// Queues a reset of `offsets` (queues of `topic`) for the rebalance task.
    fn request_reset(&self, topic: &str, offsets: BTreeMap<MessageQueue, i64>) {
        lock(&self.resets).push((topic.to_owned(), offsets));
        self.rebalance_now.notify_one();
    }

    /// Applies the offset resets brokers asked for (RESET_CONSUMER_CLIENT_OFFSET, or a pull
    /// answered OFFSET_MOVED), as Java's `resetOffset` does: each held
    /// queue of the topic that the table names is dropped (its listener calls waited for,
    /// bounded), its offset set to the table's and persisted, and it is removed; the
    /// rebalance round that follows adds it again, starting at that offset. True when a
    /// queue was reset.
    async fn apply_resets(&self) -> bool {
        let resets = std::mem::take(&mut *lock(&self.resets));
        let mut changed = false;
        for (topic, offsets) in resets {
            let slots: Vec<(MessageQueue, Arc<QueueSlot>)> = {
                let queues = lock(&self.queues);
                offsets
                    .keys()
                    .filter(|mq| mq.topic == topic)
                    .filter_map(|mq| queues.get(mq).map(|slot| (mq.clone(), Arc::clone(slot))))
                    .collect()
            };
            self.release_all(&slots).await;
            for (mq, slot) in &slots {
                let offset = offsets[mq];
                slot.pq().clear();
                self.store.update_offset(mq, offset, false);
                if let Err(err) = self.store.persist(mq).await {
                    warn!(
                        "consumer {}: persisting the reset offset {offset} of {mq}: {err}",
                        self.group()
                    );
                }
                self.store.remove_offset(mq);
                lock(&self.queues).remove(mq);
                self.puller.forget(mq);
                lock(&self.reset_to).insert(mq.clone(), offset);
                info!("consumer {}: reset {mq} to offset {offset}", self.group());
                changed = true;
            }
            if slots.is_empty() {
                info!(
                    "consumer {}: offset reset of {topic}: none of its {} queues is held here",
                    self.group(),
                    offsets.len()
                );
            }
        }
        changed
    }

    async fn pull_loop(
        self: Arc<Self>,
        mq: MessageQueue,
        slot: Arc<QueueSlot>,
        mut next_offset: i64,
    ) {
        let mut stop = self.stop.subscribe();
        let mut subscription_changes = self.subscriptions.watch();
        let Some(limits) = lock(&self.limits).get(&mq.topic).cloned() else {
            return; // every held queue is of a subscribed topic
        };
        let pq = Arc::clone(slot.pq());
        loop {
            if pq.is_dropped() || self.stopped() {
                return;
            }
            if self.paused.is_paused(&mq.topic) {
                if !self.pause(PAUSED_PULL_DELAY).await {
                    return;
                }
                continue;
            }
            if !self.may_pull(&slot) {
                // Orderly clustering without a valid lock: the consume task or the relock
                // loop locks it again.
                if !self.pause(orderly::NOT_LOCKED_DELAY).await {
                    return;
                }
                continue;
            }
            if let Some(reason) = limits.check(&pq) {
                self.counters.add(Event::FlowControlPause, 1);
                debug!(
                    "consumer {}: {mq} waits, over its {reason} threshold",
                    self.group()
                );
                // Java waits the whole interval; here the wait also ends as soon as
                // consumption brings the queue back within its limits, so a small threshold
                // does not leave the queue idle for most of it. Enabled before the second
                // check: a removal in between wakes it.
                let freed = pq.space_freed(limits.flow_limits());
                tokio::pin!(freed);
                freed.as_mut().enable();
                let alive = if limits.check(&pq).is_some() {
                    tokio::select! {
                        _ = &mut freed => true,
                        alive = self.pause(self.config.flow_control_interval) => alive,
                    }
                } else {
                    true
                };
                pq.stop_waiting();
                if !alive {
                    return;
                }
                continue;
            }
            // Read each time: the expression may have changed since the last pull.
            subscription_changes.borrow_and_update();
            let Some(subscription) = self.subscriptions.active_of(&mq.topic) else {
                // Unsubscribed: the rebalance round under way drops this queue.
                if !self.pause(PAUSED_PULL_DELAY).await {
                    return;
                }
                continue;
            };
            pq.set_last_pull(now_ms());
            let mut request = PullRequest::new(self.group(), mq.clone(), next_offset, subscription);
            request.max_msg_nums = self.config.pull_batch_size;
            request.suspend_timeout = self.config.broker_suspend_max_time;
            request.timeout = self.config.consumer_timeout_when_suspend;
            // No commit offset on the pull (Java sends one): a broker write racing the
            // store's first write of the topic could lose it (see `persist_held`).
            self.counters.add(Event::Pull, 1);
            let pull_started = Instant::now();
            let pull = self.puller.pull(&request);
            tokio::pin!(pull);
            let result = loop {
                tokio::select! {
                    result = &mut pull => break Some(result),
                    _ = stop.changed() => return,
                    // A pull held by the broker under a replaced expression is given up.
                    _ = subscription_changes.changed() => {
                        if !self.subscriptions.is_current(&request.subscription) {
                            break None;
                        }
                    }
                }
            };
            if pq.is_dropped() {
                return;
            }
            // Made with an expression replaced meanwhile: its tag re-filter and next offset
            // are the old expression's, so the same offset is pulled again with the new one.
            let Some(result) =
                result.filter(|_| self.subscriptions.is_current(&request.subscription))
            else {
                continue;
            };
            let pull_took = pull_started.elapsed();
            self.counters.pull_latency.record(pull_took);
            if let (Some(status), Ok(result)) = (self.topic_status(&mq.topic), &result) {
                status.pulled(pull_took, result.messages.len());
            }
            match result {
                Err(err) => {
                    self.counters.add(Event::PullError, 1);
                    warn!(
                        "consumer {}: pulling {mq} at {next_offset} failed, retrying in {:?}: {err}",
                        self.group(),
                        PULL_ERROR_DELAY
                    );
                    // The delay below keeps these to one per queue per PULL_ERROR_DELAY.
                    self.emit(|| ConsumerEvent::PullFailed {
                        queue: mq.clone(),
                        error: err,
                    });
                    if !self.pause(PULL_ERROR_DELAY).await {
                        return;
                    }
                    continue;
                }
                Ok(result) => {
                    self.counters
                        .add(Event::MalformedSkipped, result.skipped_records as u64);
                    match result.status {
                        PullStatus::Found if self.is_orderly() && !result.messages.is_empty() => {
                            next_offset = result.next_begin_offset;
                            self.put_orderly(&mq, &slot, result.messages);
                        }
                        PullStatus::Found if !result.messages.is_empty() => {
                            next_offset = result.next_begin_offset;
                            let group = self.group();
                            let messages: Vec<Arc<MessageExt>> = result
                                .messages
                                .into_iter()
                                .map(|m| Arc::new(restore_retry_topic(group, m)))
                                .collect();
                            pq.put_messages(messages.iter().cloned());
                            let batches =
                                messages.chunks(self.config.consume_message_batch_max_size);
                            if self.config.listener_limits_calls {
                                // A queueing listener gets every call of the pull here, in
                                // queue order (handed over from tasks of their own, they
                                // reached it in the order the runtime first ran those, and a
                                // late first batch held the queue's commit back for
                                // seconds); one task then settles them all, instead of a
                                // task per call.
                                let calls: Vec<_> = batches
                                    .map(|batch| {
                                        (batch.to_vec(), self.hand_over(&mq, batch.to_vec()))
                                    })
                                    .collect();
                                // One permit per call until it is settled: shutdown waits for
                                // every permit. Far more exist than flow control lets be
                                // handed over, so taking them never waits.
                                let n = u32::try_from(calls.len()).unwrap_or(u32::MAX);
                                let permits_taken = match self.consume_permits.try_acquire_many(n) {
                                    Ok(permits) => {
                                        permits.forget();
                                        true
                                    }
                                    Err(_) => {
                                        warn!(
                                            "consumer {}: {n} listener calls on {mq} handed over without permits",
                                            self.group()
                                        );
                                        false
                                    }
                                };
                                tokio::spawn(Arc::clone(&self).settle_handed(
                                    mq.clone(),
                                    Arc::clone(&slot),
                                    calls,
                                    permits_taken,
                                ));
                            } else {
                                for batch in batches {
                                    tokio::spawn(Arc::clone(&self).consume(
                                        mq.clone(),
                                        Arc::clone(&slot),
                                        batch.to_vec(),
                                        None,
                                    ));
                                }
                            }
                        }
                        PullStatus::Found | PullStatus::NoNewMsg | PullStatus::NoMatchedMsg => {
                            next_offset = result.next_begin_offset;
                            // Java's correctTagsOffset: with nothing held, everything before
                            // the next offset is consumed (filtered out or absent).
                            if pq.message_count() == 0 {
                                slot.commit(|| self.store.update_offset(&mq, next_offset, true));
                            }
                        }
                        PullStatus::OffsetIllegal => {
                            // As Java: the queue is dropped, its offset set to the broker's
                            // and persisted, and rebalance adds it again from there (a 5.x
                            // broker answers so after a server-side reset). Dropping it
                            // also keeps in-flight verdicts of the old offsets from
                            // committing past the new one.
                            warn!(
                                "consumer {}: offset {next_offset} of {mq} is illegal, moving to {}",
                                self.group(),
                                result.next_begin_offset
                            );
                            self.request_reset(
                                &mq.topic,
                                BTreeMap::from([(mq.clone(), result.next_begin_offset)]),
                            );
                            return;
                        }
                    }
                }
            }
            if !self.config.pull_interval.is_zero() && !self.pause(self.config.pull_interval).await
            {
                return;
            }
        }
    }

    /// Settles the calls of one pull a queueing listener was handed, in order. A call still
    /// running holds back the settling of later ones (their verdicts wait in their
    /// channels), which changes nothing for the queue's commit: that cannot pass the
    /// call's messages anyway.
    ///
    /// Successes are settled together: once a call has answered, the calls after it that
    /// have answered SUCCESS too are taken with it, and their messages leave the process
    /// queue and commit in one step. One message per call (the default), settling each
    /// call on its own was most of what a call cost the engine. Failures, and every call
    /// while traces are on (they record each call's own time), go through
    /// [`consume`](Self::consume) one by one.
    async fn settle_handed(
        self: Arc<Self>,
        mq: MessageQueue,
        slot: Arc<QueueSlot>,
        calls: Vec<HandedCall>,
        permits_taken: bool,
    ) {
        let mut calls = calls.into_iter().peekable();
        while let Some((messages, call)) = calls.next() {
            let settled = if self.tracer.is_some() {
                Arc::clone(&self)
                    .consume(
                        mq.clone(),
                        Arc::clone(&slot),
                        messages,
                        Some(Handed::Call(call)),
                    )
                    .await;
                1
            } else {
                Arc::clone(&self)
                    .settle_answered(&mq, &slot, messages, call, &mut calls)
                    .await
            };
            // Taken by the pull loop when it handed the calls over.
            if permits_taken {
                self.consume_permits.add_permits(settled);
            }
        }
    }

    /// Waits for `call`, then settles it with every following call of `rest` that has
    /// already answered SUCCESS (see [`settle_handed`](Self::settle_handed)); returns how
    /// many calls it settled.
    async fn settle_answered(
        self: Arc<Self>,
        mq: &MessageQueue,
        slot: &Arc<QueueSlot>,
        messages: Vec<Arc<MessageExt>>,
        call: Option<ConsumeFuture>,
        rest: &mut std::iter::Peekable<std::vec::IntoIter<HandedCall>>,
    ) -> usize {
        // None: the queue is being dropped; another member (or the reset queue) delivers
        // what was not committed.
        let Some(pass) = slot.enter() else {
            return 1;
        };
        let started = Instant::now();
        let outcome = self.verdict(mq, call).await;
        let took = started.elapsed();
        let mut succeeded = Vec::new();
        // A call that answered a failure (this one, or a later one after the successes):
        // settled on its own, after the successes.
        let mut failed = None;
        if outcome.status == ConsumeConcurrentlyStatus::ConsumeSuccess {
            succeeded.push(messages);
            while let Some((_, next_call)) = rest.peek_mut() {
                let Some(next_outcome) = answered(next_call) else {
                    // Still running: the caller's next round waits for it.
                    break;
                };
                let Some((next_messages, _)) = rest.next() else {
                    break;
                };
                if next_outcome.status == ConsumeConcurrentlyStatus::ConsumeSuccess {
                    succeeded.push(next_messages);
                } else {
                    failed = Some((next_messages, next_outcome));
                    break;
                }
            }
        } else {
            failed = Some((messages, outcome));
        }
        if !succeeded.is_empty() {
            let status = self.topic_status(&mq.topic);
            let mut offsets = Vec::new();
            for messages in &succeeded {
                self.counters.listener_latency.record(took);
                if let Some(status) = &status {
                    status.consumed(took, messages.len(), 0);
                }
                offsets.extend(messages.iter().map(|m| m.queue_offset));
            }
            self.counters.add(Event::ConsumedOk, offsets.len() as u64);
            if let Some(commit) = slot.pq().remove_messages(&offsets, now_ms()) {
                slot.commit(|| self.store.update_offset(mq, commit, true));
            }
        }
        // Released only now: shutdown takes every permit before persisting, and a drop
        // takes the gate, so this commit is in the store by then.
        drop(pass);
        let Some((failed_messages, failed_outcome)) = failed else {
            return succeeded.len();
        };
        Arc::clone(&self)
            .consume(
                mq.clone(),
                Arc::clone(slot),
                failed_messages,
                Some(Handed::Answered(failed_outcome)),
            )
            .await;
        succeeded.len() + 1
    }

    /// Runs one batch through the listener and settles it: commit on success, send back
    /// (or consume again later) otherwise. The queue's gate is held from before the
    /// listener is called until the verdict is settled, so a drop waits for it (bounded)
    /// and a verdict that comes after the drop gave up commits nothing.
    async fn consume(
        self: Arc<Self>,
        mq: MessageQueue,
        slot: Arc<QueueSlot>,
        mut messages: Vec<Arc<MessageExt>>,
        // The first call, already handed to a queueing listener by the pull loop.
        mut handed: Option<Handed>,
    ) {
        let pq = Arc::clone(slot.pq());
        loop {
            // A handed call's permit was taken by the pull loop, and it is awaited even when
            // stopping: the listener is running it, and shutdown waits for it.
            let permit = if handed.is_some() {
                None
            } else {
                let Ok(permit) = self.consume_permits.acquire().await else {
                    return;
                };
                if self.stopped() {
                    return;
                }
                Some(permit)
            };
            // None: the queue is being dropped; another member (or the reset queue)
            // delivers what was not committed.
            let Some(pass) = slot.enter() else {
                return;
            };
            let call_started = Instant::now();
            let traced = self.trace_before(&messages);
            let outcome = match handed.take() {
                Some(Handed::Call(call)) => self.verdict(&mq, call).await,
                Some(Handed::Answered(outcome)) => outcome,
                None => self.call_listener(&mq, messages.clone()).await,
            };
            let count = messages.len() as u64;
            let call_took = call_started.elapsed();
            self.counters.listener_latency.record(call_took);
            self.trace_after(
                traced,
                &messages,
                call_took,
                outcome.status == ConsumeConcurrentlyStatus::ConsumeSuccess,
            );
            if let Some(status) = self.topic_status(&mq.topic) {
                let (ok, failed) = match outcome.status {
                    ConsumeConcurrentlyStatus::ConsumeSuccess => (messages.len(), 0),
                    ConsumeConcurrentlyStatus::ReconsumeLater => (0, messages.len()),
                };
                status.consumed(call_took, ok, failed);
            }
            match outcome.status {
                ConsumeConcurrentlyStatus::ConsumeSuccess => {
                    self.counters.add(Event::ConsumedOk, count);
                    let offsets: Vec<i64> = messages.iter().map(|m| m.queue_offset).collect();
                    if let Some(commit) = pq.remove_messages(&offsets, now_ms()) {
                        slot.commit(|| self.store.update_offset(&mq, commit, true));
                    }
                    // Released only now: shutdown takes every permit before persisting,
                    // and a drop takes the gate, so this commit is in the store by then.
                    drop(pass);
                    drop(permit);
                    return;
                }
                ConsumeConcurrentlyStatus::ReconsumeLater => {
                    self.counters.add(Event::ConsumedFailed, count);
                    if self.stopped() {
                        // Shutting down (a queueing listener answers the calls it never
                        // began so): left uncommitted, the group's next owner of the
                        // queue gets them; sent back, they would come twice.
                        return;
                    }
                    if slot.is_closed() {
                        // Dropped while the listener ran: the new start point delivers
                        // these again; sending them back too would duplicate them.
                        return;
                    }
                    if self.config.broadcasting() {
                        self.drop_failed(&mq, &messages);
                        let offsets: Vec<i64> = messages.iter().map(|m| m.queue_offset).collect();
                        if let Some(commit) = pq.remove_messages(&offsets, now_ms()) {
                            slot.commit(|| self.store.update_offset(&mq, commit, true));
                        }
                        drop(pass);
                        drop(permit);
                        return;
                    }
                    // As Java: each failed message goes back to the broker, which
                    // delivers it again through the group's retry topic after a delay (or
                    // moves it to the DLQ past `max_reconsume_times`); those leave the
                    // process queue. What cannot be sent back stays in it, holding the
                    // commit, and is consumed again here later.
                    // Boxed: the send-back state is large, and inline it would grow every
                    // consume task, failing or not.
                    let (sent_back, kept) =
                        Box::pin(self.send_back_all(&mq, messages, outcome.delay_level)).await;
                    self.counters.add(Event::SentBack, sent_back.len() as u64);
                    self.counters
                        .add(Event::ConsumedAgainLocally, kept.len() as u64);
                    if let Some(commit) = pq.remove_messages(&sent_back, now_ms()) {
                        slot.commit(|| self.store.update_offset(&mq, commit, true));
                    }
                    drop(pass);
                    drop(permit);
                    if kept.is_empty() {
                        return;
                    }
                    messages = kept
                        .into_iter()
                        .map(|m| {
                            let mut again = MessageExt::clone(&m);
                            again.reconsume_times += 1;
                            Arc::new(again)
                        })
                        .collect();
                    if !self.pause(CONSUME_LATER_DELAY).await || pq.is_dropped() {
                        return;
                    }
                }
            }
        }
    }

    /// A broadcasting consumer's failed messages: Java's `ConsumeMessageConcurrentlyService`
    /// neither sends them back nor consumes them again, it logs each one and commits it
    /// ("BROADCASTING, the message consume failed, drop it"). Retrying is the
    /// application's business there: a retry topic is shared by the group, so a message
    /// sent back would reach one member, not the one that failed it.
    fn drop_failed(&self, mq: &MessageQueue, messages: &[Arc<MessageExt>]) {
        self.counters
            .add(Event::DroppedAfterFailure, messages.len() as u64);
        for message in messages {
            warn!(
                "consumer {}: BROADCASTING, the message consume failed, drop it: {mq}@{} msgId {} reconsumeTimes {}",
                self.group(),
                message.queue_offset,
                message.msg_id(),
                message.reconsume_times
            );
        }
    }

    /// Sends each message back to the broker; returns the offsets of those sent and the
    /// messages that could not be.
    async fn send_back_all(
        &self,
        mq: &MessageQueue,
        messages: Vec<Arc<MessageExt>>,
        delay_level: i32,
    ) -> (Vec<i64>, Vec<Arc<MessageExt>>) {
        let mut sent_back = Vec::new();
        let mut kept = Vec::new();
        let options = self.config.send_back_options();
        for message in messages {
            match send_back_with(
                &self.instance,
                self.group(),
                &message,
                delay_level,
                &options,
            )
            .await
            {
                Ok(_) => sent_back.push(message.queue_offset),
                Err(err) => {
                    warn!(
                        "consumer {}: sending {mq}@{} back failed, consuming it again later: {err}",
                        self.group(),
                        message.queue_offset
                    );
                    kept.push(message);
                }
            }
        }
        (sent_back, kept)
    }

    /// The listener's verdict. A listener that panics, or runs past `consume_timeout`,
    /// says ReconsumeLater; the call past its time is cancelled (its future dropped), so
    /// its late verdict can never be applied.
    async fn call_listener(
        &self,
        mq: &MessageQueue,
        messages: Vec<Arc<MessageExt>>,
    ) -> ConsumeOutcome {
        let call = self.hand_over(mq, messages);
        self.verdict(mq, call).await
    }

    /// Gives the listener a batch; None when the listener panicked at once. Panics are
    /// caught here and in [`verdict`](Self::verdict) rather than by running the call as a
    /// task of its own: a task per listener call was a tenth of the engine's time per
    /// message.
    fn hand_over(
        &self,
        mq: &MessageQueue,
        messages: Vec<Arc<MessageExt>>,
    ) -> Option<ConsumeFuture> {
        let context = ConsumeContext { queue: mq.clone() };
        std::panic::catch_unwind(AssertUnwindSafe(|| {
            self.listener.consume(messages, context)
        }))
        .ok()
    }

    /// Waits for a call [`hand_over`](Self::hand_over) began. Past the timeout the call's
    /// future is dropped, which cancels it.
    async fn verdict(&self, mq: &MessageQueue, call: Option<ConsumeFuture>) -> ConsumeOutcome {
        let Some(call) = call else {
            warn!(
                "consumer {}: the listener panicked on {mq}, consuming again later",
                self.group()
            );
            return ConsumeConcurrentlyStatus::ReconsumeLater.into();
        };
        let outcome = if self.config.listener_limits_calls {
            Ok(CatchUnwind(call).await)
        } else {
            tokio::time::timeout(self.config.consume_timeout, CatchUnwind(call)).await
        };
        match outcome {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(())) => {
                warn!(
                    "consumer {}: the listener panicked on {mq}, consuming again later",
                    self.group()
                );
                ConsumeConcurrentlyStatus::ReconsumeLater.into()
            }
            Err(_) => {
                warn!(
                    "consumer {}: the listener ran past consumeTimeout ({:?}) on {mq}; its messages count as failed and its verdict is ignored",
                    self.group(),
                    self.config.consume_timeout
                );
                ConsumeConcurrentlyStatus::ReconsumeLater.into()
            }
        }
    }

    fn running_info(&self) -> ConsumerRunningInfo {
        let mut info = ConsumerRunningInfo {
            subscription_set: self.subscriptions.advertised(),
            ..ConsumerRunningInfo::default()
        };
        let offsets = self.store.clone_offset_table(None);
        for (mq, slot) in lock(&self.queues).iter() {
            let commit = offsets.get(mq).copied().unwrap_or(-1);
            info.mq_table.insert(mq.clone(), slot.pq().info(commit));
        }
        let properties = [
            (props::CONSUME_TYPE, "CONSUME_PASSIVELY".to_owned()),
            (props::CONSUME_ORDERLY, self.is_orderly().to_string()),
            // Java lists every field of the consumer; the model is the one tools read.
            (
                props::MESSAGE_MODEL,
                message_model_name(self.config.message_model).to_owned(),
            ),
            (
                props::THREADPOOL_CORE_SIZE,
                self.config.consume_thread_num.to_string(),
            ),
            (props::NAMESERVER_ADDR, self.config.namesrv_addr.clone()),
            (props::CONSUMER_START_TIMESTAMP, self.started_ms.to_string()),
            // The protocol version this client speaks (`CLIENT_VERSION`), named as Java names it.
            (props::CLIENT_VERSION, "V4_9_7".to_owned()),
        ];
        for (key, value) in properties {
            info.properties.insert(key.to_owned(), value);
        }
        let now = Instant::now();
        for (topic, status) in lock(&self.status).iter() {
            info.status_table.insert(topic.clone(), status.status(now));
        }
        info
    }
}

/// A call the pull loop handed to a queueing listener: its messages and the call (`None`:
/// the listener panicked at once).
type HandedCall = (Vec<Arc<MessageExt>>, Option<ConsumeFuture>);

/// A listener call [`Engine::consume`] settles that the pull loop handed over already.
enum Handed {
    /// Still to be awaited.
    Call(Option<ConsumeFuture>),
    /// Its verdict, already awaited.
    Answered(ConsumeOutcome),
}

/// A handed call's verdict if it has answered, without waiting; `None` while it runs. The
/// call is spent once this returns a verdict. A call that panics while polled here counts
/// as running; awaiting it then reports the panic.
fn answered(call: &mut Option<ConsumeFuture>) -> Option<ConsumeOutcome> {
    let call = call.as_mut()?;
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match std::panic::catch_unwind(AssertUnwindSafe(|| call.as_mut().poll(&mut cx))) {
        Ok(std::task::Poll::Ready(outcome)) => Some(outcome),
        _ => None,
    }
}

/// A listener future whose panic becomes `Err(())` (the listener's own code runs inside
/// `poll`).
struct CatchUnwind(ConsumeFuture);

impl Future for CatchUnwind {
    type Output = std::result::Result<ConsumeOutcome, ()>;

    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let future = &mut self.0;
        match std::panic::catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(std::task::Poll::Ready(outcome)) => std::task::Poll::Ready(Ok(outcome)),
            Ok(std::task::Poll::Pending) => std::task::Poll::Pending,
            Err(_) => std::task::Poll::Ready(Err(())),
        }
    }
}

/// The engine's answers to the broker's requests about the group.
struct Hooks {
    engine: Weak<Engine>,
}

impl ConsumerHooks for Hooks {
    fn rebalance_soon(&self) {
        if let Some(engine) = self.engine.upgrade() {
            engine.rebalance_now.notify_one();
        }
    }

    fn running_info(&self) -> ConsumerRunningInfo {
        self.engine
            .upgrade()
            .map(|e| e.running_info())
            .unwrap_or_default()
    }

    fn consume_message_directly(&self, message: MessageExt) -> ConsumeMessageDirectlyResult {
        let started = now_ms();
        if let Some(listener) = self.engine.upgrade().and_then(|e| e.orderly.clone()) {
            return orderly::consume_directly(listener.as_ref(), message, started);
        }
        let outcome = match self.engine.upgrade() {
            None => Err("the consumer is shut down".to_owned()),
            Some(engine) => {
                let queue = MessageQueue::new(
                    message.topic.clone(),
                    message.broker_name.clone(),
                    message.queue_id,
                );
                let context = ConsumeContext { queue };
                let future = engine.listener.consume(vec![Arc::new(message)], context);
                // Called on a blocking-pool thread (see the processor's docs), where
                // blocking on the runtime is allowed; the task catches a panicking future.
                match tokio::runtime::Handle::try_current() {
                    Ok(handle) => handle
                        .block_on(handle.spawn(future))
                        .map_err(|err| err.to_string()),
                    Err(err) => Err(err.to_string()),
                }
            }
        };
        let (consume_result, remark) = match outcome {
            Ok(ConsumeOutcome {
                status: ConsumeConcurrentlyStatus::ConsumeSuccess,
                ..
            }) => (ConsumeResult::CrSuccess, None),
            Ok(ConsumeOutcome {
                status: ConsumeConcurrentlyStatus::ReconsumeLater,
                ..
            }) => (ConsumeResult::CrLater, None),
            Err(err) => (ConsumeResult::CrThrowException, Some(err)),
        };
        ConsumeMessageDirectlyResult {
            order: false,
            auto_commit: true,
            consume_result,
            remark,
            spent_time_mills: now_ms() - started,
        }
    }

    fn reset_offset(&self, topic: &str, offsets: BTreeMap<MessageQueue, i64>) {
        // Only signals: the rebalance task applies it (see `Engine::apply_resets`), so a
        // reset never races a rebalance round over the same queues.
        if let Some(engine) = self.engine.upgrade() {
            engine.request_reset(topic, offsets);
        }
    }

    fn consumer_offsets(&self, topic: &str) -> BTreeMap<MessageQueue, i64> {
        self.engine
            .upgrade()
            .map(|e| e.store.clone_offset_table(Some(topic)))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> PushConsumerConfig {
        PushConsumerConfig {
            group: "PushUnitGroup".into(),
            namesrv_addr: "127.0.0.1:9876".into(),
            ..PushConsumerConfig::default()
        }
    }

    #[test]
    fn defaults_are_javas() {
        let c = PushConsumerConfig::default();
        assert_eq!(c.message_model, MessageModel::Clustering);
        assert_eq!(
            c.consume_from_where,
            ConsumeFromWhere::ConsumeFromLastOffset
        );
        assert_eq!(c.allocate_strategy.name(), "AVG");
        assert_eq!(c.pull_batch_size, 32);
        assert_eq!(c.pull_threshold_for_queue, 1000);
        assert_eq!(c.pull_threshold_size_for_queue, 100 * 1024 * 1024);
        assert_eq!(c.consume_concurrently_max_span, 2000);
        assert_eq!(c.consume_thread_num, 20);
        assert_eq!(c.consume_message_batch_max_size, 1);
        assert_eq!(c.persist_consumer_offset_interval, Duration::from_secs(5));
        assert_eq!(c.rebalance_interval, Duration::from_secs(20));
        assert_eq!(c.pull_interval, Duration::ZERO);
        assert_eq!(c.consume_timeout, Duration::from_secs(15 * 60));
        assert_eq!(c.pull_threshold_for_topic, None);
        assert_eq!(c.pull_threshold_size_for_topic, None);
    }

    fn broadcasting() -> PushConsumerConfig {
        PushConsumerConfig {
            message_model: MessageModel::Broadcasting,
            ..config()
        }
    }

    #[test]
    fn broadcasting_is_accepted_and_an_offset_store_dir_belongs_to_it_alone() {
        broadcasting().validate().unwrap();
        PushConsumerConfig {
            offset_store_dir: Some("/var/lib/offsets".into()),
            ..broadcasting()
        }
        .validate()
        .unwrap();
        let clustering_with_dir = PushConsumerConfig {
            offset_store_dir: Some("/var/lib/offsets".into()),
            ..config()
        }
        .validate()
        .unwrap_err();
        assert!(
            matches!(&clustering_with_dir, ClientError::Config(m) if m.contains("offsetStoreDir") && m.contains("BROADCASTING")),
            "{clustering_with_dir}"
        );
        let empty = PushConsumerConfig {
            offset_store_dir: Some(PathBuf::new()),
            ..broadcasting()
        }
        .validate()
        .unwrap_err();
        assert!(matches!(&empty, ClientError::Config(m) if m.contains("offsetStoreDir")));
    }

    #[test]
    fn the_offsets_file_lives_under_the_configured_dir_else_javas_default() {
        let dir = PathBuf::from("/tmp/some-offsets");
        let configured = PushConsumerConfig {
            offset_store_dir: Some(dir.clone()),
            ..broadcasting()
        };
        assert_eq!(configured.resolved_offset_store_dir().unwrap(), dir);
        if let Some(home_default) = local::default_store_dir() {
            assert!(home_default.ends_with(".rocketmq_offsets"));
            assert_eq!(
                broadcasting().resolved_offset_store_dir().unwrap(),
                home_default
            );
        }
    }

    #[test]
    fn a_broadcasting_client_id_keeps_javas_default_instance_name() {
        assert_eq!(
            broadcasting().effective_instance_name(),
            Some(BROADCASTING_DEFAULT_INSTANCE_NAME)
        );
        let blank = PushConsumerConfig {
            instance_name: Some("  ".into()),
            ..broadcasting()
        };
        assert_eq!(blank.effective_instance_name(), Some("DEFAULT"));
        let named = PushConsumerConfig {
            instance_name: Some("edge-7".into()),
            ..broadcasting()
        };
        assert_eq!(named.effective_instance_name(), Some("edge-7"));
        // Clustering leaves it to the instance: the process id.
        assert_eq!(config().effective_instance_name(), None);
    }

    #[test]
    fn only_a_clustering_consumer_subscribes_to_its_retry_topic() {
        let user = BTreeMap::from([(
            "Orders".to_owned(),
            SubscriptionData::tag("Orders".to_owned(), "*", 1),
        )]);
        let clustering: Vec<String> = config()
            .subscriptions_to_start(user.clone())
            .into_keys()
            .collect();
        assert_eq!(clustering, ["%RETRY%PushUnitGroup", "Orders"]);
        let broadcasting: Vec<String> = broadcasting()
            .subscriptions_to_start(user)
            .into_keys()
            .collect();
        assert_eq!(broadcasting, ["Orders"]);
    }

    #[test]
    fn the_heartbeat_tells_the_brokers_the_message_model() {
        let data = broadcasting().consumer_data(Vec::new());
        assert_eq!(data.message_model, MessageModel::Broadcasting);
        assert_eq!(data.group_name, "PushUnitGroup");
        assert_eq!(data.consume_type, ConsumeType::ConsumePassively);
        assert_eq!(
            config().consumer_data(Vec::new()).message_model,
            MessageModel::Clustering
        );
        assert_eq!(
            message_model_name(MessageModel::Broadcasting),
            "BROADCASTING"
        );
        assert_eq!(message_model_name(MessageModel::Clustering), "CLUSTERING");
    }

    #[test]
    fn out_of_range_settings_are_refused() {
        let bad = [
            PushConsumerConfig {
                consume_thread_num: 0,
                ..config()
            },
            PushConsumerConfig {
                consume_message_batch_max_size: 0,
                ..config()
            },
            PushConsumerConfig {
                pull_batch_size: 0,
                ..config()
            },
            PushConsumerConfig {
                group: String::new(),
                ..config()
            },
            PushConsumerConfig {
                consume_timeout: Duration::ZERO,
                ..config()
            },
            PushConsumerConfig {
                pull_threshold_for_topic: Some(0),
                ..config()
            },
            PushConsumerConfig {
                pull_threshold_size_for_topic: Some(0),
                ..config()
            },
        ];
        for c in bad {
            assert!(c.validate().is_err(), "{c:?}");
        }
        assert!(config().validate().is_ok());
    }

    use crate::consumer::process_queue::test_messages::message;

    #[test]
    fn a_retried_message_shows_its_original_topic() {
        let mut retried = MessageExt::clone(&message(3, 1));
        retried.topic = "%RETRY%G".into();
        retried.properties.insert(keys::RETRY_TOPIC, "Orders");
        assert_eq!(restore_retry_topic("G", retried.clone()).topic, "Orders");
        // Another group's retry topic is a topic like any other.
        assert_eq!(restore_retry_topic("H", retried).topic, "%RETRY%G");
        let plain = MessageExt::clone(&message(4, 1));
        assert_eq!(restore_retry_topic("G", plain).topic, "T");
    }

    #[tokio::test]
    async fn before_start_live_changes_edit_the_table_and_the_retry_topic_is_the_consumers() {
        let listener = Arc::new(|_: Vec<Arc<MessageExt>>, _: ConsumeContext| async {
            ConsumeConcurrentlyStatus::ConsumeSuccess
        });
        let consumer = PushConsumer::new(config(), listener).unwrap();
        consumer
            .subscribe_live("Orders", ExpressionType::Tag, "A")
            .await
            .unwrap();
        assert_eq!(lock(&consumer.subscriptions)["Orders"].sub_string, "A");
        consumer.unsubscribe("Orders").await.unwrap();
        consumer.unsubscribe("NeverSubscribed").await.unwrap();
        assert!(lock(&consumer.subscriptions).is_empty());
        let retry = rebalance::retry_topic("PushUnitGroup");
        let refused = consumer.unsubscribe(&retry).await.unwrap_err();
        assert!(matches!(&refused, ClientError::Validation(m) if m.contains("retry topic")));
        assert!(consumer
            .subscribe_live(&retry, ExpressionType::Tag, "*")
            .await
            .is_err());
        let empty_sql = consumer
            .subscribe_live("Orders", ExpressionType::Sql92, " ")
            .await
            .unwrap_err();
        assert_eq!(empty_sql.code(), "ERR_INVALID_SELECTOR");
        assert!(lock(&consumer.subscriptions).is_empty());
    }

    /// A shutdown right after start signals the stop before the engine's tasks first run,
    /// when nothing has subscribed to it yet: they must still see it and end, rather than
    /// rebalance and persist on while shutdown waits for them.
    #[tokio::test]
    async fn a_stop_signalled_before_the_tasks_first_run_ends_them() {
        let config = PushConsumerConfig {
            // Never reached: a stopped engine asks nothing of anyone.
            namesrv_addr: "127.0.0.1:1".into(),
            ..config()
        };
        let instance_config = InstanceConfig::new(&config.namesrv_addr)
            .unwrap()
            .with_names(Some("push-unit-early-stop"), None);
        let instance = ClientInstance::acquire(instance_config).await.unwrap();
        let store = Arc::new(RemoteOffsetStore::for_instance(&instance, &config.group));
        let orders = selector::subscription_data("Orders", ExpressionType::Tag, "*", 1).unwrap();
        let subscriptions =
            config.subscriptions_to_start(BTreeMap::from([("Orders".to_owned(), orders)]));
        let listener = Arc::new(|_: Vec<Arc<MessageExt>>, _: ConsumeContext| async {
            ConsumeConcurrentlyStatus::ConsumeSuccess
        });
        let engine = Arc::new(Engine::new(
            config,
            listener,
            Arc::clone(&instance),
            subscriptions,
            store,
            Arc::default(),
            Arc::default(),
        ));
        assert_eq!(engine.stop.receiver_count(), 0, "as right after start");
        engine.signal_stop();
        let tasks = [
            tokio::spawn(Arc::clone(&engine).rebalance_loop()),
            tokio::spawn(Arc::clone(&engine).persist_loop()),
        ];
        for task in tasks {
            // A bound on a hang (the loops run forever when they miss the stop), not a
            // timing assumption: a stopped loop ends at its first look.
            tokio::time::timeout(Duration::from_secs(60), task)
                .await
                .expect("a task of the engine ran on after the stop")
                .unwrap();
        }
        assert!(
            lock(&engine.queues).is_empty(),
            "a stopped engine took queues"
        );
        instance.release().await;
    }

    #[test]
    fn subscribe_checks_the_topic() {
        let listener = Arc::new(|_: Vec<Arc<MessageExt>>, _: ConsumeContext| async {
            ConsumeConcurrentlyStatus::ConsumeSuccess
        });
        let consumer = PushConsumer::new(config(), listener).unwrap();
        assert!(consumer.subscribe("", "*").is_err());
        consumer.subscribe("SomeTopic", "A || B").unwrap();
        let subs = lock(&consumer.subscriptions);
        assert_eq!(subs["SomeTopic"].tags_set, vec!["A", "B"]);
    }
}
