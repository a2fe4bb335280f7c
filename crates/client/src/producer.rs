//! The producer: validates messages, picks queues round-robin across brokers, sends with
//! SEND_MESSAGE_V2 and retries on another broker when one fails. Ordered sends (a sharding
//! key, or a queue the caller chose) go to their one queue and are tried once; see
//! [`crate::ordered_send`].
//!
//! Connections, routes and heartbeats come from the process's [`ClientInstance`]: the
//! producer joins it at `start` (registering its group, which the instance's heartbeat then
//! carries) and leaves it at `shutdown` (UNREGISTER_CLIENT for the group).

use std::collections::HashMap;
use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use log::{debug, warn};
use rocketmq_remoting::body::{MessageQueue, TopicRouteData};
use rocketmq_remoting::codes::{request, response, SerializeType};
use rocketmq_remoting::header::{
    DecodeHeader, EncodeHeader, SendMessageRequestHeader, SendMessageRequestHeaderV2,
    SendMessageResponseHeader,
};
use rocketmq_remoting::message::properties::keys;
use rocketmq_remoting::message::{
    compress_zlib, encode_batch, encode_properties, sysflag, Message, Properties, UniqIdGenerator,
};
use rocketmq_remoting::RemotingCommand;
use tokio::time::Instant;

use crate::error::{ClientError, Result};
use crate::instance::{ClientInstance, InstanceConfig};
use crate::metrics::{ProducerCounters, ProducerMetrics};
use crate::namespace;
use crate::ordered_send::{
    batch_sharding_key, chosen_queue, queue_for_key, validate_sharding_key, QueueChoice, SendTarget,
};
use crate::route_cache::DEFAULT_ROUTE_REFRESH;
use crate::trace::{self, TraceDispatcher, TraceMetrics, TraceRecord};
use crate::validation::{
    validate_batch, validate_body, validate_client_names, validate_message,
    validate_producer_group, validate_setting, DEFAULT_PRODUCER_GROUP,
};

/// Range of `sendMsgTimeout` in ms: Java's `int`, positive (a zero budget fails every send).
pub const SEND_TIMEOUT_MS_RANGE: RangeInclusive<i64> = 1..=i32::MAX as i64;
/// Range of `retryTimesWhenSendFailed`: a non-negative Java `int`.
pub const RETRY_TIMES_RANGE: RangeInclusive<i64> = 0..=i32::MAX as i64;
/// Range of `compressMsgBodyOverHowmuch`: a non-negative Java `int` (0 compresses every body).
pub const COMPRESS_OVER_RANGE: RangeInclusive<i64> = 0..=i32::MAX as i64;
/// Range of `maxMessageSize`: a positive Java `int` (0 would refuse every body). The broker
/// applies its own limit as well (4 MiB by default).
pub const MAX_MESSAGE_SIZE_RANGE: RangeInclusive<i64> = 1..=i32::MAX as i64;

/// Producer settings; defaults are the Java producer's.
#[derive(Debug, Clone)]
pub struct ProducerConfig {
    /// `host:port;host:port`.
    pub namesrv_addr: String,
    /// Producer group name.
    pub group: String,
    /// Budget for one `send`: route lookups, every attempt and retry included.
    pub send_timeout: Duration,
    /// Extra attempts after a failed one, each on another broker where possible.
    pub retry_times: u32,
    /// Bodies of this many bytes or more are zlib-compressed (Java's
    /// `compressMsgBodyOverHowmuch`), unless zlib does not make them smaller.
    pub compress_over: usize,
    /// zlib level, as Java's `rocketmq.message.compressLevel`.
    pub compress_level: u32,
    /// Largest body accepted, before compression.
    pub max_message_size: usize,
    /// How often cached routes are refreshed (an instance setting: the first member's wins).
    pub route_refresh: Duration,
    /// Java's `instanceName`: part of the client id. Default: the process id.
    pub instance_name: Option<String>,
    /// Java's `unitName`: appended to the client id when set.
    pub unit_name: Option<String>,
    /// ACL credentials requests are signed with (`accessKey` / `secretKey` /
    /// `securityToken`); none for a cluster without ACL.
    pub credentials: Option<crate::acl::Credentials>,
    /// TLS for every connection (`tls` setting); `None` for plain TCP.
    pub tls: Option<crate::tls::TlsConfig>,
    /// Java's `namespace`: topics and the group are `<namespace>%<name>` on the brokers, and
    /// shown without it (see [`crate::namespace`]). None or blank: no namespace.
    pub namespace: Option<String>,
}

impl ProducerConfig {
    /// Checks every setting against the rules (the group's and the numeric ranges above).
    pub fn validate(&self) -> Result<()> {
        validate_producer_group(&self.group)?;
        validate_client_names(self.instance_name.as_deref(), self.unit_name.as_deref())?;
        let as_i64 = |n: u128| i64::try_from(n).unwrap_or(i64::MAX);
        validate_setting(
            "sendMsgTimeout",
            as_i64(self.send_timeout.as_millis()),
            SEND_TIMEOUT_MS_RANGE,
        )?;
        validate_setting(
            "retryTimesWhenSendFailed",
            self.retry_times.into(),
            RETRY_TIMES_RANGE,
        )?;
        validate_setting(
            "compressMsgBodyOverHowmuch",
            as_i64(self.compress_over as u128),
            COMPRESS_OVER_RANGE,
        )?;
        validate_setting(
            "maxMessageSize",
            as_i64(self.max_message_size as u128),
            MAX_MESSAGE_SIZE_RANGE,
        )
    }
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            namesrv_addr: String::new(),
            // Java's default, which it then refuses to start with: a group must be chosen.
            group: DEFAULT_PRODUCER_GROUP.into(),
            send_timeout: Duration::from_secs(3),
            retry_times: 2,
            compress_over: 4096,
            compress_level: 5,
            max_message_size: 4 * 1024 * 1024,
            route_refresh: DEFAULT_ROUTE_REFRESH,
            instance_name: None,
            unit_name: None,
            credentials: None,
            tls: None,
            namespace: None,
        }
    }
}

