//! Every header's `from_ext_fields` on arbitrary maps built from the known keys. A header
//! that decodes must survive encode → decode unchanged.
//!
//! Input: pieces separated by 0xFF; the first byte of a piece picks a key, the rest is the
//! value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rocketmq_remoting::header::*;
use rocketmq_remoting::ExtFields;

const KEYS: &[&str] = &[
    "topic",
    "acceptStandardJsonOnly",
    "clientID",
    "producerGroup",
    "consumerGroup",
    "group",
    "timestamp",
    "isForce",
    "queueId",
    "offset",
    "clientId",
    "jstackEnable",
    "msgId",
    "brokerName",
    "topicSysFlag",
    "groupSysFlag",
    "setZeroIfNotFound",
    "bname",
    "commitOffset",
    "committed",
    "boundaryType",
    "queueOffset",
    "maxMsgNums",
    "sysFlag",
    "suspendTimeoutMillis",
    "subscription",
    "subVersion",
    "expressionType",
    "maxMsgBytes",
    "suggestWhichBrokerId",
    "nextBeginOffset",
    "minOffset",
    "maxOffset",
    "offsetDelta",
    "forbiddenType",
    "defaultTopic",
    "defaultTopicQueueNums",
    "bornTimestamp",
    "flag",
    "properties",
    "reconsumeTimes",
    "unitMode",
    "batch",
    "maxReconsumeTimes",
    "transactionId",
    "batchUniqId",
    "recallHandle",
    "delayLevel",
    "originMsgId",
    "originTopic",
    "readQueueNums",
    "writeQueueNums",
    "perm",
    "topicFilterType",
    "order",
    "attributes",
    "force",
    "a",
    "b",
    "c",
    "d",
    "e",
    "f",
    "g",
    "h",
    "i",
    "j",
    "k",
    "l",
    "m",
    "n",
];

fn check<H: EncodeHeader + DecodeHeader + PartialEq + std::fmt::Debug>(fields: &ExtFields) {
    if let Ok(header) = H::from_ext_fields(fields) {
        let again = H::from_ext_fields(&header.to_ext_fields()).expect("re-decode");
        assert_eq!(again, header);
    }
}

fuzz_target!(|data: &[u8]| {
    let mut fields = ExtFields::new();
    for piece in data.split(|&b| b == 0xFF) {
        if let Some((&selector, value)) = piece.split_first() {
            let key = KEYS[usize::from(selector) % KEYS.len()];
            fields.insert(key.to_owned(), String::from_utf8_lossy(value).into_owned());
        }
    }
    check::<GetRouteInfoRequestHeader>(&fields);
    check::<UnregisterClientRequestHeader>(&fields);
    check::<GetConsumerListByGroupRequestHeader>(&fields);
    check::<NotifyConsumerIdsChangedRequestHeader>(&fields);
    check::<ResetOffsetRequestHeader>(&fields);
    check::<GetConsumerRunningInfoRequestHeader>(&fields);
    check::<ConsumeMessageDirectlyResultRequestHeader>(&fields);
    check::<QueryConsumerOffsetRequestHeader>(&fields);
    check::<UpdateConsumerOffsetRequestHeader>(&fields);
    check::<GetMaxOffsetRequestHeader>(&fields);
    check::<GetMinOffsetRequestHeader>(&fields);
    check::<SearchOffsetRequestHeader>(&fields);
    check::<OffsetResponseHeader>(&fields);
    check::<PullMessageRequestHeader>(&fields);
    check::<PullMessageResponseHeader>(&fields);
    check::<SendMessageRequestHeader>(&fields);
    check::<SendMessageRequestHeaderV2>(&fields);
    check::<SendMessageResponseHeader>(&fields);
    check::<ConsumerSendMsgBackRequestHeader>(&fields);
    check::<CreateTopicRequestHeader>(&fields);
});
