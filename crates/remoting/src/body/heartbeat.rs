//! HEART_BEAT (34) body and the subscription data it carries.

use serde::{Deserialize, Serialize};

use crate::message::tag_hash;

/// How a consumer gets messages. Wire value: the Java enum name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConsumeType {
    /// Pull consumer.
    ConsumeActively,
    /// Push consumer.
    ConsumePassively,
    /// 5.x POP; never sent by this client.
    ConsumePop,
}

/// Clustering (queues shared by the group) or broadcasting (every member gets all).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MessageModel {
    Broadcasting,
    Clustering,
}

/// Where a group with no stored offset starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConsumeFromWhere {
    ConsumeFromLastOffset,
    /// Deprecated in Java; behaves as [`ConsumeFromWhere::ConsumeFromLastOffset`].
    ConsumeFromLastOffsetAndFromMinWhenBootFirst,
    /// Deprecated in Java; behaves as [`ConsumeFromWhere::ConsumeFromLastOffset`].
    ConsumeFromMinOffset,
    /// Deprecated in Java; behaves as [`ConsumeFromWhere::ConsumeFromLastOffset`].
    ConsumeFromMaxOffset,
    ConsumeFromFirstOffset,
    ConsumeFromTimestamp,
}

/// Expression type "TAG".
pub const EXPRESSION_TYPE_TAG: &str = "TAG";
/// Expression type "SQL92".
pub const EXPRESSION_TYPE_SQL92: &str = "SQL92";
/// The "all messages" subscription expression.
pub const SUB_ALL: &str = "*";

/// One topic subscription of a consumer group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionData {
    #[serde(default)]
    pub class_filter_mode: bool,
    pub topic: String,
    pub sub_string: String,
    /// Tags of a TAG expression (empty for `*` and SQL92).
    #[serde(default)]
    pub tags_set: Vec<String>,
    /// Java `String.hashCode` of each tag, the codes the broker filters on.
    #[serde(default)]
    pub code_set: Vec<i32>,
    /// Milliseconds; a newer heartbeat subscription wins on the broker.
    #[serde(default)]
    pub sub_version: i64,
    #[serde(default = "default_expression_type")]
    pub expression_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_class_source: Option<String>,
}

fn default_expression_type() -> String {
    EXPRESSION_TYPE_TAG.to_owned()
}

impl SubscriptionData {
    /// A TAG subscription built like Java's `FilterAPI.buildSubscriptionData`: an empty or
    /// `*` expression means all; otherwise split on `||`, trim, drop empty parts, keep each
    /// distinct tag once with its hash code.
    pub fn tag(topic: impl Into<String>, expression: &str, sub_version: i64) -> Self {
        let trimmed = expression.trim();
        let mut data = Self {
            class_filter_mode: false,
            topic: topic.into(),
            sub_string: expression.to_owned(),
            tags_set: Vec::new(),
            code_set: Vec::new(),
            sub_version,
            expression_type: default_expression_type(),
            filter_class_source: None,
        };
        if trimmed.is_empty() || trimmed == SUB_ALL {
            data.sub_string = SUB_ALL.to_owned();
            return data;
        }
        for tag in expression
            .split("||")
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            if !data.tags_set.iter().any(|t| t == tag) {
                data.tags_set.push(tag.to_owned());
            }
            let code = tag_hash(tag);
            if !data.code_set.contains(&code) {
                data.code_set.push(code);
            }
        }
        data
    }

    /// A SQL92 subscription: the broker evaluates `expression` against properties.
    pub fn sql92(topic: impl Into<String>, expression: &str, sub_version: i64) -> Self {
        Self {
            class_filter_mode: false,
            topic: topic.into(),
            sub_string: expression.to_owned(),
            tags_set: Vec::new(),
            code_set: Vec::new(),
            sub_version,
            expression_type: EXPRESSION_TYPE_SQL92.to_owned(),
            filter_class_source: None,
        }
    }

    /// Whether a message with tag `tag` passes the client-side re-check (Java keeps a
    /// message when `tagsSet` is empty or contains its exact tag).
    pub fn matches_tag(&self, tag: Option<&str>) -> bool {
        if self.tags_set.is_empty() || self.expression_type != EXPRESSION_TYPE_TAG {
            return true;
        }
        tag.is_some_and(|t| self.tags_set.iter().any(|s| s == t))
    }
}

/// A consumer group as the heartbeat describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerData {
    pub group_name: String,
    pub consume_type: ConsumeType,
    pub message_model: MessageModel,
    pub consume_from_where: ConsumeFromWhere,
    #[serde(default)]
    pub subscription_data_set: Vec<SubscriptionData>,
    #[serde(default)]
    pub unit_mode: bool,
}

/// A producer group as the heartbeat describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProducerData {
    pub group_name: String,
}

/// HEART_BEAT body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeartbeatData {
    /// Note the capital `ID` in the wire key.
    #[serde(rename = "clientID")]
    pub client_id: String,
    #[serde(default)]
    pub producer_data_set: Vec<ProducerData>,
    #[serde(default)]
    pub consumer_data_set: Vec<ConsumerData>,
    /// 5.x heartbeat V2 switch; must stay 0/absent unless V2 is implemented.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_fingerprint: Option<i32>,
    /// 5.x only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub without_sub: Option<bool>,
}

impl HeartbeatData {
    /// JSON body.
    pub fn encode(&self) -> Result<Vec<u8>, crate::error::CodecError> {
        super::encode_json("HeartbeatData", self)
    }
    /// Parses a JSON body.
    pub fn decode(body: &[u8]) -> Result<Self, crate::error::CodecError> {
        super::decode_json("HeartbeatData", body)
    }
}
