//! SEND_MESSAGE (10), SEND_MESSAGE_V2 (310), SEND_BATCH_MESSAGE (320) and
//! CONSUMER_SEND_MSG_BACK (36).

use super::wire_header;

wire_header! {
    /// SEND_MESSAGE request header, long keys.
    pub struct SendMessageRequestHeader {
        pub producer_group: String => "producerGroup",
        pub topic: String => "topic",
        /// "TBW102".
        pub default_topic: String => "defaultTopic",
        pub default_topic_queue_nums: i32 => "defaultTopicQueueNums",
        pub queue_id: i32 => "queueId",
        /// MessageSysFlag bits (see [`crate::message::sysflag`]).
        pub sys_flag: i32 => "sysFlag",
        pub born_timestamp: i64 => "bornTimestamp",
        /// The user flag.
        pub flag: i32 => "flag",
        /// Encoded properties (see [`crate::message::properties`]).
        pub properties: Option<String> => "properties",
        pub reconsume_times: Option<i32> => "reconsumeTimes",
        pub unit_mode: Option<bool> => "unitMode",
        pub batch: Option<bool> => "batch",
        pub max_reconsume_times: Option<i32> => "maxReconsumeTimes",
        pub broker_name: Option<String> => "bname",
    }
}

wire_header! {
    /// SEND_MESSAGE_V2 / SEND_BATCH_MESSAGE request header: the same data as
    /// [`SendMessageRequestHeader`] under one-letter keys.
    pub struct SendMessageRequestHeaderV2 {
        pub a: String => "a",
        pub b: String => "b",
        pub c: String => "c",
        pub d: i32 => "d",
        pub e: i32 => "e",
        pub f: i32 => "f",
        pub g: i64 => "g",
        pub h: i32 => "h",
        pub i: Option<String> => "i",
        pub j: Option<i32> => "j",
        pub k: Option<bool> => "k",
        pub l: Option<i32> => "l",
        pub m: Option<bool> => "m",
        pub n: Option<String> => "n",
    }
}

impl From<SendMessageRequestHeader> for SendMessageRequestHeaderV2 {
    fn from(h: SendMessageRequestHeader) -> Self {
        Self {
            a: h.producer_group,
            b: h.topic,
            c: h.default_topic,
            d: h.default_topic_queue_nums,
            e: h.queue_id,
            f: h.sys_flag,
            g: h.born_timestamp,
            h: h.flag,
            i: h.properties,
            j: h.reconsume_times,
            k: h.unit_mode,
            l: h.max_reconsume_times,
            m: h.batch,
            n: h.broker_name,
        }
    }
}

impl From<SendMessageRequestHeaderV2> for SendMessageRequestHeader {
    fn from(v: SendMessageRequestHeaderV2) -> Self {
        Self {
            producer_group: v.a,
            topic: v.b,
            default_topic: v.c,
            default_topic_queue_nums: v.d,
            queue_id: v.e,
            sys_flag: v.f,
            born_timestamp: v.g,
            flag: v.h,
            properties: v.i,
            reconsume_times: v.j,
            unit_mode: v.k,
            batch: v.m,
            max_reconsume_times: v.l,
            broker_name: v.n,
        }
    }
}

wire_header! {
    /// Response header of the three send commands.
    pub struct SendMessageResponseHeader {
        /// The offsetMsgId (store host + commit-log offset), not the UNIQ_KEY.
        pub msg_id: String => "msgId",
        pub queue_id: i32 => "queueId",
        pub queue_offset: i64 => "queueOffset",
        pub transaction_id: Option<String> => "transactionId",
        /// 5.x only.
        pub batch_uniq_id: Option<String> => "batchUniqId",
        /// 5.x only.
        pub recall_handle: Option<String> => "recallHandle",
    }
}

wire_header! {
    /// CONSUMER_SEND_MSG_BACK request header.
    pub struct ConsumerSendMsgBackRequestHeader {
        /// The message's commit-log (physical) offset.
        pub offset: i64 => "offset",
        pub group: String => "group",
        /// 0 = broker chooses (3 + reconsumeTimes), -1 = straight to the DLQ.
        pub delay_level: i32 => "delayLevel",
        pub origin_msg_id: Option<String> => "originMsgId",
        pub origin_topic: Option<String> => "originTopic",
        pub unit_mode: Option<bool> => "unitMode",
        pub max_reconsume_times: Option<i32> => "maxReconsumeTimes",
        pub broker_name: Option<String> => "bname",
    }
}