/// A message to send.
#[derive(Debug, Clone, Default)]
pub struct OutgoingMessage {
    pub topic: String,
    pub body: Bytes,
    pub tags: Option<String>,
    pub keys: Vec<String>,
    pub properties: Vec<(String, String)>,
    /// 0 = deliver now; 1..=18 = the broker's delay levels.
    pub delay_level: i32,
    /// Deliver at this time, ms since the epoch (5.x brokers' timer, the `TIMER_DELIVER_MS`
    /// property; 4.x brokers ignore it and deliver at once). Not with `delay_level`.
    pub deliver_time_ms: Option<i64>,
    /// The user flag stored with the message.
    pub flag: i32,
    /// Messages with the same key go to the same queue (see [`crate::ordered_send`]); also
    /// sent as the `__SHARDINGKEY` property, RocketMQ 5's message group.
    pub sharding_key: Option<String>,
}

/// How the broker stored a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendStatus {
    SendOk,
    FlushDiskTimeout,
    FlushSlaveTimeout,
    SlaveNotAvailable,
}

impl SendStatus {
    /// Java's enum name.
    pub fn as_str(self) -> &'static str {
        match self {
            SendStatus::SendOk => "SEND_OK",
            SendStatus::FlushDiskTimeout => "FLUSH_DISK_TIMEOUT",
            SendStatus::FlushSlaveTimeout => "FLUSH_SLAVE_TIMEOUT",
            SendStatus::SlaveNotAvailable => "SLAVE_NOT_AVAILABLE",
        }
    }

    pub(crate) fn from_response_code(code: i32) -> Option<Self> {
        match code {
            response::SUCCESS => Some(SendStatus::SendOk),
            response::FLUSH_DISK_TIMEOUT => Some(SendStatus::FlushDiskTimeout),
            response::FLUSH_SLAVE_TIMEOUT => Some(SendStatus::FlushSlaveTimeout),
            response::SLAVE_NOT_AVAILABLE => Some(SendStatus::SlaveNotAvailable),
            _ => None,
        }
    }
}

/// The outcome of a successful send.
#[derive(Debug, Clone)]
pub struct SendResult {
    pub status: SendStatus,
    /// Client message id (UNIQ_KEY); for a batch, the ids joined by ','.
    pub msg_id: String,
    /// Broker message id (store host + commit-log offset).
    pub offset_msg_id: String,
    pub queue: MessageQueue,
    pub queue_offset: i64,
    /// The address of the broker that stored it (a message trace's store host).
    pub store_host: String,
    /// The broker's region (`MSG_REGION` of its answer; Java's `SendResult.regionId`).
    pub region_id: Option<String>,
    /// Whether the broker has message traces on (`TRACE_ON` of its answer, default true).
    pub trace_on: bool,
}

/// A request body and header ready to go to any queue of its topic.
struct Prepared {
    topic: String,
    body: Bytes,
    properties: Option<String>,
    sys_flag: i32,
    flag: i32,
    batch: bool,
    msg_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Created,
    Starting,
    Running,
    Stopped,
}

/// Bodies at least this large are compressed on the blocking pool: zlib takes about a
/// millisecond per 100 KiB, long enough to hold up every other task of a runtime worker.
const COMPRESS_OFF_WORKER_FROM: usize = 64 * 1024;

/// Sends messages. Cheap to share behind an `Arc`.
pub struct Producer {
    config: ProducerConfig,
    instance_config: InstanceConfig,
    /// Set while running.
    instance: Mutex<Option<Arc<ClientInstance>>>,
    /// The runtime `start` ran on, for a producer dropped without `shutdown`.
    runtime: OnceLock<tokio::runtime::Handle>,
    /// Message ids embed the client IP, which the instance finds at start.
    ids: OnceLock<UniqIdGenerator>,
    next_queue: AtomicUsize,
    state: Mutex<State>,
    /// Per topic, the writable queues of the route they were computed from: rebuilt only
    /// when the route changes, not on every send (the list allocates a queue per entry).
    publish_queues: Mutex<HashMap<String, PublishQueues>>,
    /// Sends, failures, retries and latencies, for [`Producer::metrics`].
    counters: ProducerCounters,
    /// The trace topic, when message traces are on ([`Producer::trace_to`]).
    trace_topic: Mutex<Option<String>>,
    /// The trace dispatcher, from `start` on when traces are on.
    tracer: OnceLock<Arc<TraceDispatcher>>,
}

/// The writable queues of one route of a topic, sorted by broker, as sends pick from them.
struct PublishQueues {
    route: Arc<TopicRouteData>,
    queues: Arc<[MessageQueue]>,
}

impl Producer {
    /// Validates `config`; no connection is made before [`Producer::start`].
    pub fn new(config: ProducerConfig) -> Result<Self> {
        let mut instance_config = InstanceConfig::new(&config.namesrv_addr)?
            .with_names(config.instance_name.as_deref(), config.unit_name.as_deref())
            .with_credentials(config.credentials.clone())
            .with_tls(config.tls.clone());
        instance_config.route_refresh = config.route_refresh;
        config.validate()?;
        let mut config = config;
        if let Some(ns) = namespace::effective(config.namespace.as_deref()) {
            namespace::validate_namespace(ns)?;
            config.group = namespace::wrap(Some(ns), &config.group);
        }
        Ok(Producer {
            config,
            instance_config,
            instance: Mutex::new(None),
            runtime: OnceLock::new(),
            ids: OnceLock::new(),
            next_queue: AtomicUsize::new(0),
            publish_queues: Mutex::new(HashMap::new()),
            state: Mutex::new(State::Created),
            counters: ProducerCounters::default(),
            trace_topic: Mutex::new(None),
            tracer: OnceLock::new(),
        })
    }

    /// Joins the process's client instance for this configuration (starting it if needed)
    /// and registers the producer group in its heartbeat. Sending is possible afterwards.
    pub async fn start(&self) -> Result<()> {
        {
            let mut state = self.lock_state();
            match *state {
                State::Created => *state = State::Starting,
                State::Starting | State::Running => {
                    return Err(ClientError::State("producer is already started".into()))
                }
                State::Stopped => {
                    return Err(ClientError::State(
                        "producer was shut down; create a new one".into(),
                    ))
                }
            }
        }
        let instance = match ClientInstance::acquire(self.instance_config.clone()).await {
            Ok(instance) => instance,
            Err(err) => {
                *self.lock_state() = State::Created;
                return Err(err);
            }
        };
        if let Err(err) = instance.register_producer(&self.config.group) {
            instance.release().await;
            *self.lock_state() = State::Created;
            // Names the group as the user gave it.
            return Err(namespace::shown_error(self.namespace(), err));
        }
        let _ = self.ids.set(UniqIdGenerator::new(
            instance.local_ip(),
            std::process::id(),
        ));
        let _ = self.runtime.set(tokio::runtime::Handle::current());
        *self.lock_instance() = Some(Arc::clone(&instance));
        let trace_topic = self
            .trace_topic
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(topic) = trace_topic {
            // Boxed: the dispatcher starts a producer of its own, whose start is this one.
            match Box::pin(TraceDispatcher::start(
                &self.config,
                &self.config.group,
                &topic,
            ))
            .await
            {
                Ok(tracer) => {
                    let _ = self.tracer.set(tracer);
                }
                Err(err) => {
                    self.lock_instance().take();
                    instance.unregister_producer(&self.config.group).await;
                    instance.release().await;
                    *self.lock_state() = State::Created;
                    return Err(err);
                }
            }
        }
        *self.lock_state() = State::Running;
        Ok(())
    }

