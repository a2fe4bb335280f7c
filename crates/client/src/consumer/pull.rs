//! One PULL_MESSAGE round trip (Java's `PullAPIWrapper.pullKernelImpl`,
//! `MQClientAPIImpl.processPullResponse` and `PullAPIWrapper.processPullResult`): pick the
//! broker of the queue, send the request, map the response code to a [`PullStatus`], decode
//! and re-filter the messages. The pull loop (flow control, back-off, offset correction)
//! is built on top of this and decides what each status means for the queue.
//!
//! Which broker: the master, unless the broker suggested another id for this queue in its
//! last answer (`suggestWhichBrokerId`, non-zero only with `slaveReadEnable`). The
//! suggestion is remembered per queue in the [`Puller`], as Java's `pullFromWhichNodeTable`.
//! An id the route no longer lists falls back like Java's `findBrokerAddressInSubscribe`:
//! the next id for a slave, else any address of the group. A pull to a slave never asks
//! it to store the commit offset (it could not).
//!
//! Malformed records: the body is decoded with
//! [`decode_messages_skipping`](rocketmq_remoting::message::decode_messages_skipping), so a
//! damaged record is skipped, logged and counted ([`Puller::skipped_records`],
//! [`PullResult::skipped_records`]) and the other messages of the batch still arrive. The
//! queue never stalls on it: the next pull starts at `nextBeginOffset`, past the record.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use log::warn;
use rocketmq_remoting::body::heartbeat::EXPRESSION_TYPE_TAG;
use rocketmq_remoting::body::{MessageQueue, SubscriptionData};
use rocketmq_remoting::codes::{request, response};
use rocketmq_remoting::header::{
    DecodeHeader, EncodeHeader, PullMessageRequestHeader, PullMessageResponseHeader, PullSysFlag,
};
use rocketmq_remoting::message::properties::keys;
use rocketmq_remoting::message::{decode_messages_skipping, DecodeOptions, MessageExt};
use rocketmq_remoting::RemotingCommand;

use crate::error::{ClientError, Result};
use crate::instance::ClientInstance;
use crate::remoting_client::RemotingClient;
use crate::route_cache::RouteCache;

/// Broker id of a master.
pub const MASTER_ID: i64 = 0;

/// Java's `pullBatchSize`.
pub const DEFAULT_PULL_BATCH_SIZE: i32 = 32;

/// How long the broker may hold a pull that finds nothing (Java's
/// `BROKER_SUSPEND_MAX_TIME_MILLIS`).
pub const DEFAULT_SUSPEND_TIMEOUT: Duration = Duration::from_secs(15);

/// The client's budget for a pull the broker may hold (Java's
/// `CONSUMER_TIMEOUT_MILLIS_WHEN_SUSPEND`): longer than the suspension, so a held request
/// is answered before the client gives up on it.
pub const DEFAULT_PULL_TIMEOUT: Duration = Duration::from_secs(30);

/// The [`PullSysFlag`] bits of a request, one switch each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PullFlags {
    /// Ask the broker to store [`PullRequest::commit_offset`] (Java: clustering and an
    /// offset > 0). Dropped on its own when the pull goes to a slave.
    pub commit_offset: bool,
    /// Allow long polling.
    pub suspend: bool,
    /// Send the subscription expression with the pull instead of relying on the one the
    /// heartbeat registered (Java's `postSubscriptionWhenPull`).
    pub subscription: bool,
    /// Obsolete filter-server mode. Filter servers no longer exist (5.x removed them), so a
    /// request with this set is refused before anything is sent.
    pub class_filter: bool,
}

impl Default for PullFlags {
    /// What the Java push consumer sends by default: suspend only.
    fn default() -> Self {
        PullFlags {
            commit_offset: false,
            suspend: true,
            subscription: false,
            class_filter: false,
        }
    }
}

impl PullFlags {
    /// The wire flag word.
    pub fn bits(&self) -> i32 {
        let mut bits = PullSysFlag::build(self.commit_offset, self.suspend, self.subscription);
        if self.class_filter {
            bits |= PullSysFlag::CLASS_FILTER;
        }
        bits
    }
}

