//! Giving a failed message back to the broker for a later retry (Java's
//! `DefaultMQPushConsumerImpl.sendMessageBack` and `MQClientAPIImpl.consumerSendMessageBack`),
//! and showing a retried message to the listener as it was first sent
//! (`ConsumeMessageConcurrentlyService.resetRetryAndNamespace`).
//!
//! The way back, in order:
//! 1. CONSUMER_SEND_MSG_BACK to the master of the broker group the message was pulled from
//!    (the store host when no route names it). The broker reads the message at its
//!    commit-log offset and writes a copy to `%RETRY%<group>` with the delay level, or to
//!    `%DLQ%<group>` once `reconsumeTimes >= maxReconsumeTimes` (protocol.md §2.7).
//! 2. If that fails in any way, a new message for `%RETRY%<group>` built as Java builds it
//!    (same body, flag and properties; RETRY_TOPIC, ORIGIN_MESSAGE_ID; delay 3 +
//!    reconsumeTimes) is sent with SEND_MESSAGE_V2, reconsume counts in the header, where the
//!    broker applies the same DLQ rule. It goes to the same broker group: the broker creates
//!    a group's retry topic on demand, while a route for it may not exist yet. (Java sends it
//!    through its inner producer, which may pick any broker carrying the retry topic.)
//!    Like Java's inner producer, the copy's body is zlib-compressed from
//!    [`SendBackOptions::compress_over`] bytes on (when that makes it smaller), and a
//!    failed attempt that may succeed again is retried [`SendBackOptions::retry_times`]
//!    times, all within the one budget [`SendBackOptions::timeout`].
//! 3. If both fail, the error is returned: the caller keeps the message and consumes it
//!    again locally (Java's `submitConsumeRequestLater`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tokio::time::Instant;

use log::warn;
use rocketmq_remoting::body::MessageQueue;
use rocketmq_remoting::codes::{request, response};
use rocketmq_remoting::header::{
    ConsumerSendMsgBackRequestHeader, EncodeHeader, SendMessageRequestHeader,
    SendMessageRequestHeaderV2,
};
use rocketmq_remoting::message::properties::keys;
use rocketmq_remoting::message::{compress_zlib, encode_properties, sysflag, MessageExt};
use rocketmq_remoting::RemotingCommand;

use super::offset_store::BrokerAddrLookup;
use super::rebalance::{retry_topic, RETRY_TOPIC_PREFIX};
use crate::error::{ClientError, Result};
use crate::instance::ClientInstance;
use crate::remoting_client::RemotingClient;

/// Java's default `maxReconsumeTimes` for concurrent consumption.
pub const DEFAULT_MAX_RECONSUME_TIMES: i32 = 16;

/// Java's budget for CONSUMER_SEND_MSG_BACK and for the fallback send.
pub const SEND_BACK_TIMEOUT: Duration = Duration::from_secs(5);

/// Java's inner producer compresses bodies from this many bytes on
/// (`compressMsgBodyOverHowmuch`).
pub const DEFAULT_COMPRESS_OVER: usize = 4096;

/// Java's inner producer retries a failed send this many times.
pub const DEFAULT_SEND_BACK_RETRY_TIMES: u32 = 2;

/// zlib level of the retry copy, Java's default `rocketmq.message.compressLevel`.
const COMPRESS_LEVEL: u32 = 5;

/// How a failed message goes back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendBackOptions {
    /// Deliveries before the broker moves the message to `%DLQ%<group>`.
    pub max_reconsume_times: i32,
    /// Budget of CONSUMER_SEND_MSG_BACK, and of the fallback send with its retries.
    pub timeout: Duration,
    /// Extra attempts of the fallback send after one that failed in a way that may pass.
    pub retry_times: u32,
    /// The fallback copy's body is zlib-compressed from this many bytes on; `None`: never.
    pub compress_over: Option<usize>,
}

impl SendBackOptions {
    /// Java's: 5 s, two retries, compression from 4 KiB on.
    pub fn new(max_reconsume_times: i32) -> Self {
        SendBackOptions {
            max_reconsume_times,
            timeout: SEND_BACK_TIMEOUT,
            retry_times: DEFAULT_SEND_BACK_RETRY_TIMES,
            compress_over: Some(DEFAULT_COMPRESS_OVER),
        }
    }
}