    /// Turns message traces on (Java's `enableMsgTrace` with `customizedTraceTopic`): from
    /// `start` on, every send the broker answers leaves a `Pub` record in `topic`. Call
    /// before `start`.
    pub fn trace_to(&self, topic: &str) -> Result<()> {
        crate::validation::validate_topic(topic)?;
        if *self.lock_state() != State::Created {
            return Err(ClientError::State(
                "message traces are turned on before start()".into(),
            ));
        }
        *self.trace_topic.lock().unwrap_or_else(|p| p.into_inner()) = Some(topic.to_owned());
        Ok(())
    }

    /// The trace dispatcher's counters, when traces are on and the producer was started.
    pub fn trace_metrics(&self) -> Option<TraceMetrics> {
        self.tracer.get().map(|t| t.metrics())
    }

    /// The local address the instance found, once started.
    pub(crate) fn local_ip(&self) -> Option<std::net::IpAddr> {
        self.lock_instance().as_ref().map(|i| i.local_ip())
    }

    /// Sends a trace message: as a round-robin [`Producer::send`], but to a trace topic,
    /// which may be one the user-facing send refuses (`RMQ_SYS_TRACE_TOPIC`). Only the
    /// trace dispatcher calls it.
    pub(crate) async fn send_trace_message(&self, message: OutgoingMessage) -> Result<SendResult> {
        crate::validation::validate_topic(&message.topic)?;
        validate_body(message.body.len(), self.config.max_message_size)?;
        let instance = self.running_instance()?;
        let prepared = self.prepare(&message).await?;
        let deadline = Instant::now() + self.config.send_timeout;
        self.send_prepared(&instance, prepared, Selection::RoundRobin, deadline)
            .await
    }

    /// Queues the `Pub` record of `message`, sent as `msg_id` with `result` after
    /// `started_ms`, as Java's send trace hook does (not for a broker with traces off).
    fn trace_sent(
        &self,
        tracer: &TraceDispatcher,
        message: &OutgoingMessage,
        msg_id: &str,
        result: &SendResult,
        started_ms: i64,
    ) {
        if !result.trace_on {
            return;
        }
        let keys = message
            .keys
            .iter()
            .filter(|k| !k.is_empty())
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(keys::KEY_SEPARATOR);
        tracer.record(TraceRecord::Pub {
            timestamp_ms: started_ms,
            region_id: result.region_id.clone().unwrap_or_default(),
            group: self.config.group.clone(),
            topic: message.topic.clone(),
            msg_id: msg_id.to_owned(),
            tags: message.tags.clone().filter(|t| !t.is_empty()),
            keys: (!keys.is_empty()).then_some(keys),
            store_host: result.store_host.clone(),
            body_length: message.body.len(),
            cost_ms: now_ms() - started_ms,
            msg_type: if message.delay_level > 0 {
                trace::msg_type::DELAY
            } else {
                trace::msg_type::NORMAL
            },
            offset_msg_id: result.offset_msg_id.clone(),
            success: result.status == SendStatus::SendOk,
        });
    }

    /// Unregisters the group from the brokers and leaves the client instance (the last
    /// member out closes its connections). Idempotent.
    pub async fn shutdown(&self) {
        *self.lock_state() = State::Stopped;
        if let Some(tracer) = self.tracer.get() {
            // Its records go out (bounded wait) while this producer's sends settle. Boxed:
            // the dispatcher shuts its own producer down, with this very function.
            Box::pin(tracer.shutdown()).await;
        }
        let instance = self.lock_instance().take();
        if let Some(instance) = instance {
            instance.unregister_producer(&self.config.group).await;
            instance.release().await;
        }
    }

    /// The client id brokers know this producer by (`ip@instanceName[@unitName]`), once
    /// started.
    pub fn client_id(&self) -> Option<String> {
        self.lock_instance()
            .as_ref()
            .map(|instance| instance.client_id().to_owned())
    }

    /// Sends one message within `send_timeout`, route lookups and retries included.
    ///
    /// The budget starts once the message is prepared (validated, compressed): it bounds the
    /// waiting on peers, which can stall, not the local work, which is bounded by the size.
    pub async fn send(&self, message: OutgoingMessage) -> Result<SendResult> {
        self.send_to(message, SendTarget::Auto).await
    }

    /// Sends one message to `target`: as [`Producer::send`] for [`SendTarget::Auto`]; to the
    /// chosen queue, once, for [`SendTarget::Queue`] (Java's `send(msg, MessageQueue)`).
    pub async fn send_to(
        &self,
        message: OutgoingMessage,
        target: SendTarget,
    ) -> Result<SendResult> {
        // Before the state: a bad message is reported as such whether started or not.
        self.validate(&message)?;
        let message = self.in_namespace(message);
        let target = self.target_in_namespace(target);
        let selection = Selection::of(message.sharding_key.as_deref(), target)?;
        let instance = self.running_instance()?;
        let prepared = self.prepare(&message).await?;
        let started = Instant::now();
        let started_ms = self.tracer.get().map(|_| now_ms());
        let deadline = started + self.config.send_timeout;
        let result = self
            .send_prepared(&instance, prepared, selection, deadline)
            .await;
        self.counters.sent(1, result.is_ok(), started.elapsed());
        if let (Some(tracer), Some(started_ms), Ok(sent)) = (self.tracer.get(), started_ms, &result)
        {
            self.trace_sent(tracer, &message, &sent.msg_id, sent, started_ms);
        }
        result
            .map(|sent| self.shown(sent))
            .map_err(|err| namespace::shown_error(self.namespace(), err))
    }

    fn namespace(&self) -> Option<&str> {
        namespace::effective(self.config.namespace.as_deref())
    }

