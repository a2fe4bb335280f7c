//! JSON bodies of the commands, field names as the Java classes write them.
//!
//! The Java side writes bodies with fastjson, which departs from standard JSON in two places
//! a client meets: Long map keys without quotes (route bodies for old clients) and maps
//! keyed by objects (reset-offset bodies). [`lenient`] and [`reset_offset`] handle those.

pub mod cluster;
pub mod connection;
pub mod consumer;
pub mod heartbeat;
pub mod lenient;
pub mod queue;
pub mod reset_offset;
pub mod route;
pub mod running_info;

pub use cluster::ClusterInfo;
pub use connection::{ClientConnection, ProducerConnection};
pub use consumer::{
    CheckClientRequestBody, ConsumeMessageDirectlyResult, ConsumeResult, ConsumerListBody,
    LockBatchRequestBody, LockBatchResponseBody, UnlockBatchRequestBody,
};
pub use heartbeat::{
    ConsumeFromWhere, ConsumeType, ConsumerData, HeartbeatData, MessageModel, ProducerData,
    SubscriptionData,
};
pub use queue::MessageQueue;
pub use reset_offset::ResetOffsetBody;
pub use route::{BrokerData, QueueData, TopicRouteData};
pub use running_info::{ConsumeStatus, ConsumerRunningInfo, PopProcessQueueInfo, ProcessQueueInfo};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::CodecError;

/// Parses a standard-JSON body; `what` names it in the error.
pub fn decode_json<T: DeserializeOwned>(what: &'static str, body: &[u8]) -> Result<T, CodecError> {
    serde_json::from_slice(body).map_err(|e| CodecError::json(what, &e))
}

/// Writes a body as compact JSON.
pub fn encode_json<T: Serialize>(what: &'static str, value: &T) -> Result<Vec<u8>, CodecError> {
    serde_json::to_vec(value).map_err(|e| CodecError::json(what, &e))
}
