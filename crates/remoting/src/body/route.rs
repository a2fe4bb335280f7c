//! `TopicRouteData`, the GET_ROUTEINFO_BY_TOPIC answer, and the queue sets derived from it.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::lenient::quote_numeric_keys;
use super::queue::MessageQueue;
use crate::error::CodecError;

/// Topic permission bit: consumers may read.
pub const PERM_READ: i32 = 4;
/// Topic permission bit: producers may write.
pub const PERM_WRITE: i32 = 2;
/// Topic permission bit: inherit (system use).
pub const PERM_INHERIT: i32 = 1;
/// Topic permission bit: priority queues.
pub const PERM_PRIORITY: i32 = 8;
/// The broker id of a master.
pub const MASTER_ID: i64 = 0;

/// One broker's share of a topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueData {
    pub broker_name: String,
    pub read_queue_nums: i32,
    pub write_queue_nums: i32,
    /// [`PERM_READ`] | [`PERM_WRITE`] | ...
    pub perm: i32,
    #[serde(default)]
    pub topic_sys_flag: i32,
}

impl QueueData {
    /// Whether consumers may read these queues.
    pub fn is_readable(&self) -> bool {
        self.perm & PERM_READ != 0
    }
    /// Whether producers may write these queues.
    pub fn is_writable(&self) -> bool {
        self.perm & PERM_WRITE != 0
    }
}

/// One broker group (a master and its slaves) and its addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BrokerData {
    #[serde(default)]
    pub cluster: String,
    pub broker_name: String,
    /// brokerId → "ip:port"; id 0 is the master.
    #[serde(default)]
    pub broker_addrs: BTreeMap<i64, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone_name: Option<String>,
    #[serde(default)]
    pub enable_acting_master: bool,
}

impl BrokerData {
    /// The master's address, if the group currently has one.
    pub fn master_addr(&self) -> Option<&str> {
        self.broker_addrs.get(&MASTER_ID).map(String::as_str)
    }

    /// The master's address, else the address with the lowest id. (Java picks a random
    /// slave when there is no master; the lowest id keeps this choice deterministic.)
    pub fn select_addr(&self) -> Option<&str> {
        self.master_addr()
            .or_else(|| self.broker_addrs.values().next().map(String::as_str))
    }
}

/// The route of one topic.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicRouteData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_topic_conf: Option<String>,
    #[serde(default)]
    pub queue_datas: Vec<QueueData>,
    #[serde(default)]
    pub broker_datas: Vec<BrokerData>,
    #[serde(default)]
    pub filter_server_table: HashMap<String, Vec<String>>,
    /// 5.x static topics only; kept opaque so a caller can warn that it is not supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_queue_mapping_by_broker: Option<serde_json::Value>,
}

impl TopicRouteData {
    /// Parses a route body in either form a name server writes: standard JSON, or
    /// fastjson's bare integer `brokerAddrs` keys (`{0:"10.0.0.1:10911"}`).
    pub fn decode(body: &[u8]) -> Result<Self, CodecError> {
        let text = quote_numeric_keys(body);
        serde_json::from_slice(&text).map_err(|e| CodecError::json("TopicRouteData", &e))
    }

    /// Standard JSON (quoted keys).
    pub fn encode(&self) -> Result<Vec<u8>, CodecError> {
        super::encode_json("TopicRouteData", self)
    }

    /// The broker group named `broker_name`.
    pub fn broker(&self, broker_name: &str) -> Option<&BrokerData> {
        self.broker_datas
            .iter()
            .find(|b| b.broker_name == broker_name)
    }

    /// The master address of `broker_name` in this route.
    pub fn master_addr(&self, broker_name: &str) -> Option<&str> {
        self.broker(broker_name).and_then(BrokerData::master_addr)
    }

    /// Every broker address in the route, masters and slaves.
    pub fn all_addrs(&self) -> impl Iterator<Item = &str> {
        self.broker_datas
            .iter()
            .flat_map(|b| b.broker_addrs.values().map(String::as_str))
    }

    /// The queues a consumer may pull from: `0..readQueueNums` of every readable
    /// QueueData. Like Java, this does not require a master address.
    pub fn consumer_queues(&self, topic: &str) -> Vec<MessageQueue> {
        let mut queues = Vec::new();
        for qd in self.queue_datas.iter().filter(|qd| qd.is_readable()) {
            for queue_id in 0..qd.read_queue_nums.max(0) {
                queues.push(MessageQueue::new(topic, qd.broker_name.clone(), queue_id));
            }
        }
        queues
    }

    /// The queues a producer may send to: `0..writeQueueNums` of every writable QueueData
    /// whose broker has a master, brokers in name order (as Java's `topicRouteData2TopicPublishInfo`).
    pub fn producer_queues(&self, topic: &str) -> Vec<MessageQueue> {
        let mut datas: Vec<&QueueData> = self
            .queue_datas
            .iter()
            .filter(|qd| qd.is_writable())
            .filter(|qd| self.master_addr(&qd.broker_name).is_some())
            .collect();
        datas.sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
        let mut queues = Vec::new();
        for qd in datas {
            for queue_id in 0..qd.write_queue_nums.max(0) {
                queues.push(MessageQueue::new(topic, qd.broker_name.clone(), queue_id));
            }
        }
        queues
    }
}