    /// `message` with its topic as the brokers know it.
    fn in_namespace(&self, mut message: OutgoingMessage) -> OutgoingMessage {
        if self.namespace().is_some() {
            message.topic = namespace::wrap(self.namespace(), &message.topic);
        }
        message
    }

    fn target_in_namespace(&self, target: SendTarget) -> SendTarget {
        match target {
            SendTarget::Queue(mut choice) if self.namespace().is_some() => {
                choice.topic = choice
                    .topic
                    .map(|topic| namespace::wrap(self.namespace(), &topic));
                SendTarget::Queue(choice)
            }
            other => other,
        }
    }

    /// A send result as the user sees it: the topic without the namespace.
    fn shown(&self, mut sent: SendResult) -> SendResult {
        if self.namespace().is_some() {
            sent.queue.topic = namespace::unwrap(self.namespace(), &sent.queue.topic);
        }
        sent
    }

    /// Sends, failures, retries and send latencies since the producer was created.
    pub fn metrics(&self) -> ProducerMetrics {
        self.counters.snapshot()
    }

    /// Sends messages of one topic as one batch (SEND_BATCH_MESSAGE), all to one queue.
    pub async fn send_batch(&self, messages: Vec<OutgoingMessage>) -> Result<SendResult> {
        self.send_batch_to(messages, SendTarget::Auto).await
    }

    /// Sends a batch to `target` (Java's `send(Collection<Message>, MessageQueue)` for a
    /// queue). A batch whose messages share a sharding key goes to that key's queue.
    pub async fn send_batch_to(
        &self,
        messages: Vec<OutgoingMessage>,
        target: SendTarget,
    ) -> Result<SendResult> {
        validate_batch(&messages, self.config.max_message_size)?;
        for message in &messages {
            self.validate_ordering(message)?;
        }
        let messages: Vec<OutgoingMessage> = messages
            .into_iter()
            .map(|message| self.in_namespace(message))
            .collect();
        let target = self.target_in_namespace(target);
        let key = batch_sharding_key(messages.iter().map(|m| m.sharding_key.as_deref()))?;
        let selection = Selection::of(key, target)?;
        let instance = self.running_instance()?;
        let topic = messages[0].topic.clone();
        let mut parts = Vec::with_capacity(messages.len());
        for message in &messages {
            // Batched bodies are never compressed, as in Java.
            let properties = self.properties_of(message, &self.ids().next_id());
            parts.push(Message {
                topic: topic.clone(),
                body: message.body.clone(),
                flag: message.flag,
                properties,
            });
        }
        let msg_id = parts
            .iter()
            .filter_map(|m| m.property(keys::UNIQ_KEY))
            .collect::<Vec<_>>()
            .join(",");
        let body = encode_batch(&parts)?.freeze();
        validate_body(body.len(), self.config.max_message_size)?;
        let prepared = Prepared {
            topic,
            body,
            properties: None,
            sys_flag: 0,
            flag: 0,
            batch: true,
            msg_id,
        };
        let started = Instant::now();
        let started_ms = self.tracer.get().map(|_| now_ms());
        let deadline = started + self.config.send_timeout;
        let result = self
            .send_prepared(&instance, prepared, selection, deadline)
            .await;
        self.counters
            .sent(messages.len() as u64, result.is_ok(), started.elapsed());
        if let (Some(tracer), Some(started_ms), Ok(sent)) = (self.tracer.get(), started_ms, &result)
        {
            // One record per message of the batch, under its own id.
            for (message, msg_id) in messages.iter().zip(sent.msg_id.split(',')) {
                self.trace_sent(tracer, message, msg_id, sent, started_ms);
            }
        }
        result
            .map(|sent| self.shown(sent))
            .map_err(|err| namespace::shown_error(self.namespace(), err))
    }

    /// The writable queues of `topic` in the order sends choose from (by broker name, then
    /// queue id), as Java hands them to a `MessageQueueSelector`: those of the topic's route,
    /// or of the auto-create template for a topic no broker has yet.
    pub async fn writable_queues(&self, topic: &str) -> Result<Arc<[MessageQueue]>> {
        crate::validation::validate_send_topic(topic)?;
        let instance = self.running_instance()?;
        let deadline = Instant::now() + self.config.send_timeout;
        let wrapped = namespace::wrap(self.namespace(), topic);
        let route = tokio::time::timeout_at(deadline, self.route(&instance, &wrapped))
            .await
            .map_err(|_| self.budget_spent(topic))?
            .map_err(|err| namespace::shown_error(self.namespace(), err))?;
        let queues = self.queues_of(&route, &wrapped);
        if self.namespace().is_none() {
            return Ok(queues);
        }
        Ok(queues
            .iter()
            .map(|q| MessageQueue::new(topic, q.broker_name.clone(), q.queue_id))
            .collect())
    }

    /// The instance, when the producer is running.
    fn running_instance(&self) -> Result<Arc<ClientInstance>> {
        match *self.lock_state() {
            State::Running => {}
            State::Created | State::Starting => {
                return Err(ClientError::State(
                    "producer is not started; call start() first".into(),
                ))
            }
            State::Stopped => return Err(ClientError::State("producer has been shut down".into())),
        }
        self.lock_instance()
            .clone()
            .ok_or_else(|| ClientError::State("producer has been shut down".into()))
    }

    fn ids(&self) -> &UniqIdGenerator {
        // Set by `start`; the loopback fallback only serves unit tests of message building.
        self.ids.get_or_init(|| {
            UniqIdGenerator::new(std::net::IpAddr::from([127, 0, 0, 1]), std::process::id())
        })
    }

    fn lock_instance(&self) -> std::sync::MutexGuard<'_, Option<Arc<ClientInstance>>> {
        self.instance.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Checks `message` against every rule, with this producer's `maxMessageSize`. `send`
    /// does it before anything else, whatever the producer's state.
    pub fn validate(&self, message: &OutgoingMessage) -> Result<()> {
        validate_message(message, self.config.max_message_size)?;
        self.validate_ordering(message)
    }

    /// The sharding key's rules, and that a `__SHARDINGKEY` property the caller set says the
    /// same (it is the key, on the wire).
    fn validate_ordering(&self, message: &OutgoingMessage) -> Result<()> {
        let Some(key) = message.sharding_key.as_deref() else {
            return Ok(());
        };
        validate_sharding_key(key)?;
        let property = message
            .properties
            .iter()
            .find(|(name, _)| name == keys::SHARDING_KEY);
        match property {
            Some((_, value)) if value != key => Err(ClientError::Validation(format!(
                "message shardingKey {} and its property {} {} differ; set the key only",
                crate::validation::shown(key),
                keys::SHARDING_KEY,
                crate::validation::shown(value)
            ))),
            _ => Ok(()),
        }
    }