/// Prefix of a group's dead-letter topic (Java `MixAll.DLQ_GROUP_TOPIC_PREFIX`).
pub const DLQ_TOPIC_PREFIX: &str = "%DLQ%";

/// The producer group Java's inner producer sends the fallback with.
pub const INNER_PRODUCER_GROUP: &str = "CLIENT_INNER_PRODUCER";

/// The delay level Java gives the fallback copy is this plus the reconsume count.
const FALLBACK_BASE_DELAY_LEVEL: i32 = 3;

/// The dead-letter topic of `group`, `%DLQ%<group>`, where the broker moves a message
/// retried `maxReconsumeTimes` times.
pub fn dlq_topic(group: &str) -> String {
    format!("{DLQ_TOPIC_PREFIX}{group}")
}

/// Which way a message went back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendBackPath {
    /// The broker took it with CONSUMER_SEND_MSG_BACK.
    Broker,
    /// CONSUMER_SEND_MSG_BACK failed; a copy was sent to `%RETRY%<group>`.
    RetryTopic,
}

/// Sends `msg` back for group `group` through the shared client instance: see the module
/// doc for the two ways and what a failure of both means.
///
/// `delay_level`: 0 lets the broker choose (3 + reconsumeTimes), below 0 sends the message
/// straight to the DLQ, above 0 is that level.
pub async fn send_back(
    instance: &ClientInstance,
    group: &str,
    msg: &MessageExt,
    delay_level: i32,
    max_reconsume_times: i32,
) -> Result<SendBackPath> {
    let options = SendBackOptions::new(max_reconsume_times);
    send_back_with(instance, group, msg, delay_level, &options).await
}

/// [`send_back`] with every option given.
pub async fn send_back_with(
    instance: &ClientInstance,
    group: &str,
    msg: &MessageExt,
    delay_level: i32,
    options: &SendBackOptions,
) -> Result<SendBackPath> {
    send_back_via_with(
        instance.remoting(),
        instance,
        group,
        msg,
        delay_level,
        options,
    )
    .await
}

/// [`send_back`] with its parts given: the connections, how broker names map to
/// addresses, and the budget of each of the two requests; the fallback is neither
/// compressed nor retried.
pub async fn send_back_via(
    remoting: &RemotingClient,
    brokers: &dyn BrokerAddrLookup,
    group: &str,
    msg: &MessageExt,
    delay_level: i32,
    max_reconsume_times: i32,
    timeout: Duration,
) -> Result<SendBackPath> {
    let options = SendBackOptions {
        max_reconsume_times,
        timeout,
        retry_times: 0,
        compress_over: None,
    };
    send_back_via_with(remoting, brokers, group, msg, delay_level, &options).await
}

/// [`send_back_via`] with every option given.
pub async fn send_back_via_with(
    remoting: &RemotingClient,
    brokers: &dyn BrokerAddrLookup,
    group: &str,
    msg: &MessageExt,
    delay_level: i32,
    options: &SendBackOptions,
) -> Result<SendBackPath> {
    let (max_reconsume_times, timeout) = (options.max_reconsume_times, options.timeout);
    let addr = broker_addr(brokers, &msg.topic, msg).await;
    let first = consumer_send_msg_back(
        remoting,
        &addr,
        group,
        msg,
        delay_level,
        max_reconsume_times,
        timeout,
    )
    .await;
    let first_error = match first {
        Ok(()) => return Ok(SendBackPath::Broker),
        Err(err) => err,
    };
    warn!(
        "sending message {} back to {addr} for group {group} failed, re-sending it to its retry topic: {first_error}",
        msg.msg_id()
    );
    let retry = retry_topic(group);
    let retry_addr = broker_addr(brokers, &retry, msg).await;
    resend_to_retry_topic(remoting, &retry_addr, group, msg, options)
        .await
        .map(|()| SendBackPath::RetryTopic)
        .map_err(|err| {
            warn!(
                "re-sending message {} to {retry} failed as well: {err}",
                msg.msg_id()
            );
            err
        })
}

/// What resetRetryAndNamespace does before a listener sees a message: one pulled from
/// `%RETRY%<group>` gets back the topic it was first sent to (its RETRY_TOPIC property).
pub fn restore_retry_message(msg: &mut MessageExt, group: &str) {
    if msg.topic != retry_topic(group) {
        return;
    }
    if let Some(original) = msg.property(keys::RETRY_TOPIC) {
        msg.topic = original.to_owned();
    }
}

