//! A simple consumer over the POP commands of 5.x brokers: `receive` pops messages (they stay
//! hidden from the group's other consumers for the invisible duration), `ack` consumes one,
//! `change_invisible_duration` hides one again. The brokers keep the group's progress and
//! redeliver what is not acknowledged in time, so this client keeps no queues, offsets or
//! rebalancing of its own; it joins the shared client instance for connections and routes.
//! (Java: `MQClientAPIImpl.popMessageAsync` / `processPopResponse` / `ackMessageAsync` /
//! `changeInvisibleTimeAsync`; the gRPC proxy does the same for rocketmq-client-nodejs.)
//!
//! Which broker: a POP names one broker and queue id -1 (every readable queue there). A
//! receive first asks each broker of the topic in turn without waiting, starting one further
//! each call, and returns the first non-empty answer; when none has anything it long-polls
//! the first of them for the await duration. So messages on any broker are found at once,
//! and an idle receive costs one held request.
//!
//! 4.x brokers do not know POP: they answer REQUEST_CODE_NOT_SUPPORTED (3), which becomes a
//! [`ClientError::BrokerResponse`] with that code and a message saying 5.x is needed.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rocketmq_remoting::body::heartbeat::{EXPRESSION_TYPE_SQL92, EXPRESSION_TYPE_TAG};
use rocketmq_remoting::body::TopicRouteData;
use rocketmq_remoting::codes::{request, response};
use rocketmq_remoting::header::{
    AckMessageRequestHeader, ChangeInvisibleTimeRequestHeader, ChangeInvisibleTimeResponseHeader,
    DecodeHeader, EncodeHeader, PopMessageRequestHeader, PopMessageResponseHeader,
};
use rocketmq_remoting::message::{decode_messages_skipping, DecodeOptions, MessageExt};
use rocketmq_remoting::pop_extra_info::{
    parse_offset_info, retry_mark, ExtraInfo, FIRST_POP_TIME, POP_CK,
};
use rocketmq_remoting::RemotingCommand;

use crate::error::{ClientError, Result};
use crate::instance::{ClientInstance, InstanceConfig};
use crate::validation::{validate_group, validate_topic};

/// The most messages one POP may ask for (the broker refuses more).
pub const MAX_MESSAGES_PER_RECEIVE: i32 = 32;

/// Shortest and longest invisible duration accepted, ms (the gRPC proxy's bounds are 10 s and
/// 12 h; the broker has none, so this client takes from 1 s, which tests of redelivery need).
pub const INVISIBLE_MS_RANGE: std::ops::RangeInclusive<i64> = 1_000..=43_200_000;

/// Where a group with no progress on a queue starts (Java's `ConsumeInitMode.MAX`, the gRPC
/// proxy's choice): from the newest messages. A queue whose first message is still in the
/// broker's memory starts at its beginning (`initPopOffsetByCheckMsgInMem`).
const INIT_MODE_MAX: i32 = 1;

/// Settings of a [`SimpleConsumer`].
#[derive(Debug, Clone)]
pub struct SimpleConsumerConfig {
    /// NameServers, `host:port;host:port`.
    pub namesrv_addr: String,
    /// Java's `instanceName` (see [`InstanceConfig::instance_name`]).
    pub instance_name: Option<String>,
    pub unit_name: Option<String>,
    pub consumer_group: String,
    /// How long a receive may wait for messages when none are there.
    pub await_duration: Duration,
    /// Budget of one request besides the wait.
    pub request_timeout: Duration,
    /// ACL credentials every request is signed with; none for an open cluster.
    pub credentials: Option<crate::acl::Credentials>,
    /// TLS for every connection (`tls` setting); `None` for plain TCP.
    pub tls: Option<crate::tls::TlsConfig>,
}

/// Which messages of a topic: a tag expression or a SQL92 expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PopFilter {
    /// `TAG` or `SQL92`.
    pub expression_type: String,
    pub expression: String,
}

impl PopFilter {
    /// Checks the type.
    pub fn new(expression_type: &str, expression: &str) -> Result<Self> {
        if expression_type != EXPRESSION_TYPE_TAG && expression_type != EXPRESSION_TYPE_SQL92 {
            return Err(ClientError::Validation(format!(
                "filter expression type {expression_type:?} is not TAG or SQL92"
            )));
        }
        let expression = if expression.trim().is_empty() {
            "*"
        } else {
            expression
        };
        Ok(PopFilter {
            expression_type: expression_type.to_owned(),
            expression: expression.to_owned(),
        })
    }
}