    /// The properties `message`, already validated, travels with.
    fn properties_of(&self, message: &OutgoingMessage, uniq_id: &str) -> Properties {
        let mut properties = Properties::default();
        for (name, value) in &message.properties {
            properties.insert(name, value);
        }
        if let Some(tags) = message.tags.as_deref().filter(|t| !t.is_empty()) {
            properties.insert(keys::TAGS, tags);
        }
        let keys_joined = message
            .keys
            .iter()
            .filter(|k| !k.is_empty())
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(keys::KEY_SEPARATOR);
        if !keys_joined.is_empty() {
            properties.insert(keys::KEYS, keys_joined);
        }
        if message.delay_level > 0 {
            properties.insert(keys::DELAY, message.delay_level.to_string());
        }
        if let Some(at) = message.deliver_time_ms {
            properties.insert(keys::TIMER_DELIVER_MS, at.to_string());
        }
        if let Some(key) = &message.sharding_key {
            properties.insert(keys::SHARDING_KEY, key);
        }
        properties.insert(keys::UNIQ_KEY, uniq_id);
        properties.insert(keys::WAIT, "true");
        properties
    }

    async fn prepare(&self, message: &OutgoingMessage) -> Result<Prepared> {
        let msg_id = self.ids().next_id();
        let properties = self.properties_of(message, &msg_id);
        let mut sys_flag = 0;
        let body = match self.compress(&message.body).await? {
            Some(compressed) => {
                sys_flag |= sysflag::COMPRESSED | sysflag::COMPRESSION_ZLIB;
                compressed
            }
            None => message.body.clone(),
        };
        let properties = encode_properties(&properties);
        if properties.len() > i16::MAX as usize {
            return Err(ClientError::Validation(format!(
                "tags, keys and properties take {} bytes encoded; the limit is {}",
                properties.len(),
                i16::MAX
            )));
        }
        Ok(Prepared {
            topic: message.topic.clone(),
            body,
            properties: Some(properties),
            sys_flag,
            flag: message.flag,
            batch: false,
            msg_id,
        })
    }

    /// The compressed body, when `body` is at least `compress_over` bytes (Java's rule)
    /// and zlib makes it smaller. Java would send a bigger compressed body too; sending the
    /// plain one then costs the broker and consumers nothing and saves bytes.
    async fn compress(&self, body: &Bytes) -> Result<Option<Bytes>> {
        if body.len() < self.config.compress_over {
            return Ok(None);
        }
        let level = self.config.compress_level;
        let compressed = if body.len() >= COMPRESS_OFF_WORKER_FROM {
            let body = body.clone();
            tokio::task::spawn_blocking(move || compress_zlib(&body, level))
                .await
                .map_err(|err| ClientError::State(format!("compression task failed: {err}")))??
        } else {
            compress_zlib(body, level)?
        };
        Ok((compressed.len() < body.len()).then(|| Bytes::from(compressed)))
    }

    /// The error of a send whose budget ran out.
    fn budget_spent(&self, topic: &str) -> ClientError {
        ClientError::Timeout {
            what: format!("sending to topic {topic}"),
            timeout_ms: self.config.send_timeout.as_millis() as u64,
            addr: None,
        }
    }

