//! Admin requests used by tests and tools.

use super::wire_header;

wire_header! {
    /// UPDATE_AND_CREATE_TOPIC (17), sent to each master broker.
    pub struct CreateTopicRequestHeader {
        pub topic: String => "topic",
        /// The Java client sends "TBW102".
        pub default_topic: String => "defaultTopic",
        pub read_queue_nums: i32 => "readQueueNums",
        pub write_queue_nums: i32 => "writeQueueNums",
        /// Permission bits: READ 4 | WRITE 2 (usually 6).
        pub perm: i32 => "perm",
        /// "SINGLE_TAG" or "MULTI_TAG"; the broker rejects anything else.
        pub topic_filter_type: String => "topicFilterType",
        pub topic_sys_flag: Option<i32> => "topicSysFlag",
        pub order: bool => "order",
        /// 5.x topic attributes, e.g. "+message.type=FIFO".
        pub attributes: Option<String> => "attributes",
        pub force: Option<bool> => "force",
    }
}

wire_header! {
    /// VIEW_MESSAGE_BY_ID (33), sent to the broker that stored the message (the store host
    /// inside its offsetMsgId). The answer's body is the stored message.
    pub struct ViewMessageRequestHeader {
        /// The message's commit-log offset.
        pub offset: i64 => "offset",
        /// 5.x only.
        pub topic: Option<String> => "topic",
    }
}

impl CreateTopicRequestHeader {
    /// The header the Java admin sends for a normal read/write topic with `queues` queues.
    pub fn normal(topic: impl Into<String>, queues: i32) -> Self {
        Self {
            topic: topic.into(),
            default_topic: "TBW102".to_owned(),
            read_queue_nums: queues,
            write_queue_nums: queues,
            perm: crate::body::route::PERM_READ | crate::body::route::PERM_WRITE,
            topic_filter_type: "SINGLE_TAG".to_owned(),
            topic_sys_flag: Some(0),
            order: false,
            attributes: None,
            force: None,
        }
    }
}

wire_header! {
    /// GET_PRODUCER_CONNECTION_LIST (204), sent to a broker. The answer's body is a
    /// [`crate::body::ProducerConnection`]; a group the broker does not know is answered
    /// SYSTEM_ERROR.
    pub struct GetProducerConnectionListRequestHeader {
        pub producer_group: String => "producerGroup",
    }
}
