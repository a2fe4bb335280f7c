//! The producer: validates messages, picks queues round-robin across brokers, sends with
//! SEND_MESSAGE_V2 and retries on another broker when one fails.

use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use log::{debug, warn};
use rocketmq_remoting::body::{MessageQueue, TopicRouteData};
use rocketmq_remoting::codes::{request, response};
use rocketmq_remoting::header::{
    DecodeHeader, EncodeHeader, SendMessageRequestHeader, SendMessageRequestHeaderV2,
    SendMessageResponseHeader,
};
use rocketmq_remoting::message::properties::keys;
use rocketmq_remoting::message::{
    compress_zlib, encode_batch, encode_properties, sysflag, Message, Properties, UniqIdGenerator,
};
use rocketmq_remoting::RemotingCommand;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::client_ip::local_ip_toward;
use crate::error::{ClientError, Result};
use crate::namesrv::{parse_namesrv_addrs, NameServerClient};
use crate::remoting_client::{ConnectionConfig, RemotingClient};
use crate::route_cache::{RouteCache, DEFAULT_ROUTE_REFRESH};
use crate::validation::{
    validate_body, validate_delay_level, validate_group, validate_property, validate_send_topic,
    validate_tag_or_key,
};

/// Producer settings; defaults are the Java producer's.
#[derive(Debug, Clone)]
pub struct ProducerConfig {
    /// `host:port;host:port`.
    pub namesrv_addr: String,
    /// Producer group name.
    pub group: String,
    /// Budget for one `send`, all retries included.
    pub send_timeout: Duration,
    /// Extra attempts after a failed one, each on another broker where possible.
    pub retry_times: u32,
    /// Bodies larger than this many bytes are zlib-compressed.
    pub compress_over: usize,
    /// zlib level, as Java's `rocketmq.message.compressLevel`.
    pub compress_level: u32,
    /// Largest body accepted, before compression.
    pub max_message_size: usize,
    /// How often cached routes are refreshed.
    pub route_refresh: Duration,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            namesrv_addr: String::new(),
            group: "DEFAULT_PRODUCER".into(),
            send_timeout: Duration::from_secs(3),
            retry_times: 2,
            compress_over: 4096,
            compress_level: 5,
            max_message_size: 4 * 1024 * 1024,
            route_refresh: DEFAULT_ROUTE_REFRESH,
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
    /// The user flag stored with the message.
    pub flag: i32,
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

    fn from_response_code(code: i32) -> Option<Self> {
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
    Running,
    Stopped,
}

/// Sends messages. Cheap to share behind an `Arc`.
pub struct Producer {
    config: ProducerConfig,
    remoting: RemotingClient,
    routes: Arc<RouteCache>,
    ids: UniqIdGenerator,
    next_queue: AtomicUsize,
    state: Mutex<State>,
    stop: watch::Sender<bool>,
    refresher: Mutex<Option<JoinHandle<()>>>,
}

impl Producer {
    /// Validates `config`; no connection is made before [`Producer::start`].
    pub fn new(config: ProducerConfig) -> Result<Self> {
        let addrs = parse_namesrv_addrs(&config.namesrv_addr)?;
        validate_group("producerGroup", &config.group)?;
        if config.send_timeout.is_zero() {
            return Err(ClientError::Config(
                "sendMsgTimeout must be positive".into(),
            ));
        }
        if config.max_message_size == 0 || config.max_message_size > 1024 * 1024 * 1024 {
            return Err(ClientError::Config(format!(
                "maxMessageSize must be 1..=1073741824, got {}",
                config.max_message_size
            )));
        }
        let remoting = RemotingClient::new(ConnectionConfig::default());
        let namesrv = Arc::new(NameServerClient::new(
            remoting.clone(),
            addrs.clone(),
            config.send_timeout,
        ));
        let ip = local_ip_toward(&addrs[0]).unwrap_or(IpAddr::from([127, 0, 0, 1]));
        let (stop, _) = watch::channel(false);
        Ok(Producer {
            ids: UniqIdGenerator::new(ip, std::process::id()),
            routes: Arc::new(RouteCache::new(namesrv)),
            remoting,
            config,
            next_queue: AtomicUsize::new(0),
            state: Mutex::new(State::Created),
            stop,
            refresher: Mutex::new(None),
        })
    }

    /// Starts the background route refresh. Sending is possible afterwards.
    pub fn start(&self) -> Result<()> {
        let mut state = self.lock_state();
        match *state {
            State::Created => {}
            State::Running => return Err(ClientError::State("producer is already started".into())),
            State::Stopped => {
                return Err(ClientError::State(
                    "producer was shut down; create a new one".into(),
                ))
            }
        }
        *state = State::Running;
        let task = self
            .routes
            .spawn_refresh(self.config.route_refresh, self.stop.subscribe());
        *self.refresher.lock().unwrap_or_else(|p| p.into_inner()) = Some(task);
        Ok(())
    }