    async fn send_prepared(
        &self,
        instance: &ClientInstance,
        prepared: Prepared,
        selection: Selection,
        deadline: Instant,
    ) -> Result<SendResult> {
        // A NameServer that stalls must not outlive the budget: the lookup itself goes on
        // in the route cache for whoever asks next, but this send gives up on time.
        let mut route = tokio::time::timeout_at(deadline, self.route(instance, &prepared.topic))
            .await
            .map_err(|_| self.budget_spent(&prepared.topic))??;
        if let Some(queue) = self.ordered_queue(&route, &prepared.topic, &selection)? {
            return self
                .send_ordered(instance, &route, &prepared, &queue, deadline)
                .await;
        }
        let attempts = self.config.retry_times + 1;
        let mut last_broker: Option<String> = None;
        let mut last_error: Option<ClientError> = None;
        // The broker of the last failed attempt: a refusal names it as the error's address.
        let mut last_addr: Option<String> = None;
        for attempt in 1..=attempts {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                break;
            }
            let queue = self.select_queue(&route, &prepared.topic, last_broker.as_deref())?;
            match self
                .send_to_queue(instance, &route, &queue, &prepared, remaining)
                .await
            {
                Ok(result) => return Ok(result),
                Err(err) if retriable(&err) && attempt < attempts => {
                    self.counters.retried();
                    warn!(
                        "send to {} failed (attempt {attempt}/{attempts}), trying another broker: {err}",
                        queue.broker_name
                    );
                    last_addr = route.master_addr(&queue.broker_name).map(str::to_owned);
                    last_broker = Some(queue.broker_name.clone());
                    last_error = Some(err);
                    // The route may be stale (broker gone, queues changed).
                    let refresh = instance.routes().refresh(&prepared.topic);
                    if let Ok(Ok(fresh)) = tokio::time::timeout_at(deadline, refresh).await {
                        route = fresh;
                    }
                }
                Err(err) => {
                    let addr = route.master_addr(&queue.broker_name).map(str::to_owned);
                    return Err(into_send_error(err, attempt, addr));
                }
            }
        }
        Err(match last_error {
            Some(err) => into_send_error(err, attempts, last_addr),
            None => self.budget_spent(&prepared.topic),
        })
    }

    /// An ordered send: one attempt, on the queue of the key or the caller's choice. Java's
    /// `send(msg, selector, arg)` and `send(msg, mq)` do not retry either: another queue
    /// would break the order, and a retry on the same queue after a timeout could store the
    /// message after its successors when several are in flight.
    async fn send_ordered(
        &self,
        instance: &ClientInstance,
        route: &TopicRouteData,
        prepared: &Prepared,
        queue: &MessageQueue,
        deadline: Instant,
    ) -> Result<SendResult> {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(self.budget_spent(&prepared.topic));
        }
        self.send_to_queue(instance, route, queue, prepared, remaining)
            .await
            .map_err(|err| {
                let addr = route.master_addr(&queue.broker_name).map(str::to_owned);
                into_send_error(err, 1, addr)
            })
    }

    /// The one queue of an ordered send, or `None` for a round-robin one.
    fn ordered_queue(
        &self,
        route: &Arc<TopicRouteData>,
        topic: &str,
        selection: &Selection,
    ) -> Result<Option<MessageQueue>> {
        let queue = match selection {
            Selection::RoundRobin => return Ok(None),
            Selection::Key(key) => queue_for_key(&self.queues_of(route, topic), key)
                .cloned()
                .ok_or_else(|| {
                    ClientError::BrokerNotAvailable(format!(
                        "topic {topic} has no writable queue on any master broker"
                    ))
                })?,
            Selection::Queue(choice) => {
                chosen_queue(&self.queues_of(route, topic), topic, choice)?.clone()
            }
        };
        Ok(Some(queue))
    }

    /// The topic's route or, for a topic no broker has yet, the route of the broker's
    /// auto-create template topic: as in Java, the first send then creates the topic on a
    /// broker with `autoCreateTopicEnable=true`. Brokers without it have no template
    /// route, and the caller gets the topic's own TopicNotFound error. `topic` was
    /// validated along with its message before this is called.
    async fn route(&self, instance: &ClientInstance, topic: &str) -> Result<Arc<TopicRouteData>> {
        let routes = instance.routes();
        match routes.get(topic).await {
            Err(not_found @ ClientError::TopicNotFound { .. }) => {
                match routes.get(AUTO_CREATE_TOPIC_KEY).await {
                    Ok(template) => {
                        debug!("topic {topic} has no route yet; sending through {AUTO_CREATE_TOPIC_KEY}");
                        Ok(Arc::new(auto_create_route(&template)))
                    }
                    Err(_) => Err(not_found),
                }
            }
            other => other,
        }
    }

    /// Round-robin over all writable queues, skipping the broker that just failed.
    fn select_queue(
        &self,
        route: &Arc<TopicRouteData>,
        topic: &str,
        avoid_broker: Option<&str>,
    ) -> Result<MessageQueue> {
        let queues = self.queues_of(route, topic);
        if queues.is_empty() {
            return Err(ClientError::BrokerNotAvailable(format!(
                "topic {topic} has no writable queue on any master broker"
            )));
        }
        let start = self.next_queue.fetch_add(1, Ordering::Relaxed);
        if let Some(avoid) = avoid_broker {
            for step in 0..queues.len() {
                let queue = &queues[(start + step) % queues.len()];
                if queue.broker_name != avoid {
                    return Ok(queue.clone());
                }
            }
        }
        Ok(queues[start % queues.len()].clone())
    }

    /// The writable queues of `route`, computed once per route of a topic.
    fn queues_of(&self, route: &Arc<TopicRouteData>, topic: &str) -> Arc<[MessageQueue]> {
        let mut cache = self
            .publish_queues
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(cached) = cache.get(topic).filter(|c| Arc::ptr_eq(&c.route, route)) {
            return Arc::clone(&cached.queues);
        }
        let queues: Arc<[MessageQueue]> = route.producer_queues(topic).into();
        cache.insert(
            topic.to_owned(),
            PublishQueues {
                route: Arc::clone(route),
                queues: Arc::clone(&queues),
            },
        );
        queues
    }

    async fn send_to_queue(
        &self,
        instance: &ClientInstance,
        route: &TopicRouteData,
        queue: &MessageQueue,
        prepared: &Prepared,
        timeout: Duration,
    ) -> Result<SendResult> {
        let addr = route.master_addr(&queue.broker_name).ok_or_else(|| {
            ClientError::BrokerNotAvailable(format!("broker {} has no master", queue.broker_name))
        })?;
        let header = SendMessageRequestHeader {
            producer_group: self.config.group.clone(),
            topic: prepared.topic.clone(),
            default_topic: AUTO_CREATE_TOPIC_KEY.into(),
            default_topic_queue_nums: DEFAULT_TOPIC_QUEUE_NUMS,
            queue_id: queue.queue_id,
            sys_flag: prepared.sys_flag,
            born_timestamp: now_ms(),
            flag: prepared.flag,
            properties: prepared.properties.clone(),
            reconsume_times: Some(0),
            unit_mode: Some(false),
            batch: Some(prepared.batch),
            max_reconsume_times: None,
            broker_name: Some(queue.broker_name.clone()),
        };
        let code = if prepared.batch {
            request::SEND_BATCH_MESSAGE
        } else {
            request::SEND_MESSAGE_V2
        };
        let mut command = RemotingCommand::request(
            code,
            SendMessageRequestHeaderV2::from(header).to_ext_fields(),
        )
        .with_body(prepared.body.clone());
        // Sends are the hot path: RocketMQ's binary header layout (read by 4.x and 5.x
        // brokers alike) costs less to write than fastjson text. Brokers answer in their own
        // configured type (JSON by default), which the codec reads either way.
        command.serialize_type = SerializeType::RocketMq;
        let answer = instance.remoting().request(addr, command, timeout).await?;
        let status = SendStatus::from_response_code(answer.code).ok_or_else(|| {
            ClientError::BrokerResponse {
                message: format!(
                    "broker {} rejected the message: {}",
                    queue.broker_name,
                    answer.remark.clone().unwrap_or_default()
                ),
                code: answer.code,
            }
        })?;
        let header = SendMessageResponseHeader::from_ext_fields(&answer.ext_fields)?;
        debug!(
            "sent {} to {}:{} at offset {}",
            prepared.msg_id, queue.broker_name, header.queue_id, header.queue_offset
        );
        Ok(SendResult {
            status,
            msg_id: prepared.msg_id.clone(),
            offset_msg_id: header.msg_id,
            queue: MessageQueue::new(&prepared.topic, queue.broker_name.clone(), header.queue_id),
            queue_offset: header.queue_offset,
            store_host: addr.to_owned(),
            region_id: answer.ext_fields.get(keys::MSG_REGION).cloned(),
            trace_on: answer.ext_fields.get(keys::TRACE_ON).map(String::as_str) != Some("false"),
        })
    }
}

impl Drop for Producer {
    /// A producer dropped while running (a JavaScript object collected without
    /// `shutdown()`) still leaves its instance, so that the instance can close once unused.
    fn drop(&mut self) {
        let instance = self.lock_instance().take();
        if let (Some(instance), Some(runtime)) = (instance, self.runtime.get()) {
            let group = self.config.group.clone();
            runtime.spawn(async move {
                instance.unregister_producer(&group).await;
                instance.release().await;
            });
        }
    }
}

