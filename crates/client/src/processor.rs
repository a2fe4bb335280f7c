//! Answers the requests brokers send to a client instance (Java's
//! `ClientRemotingProcessor`), by handing each to the consumer of the group it names.
//!
//! | code | request | answer |
//! |---|---|---|
//! | 40 | NOTIFY_CONSUMER_IDS_CHANGED (oneway) | [`ConsumerHooks::rebalance_soon`], no reply |
//! | 220 | RESET_CONSUMER_CLIENT_OFFSET (oneway) | [`ConsumerHooks::reset_offset`], no reply |
//! | 221 | GET_CONSUMER_STATUS_FROM_CLIENT | SUCCESS, [`ConsumerHooks::consumer_offsets`] as Java's `GetConsumerStatusBody` |
//! | 307 | GET_CONSUMER_RUNNING_INFO | SUCCESS, [`ConsumerHooks::running_info`] encoded |
//! | 309 | CONSUME_MESSAGE_DIRECTLY | SUCCESS, [`ConsumerHooks::consume_message_directly`] encoded |
//! | other | | REQUEST_CODE_NOT_SUPPORTED, nothing for oneway ([`UnsupportedRequests`]) |
//!
//! A group this instance has no hooks for gets what a Java client answers: SYSTEM_ERROR
//! "The Consumer Group <g> not exist in this consumer" to 307 and 309, an empty table to
//! 221, and a log line for the oneway requests. A header that does not decode is answered
//! SYSTEM_ERROR naming the field (Java answers a processor's exception the same way).
//!
//! Consumers plug in with [`ClientProcessor::register`] and leave with
//! [`ClientProcessor::unregister`]; this module knows nothing of how a consumer works.
//!
//! Threading: the connection runs every inbound request on a blocking-pool thread of its
//! own (see [`crate::connection::InboundHandler`]), and the hooks are called on that
//! thread. So the hooks are plain synchronous functions that may block: one that needs
//! async work calls `tokio::runtime::Handle::current().block_on(..)` (allowed on a
//! blocking-pool thread), and one that needs the JS listener waits for its answer on a
//! channel. Blocking there holds no runtime worker and no other request. The oneway hooks
//! ([`ConsumerHooks::rebalance_soon`], [`ConsumerHooks::reset_offset`]) should only signal
//! the consumer's own tasks and return.
//!
//! A hook that panics: the connection catches it, logs it and answers SYSTEM_ERROR to a
//! request that expects an answer; the connection and the other groups carry on.
//!
//! `jstackEnable` of GET_CONSUMER_RUNNING_INFO is ignored: a Java client adds a dump of
//! its JVM threads, which has no counterpart here (the `jstack` key is left out, which
//! mqadmin reads as "no dump").

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock, Weak};

use bytes::Bytes;
use log::{debug, info, warn};
use rocketmq_remoting::body::{
    ConsumeMessageDirectlyResult, ConsumerRunningInfo, MessageQueue, ResetOffsetBody,
};
use rocketmq_remoting::codes::{request, response};
use rocketmq_remoting::header::{
    ConsumeMessageDirectlyResultRequestHeader, DecodeHeader, GetConsumerRunningInfoRequestHeader,
    NotifyConsumerIdsChangedRequestHeader, ResetOffsetRequestHeader,
};
use rocketmq_remoting::message::{decode_message, MessageExt};
use rocketmq_remoting::{CodecError, RemotingCommand};

use crate::connection::{InboundHandler, Responder, UnsupportedRequests};
use crate::error::{ClientError, Result};
use crate::instance::ClientInstance;

/// What a consumer group does for the requests brokers send about it. Called on a
/// blocking-pool thread; see the module docs for what may block.
pub trait ConsumerHooks: Send + Sync + 'static {
    /// The broker saw the group's members change (NOTIFY_CONSUMER_IDS_CHANGED): rebalance
    /// soon. Should only signal and return.
    fn rebalance_soon(&self);

    /// The group's state for `mqadmin consumerStatus` and the dashboard.
    fn running_info(&self) -> ConsumerRunningInfo;

    /// Consumes `message` with the listener (`mqadmin consumeMessage`) and says how it went,
    /// as Java's consume services do: a listener that throws is `CR_THROW_EXCEPTION` with the
    /// error as remark, not a panic. `message.broker_name` is the broker the request names
    /// (a 5.3.3 broker always adds its own name when it forwards the request).
    fn consume_message_directly(&self, message: MessageExt) -> ConsumeMessageDirectlyResult;

    /// Moves the group's consumption of `topic` to `offsets` (RESET_CONSUMER_CLIENT_OFFSET,
    /// sent by 4.x brokers for `mqadmin resetOffsetByTime`; a 5.3.3 broker resets on its
    /// side instead, see docs/verified-facts.md). Should hand the table to the
    /// consumer's tasks and return.
    fn reset_offset(&self, topic: &str, offsets: BTreeMap<MessageQueue, i64>);

    /// The group's offsets of `topic` (GET_CONSUMER_STATUS_FROM_CLIENT, deprecated in Java).
    /// Defaults to none, which a Java client also answers for a consumer without a store.
    fn consumer_offsets(&self, topic: &str) -> BTreeMap<MessageQueue, i64> {
        let _ = topic;
        BTreeMap::new()
    }
}