/// Everything one pull needs.
#[derive(Debug, Clone)]
pub struct PullRequest {
    pub consumer_group: String,
    pub queue: MessageQueue,
    /// The logical offset to read from.
    pub queue_offset: i64,
    /// At most this many messages (Java's `pullBatchSize`).
    pub max_msg_nums: i32,
    pub flags: PullFlags,
    /// The consumer's offset for the queue; stored by the broker when
    /// [`PullFlags::commit_offset`] is set.
    pub commit_offset: i64,
    /// The subscription of the queue's topic: its expression and type go to the broker,
    /// its version must not be newer than the heartbeat's, and its tag set re-filters the
    /// messages on the client.
    pub subscription: SubscriptionData,
    /// How long the broker may hold the request when nothing is there (with
    /// [`PullFlags::suspend`]).
    pub suspend_timeout: Duration,
    /// The client's budget for the whole round trip; longer than `suspend_timeout`.
    pub timeout: Duration,
    /// 5.x `maxMsgBytes` (Java's `pullBatchSizeInBytes`); not sent when `None`.
    pub max_msg_bytes: Option<i32>,
}

impl PullRequest {
    /// A pull with the Java push consumer's defaults: 32 messages, suspend for 15 s within a
    /// 30 s budget, no commit offset, the heartbeat's subscription on the broker.
    pub fn new(
        consumer_group: impl Into<String>,
        queue: MessageQueue,
        queue_offset: i64,
        subscription: SubscriptionData,
    ) -> Self {
        PullRequest {
            consumer_group: consumer_group.into(),
            queue,
            queue_offset,
            max_msg_nums: DEFAULT_PULL_BATCH_SIZE,
            flags: PullFlags::default(),
            commit_offset: 0,
            subscription,
            suspend_timeout: DEFAULT_SUSPEND_TIMEOUT,
            timeout: DEFAULT_PULL_TIMEOUT,
            max_msg_bytes: None,
        }
    }

    fn header(&self, to_slave: bool) -> PullMessageRequestHeader {
        let mut flags = self.flags;
        // A slave cannot store offsets; Java clears the bit for it.
        flags.commit_offset &= !to_slave;
        PullMessageRequestHeader {
            consumer_group: self.consumer_group.clone(),
            topic: self.queue.topic.clone(),
            queue_id: self.queue.queue_id,
            queue_offset: self.queue_offset,
            max_msg_nums: self.max_msg_nums,
            sys_flag: flags.bits(),
            commit_offset: self.commit_offset,
            suspend_timeout_millis: duration_millis(self.suspend_timeout),
            subscription: flags
                .subscription
                .then(|| self.subscription.sub_string.clone()),
            sub_version: self.subscription.sub_version,
            expression_type: Some(self.subscription.expression_type.clone()),
            max_msg_bytes: self.max_msg_bytes,
            broker_name: Some(self.queue.broker_name.clone()),
        }
    }
}

fn duration_millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// What a pull found (Java's `PullStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PullStatus {
    /// SUCCESS: messages came back (possibly none left after the client's tag re-filter).
    Found,
    /// PULL_NOT_FOUND: nothing at or after the offset (yet).
    NoNewMsg,
    /// PULL_RETRY_IMMEDIATELY: messages exist but the broker's filter matched none.
    NoMatchedMsg,
    /// PULL_OFFSET_MOVED: the offset is outside the queue; continue from
    /// `next_begin_offset`.
    OffsetIllegal,
}

impl PullStatus {
    /// Java's enum name.
    pub fn as_str(self) -> &'static str {
        match self {
            PullStatus::Found => "FOUND",
            PullStatus::NoNewMsg => "NO_NEW_MSG",
            PullStatus::NoMatchedMsg => "NO_MATCHED_MSG",
            PullStatus::OffsetIllegal => "OFFSET_ILLEGAL",
        }
    }

    /// The status of a pull response code; `None` for codes that are errors.
    pub fn from_response_code(code: i32) -> Option<Self> {
        match code {
            response::SUCCESS => Some(PullStatus::Found),
            response::PULL_NOT_FOUND => Some(PullStatus::NoNewMsg),
            response::PULL_RETRY_IMMEDIATELY => Some(PullStatus::NoMatchedMsg),
            response::PULL_OFFSET_MOVED => Some(PullStatus::OffsetIllegal),
            _ => None,
        }
    }
}