/// How a send picks its queue.
enum Selection {
    /// Round-robin, retried on another broker after a failure.
    RoundRobin,
    /// The sharding key's queue.
    Key(String),
    /// The caller's queue.
    Queue(QueueChoice),
}

impl Selection {
    /// The selection of a message (or batch) with `key` sent to `target`. A key and a
    /// chosen queue together are refused: the key already decides the queue.
    fn of(key: Option<&str>, target: SendTarget) -> Result<Self> {
        match (key, target) {
            (None, SendTarget::Auto) => Ok(Selection::RoundRobin),
            (Some(key), SendTarget::Auto) => Ok(Selection::Key(key.to_owned())),
            (None, SendTarget::Queue(choice)) => Ok(Selection::Queue(choice)),
            (Some(key), SendTarget::Queue(choice)) => Err(ClientError::Validation(format!(
                "message has shardingKey {}, which decides its queue, and queue {}:{} was chosen too; give one of them",
                crate::validation::shown(key),
                choice.broker_name,
                choice.queue_id
            ))),
        }
    }
}

/// The template topic a broker with `autoCreateTopicEnable` creates new topics from.
const AUTO_CREATE_TOPIC_KEY: &str = "TBW102";

/// Queues per broker of an auto-created topic (Java's `defaultTopicQueueNums`).
const DEFAULT_TOPIC_QUEUE_NUMS: i32 = 4;

/// The template route with its queue counts cut to what an auto-created topic will get.
fn auto_create_route(template: &TopicRouteData) -> TopicRouteData {
    let mut route = template.clone();
    for queue_data in &mut route.queue_datas {
        let queues = queue_data.read_queue_nums.min(DEFAULT_TOPIC_QUEUE_NUMS);
        queue_data.read_queue_nums = queues;
        queue_data.write_queue_nums = queues;
    }
    route
}

/// Java retries these response codes on another broker; everything else is final.
pub(crate) fn retriable(err: &ClientError) -> bool {
    match err {
        ClientError::Timeout { .. } | ClientError::Network { .. } => true,
        ClientError::BrokerNotAvailable(_) => true,
        ClientError::BrokerResponse { code, .. } => matches!(
            *code,
            response::TOPIC_NOT_EXIST
                | response::SERVICE_NOT_AVAILABLE
                | response::SYSTEM_ERROR
                | response::SYSTEM_BUSY
                | response::NO_PERMISSION
        ),
        _ => false,
    }
}

