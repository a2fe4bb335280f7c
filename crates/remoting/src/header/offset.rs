//! Consumer offset commands and the queue offset queries.

use super::wire_header;

wire_header! {
    /// QUERY_CONSUMER_OFFSET (14). Response: [`OffsetResponseHeader`], or code 22 when the
    /// broker has no stored offset.
    pub struct QueryConsumerOffsetRequestHeader {
        pub consumer_group: String => "consumerGroup",
        pub topic: String => "topic",
        pub queue_id: i32 => "queueId",
        /// 5.x only: `false` disables the "answer 0 while message 0 is in memory" shortcut.
        pub set_zero_if_not_found: Option<bool> => "setZeroIfNotFound",
        /// 5.x RPC header: the target broker name.
        pub broker_name: Option<String> => "bname",
    }
}

wire_header! {
    /// UPDATE_CONSUMER_OFFSET (15), usually oneway.
    pub struct UpdateConsumerOffsetRequestHeader {
        pub consumer_group: String => "consumerGroup",
        pub topic: String => "topic",
        pub queue_id: i32 => "queueId",
        /// The next offset to consume.
        pub commit_offset: i64 => "commitOffset",
        pub broker_name: Option<String> => "bname",
    }
}

wire_header! {
    /// GET_MAX_OFFSET (30). Response: [`OffsetResponseHeader`].
    pub struct GetMaxOffsetRequestHeader {
        pub topic: String => "topic",
        pub queue_id: i32 => "queueId",
        /// 5.x only; the broker's default is true.
        pub committed: Option<bool> => "committed",
        pub broker_name: Option<String> => "bname",
    }
}

wire_header! {
    /// GET_MIN_OFFSET (31). Response: [`OffsetResponseHeader`].
    pub struct GetMinOffsetRequestHeader {
        pub topic: String => "topic",
        pub queue_id: i32 => "queueId",
        pub broker_name: Option<String> => "bname",
    }
}

wire_header! {
    /// SEARCH_OFFSET_BY_TIMESTAMP (29). Response: [`OffsetResponseHeader`].
    pub struct SearchOffsetRequestHeader {
        pub topic: String => "topic",
        pub queue_id: i32 => "queueId",
        /// Milliseconds since the epoch.
        pub timestamp: i64 => "timestamp",
        /// 5.x only: "LOWER" (default) or "UPPER".
        pub boundary_type: Option<String> => "boundaryType",
        pub broker_name: Option<String> => "bname",
    }
}

wire_header! {
    /// The response header of QUERY_CONSUMER_OFFSET, GET_MAX_OFFSET, GET_MIN_OFFSET and
    /// SEARCH_OFFSET_BY_TIMESTAMP: all four carry only `offset`.
    pub struct OffsetResponseHeader {
        pub offset: i64 => "offset",
    }
}
