//! Bodies of the consumer-list, lock/unlock, check-client and consume-directly commands.

use serde::{Deserialize, Serialize};

use super::heartbeat::SubscriptionData;
use super::queue::MessageQueue;
use super::{decode_json, encode_json};
use crate::error::CodecError;

macro_rules! json_body {
    ($name:ident, $what:literal) => {
        impl $name {
            /// JSON body.
            pub fn encode(&self) -> Result<Vec<u8>, CodecError> {
                encode_json($what, self)
            }
            /// Parses a JSON body.
            pub fn decode(body: &[u8]) -> Result<Self, CodecError> {
                decode_json($what, body)
            }
        }
    };
}

/// GET_CONSUMER_LIST_BY_GROUP response body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerListBody {
    #[serde(default)]
    pub consumer_id_list: Vec<String>,
}
json_body!(ConsumerListBody, "ConsumerListBody");

/// LOCK_BATCH_MQ request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockBatchRequestBody {
    pub consumer_group: String,
    pub client_id: String,
    #[serde(default)]
    pub only_this_broker: bool,
    #[serde(default)]
    pub mq_set: Vec<MessageQueue>,
}
json_body!(LockBatchRequestBody, "LockBatchRequestBody");

/// UNLOCK_BATCH_MQ request body: Java's class has exactly the lock request's fields.
pub type UnlockBatchRequestBody = LockBatchRequestBody;

/// LOCK_BATCH_MQ response body: the queues this client now holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockBatchResponseBody {
    #[serde(rename = "lockOKMQSet", default)]
    pub lock_ok_mq_set: Vec<MessageQueue>,
}
json_body!(LockBatchResponseBody, "LockBatchResponseBody");

/// CHECK_CLIENT_CONFIG request body (SQL92 subscriptions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckClientRequestBody {
    pub client_id: String,
    pub group: String,
    pub subscription_data: SubscriptionData,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}
json_body!(CheckClientRequestBody, "CheckClientRequestBody");

/// Outcome of a CONSUME_MESSAGE_DIRECTLY run (Java `CMResult`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConsumeResult {
    CrSuccess,
    CrLater,
    CrRollback,
    CrCommit,
    CrThrowException,
    CrReturnNull,
}

/// CONSUME_MESSAGE_DIRECTLY response body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumeMessageDirectlyResult {
    #[serde(default)]
    pub order: bool,
    #[serde(default = "default_true")]
    pub auto_commit: bool,
    pub consume_result: ConsumeResult,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    /// The Java field name really is "spentTimeMills".
    #[serde(default)]
    pub spent_time_mills: i64,
}
json_body!(ConsumeMessageDirectlyResult, "ConsumeMessageDirectlyResult");

fn default_true() -> bool {
    true
}