/// A popped message and the handle that acknowledges it.
#[derive(Debug, Clone)]
pub struct PoppedMessage {
    /// The message; `topic` is the subscribed topic (a redelivery too), `broker_name` set.
    pub message: MessageExt,
    /// The receipt handle (`POP_CK`).
    pub receipt_handle: String,
    /// When the message becomes visible again unless acknowledged, ms since the epoch.
    pub invisible_until: i64,
}

/// The POP client of one consumer group.
pub struct SimpleConsumer {
    config: SimpleConsumerConfig,
    instance: Mutex<Option<Arc<ClientInstance>>>,
    next_broker: AtomicUsize,
    decode_options: DecodeOptions,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// The engine's error for a POP command the broker refused.
fn refused(what: &str, broker: &str, answer: &RemotingCommand) -> ClientError {
    let reason = answer.remark.as_deref().unwrap_or("no reason given");
    let message = if answer.code == response::REQUEST_CODE_NOT_SUPPORTED {
        format!(
            "{what} is not supported by broker {broker}: the simple consumer needs RocketMQ 5.x brokers (POP); this one answered: {reason}"
        )
    } else {
        format!("{what} refused by broker {broker}: {reason}")
    };
    ClientError::BrokerResponse {
        message,
        code: answer.code,
    }
}

impl SimpleConsumer {
    /// Validates the settings; joins the client instance at [`start`](Self::start).
    pub fn new(config: SimpleConsumerConfig) -> Result<Self> {
        validate_group("consumerGroup", &config.consumer_group)?;
        InstanceConfig::new(&config.namesrv_addr)?;
        Ok(SimpleConsumer {
            config,
            instance: Mutex::new(None),
            next_broker: AtomicUsize::new(0),
            decode_options: DecodeOptions::default(),
        })
    }

    /// The consumer group.
    pub fn group(&self) -> &str {
        &self.config.consumer_group
    }

    /// Joins the client instance and loads the routes of `topics`, failing with
    /// [`ClientError::TopicNotFound`] for a topic no NameServer knows.
    pub async fn start(&self, topics: &[String]) -> Result<()> {
        for topic in topics {
            validate_topic(topic)?;
        }
        let instance_config = InstanceConfig::new(&self.config.namesrv_addr)?
            .with_names(
                self.config.instance_name.as_deref(),
                self.config.unit_name.as_deref(),
            )
            .with_credentials(self.config.credentials.clone())
            .with_tls(self.config.tls.clone());
        let instance = ClientInstance::acquire(instance_config).await?;
        for topic in topics {
            if let Err(err) = instance.routes().get(topic).await {
                instance.release().await;
                return Err(err);
            }
        }
        if let Some(previous) = self.lock_instance().replace(instance) {
            // Started twice: keep one membership.
            tokio::spawn(async move { previous.release().await });
        }
        Ok(())
    }

    /// Leaves the client instance. Messages received and not acknowledged come back to the
    /// group when their invisible duration ends.
    pub async fn shutdown(&self) {
        let instance = self.lock_instance().take();
        if let Some(instance) = instance {
            instance.release().await;
        }
    }

    fn lock_instance(&self) -> std::sync::MutexGuard<'_, Option<Arc<ClientInstance>>> {
        self.instance.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn instance(&self) -> Result<Arc<ClientInstance>> {
        self.lock_instance()
            .clone()
            .ok_or_else(|| ClientError::State("simple consumer is not started".into()))
    }

