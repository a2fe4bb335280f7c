//! Client registration and the requests a broker sends to a client.

use super::wire_header;

wire_header! {
    /// UNREGISTER_CLIENT (35).
    pub struct UnregisterClientRequestHeader {
        /// Note the capital `ID` in the wire key.
        pub client_id: String => "clientID",
        pub producer_group: Option<String> => "producerGroup",
        pub consumer_group: Option<String> => "consumerGroup",
    }
}

wire_header! {
    /// GET_CONSUMER_LIST_BY_GROUP (38). Response body: [`crate::body::ConsumerListBody`].
    pub struct GetConsumerListByGroupRequestHeader {
        pub consumer_group: String => "consumerGroup",
    }
}

wire_header! {
    /// NOTIFY_CONSUMER_IDS_CHANGED (40), oneway from the broker.
    pub struct NotifyConsumerIdsChangedRequestHeader {
        pub consumer_group: String => "consumerGroup",
    }
}

wire_header! {
    /// RESET_CONSUMER_CLIENT_OFFSET (220), oneway from a 4.9 broker. Body:
    /// [`crate::body::ResetOffsetBody`].
    pub struct ResetOffsetRequestHeader {
        pub group: String => "group",
        pub topic: String => "topic",
        pub timestamp: i64 => "timestamp",
        /// The Java field is literally named `isForce`.
        pub is_force: bool => "isForce",
        /// 5.x only; Java's default is -1 (all queues).
        pub queue_id: Option<i32> => "queueId",
        /// 5.x only.
        pub offset: Option<i64> => "offset",
    }
}

wire_header! {
    /// GET_CONSUMER_RUNNING_INFO (307), from the broker on behalf of an admin tool.
    pub struct GetConsumerRunningInfoRequestHeader {
        pub consumer_group: String => "consumerGroup",
        pub client_id: String => "clientId",
        pub jstack_enable: Option<bool> => "jstackEnable",
    }
}

wire_header! {
    /// CONSUME_MESSAGE_DIRECTLY (309). Body: one stored message. Reply body:
    /// [`crate::body::ConsumeMessageDirectlyResult`].
    pub struct ConsumeMessageDirectlyResultRequestHeader {
        pub consumer_group: String => "consumerGroup",
        pub client_id: Option<String> => "clientId",
        pub msg_id: Option<String> => "msgId",
        pub broker_name: Option<String> => "brokerName",
        /// 5.x only.
        pub topic: Option<String> => "topic",
        pub topic_sys_flag: Option<i32> => "topicSysFlag",
        pub group_sys_flag: Option<i32> => "groupSysFlag",
    }
}