    /// Stops the refresh task and closes connections. Idempotent.
    pub async fn shutdown(&self) {
        *self.lock_state() = State::Stopped;
        let _ = self.stop.send(true);
        let task = self
            .refresher
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(task) = task {
            let _ = task.await;
        }
        self.remoting.close_all();
    }

    /// Sends one message.
    pub async fn send(&self, message: OutgoingMessage) -> Result<SendResult> {
        self.ensure_running()?;
        let prepared = self.prepare(&message)?;
        self.send_prepared(prepared).await
    }

    /// Sends messages of one topic as one batch (SEND_BATCH_MESSAGE), all to one queue.
    pub async fn send_batch(&self, messages: Vec<OutgoingMessage>) -> Result<SendResult> {
        self.ensure_running()?;
        let first = messages
            .first()
            .ok_or_else(|| ClientError::Validation("a batch needs at least one message".into()))?;
        let topic = first.topic.clone();
        let mut parts = Vec::with_capacity(messages.len());
        for message in &messages {
            if message.topic != topic {
                return Err(ClientError::Validation(format!(
                    "all messages of a batch must share one topic ({topic} and {})",
                    message.topic
                )));
            }
            if message.delay_level > 0 {
                return Err(ClientError::Validation(
                    "delayed messages cannot be sent in a batch".into(),
                ));
            }
            // Batched bodies are never compressed, as in Java.
            let properties = self.properties_of(message, &self.ids.next_id())?;
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
        self.send_prepared(Prepared {
            topic,
            body,
            properties: None,
            sys_flag: 0,
            flag: 0,
            batch: true,
            msg_id,
        })
        .await
    }

    fn ensure_running(&self) -> Result<()> {
        match *self.lock_state() {
            State::Running => Ok(()),
            State::Created => Err(ClientError::State(
                "producer is not started; call start() first".into(),
            )),
            State::Stopped => Err(ClientError::State("producer has been shut down".into())),
        }
    }

    fn lock_state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Validates `message` and builds the properties it travels with.
    fn properties_of(&self, message: &OutgoingMessage, uniq_id: &str) -> Result<Properties> {
        validate_send_topic(&message.topic)?;
        validate_body(message.body.len(), self.config.max_message_size)?;
        validate_delay_level(message.delay_level)?;
        let mut properties = Properties::new();
        for (name, value) in &message.properties {
            validate_property(name, value)?;
            properties.insert(name.clone(), value.clone());
        }
        if let Some(tags) = message.tags.as_deref().filter(|t| !t.is_empty()) {
            validate_tag_or_key("tag", tags)?;
            properties.insert(keys::TAGS.into(), tags.to_owned());
        }
        let keys_joined = message
            .keys
            .iter()
            .filter(|k| !k.is_empty())
            .map(|k| validate_tag_or_key("key", k).map(|()| k.as_str()))
            .collect::<Result<Vec<_>>>()?
            .join(keys::KEY_SEPARATOR);
        if !keys_joined.is_empty() {
            properties.insert(keys::KEYS.into(), keys_joined);
        }
        if message.delay_level > 0 {
            properties.insert(keys::DELAY.into(), message.delay_level.to_string());
        }
        properties.insert(keys::UNIQ_KEY.into(), uniq_id.to_owned());
        properties.insert(keys::WAIT.into(), "true".into());
        Ok(properties)
    }

    fn prepare(&self, message: &OutgoingMessage) -> Result<Prepared> {
        let msg_id = self.ids.next_id();
        let properties = self.properties_of(message, &msg_id)?;
        let mut sys_flag = 0;
        let body = if message.body.len() > self.config.compress_over {
            let compressed = compress_zlib(&message.body, self.config.compress_level)?;
            if compressed.len() < message.body.len() {
                sys_flag |= sysflag::COMPRESSED | sysflag::COMPRESSION_ZLIB;
                Bytes::from(compressed)
            } else {
                message.body.clone()
            }
        } else {
            message.body.clone()
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

    async fn send_prepared(&self, prepared: Prepared) -> Result<SendResult> {
        let deadline = Instant::now() + self.config.send_timeout;
        let mut route = self.route(&prepared.topic).await?;
        let attempts = self.config.retry_times + 1;
        let mut last_broker: Option<String> = None;
        let mut last_error: Option<ClientError> = None;
        for attempt in 1..=attempts {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                break;
            }
            let queue = self.select_queue(&route, &prepared.topic, last_broker.as_deref())?;
            match self
                .send_to_queue(&route, &queue, &prepared, remaining)
                .await
            {
                Ok(result) => return Ok(result),
                Err(err) if retriable(&err) && attempt < attempts => {
                    warn!(
                        "send to {} failed (attempt {attempt}/{attempts}), trying another broker: {err}",
                        queue.broker_name
                    );
                    last_broker = Some(queue.broker_name.clone());
                    last_error = Some(err);
                    // The route may be stale (broker gone, queues changed).
                    if let Ok(fresh) = self.routes.refresh(&prepared.topic).await {
                        route = fresh;
                    }
                }
                Err(err) => return Err(into_send_error(err, attempt)),
            }
        }
        Err(match last_error {
            Some(err) => into_send_error(err, attempts),
            None => ClientError::Timeout {
                what: format!("sending to topic {}", prepared.topic),
                timeout_ms: self.config.send_timeout.as_millis() as u64,
            },
        })
    }

    /// The topic's route or, for a topic no broker has yet, the route of the broker's
    /// auto-create template topic: as in Java, the first send then creates the topic on a
    /// broker with `autoCreateTopicEnable=true`. Brokers without it have no template
    /// route, and the caller gets the topic's own TopicNotFound error. `topic` was
    /// validated along with its message before this is called.
    async fn route(&self, topic: &str) -> Result<Arc<TopicRouteData>> {
        match self.routes.get(topic).await {
            Err(not_found @ ClientError::TopicNotFound { .. }) => {
                match self.routes.get(AUTO_CREATE_TOPIC_KEY).await {
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
        route: &TopicRouteData,
        topic: &str,
        avoid_broker: Option<&str>,
    ) -> Result<MessageQueue> {
        let queues = route.producer_queues(topic);
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

    async fn send_to_queue(
        &self,
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
        let command = RemotingCommand::request(
            code,
            SendMessageRequestHeaderV2::from(header).to_ext_fields(),
        )
        .with_body(prepared.body.clone());
        let answer = self.remoting.request(addr, command, timeout).await?;
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
        })
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
fn retriable(err: &ClientError) -> bool {
    match err {
        ClientError::Timeout { .. } | ClientError::Network(_) => true,
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
fn into_send_error(err: ClientError, attempts: u32) -> ClientError {
    match err {
        ClientError::BrokerResponse { message, code } => ClientError::SendFailed {
            message: format!("send failed after {attempts} attempt(s): {message}"),
            code: Some(code),
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
            ..ProducerConfig::default()
        })
        .unwrap()
    }

    #[test]
    fn config_is_validated() {
        let bad = |c: ProducerConfig| Producer::new(c).err().map(|e| e.code());
        let base = ProducerConfig {
            namesrv_addr: "127.0.0.1:9876".into(),
            ..ProducerConfig::default()
        };
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
        };
        let props = p.properties_of(&msg, "ID").unwrap();
        assert_eq!(props["TAGS"], "TagA");
        assert_eq!(props["KEYS"], "k1 k2");
        assert_eq!(props["DELAY"], "3");
        assert_eq!(props["UNIQ_KEY"], "ID");
        assert_eq!(props["WAIT"], "true");
        assert_eq!(props["color"], "red");
    }

    #[test]
    fn large_bodies_are_compressed_small_ones_not() {
        let p = producer();
        let small = OutgoingMessage {
            topic: "T".into(),
            body: Bytes::from(vec![b'a'; 4096]),
            ..Default::default()
        };
        assert_eq!(p.prepare(&small).unwrap().sys_flag, 0);
        let large = OutgoingMessage {
            body: Bytes::from(vec![b'a'; 4097]),
            ..small
        };
        let prepared = p.prepare(&large).unwrap();
        assert_eq!(
            prepared.sys_flag,
            sysflag::COMPRESSED | sysflag::COMPRESSION_ZLIB
        );
        assert!(prepared.body.len() < 4097);
    }

    #[test]
    fn sending_needs_a_started_producer() {
        let p = producer();
        assert_eq!(p.ensure_running().unwrap_err().code(), "ERR_STATE");
    }

    #[test]
    fn queue_selection_rotates_and_avoids_the_failed_broker() {
        let route = TopicRouteData::decode(
            br#"{"queueDatas":[{"brokerName":"b","readQueueNums":2,"writeQueueNums":2,"perm":6},{"brokerName":"a","readQueueNums":2,"writeQueueNums":2,"perm":6}],
                "brokerDatas":[{"cluster":"c","brokerName":"a","brokerAddrs":{"0":"127.0.0.1:1"}},{"cluster":"c","brokerName":"b","brokerAddrs":{"0":"127.0.0.1:2"}}]}"#,
        )
        .unwrap();
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