/// Broker rejections become SendFailed; transport errors keep their kind so callers
/// can tell a dead network from a refused message.
fn into_send_error(err: ClientError, attempts: u32, addr: Option<String>) -> ClientError {
    match err {
        ClientError::BrokerResponse { message, code } => ClientError::SendFailed {
            message: format!("send failed after {attempts} attempt(s): {message}"),
            code: Some(code),
            addr,
        },
        other => other,
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn producer() -> Producer {
        Producer::new(ProducerConfig {
            namesrv_addr: "127.0.0.1:9876".into(),
            group: "unit_producer".into(),
            ..ProducerConfig::default()
        })
        .unwrap()
    }

    #[test]
    fn config_is_validated() {
        let bad = |c: ProducerConfig| Producer::new(c).err().map(|e| e.code());
        let base = ProducerConfig {
            namesrv_addr: "127.0.0.1:9876".into(),
            group: "unit_producer".into(),
            ..ProducerConfig::default()
        };
        // Java's default group, which Java's producer refuses to start with too.
        assert_eq!(
            bad(ProducerConfig {
                group: DEFAULT_PRODUCER_GROUP.into(),
                ..base.clone()
            }),
            Some("ERR_CONFIG")
        );
        assert_eq!(
            bad(ProducerConfig {
                send_timeout: Duration::ZERO,
                ..base.clone()
            }),
            Some("ERR_CONFIG")
        );
        // Java's int bounds the size; the old 1 GiB cap is gone.
        assert_eq!(
            bad(ProducerConfig {
                max_message_size: i32::MAX as usize,
                ..base.clone()
            }),
            None
        );
        assert_eq!(
            bad(ProducerConfig {
                max_message_size: i32::MAX as usize + 1,
                ..base.clone()
            }),
            Some("ERR_CONFIG")
        );
        assert_eq!(
            bad(ProducerConfig {
                namesrv_addr: "".into(),
                ..base.clone()
            }),
            Some("ERR_CONFIG")
        );
        assert_eq!(
            bad(ProducerConfig {
                group: "a b".into(),
                ..base.clone()
            }),
            Some("ERR_CONFIG")
        );
        assert_eq!(
            bad(ProducerConfig {
                max_message_size: 0,
                ..base.clone()
            }),
            Some("ERR_CONFIG")
        );
        assert_eq!(bad(base), None);
    }

    #[tokio::test]
    async fn a_bad_message_is_reported_as_such_before_start() {
        let p = producer();
        let empty = OutgoingMessage {
            topic: "T".into(),
            ..Default::default()
        };
        assert_eq!(
            p.send(empty.clone()).await.unwrap_err().code(),
            "ERR_VALIDATION"
        );
        assert_eq!(
            p.send_batch(vec![empty]).await.unwrap_err().code(),
            "ERR_VALIDATION"
        );
        let fine = OutgoingMessage {
            topic: "T".into(),
            body: Bytes::from_static(b"x"),
            ..Default::default()
        };
        assert_eq!(p.send(fine).await.unwrap_err().code(), "ERR_STATE");
    }

    #[test]
    fn properties_carry_tags_keys_delay_and_ids() {
        let p = producer();
        let msg = OutgoingMessage {
            topic: "T".into(),
            body: Bytes::from_static(b"x"),
            tags: Some("TagA".into()),
            keys: vec!["k1".into(), "k2".into()],
            properties: vec![("color".into(), "red".into())],
            delay_level: 3,
            flag: 0,
            sharding_key: Some("order-7".into()),
            deliver_time_ms: None,
        };
        let props = p.properties_of(&msg, "ID");
        assert_eq!(&props["TAGS"], "TagA");
        assert_eq!(&props["KEYS"], "k1 k2");
        assert_eq!(&props["DELAY"], "3");
        assert_eq!(&props["UNIQ_KEY"], "ID");
        assert_eq!(&props["WAIT"], "true");
        assert_eq!(&props["color"], "red");
        assert_eq!(&props["__SHARDINGKEY"], "order-7");
        assert!(!props.contains_key("TIMER_DELIVER_MS"));
        let timed = OutgoingMessage {
            delay_level: 0,
            deliver_time_ms: Some(1_700_000_000_000),
            ..msg
        };
        assert_eq!(
            &p.properties_of(&timed, "ID")["TIMER_DELIVER_MS"],
            "1700000000000"
        );
    }

    #[tokio::test]
    async fn bodies_of_the_threshold_or_more_are_compressed() {
        let p = producer();
        let below = OutgoingMessage {
            topic: "T".into(),
            body: Bytes::from(vec![b'a'; 4095]),
            ..Default::default()
        };
        assert_eq!(p.prepare(&below).await.unwrap().sys_flag, 0);
        for size in [4096, COMPRESS_OFF_WORKER_FROM + 1] {
            let at_least = OutgoingMessage {
                body: Bytes::from(vec![b'a'; size]),
                ..below.clone()
            };
            let prepared = p.prepare(&at_least).await.unwrap();
            assert_eq!(
                prepared.sys_flag,
                sysflag::COMPRESSED | sysflag::COMPRESSION_ZLIB,
                "{size} bytes"
            );
            assert!(prepared.body.len() < size);
        }
    }

    #[tokio::test]
    async fn bodies_zlib_cannot_shrink_go_plain() {
        let p = producer();
        // A xorshift stream: no redundancy for zlib to find.
        let mut x: u32 = 0x9E37_79B9;
        let noise: Vec<u8> = (0..8192)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        let message = OutgoingMessage {
            topic: "T".into(),
            body: Bytes::from(noise.clone()),
            ..Default::default()
        };
        let prepared = p.prepare(&message).await.unwrap();
        assert_eq!(prepared.sys_flag, 0);
        assert_eq!(prepared.body, noise);
    }

    #[test]
    fn queue_lists_follow_route_changes() {
        let route = |queues: i32| {
            Arc::new(
                TopicRouteData::decode(
                    format!(
                        r#"{{"queueDatas":[{{"brokerName":"a","readQueueNums":{queues},"writeQueueNums":{queues},"perm":6}}],
                            "brokerDatas":[{{"cluster":"c","brokerName":"a","brokerAddrs":{{"0":"127.0.0.1:1"}}}}]}}"#
                    )
                    .as_bytes(),
                )
                .unwrap(),
            )
        };
        let p = producer();
        let (two, three) = (route(2), route(3));
        assert_eq!(p.queues_of(&two, "T").len(), 2);
        assert!(Arc::ptr_eq(
            &p.queues_of(&two, "T"),
            &p.queues_of(&two, "T")
        ));
        assert_eq!(p.queues_of(&three, "T").len(), 3);
    }

    #[test]
    fn a_sharding_key_picks_the_queue_and_excludes_a_chosen_one() {
        let route = Arc::new(TopicRouteData::decode(
            br#"{"queueDatas":[{"brokerName":"b","readQueueNums":2,"writeQueueNums":2,"perm":6},{"brokerName":"a","readQueueNums":2,"writeQueueNums":2,"perm":6}],
                "brokerDatas":[{"cluster":"c","brokerName":"a","brokerAddrs":{"0":"127.0.0.1:1"}},{"cluster":"c","brokerName":"b","brokerAddrs":{"0":"127.0.0.1:2"}}]}"#,
        )
        .unwrap());
        let p = producer();
        let picked = |key: &str| {
            let selection = Selection::of(Some(key), SendTarget::Auto).unwrap();
            let q = p.ordered_queue(&route, "T", &selection).unwrap().unwrap();
            format!("{}{}", q.broker_name, q.queue_id)
        };
        // Java hashes: "a" 97 % 4 = 1; "order-1" -1207111310 % 4 = -2, abs 2.
        for _ in 0..3 {
            assert_eq!(picked("a"), "a1");
            assert_eq!(picked("order-1"), "b0");
        }
        let round_robin = Selection::of(None, SendTarget::Auto).unwrap();
        assert!(p
            .ordered_queue(&route, "T", &round_robin)
            .unwrap()
            .is_none());
        let choice = QueueChoice {
            topic: None,
            broker_name: "b".into(),
            queue_id: 1,
        };
        assert!(Selection::of(Some("k"), SendTarget::Queue(choice.clone())).is_err());
        let chosen = Selection::of(None, SendTarget::Queue(choice)).unwrap();
        let q = p.ordered_queue(&route, "T", &chosen).unwrap().unwrap();
        assert_eq!((q.broker_name.as_str(), q.queue_id), ("b", 1));
    }

    #[test]
    fn a_sharding_key_property_must_agree_with_the_key() {
        let p = producer();
        let message = |property: &str| OutgoingMessage {
            topic: "T".into(),
            body: Bytes::from_static(b"x"),
            properties: vec![("__SHARDINGKEY".into(), property.into())],
            sharding_key: Some("k".into()),
            ..Default::default()
        };
        assert!(p.validate(&message("k")).is_ok());
        assert_eq!(
            p.validate(&message("j")).unwrap_err().code(),
            "ERR_VALIDATION"
        );
    }

    #[test]
    fn sending_needs_a_started_producer() {
        let p = producer();
        assert_eq!(p.running_instance().unwrap_err().code(), "ERR_STATE");
    }

    #[test]
    fn queue_selection_rotates_and_avoids_the_failed_broker() {
        let route = Arc::new(TopicRouteData::decode(
            br#"{"queueDatas":[{"brokerName":"b","readQueueNums":2,"writeQueueNums":2,"perm":6},{"brokerName":"a","readQueueNums":2,"writeQueueNums":2,"perm":6}],
                "brokerDatas":[{"cluster":"c","brokerName":"a","brokerAddrs":{"0":"127.0.0.1:1"}},{"cluster":"c","brokerName":"b","brokerAddrs":{"0":"127.0.0.1:2"}}]}"#,
        )
        .unwrap());
        let p = producer();
        let picked: Vec<String> = (0..4)
            .map(|_| {
                let q = p.select_queue(&route, "T", None).unwrap();
                format!("{}{}", q.broker_name, q.queue_id)
            })
            .collect();
        assert_eq!(picked, ["a0", "a1", "b0", "b1"]);
        for _ in 0..4 {
            assert_eq!(
                p.select_queue(&route, "T", Some("a")).unwrap().broker_name,
                "b"
            );
        }
    }
}