/// The topic the message was first sent to, whether or not [`restore_retry_message`] ran.
fn original_topic(msg: &MessageExt) -> &str {
    if msg.topic.starts_with(RETRY_TOPIC_PREFIX) {
        msg.property(keys::RETRY_TOPIC).unwrap_or(&msg.topic)
    } else {
        &msg.topic
    }
}

/// The master of the message's broker group, else the host that stored it (Java 5.x:
/// `findBrokerAddressInPublish(brokerName)`, or the store host without a broker name).
async fn broker_addr(brokers: &dyn BrokerAddrLookup, topic: &str, msg: &MessageExt) -> String {
    if !msg.broker_name.is_empty() {
        let queue = MessageQueue::new(topic, msg.broker_name.clone(), msg.queue_id);
        if let Some(addr) = brokers.broker_addr(&queue).await {
            return addr;
        }
    }
    msg.store_host.to_string()
}

async fn consumer_send_msg_back(
    remoting: &RemotingClient,
    addr: &str,
    group: &str,
    msg: &MessageExt,
    delay_level: i32,
    max_reconsume_times: i32,
    timeout: Duration,
) -> Result<()> {
    let header = ConsumerSendMsgBackRequestHeader {
        offset: msg.commit_log_offset,
        group: group.to_owned(),
        delay_level,
        origin_msg_id: Some(msg.msg_id().to_owned()),
        origin_topic: Some(original_topic(msg).to_owned()),
        unit_mode: Some(false),
        max_reconsume_times: Some(max_reconsume_times),
        broker_name: (!msg.broker_name.is_empty()).then(|| msg.broker_name.clone()),
    };
    let command = RemotingCommand::request(request::CONSUMER_SEND_MSG_BACK, header.to_ext_fields());
    let answer = remoting.request(addr, command, timeout).await?;
    if answer.code == response::SUCCESS {
        Ok(())
    } else {
        Err(ClientError::BrokerResponse {
            message: format!(
                "broker {addr} refused to take message {} back: {}",
                msg.msg_id(),
                answer.remark.unwrap_or_default()
            ),
            code: answer.code,
        })
    }
}

/// The copy Java's fallback sends: properties as they are, plus where it came from and how
/// often it was consumed. Returns the SEND_MESSAGE_V2 header, whose reconsume counts the
/// broker reads (Java's producer moves them from the properties to the header for a retry
/// topic).
pub fn retry_copy_header(
    group: &str,
    msg: &MessageExt,
    max_reconsume_times: i32,
    queue_id: i32,
) -> SendMessageRequestHeader {
    let mut properties = msg.properties.clone();
    // Java sets ORIGIN_MESSAGE_ID before copying the properties over the new message, which
    // drops it unless the message already had one; the intent (and the broker's own copies)
    // is that every retry names its origin, so it is set here in all cases.
    let origin = msg
        .property(keys::ORIGIN_MESSAGE_ID)
        .unwrap_or(msg.msg_id())
        .to_owned();
    properties.insert(keys::ORIGIN_MESSAGE_ID, origin);
    properties.insert(keys::RETRY_TOPIC, original_topic(msg));
    properties.remove(keys::TRAN_MSG);
    properties.insert(
        keys::DELAY,
        (FALLBACK_BASE_DELAY_LEVEL + msg.reconsume_times).to_string(),
    );
    // Carried in the header instead, as Java's producer does for retry topics.
    properties.remove(keys::RECONSUME_TIME);
    properties.remove(keys::MAX_RECONSUME_TIMES);
    let born_timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    SendMessageRequestHeader {
        producer_group: INNER_PRODUCER_GROUP.into(),
        topic: retry_topic(group),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id,
        // The body as pulled is already decompressed; the sender sets the bits of the body
        // it sends (see `retry_copy_body`).
        sys_flag: 0,
        born_timestamp,
        flag: msg.flag,
        properties: Some(encode_properties(&properties)),
        reconsume_times: Some(msg.reconsume_times + 1),
        unit_mode: Some(false),
        batch: Some(false),
        max_reconsume_times: Some(max_reconsume_times),
        broker_name: (!msg.broker_name.is_empty()).then(|| msg.broker_name.clone()),
    }
}