/// The outcome of one pull.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullResult {
    pub status: PullStatus,
    /// Where the next pull of the queue starts.
    pub next_begin_offset: i64,
    /// The queue's smallest stored offset when the broker answered.
    pub min_offset: i64,
    /// One past the queue's last offset when the broker answered.
    pub max_offset: i64,
    /// [`PullStatus::Found`] only: the messages that passed the tag re-filter, in queue
    /// order, each with the `MIN_OFFSET`/`MAX_OFFSET` properties, the broker name and the
    /// queue id of the pulled queue set.
    pub messages: Vec<MessageExt>,
    /// The broker id the next pull of this queue should go to (already remembered by the
    /// [`Puller`]).
    pub suggest_which_broker_id: i64,
    /// Records of the body that could not be decoded and were skipped.
    pub skipped_records: usize,
    /// Messages the broker returned that the tag re-filter removed.
    pub filtered_out: usize,
}

/// Sends pulls and remembers, per queue, which broker id the broker suggested.
pub struct Puller {
    remoting: RemotingClient,
    routes: Arc<RouteCache>,
    decode_options: DecodeOptions,
    /// Java's `pullFromWhichNodeTable`; a queue not in it pulls from the master.
    suggested: Mutex<HashMap<MessageQueue, i64>>,
    skipped_records: AtomicU64,
}

impl std::fmt::Debug for Puller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Puller")
            .field("skipped_records", &self.skipped_records())
            .finish_non_exhaustive()
    }
}

impl Puller {
    /// A puller over `remoting`'s connections, finding brokers in `routes`.
    pub fn new(remoting: RemotingClient, routes: Arc<RouteCache>) -> Self {
        Puller {
            remoting,
            routes,
            decode_options: DecodeOptions::default(),
            suggested: Mutex::new(HashMap::new()),
            skipped_records: AtomicU64::new(0),
        }
    }

    /// A puller on the instance's connections and routes.
    pub fn for_instance(instance: &ClientInstance) -> Self {
        Self::new(instance.remoting().clone(), instance.routes().clone())
    }

    /// The broker id the next pull of `queue` goes to.
    pub fn suggested_broker_id(&self, queue: &MessageQueue) -> i64 {
        self.lock_suggested()
            .get(queue)
            .copied()
            .unwrap_or(MASTER_ID)
    }

    /// Forgets the suggestion for a queue the consumer no longer pulls.
    pub fn forget(&self, queue: &MessageQueue) {
        self.lock_suggested().remove(queue);
    }

    /// Malformed records skipped by every pull so far.
    pub fn skipped_records(&self) -> u64 {
        self.skipped_records.load(Ordering::Relaxed)
    }

    /// One PULL_MESSAGE round trip. The four pull codes become a [`PullResult`]; any other
    /// code is a [`ClientError::BrokerResponse`] with that code; transport failures and
    /// timeouts are the connection layer's errors.
    pub async fn pull(&self, request: &PullRequest) -> Result<PullResult> {
        if request.flags.class_filter {
            return Err(ClientError::Validation(
                "class filter mode needs filter servers, which brokers no longer run".into(),
            ));
        }
        let (addr, to_slave) = self.find_broker(&request.queue).await?;
        let command = RemotingCommand::request(
            request::PULL_MESSAGE,
            request.header(to_slave).to_ext_fields(),
        );
        let answer = self
            .remoting
            .request(&addr, command, request.timeout)
            .await?;
        let result = process_pull_response(
            answer,
            &request.queue,
            &request.subscription,
            &self.decode_options,
            &addr,
        )?;
        self.lock_suggested()
            .insert(request.queue.clone(), result.suggest_which_broker_id);
        if result.skipped_records > 0 {
            self.skipped_records
                .fetch_add(result.skipped_records as u64, Ordering::Relaxed);
        }
        Ok(result)
    }