/// Instances and the processor installed on each; see [`ClientProcessor::install`].
type Installed = Vec<(Weak<ClientInstance>, Arc<ClientProcessor>)>;
static INSTALLED: Mutex<Installed> = Mutex::new(Vec::new());

/// The inbound handler of a client instance: consumer groups' hooks by group name.
#[derive(Default)]
pub struct ClientProcessor {
    groups: RwLock<HashMap<String, Arc<dyn ConsumerHooks>>>,
}

impl std::fmt::Debug for ClientProcessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientProcessor")
            .field("groups", &self.groups())
            .finish()
    }
}

impl ClientProcessor {
    /// A processor with no groups, not installed anywhere.
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    /// The processor of `instance`, installed as its inbound handler on first use. Every
    /// consumer of the instance gets the same one, so registering a group never drops
    /// another's (a second `set_inbound_handler` would). Kept beside the instance, not in
    /// it, so the instance needs no knowledge of consumers.
    pub fn install(instance: &Arc<ClientInstance>) -> Arc<Self> {
        let mut installed = INSTALLED.lock().unwrap_or_else(|p| p.into_inner());
        installed.retain(|(owner, _)| owner.strong_count() > 0);
        if let Some((_, processor)) = installed
            .iter()
            .find(|(owner, _)| std::ptr::eq(owner.as_ptr(), Arc::as_ptr(instance)))
        {
            return processor.clone();
        }
        let processor = Self::new();
        instance.set_inbound_handler(processor.clone());
        installed.push((Arc::downgrade(instance), processor.clone()));
        processor
    }

    /// Routes the requests about `group` to `hooks`. Fails when the group already has
    /// hooks here (one consumer per group and instance, as Java).
    pub fn register(&self, group: &str, hooks: Arc<dyn ConsumerHooks>) -> Result<()> {
        let mut groups = self.groups.write().unwrap_or_else(|p| p.into_inner());
        if groups.contains_key(group) {
            return Err(ClientError::State(format!(
                "consumer group {group} already answers broker requests on this client"
            )));
        }
        groups.insert(group.to_owned(), hooks);
        Ok(())
    }

    /// Stops routing requests about `group`; true when it was registered.
    pub fn unregister(&self, group: &str) -> bool {
        self.groups
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(group)
            .is_some()
    }

    /// The registered groups, sorted.
    pub fn groups(&self) -> Vec<String> {
        let mut groups: Vec<String> = self
            .groups
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .cloned()
            .collect();
        groups.sort();
        groups
    }

    fn hooks(&self, group: &str) -> Option<Arc<dyn ConsumerHooks>> {
        self.groups
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(group)
            .cloned()
    }

    fn notify_consumer_ids_changed(&self, request: &RemotingCommand, addr: &str) -> Reply {
        let header = NotifyConsumerIdsChangedRequestHeader::from_ext_fields(&request.ext_fields)?;
        let group = header.consumer_group;
        match self.hooks(&group) {
            Some(hooks) => {
                info!("{addr}: members of consumer group {group} changed, rebalancing soon");
                hooks.rebalance_soon();
            }
            None => debug!("{addr}: members of consumer group {group} changed; not consumed here"),
        }
        Ok(None)
    }

    fn reset_offset(&self, request: &RemotingCommand, addr: &str) -> Reply {
        let header = ResetOffsetRequestHeader::from_ext_fields(&request.ext_fields)?;
        // Java reads a missing body as an empty table.
        let offsets = if request.body.is_empty() {
            BTreeMap::new()
        } else {
            ResetOffsetBody::decode(&request.body)?.offset_table
        };
        info!(
            "{addr}: reset offsets of group {} on topic {} to timestamp {} ({} queues)",
            header.group,
            header.topic,
            header.timestamp,
            offsets.len()
        );
        match self.hooks(&header.group) {
            Some(hooks) => hooks.reset_offset(&header.topic, offsets),
            None => info!(
                "{addr}: offset reset for group {} not consumed here",
                header.group
            ),
        }
        // Sent oneway; a broker that asks for an answer gets a plain SUCCESS.
        Ok(Some(success(request, None)))
    }