/// The retry copy's body and the sysFlag bits that say how it is encoded: compressed with
/// zlib when at least `compress_over` bytes and smaller so (the producer's rule).
pub fn retry_copy_body(body: &Bytes, compress_over: Option<usize>) -> Result<(Bytes, i32)> {
    match compress_over {
        Some(over) if body.len() >= over => {
            let compressed = compress_zlib(body, COMPRESS_LEVEL)?;
            if compressed.len() < body.len() {
                return Ok((
                    Bytes::from(compressed),
                    sysflag::COMPRESSED | sysflag::COMPRESSION_ZLIB,
                ));
            }
            Ok((body.clone(), 0))
        }
        _ => Ok((body.clone(), 0)),
    }
}

/// The fallback send, retried while its budget lasts and the failure may pass (the
/// producer's rule for retrying).
async fn resend_to_retry_topic(
    remoting: &RemotingClient,
    addr: &str,
    group: &str,
    msg: &MessageExt,
    options: &SendBackOptions,
) -> Result<()> {
    let deadline = Instant::now() + options.timeout;
    let (body, sys_flag) = {
        let (body, over) = (msg.body.clone(), options.compress_over);
        // Off the runtime's workers: zlib takes about a millisecond per 100 KiB.
        tokio::task::spawn_blocking(move || retry_copy_body(&body, over))
            .await
            .map_err(|err| ClientError::State(format!("compression task failed: {err}")))??
    };
    let attempts = options.retry_times.saturating_add(1);
    let mut attempt = 1;
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let outcome = if remaining.is_zero() {
            Err(ClientError::Timeout {
                what: format!("sending the retry copy of message {}", msg.msg_id()),
                timeout_ms: u64::try_from(options.timeout.as_millis()).unwrap_or(u64::MAX),
                addr: Some(addr.to_owned()),
            })
        } else {
            send_retry_copy(
                remoting, addr, group, msg, options, &body, sys_flag, remaining,
            )
            .await
        };
        match outcome {
            Err(err)
                if attempt < attempts
                    && crate::producer::retriable(&err)
                    && Instant::now() < deadline =>
            {
                warn!(
                    "retry copy of message {} to {addr} failed (attempt {attempt}/{attempts}), trying again: {err}",
                    msg.msg_id()
                );
                attempt += 1;
            }
            other => return other,
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn send_retry_copy(
    remoting: &RemotingClient,
    addr: &str,
    group: &str,
    msg: &MessageExt,
    options: &SendBackOptions,
    body: &Bytes,
    sys_flag: i32,
    timeout: Duration,
) -> Result<()> {
    // A group's retry topic has one queue unless configured otherwise.
    let mut header = retry_copy_header(group, msg, options.max_reconsume_times, 0);
    header.sys_flag = sys_flag;
    let command = RemotingCommand::request(
        request::SEND_MESSAGE_V2,
        SendMessageRequestHeaderV2::from(header).to_ext_fields(),
    )
    .with_body(body.clone());
    let answer = remoting.request(addr, command, timeout).await?;
    // SLAVE_NOT_AVAILABLE and the flush timeouts still mean the master stored it.
    if crate::producer::SendStatus::from_response_code(answer.code).is_some() {
        Ok(())
    } else {
        Err(ClientError::BrokerResponse {
            message: format!(
                "broker {addr} refused the retry copy of message {}: {}",
                msg.msg_id(),
                answer.remark.unwrap_or_default()
            ),
            code: answer.code,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use bytes::Bytes;

    use super::*;

    fn pulled(topic: &str, properties: &[(&str, &str)]) -> MessageExt {
        let addr: SocketAddr = "127.0.0.1:10911".parse().unwrap();
        MessageExt {
            topic: topic.into(),
            flag: 7,
            properties: properties
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: Bytes::from_static(b"body"),
            store_size: 0,
            body_crc: 0,
            queue_id: 0,
            queue_offset: 3,
            commit_log_offset: 4096,
            sys_flag: 0,
            born_timestamp: 0,
            born_host: addr,
            store_timestamp: 0,
            store_host: addr,
            reconsume_times: 2,
            prepared_transaction_offset: 0,
            offset_msg_id: "OFFSETID".into(),
            broker_name: "broker-a".into(),
        }
    }

    #[test]
    fn a_message_from_the_groups_retry_topic_gets_its_first_topic_back() {
        let mut msg = pulled("%RETRY%g", &[(keys::RETRY_TOPIC, "orders")]);
        restore_retry_message(&mut msg, "g");
        assert_eq!(msg.topic, "orders");
    }

    #[test]
    fn other_topics_and_other_groups_retry_topics_keep_theirs() {
        let mut plain = pulled("orders", &[(keys::RETRY_TOPIC, "other")]);
        restore_retry_message(&mut plain, "g");
        assert_eq!(plain.topic, "orders");
        let mut foreign = pulled("%RETRY%h", &[(keys::RETRY_TOPIC, "orders")]);
        restore_retry_message(&mut foreign, "g");
        assert_eq!(foreign.topic, "%RETRY%h");
        let mut bare = pulled("%RETRY%g", &[]);
        restore_retry_message(&mut bare, "g");
        assert_eq!(bare.topic, "%RETRY%g");
    }

    #[test]
    fn the_retry_copy_carries_what_java_puts_on_it() {
        let msg = pulled(
            "orders",
            &[
                (keys::UNIQ_KEY, "UNIQ"),
                (keys::TAGS, "t"),
                (keys::TRAN_MSG, "true"),
            ],
        );
        let header = retry_copy_header("g", &msg, 16, 0);
        assert_eq!(header.topic, "%RETRY%g");
        assert_eq!(header.producer_group, INNER_PRODUCER_GROUP);
        assert_eq!(header.flag, 7);
        assert_eq!(header.reconsume_times, Some(3));
        assert_eq!(header.max_reconsume_times, Some(16));
        let props =
            rocketmq_remoting::message::decode_properties(header.properties.as_deref().unwrap());
        assert_eq!(props.get(keys::ORIGIN_MESSAGE_ID).unwrap(), "UNIQ");
        assert_eq!(props.get(keys::RETRY_TOPIC).unwrap(), "orders");
        assert_eq!(props.get(keys::DELAY).unwrap(), "5");
        assert_eq!(props.get(keys::TAGS).unwrap(), "t");
        assert_eq!(props.get(keys::UNIQ_KEY).unwrap(), "UNIQ");
        assert!(!props.contains_key(keys::TRAN_MSG));
    }

    #[test]
    fn the_retry_copy_is_compressed_over_the_threshold_when_that_makes_it_smaller() {
        let big = Bytes::from("retry ".repeat(1000));
        let (body, flags) = retry_copy_body(&big, Some(4096)).unwrap();
        assert_eq!(flags, sysflag::COMPRESSED | sysflag::COMPRESSION_ZLIB);
        assert!(body.len() < big.len());
        let back = rocketmq_remoting::message::decompress(
            rocketmq_remoting::message::CompressionType::Zlib,
            &body,
            1 << 20,
        )
        .unwrap();
        assert_eq!(&back[..], &big[..]);
        // Below the threshold, with compression off, or when zlib cannot shrink it: as is.
        assert_eq!(
            retry_copy_body(&big, Some(big.len() + 1)).unwrap(),
            (big.clone(), 0)
        );
        assert_eq!(retry_copy_body(&big, None).unwrap(), (big.clone(), 0));
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let noise: Vec<u8> = (0..8192)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 32) as u8
            })
            .collect();
        let noise = Bytes::from(noise);
        assert_eq!(
            retry_copy_body(&noise, Some(0)).unwrap(),
            (noise.clone(), 0)
        );
        assert_eq!(SendBackOptions::new(16).compress_over, Some(4096));
        assert_eq!(SendBackOptions::new(16).retry_times, 2);
        assert_eq!(SendBackOptions::new(16).timeout, SEND_BACK_TIMEOUT);
    }

    #[test]
    fn a_retried_message_keeps_its_first_origin_and_topic() {
        let msg = pulled(
            "%RETRY%g",
            &[
                (keys::ORIGIN_MESSAGE_ID, "FIRST"),
                (keys::RETRY_TOPIC, "orders"),
            ],
        );
        let header = retry_copy_header("g", &msg, 16, 0);
        let props =
            rocketmq_remoting::message::decode_properties(header.properties.as_deref().unwrap());
        assert_eq!(props.get(keys::ORIGIN_MESSAGE_ID).unwrap(), "FIRST");
        assert_eq!(props.get(keys::RETRY_TOPIC).unwrap(), "orders");
        assert_eq!(original_topic(&msg), "orders");
    }
}
