//! The POP commands of 5.x brokers: a broker-side consumer that hands out messages and
//! hides each one until it is acknowledged or its invisible time runs out. 4.x brokers do not
//! know these codes (they answer REQUEST_CODE_NOT_SUPPORTED).
//!
//! The codes are above 32767, which the binary header cannot carry: send them with a JSON
//! header (this codec's default).

use super::wire_header;

wire_header! {
    /// POP_MESSAGE (200050). Response: [`PopMessageResponseHeader`] and, for SUCCESS, the
    /// messages in the body (the stored format, as a pull). No message: POLLING_TIMEOUT (210)
    /// or PULL_NOT_FOUND (19); too many polls held: POLLING_FULL (209).
    pub struct PopMessageRequestHeader {
        pub consumer_group: String => "consumerGroup",
        pub topic: String => "topic",
        /// A queue, or -1: every readable queue of the topic on that broker.
        pub queue_id: i32 => "queueId",
        /// At most this many messages; the broker refuses more than 32.
        pub max_msg_nums: i32 => "maxMsgNums",
        /// How long the messages stay hidden from other POPs, ms.
        pub invisible_time: i64 => "invisibleTime",
        /// How long the broker may hold the request when nothing is there, ms (0: answer now).
        pub poll_time: i64 => "pollTime",
        /// When the client sent the request, ms since the epoch; the broker drops requests
        /// whose `bornTime + pollTime` passed more than 500 ms ago.
        pub born_time: i64 => "bornTime",
        /// Where a group without a stored offset starts: 0 the first message, 1 the last.
        pub init_mode: i32 => "initMode",
        /// "TAG" or "SQL92".
        pub exp_type: Option<String> => "expType",
        pub exp: Option<String> => "exp",
        /// Ordered POP (per-queue locks); false here.
        pub order: Option<bool> => "order",
        pub attempt_id: Option<String> => "attemptId",
        /// 5.x RPC header: the target broker name.
        pub broker_name: Option<String> => "bname",
    }
}

wire_header! {
    /// The response header of POP_MESSAGE. The offset infos are `;`-separated entries
    /// `retryMark queueId value[,value...]` (see [`crate::pop_extra_info`]).
    pub struct PopMessageResponseHeader {
        pub pop_time: Option<i64> => "popTime",
        pub invisible_time: Option<i64> => "invisibleTime",
        pub revive_qid: Option<i32> => "reviveQid",
        /// Messages left in the queues after this POP.
        pub rest_num: Option<i64> => "restNum",
        /// Per queue: the checkpoint's start offset.
        pub start_offset_info: Option<String> => "startOffsetInfo",
        /// Per queue: the queue offsets of the messages returned.
        pub msg_offset_info: Option<String> => "msgOffsetInfo",
        pub order_count_info: Option<String> => "orderCountInfo",
    }
}

wire_header! {
    /// ACK_MESSAGE (200051): the message is consumed. SUCCESS, or an error code when the
    /// receipt no longer holds (invisible time over, already acknowledged).
    pub struct AckMessageRequestHeader {
        pub consumer_group: String => "consumerGroup",
        /// The topic the message was popped from: for a redelivery, the group's POP retry
        /// topic (see [`crate::pop_extra_info::ExtraInfo::real_topic`]).
        pub topic: String => "topic",
        pub queue_id: i32 => "queueId",
        /// The receipt handle (Java's `extraInfo`, the `POP_CK` of the message).
        pub extra_info: String => "extraInfo",
        /// The message's queue offset.
        pub offset: i64 => "offset",
        pub broker_name: Option<String> => "bname",
    }
}

wire_header! {
    /// CHANGE_MESSAGE_INVISIBLETIME (200053): hides the message again for `invisibleTime`
    /// from now. Response: [`ChangeInvisibleTimeResponseHeader`]; the old receipt no longer
    /// holds, a new one is built from the answer.
    pub struct ChangeInvisibleTimeRequestHeader {
        pub consumer_group: String => "consumerGroup",
        pub topic: String => "topic",
        pub queue_id: i32 => "queueId",
        pub extra_info: String => "extraInfo",
        pub offset: i64 => "offset",
        /// Ms from now.
        pub invisible_time: i64 => "invisibleTime",
        pub broker_name: Option<String> => "bname",
    }
}

wire_header! {
    /// The response header of CHANGE_MESSAGE_INVISIBLETIME: the new checkpoint.
    pub struct ChangeInvisibleTimeResponseHeader {
        pub pop_time: i64 => "popTime",
        pub invisible_time: i64 => "invisibleTime",
        pub revive_qid: i32 => "reviveQid",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::{DecodeHeader, EncodeHeader};

    #[test]
    fn pop_request_uses_the_java_field_names_and_leaves_out_unset_options() {
        let header = PopMessageRequestHeader {
            consumer_group: "g".into(),
            topic: "t".into(),
            queue_id: -1,
            max_msg_nums: 32,
            invisible_time: 15000,
            poll_time: 0,
            born_time: 1,
            init_mode: 1,
            exp_type: Some("TAG".into()),
            exp: Some("*".into()),
            ..Default::default()
        };
        let fields = header.to_ext_fields();
        assert_eq!(fields.get("queueId").map(String::as_str), Some("-1"));
        assert_eq!(
            fields.get("invisibleTime").map(String::as_str),
            Some("15000")
        );
        assert_eq!(fields.get("expType").map(String::as_str), Some("TAG"));
        assert!(!fields.contains_key("order"));
        assert!(!fields.contains_key("bname"));
        assert_eq!(
            PopMessageRequestHeader::from_ext_fields(&fields).unwrap(),
            header
        );
    }

    #[test]
    fn change_invisible_time_response_needs_its_checkpoint_fields() {
        let mut fields = crate::ExtFields::new();
        fields.insert("popTime".into(), "5".into());
        fields.insert("invisibleTime".into(), "6".into());
        assert!(ChangeInvisibleTimeResponseHeader::from_ext_fields(&fields).is_err());
        fields.insert("reviveQid".into(), "7".into());
        let header = ChangeInvisibleTimeResponseHeader::from_ext_fields(&fields).unwrap();
        assert_eq!(
            (header.pop_time, header.invisible_time, header.revive_qid),
            (5, 6, 7)
        );
    }
}