    /// Pops up to `max` messages (1..=32) of `topic`, hidden from the group for `invisible`.
    /// Empty when nothing arrived within the await duration.
    pub async fn receive(
        &self,
        topic: &str,
        filter: &PopFilter,
        max: i32,
        invisible: Duration,
    ) -> Result<Vec<PoppedMessage>> {
        if !(1..=MAX_MESSAGES_PER_RECEIVE).contains(&max) {
            return Err(ClientError::Validation(format!(
                "maxMessageNum {max} is out of range 1..={MAX_MESSAGES_PER_RECEIVE}"
            )));
        }
        let invisible_ms = millis(invisible);
        if !INVISIBLE_MS_RANGE.contains(&invisible_ms) {
            return Err(ClientError::Validation(format!(
                "invisibleDuration {invisible_ms} ms is out of range {}..={} ms",
                INVISIBLE_MS_RANGE.start(),
                INVISIBLE_MS_RANGE.end()
            )));
        }
        let instance = self.instance()?;
        let route = instance.routes().get(topic).await?;
        let brokers = readable_brokers(&route);
        if brokers.is_empty() {
            return Err(ClientError::BrokerNotAvailable(format!(
                "topic {topic} has no readable queue on a broker with a master address"
            )));
        }
        let start = self.next_broker.fetch_add(1, Ordering::Relaxed) % brokers.len();
        let rotated: Vec<&(String, String)> =
            brokers[start..].iter().chain(&brokers[..start]).collect();
        for (broker, addr) in &rotated {
            let found = self
                .pop(
                    &instance,
                    broker,
                    addr,
                    topic,
                    filter,
                    max,
                    invisible_ms,
                    Duration::ZERO,
                )
                .await?;
            if !found.is_empty() {
                return Ok(found);
            }
        }
        let (broker, addr) = rotated[0];
        self.pop(
            &instance,
            broker,
            addr,
            topic,
            filter,
            max,
            invisible_ms,
            self.config.await_duration,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn pop(
        &self,
        instance: &ClientInstance,
        broker: &str,
        addr: &str,
        topic: &str,
        filter: &PopFilter,
        max: i32,
        invisible_ms: i64,
        poll: Duration,
    ) -> Result<Vec<PoppedMessage>> {
        let header = PopMessageRequestHeader {
            consumer_group: self.config.consumer_group.clone(),
            topic: topic.to_owned(),
            queue_id: -1,
            max_msg_nums: max,
            invisible_time: invisible_ms,
            poll_time: millis(poll),
            born_time: now_ms(),
            init_mode: INIT_MODE_MAX,
            exp_type: Some(filter.expression_type.clone()),
            exp: Some(filter.expression.clone()),
            order: Some(false),
            attempt_id: None,
            broker_name: Some(broker.to_owned()),
        };
        let command = RemotingCommand::request(request::POP_MESSAGE, header.to_ext_fields());
        let answer = instance
            .remoting()
            .request(addr, command, self.config.request_timeout + poll)
            .await?;
        match answer.code {
            response::SUCCESS => {}
            response::POLLING_FULL | response::POLLING_TIMEOUT | response::PULL_NOT_FOUND => {
                return Ok(Vec::new())
            }
            _ => {
                return Err(refused(
                    &format!("POP_MESSAGE of topic {topic}"),
                    broker,
                    &answer,
                ))
            }
        }
        let header = PopMessageResponseHeader::from_ext_fields(&answer.ext_fields)?;
        let batch = decode_messages_skipping(&answer.body, &self.decode_options);
        for skipped in &batch.skipped {
            log::warn!(
                "POP of {topic} from {broker}: skipped {} bytes of a malformed record: {}",
                skipped.skipped_bytes,
                skipped.error
            );
        }
        popped_messages(batch.messages, topic, broker, &header)
    }

    /// Acknowledges a popped message of `topic` by its receipt handle: the group will not
    /// see it again.
    pub async fn ack(&self, topic: &str, receipt_handle: &str) -> Result<()> {
        let info = ExtraInfo::parse(receipt_handle)?;
        let instance = self.instance()?;
        let addr = master_addr(&instance, topic, &info.broker_name).await?;
        let header = AckMessageRequestHeader {
            consumer_group: self.config.consumer_group.clone(),
            topic: info.real_topic(topic, &self.config.consumer_group),
            queue_id: info.queue_id,
            extra_info: receipt_handle.to_owned(),
            offset: info.queue_offset,
            broker_name: Some(info.broker_name.clone()),
        };
        let command = RemotingCommand::request(request::ACK_MESSAGE, header.to_ext_fields());
        let answer = instance
            .remoting()
            .request(&addr, command, self.config.request_timeout)
            .await?;
        if answer.code != response::SUCCESS {
            return Err(refused(
                &format!("ACK_MESSAGE of topic {topic}"),
                &info.broker_name,
                &answer,
            ));
        }
        Ok(())
    }

    /// Hides a popped message again for `invisible` from now. Returns its new receipt
    /// handle; the old one no longer acknowledges it.
    pub async fn change_invisible_duration(
        &self,
        topic: &str,
        receipt_handle: &str,
        invisible: Duration,
    ) -> Result<PoppedHandle> {
        let invisible_ms = millis(invisible);
        if !INVISIBLE_MS_RANGE.contains(&invisible_ms) {
            return Err(ClientError::Validation(format!(
                "invisibleDuration {invisible_ms} ms is out of range {}..={} ms",
                INVISIBLE_MS_RANGE.start(),
                INVISIBLE_MS_RANGE.end()
            )));
        }
        let info = ExtraInfo::parse(receipt_handle)?;
        let instance = self.instance()?;
        let addr = master_addr(&instance, topic, &info.broker_name).await?;
        let real_topic = info.real_topic(topic, &self.config.consumer_group);
        let header = ChangeInvisibleTimeRequestHeader {
            consumer_group: self.config.consumer_group.clone(),
            topic: real_topic.clone(),
            queue_id: info.queue_id,
            extra_info: receipt_handle.to_owned(),
            offset: info.queue_offset,
            invisible_time: invisible_ms,
            broker_name: Some(info.broker_name.clone()),
        };
        let command = RemotingCommand::request(
            request::CHANGE_MESSAGE_INVISIBLETIME,
            header.to_ext_fields(),
        );
        let answer = instance
            .remoting()
            .request(&addr, command, self.config.request_timeout)
            .await?;
        if answer.code != response::SUCCESS {
            return Err(refused(
                &format!("CHANGE_MESSAGE_INVISIBLETIME of topic {topic}"),
                &info.broker_name,
                &answer,
            ));
        }
        let changed = ChangeInvisibleTimeResponseHeader::from_ext_fields(&answer.ext_fields)?;
        // The new checkpoint holds this message alone: it starts at the message's offset.
        let renewed = ExtraInfo {
            ck_queue_offset: info.queue_offset,
            pop_time: changed.pop_time,
            invisible_time: changed.invisible_time,
            revive_qid: changed.revive_qid,
            retry: retry_mark(&real_topic).to_owned(),
            broker_name: info.broker_name,
            queue_id: info.queue_id,
            queue_offset: info.queue_offset,
        };
        Ok(PoppedHandle {
            invisible_until: renewed.visible_again_at(),
            receipt_handle: renewed.to_string(),
        })
    }
}

/// A receipt handle and when its message becomes visible again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoppedHandle {
    pub receipt_handle: String,
    pub invisible_until: i64,
}

/// `(broker name, master address)` of every broker with readable queues of the topic, in
/// name order.
fn readable_brokers(route: &TopicRouteData) -> Vec<(String, String)> {
    let mut brokers: Vec<(String, String)> = route
        .queue_datas
        .iter()
        .filter(|q| q.is_readable() && q.read_queue_nums > 0)
        .filter_map(|q| {
            route
                .master_addr(&q.broker_name)
                .map(|addr| (q.broker_name.clone(), addr.to_owned()))
        })
        .collect();
    brokers.sort();
    brokers.dedup();
    brokers
}

/// The master address of `broker` in the route of `topic`, refreshing the route once when
/// it does not list one.
async fn master_addr(instance: &ClientInstance, topic: &str, broker: &str) -> Result<String> {
    if let Some(addr) = instance.routes().get(topic).await?.master_addr(broker) {
        return Ok(addr.to_owned());
    }
    instance
        .routes()
        .refresh(topic)
        .await?
        .master_addr(broker)
        .map(str::to_owned)
        .ok_or_else(|| {
            ClientError::BrokerNotAvailable(format!(
                "broker {broker} of topic {topic} has no master address"
            ))
        })
}

/// The popped messages of a SUCCESS answer with their receipt handles (Java's
/// `processPopResponse`): a message the broker gave a `POP_CK` (a redelivery from the retry
/// topic) keeps it; the others get one built from the checkpoint's start offset for their
/// queue. Every message is shown under the subscribed topic.
fn popped_messages(
    messages: Vec<MessageExt>,
    topic: &str,
    broker: &str,
    header: &PopMessageResponseHeader,
) -> Result<Vec<PoppedMessage>> {
    let pop_time = header.pop_time.unwrap_or_else(now_ms);
    let invisible_time = header.invisible_time.unwrap_or(0);
    let revive_qid = header.revive_qid.unwrap_or(0);
    let start_offsets = parse_offset_info(header.start_offset_info.as_deref().unwrap_or(""))?;
    let mut popped = Vec::with_capacity(messages.len());
    for mut message in messages {
        let handle = match message.properties.get(POP_CK) {
            Some(handle) => ExtraInfo::parse(handle)?,
            None => {
                let mark = retry_mark(&message.topic);
                let key = format!("{mark}@{}", message.queue_id);
                let ck_queue_offset = start_offsets
                    .get(&key)
                    .and_then(|offsets| offsets.first().copied())
                    .unwrap_or(message.queue_offset);
                ExtraInfo {
                    ck_queue_offset,
                    pop_time,
                    invisible_time,
                    revive_qid,
                    retry: mark.to_owned(),
                    broker_name: broker.to_owned(),
                    queue_id: message.queue_id,
                    queue_offset: message.queue_offset,
                }
            }
        };
        let receipt_handle = handle.to_string();
        message.properties.insert(POP_CK, &receipt_handle);
        if !message.properties.contains_key(FIRST_POP_TIME) {
            message
                .properties
                .insert(FIRST_POP_TIME, pop_time.to_string());
        }
        message.topic = topic.to_owned();
        message.broker_name = broker.to_owned();
        popped.push(PoppedMessage {
            message,
            invisible_until: handle.visible_again_at(),
            receipt_handle,
        });
    }
    Ok(popped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_take_tag_or_sql92_and_a_blank_tag_means_everything() {
        assert_eq!(PopFilter::new("TAG", " ").unwrap().expression, "*");
        assert_eq!(
            PopFilter::new("SQL92", "a > 1").unwrap().expression,
            "a > 1"
        );
        assert!(PopFilter::new("REGEX", "x").is_err());
    }

    #[test]
    fn a_consumer_needs_a_group_and_namesrv() {
        let config = SimpleConsumerConfig {
            namesrv_addr: "127.0.0.1:9876".into(),
            instance_name: None,
            unit_name: None,
            consumer_group: "g".into(),
            await_duration: Duration::from_secs(1),
            request_timeout: Duration::from_secs(3),
            credentials: None,
            tls: None,
        };
        assert!(SimpleConsumer::new(config.clone()).is_ok());
        assert!(SimpleConsumer::new(SimpleConsumerConfig {
            consumer_group: String::new(),
            ..config.clone()
        })
        .is_err());
        assert!(SimpleConsumer::new(SimpleConsumerConfig {
            namesrv_addr: String::new(),
            ..config
        })
        .is_err());
    }

    fn stored(topic: &str, queue_id: i32, queue_offset: i64) -> MessageExt {
        MessageExt {
            topic: topic.into(),
            flag: 0,
            properties: Default::default(),
            body: bytes::Bytes::new(),
            store_size: 0,
            body_crc: 0,
            queue_id,
            queue_offset,
            commit_log_offset: 0,
            sys_flag: 0,
            born_timestamp: 0,
            born_host: "127.0.0.1:1".parse().unwrap(),
            store_timestamp: 0,
            store_host: "127.0.0.1:2".parse().unwrap(),
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            offset_msg_id: String::new(),
            broker_name: String::new(),
        }
    }

    #[test]
    fn handles_come_from_the_checkpoint_or_from_the_brokers_pop_ck() {
        let header = PopMessageResponseHeader {
            pop_time: Some(1000),
            invisible_time: Some(15000),
            revive_qid: Some(2),
            start_offset_info: Some("0 3 10".into()),
            ..Default::default()
        };
        let mut retried = stored("orders", 0, 4);
        retried
            .properties
            .insert(POP_CK, "4 900 15000 1 1 broker-b 0 4");
        let popped = popped_messages(
            vec![stored("orders", 3, 11), retried],
            "orders",
            "broker-b",
            &header,
        )
        .unwrap();
        assert_eq!(popped[0].receipt_handle, "10 1000 15000 2 0 broker-b 3 11");
        assert_eq!(popped[0].invisible_until, 16000);
        assert_eq!(popped[1].receipt_handle, "4 900 15000 1 1 broker-b 0 4");
        assert_eq!(popped[1].message.property(FIRST_POP_TIME), Some("1000"));
        assert_eq!(popped[1].message.broker_name, "broker-b");
    }
}