    /// The address to pull `queue` from and whether it is a slave. A route without the
    /// queue's broker is refreshed once from the NameServer before giving up.
    async fn find_broker(&self, queue: &MessageQueue) -> Result<(String, bool)> {
        let wanted = self.suggested_broker_id(queue);
        let route = self.routes.get(&queue.topic).await?;
        if let Some(found) = route
            .broker(&queue.broker_name)
            .and_then(|b| pick_addr(&b.broker_addrs, wanted))
        {
            return Ok(found);
        }
        let route = self.routes.refresh(&queue.topic).await?;
        route
            .broker(&queue.broker_name)
            .and_then(|b| pick_addr(&b.broker_addrs, wanted))
            .ok_or_else(|| {
                ClientError::BrokerNotAvailable(format!(
                    "broker {} of topic {} has no address",
                    queue.broker_name, queue.topic
                ))
            })
    }

    fn lock_suggested(&self) -> std::sync::MutexGuard<'_, HashMap<MessageQueue, i64>> {
        self.suggested.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Java's `findBrokerAddressInSubscribe(name, id, onlyThisBroker = false)`: the wanted id;
/// for a slave id that is gone, the next id; else the group's first address.
fn pick_addr(
    addrs: &std::collections::BTreeMap<i64, String>,
    wanted: i64,
) -> Option<(String, bool)> {
    if let Some(addr) = addrs.get(&wanted) {
        return Some((addr.clone(), wanted != MASTER_ID));
    }
    if wanted != MASTER_ID {
        if let Some(addr) = wanted.checked_add(1).and_then(|next| addrs.get(&next)) {
            return Some((addr.clone(), true));
        }
    }
    addrs
        .iter()
        .next()
        .map(|(id, addr)| (addr.clone(), *id != MASTER_ID))
}

/// Maps a PULL_MESSAGE response to a [`PullResult`] (Java's `processPullResponse`
/// followed by `processPullResult`): the status from the code, the offsets and suggestion
/// from the header, and for SUCCESS the decoded messages, re-filtered by tag, with the
/// queue range properties and the broker name added. `addr` only names the broker in
/// errors and logs.
pub fn process_pull_response(
    answer: RemotingCommand,
    queue: &MessageQueue,
    subscription: &SubscriptionData,
    decode_options: &DecodeOptions,
    addr: &str,
) -> Result<PullResult> {
    let Some(status) = PullStatus::from_response_code(answer.code) else {
        return Err(ClientError::BrokerResponse {
            message: format!(
                "pulling {queue} from {addr} failed: {}",
                answer.remark.as_deref().unwrap_or("no reason given")
            ),
            code: answer.code,
        });
    };
    let header = PullMessageResponseHeader::from_ext_fields(&answer.ext_fields)?;
    let mut result = PullResult {
        status,
        next_begin_offset: header.next_begin_offset,
        min_offset: header.min_offset,
        max_offset: header.max_offset,
        messages: Vec::new(),
        suggest_which_broker_id: header.suggest_which_broker_id,
        skipped_records: 0,
        filtered_out: 0,
    };
    if status != PullStatus::Found {
        return Ok(result);
    }

    let batch = decode_messages_skipping(&answer.body, decode_options);
    for skipped in &batch.skipped {
        warn!(
            "pull of {queue} from {addr}: skipped {} bytes of a malformed record at body byte {}: {}",
            skipped.skipped_bytes, skipped.position, skipped.error
        );
    }
    result.skipped_records = batch.skipped.len();

    // Java re-checks the tag string only for TAG subscriptions with tags: the broker
    // filtered on hash codes, which collide. SQL92 and `*` keep everything.
    let refilter =
        !subscription.tags_set.is_empty() && subscription.expression_type == EXPRESSION_TYPE_TAG;
    let min_offset = header.min_offset.to_string();
    let max_offset = header.max_offset.to_string();
    // In place: a message is a few hundred bytes, and moving each into a new vector was a
    // copy per message for nothing.
    let mut messages = batch.messages;
    messages.retain_mut(|message| {
        if refilter && !subscription.matches_tag(message.tags()) {
            result.filtered_out += 1;
            return false;
        }
        message.properties.insert(keys::MIN_OFFSET, &min_offset);
        message.properties.insert(keys::MAX_OFFSET, &max_offset);
        message.broker_name = queue.broker_name.clone();
        message.queue_id = queue.queue_id;
        // 5.x static topics: the broker's physical queue offsets are shifted into the
        // logical queue's range.
        if let Some(delta) = header.offset_delta {
            message.queue_offset = message.queue_offset.saturating_add(delta);
        }
        true
    });
    result.messages = messages;
    Ok(result)
}
