//! PULL_MESSAGE (11) and LITE_PULL_MESSAGE (361).

use super::wire_header;

wire_header! {
    /// PULL_MESSAGE request header.
    pub struct PullMessageRequestHeader {
        pub consumer_group: String => "consumerGroup",
        pub topic: String => "topic",
        pub queue_id: i32 => "queueId",
        pub queue_offset: i64 => "queueOffset",
        pub max_msg_nums: i32 => "maxMsgNums",
        /// [`PullSysFlag`] bits.
        pub sys_flag: i32 => "sysFlag",
        pub commit_offset: i64 => "commitOffset",
        pub suspend_timeout_millis: i64 => "suspendTimeoutMillis",
        /// Only with [`PullSysFlag::SUBSCRIPTION`].
        pub subscription: Option<String> => "subscription",
        pub sub_version: i64 => "subVersion",
        /// "TAG" or "SQL92".
        pub expression_type: Option<String> => "expressionType",
        /// 5.x only.
        pub max_msg_bytes: Option<i32> => "maxMsgBytes",
        pub broker_name: Option<String> => "bname",
    }
}

wire_header! {
    /// PULL_MESSAGE response header (present on every pull response code).
    pub struct PullMessageResponseHeader {
        pub suggest_which_broker_id: i64 => "suggestWhichBrokerId",
        pub next_begin_offset: i64 => "nextBeginOffset",
        pub min_offset: i64 => "minOffset",
        pub max_offset: i64 => "maxOffset",
        /// 5.x static topics: add to each message's queue offset.
        pub offset_delta: Option<i64> => "offsetDelta",
        pub topic_sys_flag: Option<i32> => "topicSysFlag",
        pub group_sys_flag: Option<i32> => "groupSysFlag",
        pub forbidden_type: Option<i32> => "forbiddenType",
    }
}

/// Bits of [`PullMessageRequestHeader::sys_flag`].
pub struct PullSysFlag;

impl PullSysFlag {
    /// The broker should store `commitOffset`.
    pub const COMMIT_OFFSET: i32 = 0x1;
    /// Long polling allowed.
    pub const SUSPEND: i32 = 0x2;
    /// The header carries `subscription`/`expressionType`.
    pub const SUBSCRIPTION: i32 = 0x4;
    /// Obsolete filter-server mode; never set.
    pub const CLASS_FILTER: i32 = 0x8;
    /// Lite pull (code 361).
    pub const LITE_PULL: i32 = 0x10;

    /// The flag word the Java push consumer sends.
    pub fn build(commit_offset: bool, suspend: bool, subscription: bool) -> i32 {
        let mut flag = 0;
        if commit_offset {
            flag |= Self::COMMIT_OFFSET;
        }
        if suspend {
            flag |= Self::SUSPEND;
        }
        if subscription {
            flag |= Self::SUBSCRIPTION;
        }
        flag
    }
}
