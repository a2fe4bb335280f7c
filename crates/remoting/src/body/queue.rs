//! `MessageQueue`: one queue of one topic on one broker.

use serde::{Deserialize, Serialize};

/// A message queue. The derived order is (topic, brokerName, queueId), the order Java's
/// `MessageQueue.compareTo` gives and rebalancing relies on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageQueue {
    pub topic: String,
    pub broker_name: String,
    pub queue_id: i32,
}

impl MessageQueue {
    /// A queue from its three parts.
    pub fn new(topic: impl Into<String>, broker_name: impl Into<String>, queue_id: i32) -> Self {
        Self {
            topic: topic.into(),
            broker_name: broker_name.into(),
            queue_id,
        }
    }
}

impl std::fmt::Display for MessageQueue {
    /// Java's `MessageQueue.toString()`, which the consistent-hash allocation hashes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "MessageQueue [topic={}, brokerName={}, queueId={}]",
            self.topic, self.broker_name, self.queue_id
        )
    }
}
