//! GET_CONSUMER_RUNNING_INFO answer: Java's `ConsumerRunningInfo`, which `mqadmin
//! consumerStatus` and the dashboard decode with `RemotingSerializable.decode` (fastjson 1).
//!
//! Two of its tables (`mqTable`, `mqPopTable`) are maps keyed by `MessageQueue`. fastjson
//! writes such keys as bare JSON objects (`{{"brokerName":..}:{..}}`), not standard JSON,
//! and that is the form its parser turns back into `MessageQueue` keys, so [`encode`]
//! writes exactly that by hand; everything else goes through serde. The result was checked
//! by decoding it with the Java class itself (`tests/java/RunningInfoCheck.java`).
//!
//! [`encode`]: ConsumerRunningInfo::encode

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};

use super::heartbeat::SubscriptionData;
use super::queue::MessageQueue;
use crate::error::CodecError;

const WHAT: &str = "ConsumerRunningInfo";

/// Property keys Java's consumers fill (their values are strings).
pub mod props {
    /// Name server addresses, each followed by `;`.
    pub const NAMESERVER_ADDR: &str = "PROP_NAMESERVER_ADDR";
    /// Consume threads.
    pub const THREADPOOL_CORE_SIZE: &str = "PROP_THREADPOOL_CORE_SIZE";
    /// `"true"` or `"false"`. The Java constant is named PROP_CONSUME_ORDERLY but its value
    /// has no underscore.
    pub const CONSUME_ORDERLY: &str = "PROP_CONSUMEORDERLY";
    /// `CONSUME_PASSIVELY` (push) or `CONSUME_ACTIVELY` (pull); mqadmin's
    /// `analyzeSubscription` reads it with `ConsumeType.valueOf`, so it must be one of those.
    pub const CONSUME_TYPE: &str = "PROP_CONSUME_TYPE";
    /// Free text, e.g. Java's `V5_3_3`.
    pub const CLIENT_VERSION: &str = "PROP_CLIENT_VERSION";
    /// Milliseconds since the epoch; mqadmin parses it as a long.
    pub const CONSUMER_START_TIMESTAMP: &str = "PROP_CONSUMER_START_TIMESTAMP";
    /// `CLUSTERING` or `BROADCASTING`: Java copies every field of the consumer into the
    /// properties under its field name, this one among them.
    pub const MESSAGE_MODEL: &str = "messageModel";
}

/// The state of one queue's process queue (Java `ProcessQueueInfo`). The `transaction_*`
/// fields describe the messages an orderly consumer has taken but not yet committed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessQueueInfo {
    pub commit_offset: i64,
    pub cached_msg_min_offset: i64,
    pub cached_msg_max_offset: i64,
    pub cached_msg_count: i32,
    #[serde(rename = "cachedMsgSizeInMiB")]
    pub cached_msg_size_in_mib: i32,
    pub transaction_msg_min_offset: i64,
    pub transaction_msg_max_offset: i64,
    pub transaction_msg_count: i32,
    pub locked: bool,
    pub try_unlock_times: i64,
    pub last_lock_timestamp: i64,
    /// Spelled as the Java field is (`droped`).
    #[serde(rename = "droped")]
    pub dropped: bool,
    pub last_pull_timestamp: i64,
    pub last_consume_timestamp: i64,
}

/// A queue consumed by POP (Java `PopProcessQueueInfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PopProcessQueueInfo {
    pub wait_ack_count: i32,
    #[serde(rename = "droped")]
    pub dropped: bool,
    pub last_pop_timestamp: i64,
}

/// Per-topic consumption statistics (Java `ConsumeStatus`): response times in ms, rates per
/// second, and the failures of the last hour.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ConsumeStatus {
    #[serde(rename = "pullRT", serialize_with = "finite")]
    pub pull_rt: f64,
    #[serde(rename = "pullTPS", serialize_with = "finite")]
    pub pull_tps: f64,
    #[serde(rename = "consumeRT", serialize_with = "finite")]
    pub consume_rt: f64,
    #[serde(rename = "consumeOKTPS", serialize_with = "finite")]
    pub consume_ok_tps: f64,
    #[serde(rename = "consumeFailedTPS", serialize_with = "finite")]
    pub consume_failed_tps: f64,
    #[serde(rename = "consumeFailedMsgs")]
    pub consume_failed_msgs: i64,
}

/// serde_json writes NaN and infinities as `null`, which fastjson cannot put in a Java
/// `double`; a rate computed over an empty window must not break the whole answer.
fn finite<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(if value.is_finite() { *value } else { 0.0 })
}

/// What a consumer reports about itself to GET_CONSUMER_RUNNING_INFO.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConsumerRunningInfo {
    /// Configuration and the `props::*` keys (Java `Properties`).
    pub properties: BTreeMap<String, String>,
    /// Java keeps a TreeSet ordered by topic then expression; order does not matter on the
    /// wire.
    pub subscription_set: Vec<SubscriptionData>,
    pub mq_table: BTreeMap<MessageQueue, ProcessQueueInfo>,
    pub mq_pop_table: BTreeMap<MessageQueue, PopProcessQueueInfo>,
    /// Topic → statistics.
    pub status_table: BTreeMap<String, ConsumeStatus>,
    pub user_consumer_info: BTreeMap<String, String>,
    /// Thread dump, asked for with `jstackEnable`; left out when `None`.
    pub jstack: Option<String>,
}

impl ConsumerRunningInfo {
    /// The body as fastjson would write it: queue-keyed maps with object keys, fields in
    /// fastjson's (alphabetical) order.
    pub fn encode(&self) -> Result<Vec<u8>, CodecError> {
        let mut out = Vec::with_capacity(256 + 320 * self.mq_table.len());
        out.push(b'{');
        if let Some(jstack) = &self.jstack {
            write_field(&mut out, "jstack", jstack)?;
            out.push(b',');
        }
        out.extend_from_slice(b"\"mqPopTable\":");
        write_queue_keyed(&mut out, &self.mq_pop_table)?;
        out.extend_from_slice(b",\"mqTable\":");
        write_queue_keyed(&mut out, &self.mq_table)?;
        out.push(b',');
        write_field(&mut out, "properties", &self.properties)?;
        out.push(b',');
        write_field(&mut out, "statusTable", &self.status_table)?;
        out.push(b',');
        write_field(&mut out, "subscriptionSet", &self.subscription_set)?;
        out.push(b',');
        write_field(&mut out, "userConsumerInfo", &self.user_consumer_info)?;
        out.push(b'}');
        Ok(out)
    }
}

fn write_field<T: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    name: &str,
    value: &T,
) -> Result<(), CodecError> {
    write_json(out, name)?;
    out.push(b':');
    write_json(out, value)
}

fn write_json<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<(), CodecError> {
    serde_json::to_writer(&mut *out, value).map_err(|e| CodecError::json(WHAT, &e))
}

/// `{<queue object>:<value>,...}`, the fastjson form of a `Map<MessageQueue, V>`.
fn write_queue_keyed<V: Serialize>(
    out: &mut Vec<u8>,
    table: &BTreeMap<MessageQueue, V>,
) -> Result<(), CodecError> {
    out.push(b'{');
    for (i, (queue, value)) in table.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_json(out, queue)?;
        out.push(b':');
        write_json(out, value)?;
    }
    out.push(b'}');
    Ok(())
}