    fn consumer_status(&self, request: &RemotingCommand) -> Reply {
        let topic = required_field(request, "topic")?;
        let group = required_field(request, "group")?;
        let offsets = self
            .hooks(group)
            .map(|hooks| hooks.consumer_offsets(topic))
            .unwrap_or_default();
        Ok(Some(success(
            request,
            Some(encode_consumer_status(&offsets)?),
        )))
    }

    fn running_info(&self, request: &RemotingCommand) -> Reply {
        let header = GetConsumerRunningInfoRequestHeader::from_ext_fields(&request.ext_fields)?;
        let Some(hooks) = self.hooks(&header.consumer_group) else {
            return Ok(Some(group_not_here(request, &header.consumer_group)));
        };
        let body = hooks.running_info().encode()?;
        Ok(Some(success(request, Some(body))))
    }

    fn consume_message_directly(&self, request: &RemotingCommand) -> Reply {
        let header =
            ConsumeMessageDirectlyResultRequestHeader::from_ext_fields(&request.ext_fields)?;
        let Some(hooks) = self.hooks(&header.consumer_group) else {
            return Ok(Some(group_not_here(request, &header.consumer_group)));
        };
        let mut message = decode_message(&request.body)?;
        if let Some(broker_name) = header.broker_name {
            message.broker_name = broker_name;
        }
        let result = hooks.consume_message_directly(message);
        Ok(Some(success(request, Some(result.encode()?))))
    }
}

/// What a request handler answers: `None` for nothing (oneway), or an error that becomes
/// SYSTEM_ERROR.
type Reply = Result<Option<RemotingCommand>>;

impl InboundHandler for ClientProcessor {
    fn on_request(&self, request: RemotingCommand, reply: Responder) {
        let addr = reply.addr();
        let outcome = match request.code {
            request::NOTIFY_CONSUMER_IDS_CHANGED => {
                self.notify_consumer_ids_changed(&request, addr)
            }
            request::RESET_CONSUMER_CLIENT_OFFSET => self.reset_offset(&request, addr),
            request::GET_CONSUMER_STATUS_FROM_CLIENT => self.consumer_status(&request),
            request::GET_CONSUMER_RUNNING_INFO => self.running_info(&request),
            request::CONSUME_MESSAGE_DIRECTLY => self.consume_message_directly(&request),
            _ => return UnsupportedRequests.on_request(request, reply),
        };
        let answer = match outcome {
            Ok(answer) => answer,
            Err(err) => {
                warn!("{addr}: request code {} failed: {err}", request.code);
                Some(RemotingCommand::response_to(
                    &request,
                    response::SYSTEM_ERROR,
                    Some(err.to_string()),
                ))
            }
        };
        if let Some(answer) = answer.filter(|_| !request.is_oneway()) {
            reply.send(answer);
        }
    }
}

fn success(request: &RemotingCommand, body: Option<Vec<u8>>) -> RemotingCommand {
    let answer = RemotingCommand::response_to(request, response::SUCCESS, None);
    match body {
        Some(body) => answer.with_body(Bytes::from(body)),
        None => answer,
    }
}

/// Java's answer when no consumer of the group lives in this client.
fn group_not_here(request: &RemotingCommand, group: &str) -> RemotingCommand {
    RemotingCommand::response_to(
        request,
        response::SYSTEM_ERROR,
        Some(format!(
            "The Consumer Group <{group}> not exist in this consumer"
        )),
    )
}

/// A header field GET_CONSUMER_STATUS_FROM_CLIENT needs (the remoting crate has no typed
/// header for this deprecated request).
fn required_field<'a>(request: &'a RemotingCommand, name: &'static str) -> Result<&'a str> {
    request
        .ext_fields
        .get(name)
        .map(String::as_str)
        .ok_or_else(|| ClientError::Protocol(CodecError::missing(name)))
}

/// Java's `GetConsumerStatusBody` as fastjson writes it: `messageQueueTable` keyed by
/// queue objects, and the (client-side unused) `consumerTable` empty.
fn encode_consumer_status(offsets: &BTreeMap<MessageQueue, i64>) -> Result<Vec<u8>> {
    let mut out = b"{\"consumerTable\":{},\"messageQueueTable\":{".to_vec();
    for (i, (queue, offset)) in offsets.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let key =
            serde_json::to_vec(queue).map_err(|e| CodecError::json("GetConsumerStatusBody", &e))?;
        out.extend_from_slice(&key);
        out.push(b':');
        out.extend_from_slice(offset.to_string().as_bytes());
    }
    out.extend_from_slice(b"}}");
    Ok(out)
}
