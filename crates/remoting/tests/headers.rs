//! Header round trips and exact wire keys.
//!
//! Expected key names are the Java field names of the header classes in
//! `remoting/.../protocol/header/` (RocketMQ 5.3.x), which is what the broker reads.

use std::collections::HashMap;

use rocketmq_remoting::header::*;
use rocketmq_remoting::{CodecError, ExtFields};

fn fields(pairs: &[(&str, &str)]) -> ExtFields {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect::<HashMap<_, _>>()
}

fn round_trip<H: EncodeHeader + DecodeHeader + PartialEq + std::fmt::Debug>(
    header: H,
) -> ExtFields {
    let encoded = header.to_ext_fields();
    let decoded = H::from_ext_fields(&encoded).unwrap();
    assert_eq!(decoded, header);
    encoded
}

#[test]
fn pull_request_exact_keys() {
    let header = PullMessageRequestHeader {
        consumer_group: "g".into(),
        topic: "T".into(),
        queue_id: 3,
        queue_offset: 100,
        max_msg_nums: 32,
        sys_flag: PullSysFlag::build(true, true, false),
        commit_offset: 99,
        suspend_timeout_millis: 15000,
        subscription: None,
        sub_version: 1_700_000_000_000,
        expression_type: Some("TAG".into()),
        max_msg_bytes: None,
        broker_name: Some("broker-a".into()),
    };
    assert_eq!(
        round_trip(header),
        fields(&[
            ("consumerGroup", "g"),
            ("topic", "T"),
            ("queueId", "3"),
            ("queueOffset", "100"),
            ("maxMsgNums", "32"),
            ("sysFlag", "3"),
            ("commitOffset", "99"),
            ("suspendTimeoutMillis", "15000"),
            ("subVersion", "1700000000000"),
            ("expressionType", "TAG"),
            ("bname", "broker-a"),
        ])
    );
}

#[test]
fn pull_response_decodes_4_9_and_5_x_forms() {
    let v49 = fields(&[
        ("suggestWhichBrokerId", "0"),
        ("nextBeginOffset", "132"),
        ("minOffset", "0"),
        ("maxOffset", "132"),
    ]);
    let h = PullMessageResponseHeader::from_ext_fields(&v49).unwrap();
    assert_eq!(h.next_begin_offset, 132);
    assert_eq!(h.offset_delta, None);

    let mut v5 = v49.clone();
    v5.insert("offsetDelta".into(), "-4".into());
    v5.insert("topicSysFlag".into(), "0".into());
    v5.insert("groupSysFlag".into(), "0".into());
    let h = PullMessageResponseHeader::from_ext_fields(&v5).unwrap();
    assert_eq!(h.offset_delta, Some(-4));
    round_trip(h);

    let mut missing = v49.clone();
    missing.remove("nextBeginOffset");
    assert_eq!(
        PullMessageResponseHeader::from_ext_fields(&missing),
        Err(CodecError::MissingField {
            name: "nextBeginOffset".into()
        })
    );
    let mut bad = v49;
    bad.insert("maxOffset".into(), "12a".into());
    assert_eq!(
        PullMessageResponseHeader::from_ext_fields(&bad),
        Err(CodecError::InvalidField {
            name: "maxOffset".into(),
            value: "12a".into()
        })
    );
}

#[test]
fn send_v2_uses_one_letter_keys() {
    let long = SendMessageRequestHeader {
        producer_group: "pg".into(),
        topic: "T".into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id: 1,
        sys_flag: 0,
        born_timestamp: 123,
        flag: 0,
        properties: Some("WAIT\u{1}true\u{2}".into()),
        reconsume_times: Some(0),
        unit_mode: Some(false),
        batch: Some(false),
        max_reconsume_times: None,
        broker_name: None,
    };
    let long_fields = round_trip(long.clone());
    assert_eq!(
        long_fields.get("producerGroup").map(String::as_str),
        Some("pg")
    );
    assert_eq!(
        long_fields.get("defaultTopicQueueNums").map(String::as_str),
        Some("4")
    );
    let v2 = SendMessageRequestHeaderV2::from(long.clone());
    assert_eq!(
        round_trip(v2.clone()),
        fields(&[
            ("a", "pg"),
            ("b", "T"),
            ("c", "TBW102"),
            ("d", "4"),
            ("e", "1"),
            ("f", "0"),
            ("g", "123"),
            ("h", "0"),
            ("i", "WAIT\u{1}true\u{2}"),
            ("j", "0"),
            ("k", "false"),
            ("m", "false"),
        ])
    );
    assert_eq!(SendMessageRequestHeader::from(v2), long);
}

#[test]
fn send_response() {
    let f = fields(&[
        ("msgId", "7F00000100002A9F0000000000000000"),
        ("queueId", "2"),
        ("queueOffset", "17"),
        ("MSG_REGION", "DefaultRegion"),
        ("TRACE_ON", "true"),
    ]);
    let h = SendMessageResponseHeader::from_ext_fields(&f).unwrap();
    assert_eq!(h.queue_id, 2);
    assert_eq!(h.queue_offset, 17);
    assert_eq!(h.transaction_id, None);
    round_trip(h);
}

#[test]
fn every_header_round_trips() {
    round_trip(GetRouteInfoRequestHeader {
        topic: "T".into(),
        accept_standard_json_only: Some(true),
    });
    round_trip(UnregisterClientRequestHeader {
        client_id: "c".into(),
        producer_group: None,
        consumer_group: Some("g".into()),
    });
    round_trip(GetConsumerListByGroupRequestHeader {
        consumer_group: "g".into(),
    });
    round_trip(NotifyConsumerIdsChangedRequestHeader {
        consumer_group: "g".into(),
    });
    round_trip(ResetOffsetRequestHeader {
        group: "g".into(),
        topic: "T".into(),
        timestamp: -1,
        is_force: true,
        queue_id: Some(-1),
        offset: None,
    });
    round_trip(GetConsumerRunningInfoRequestHeader {
        consumer_group: "g".into(),
        client_id: "c".into(),
        jstack_enable: Some(false),
    });
    round_trip(ConsumeMessageDirectlyResultRequestHeader {
        consumer_group: "g".into(),
        client_id: Some("c".into()),
        msg_id: Some("ID".into()),
        broker_name: Some("b".into()),
        topic: None,
        topic_sys_flag: None,
        group_sys_flag: Some(0),
    });
    round_trip(QueryConsumerOffsetRequestHeader {
        consumer_group: "g".into(),
        topic: "T".into(),
        queue_id: 0,
        set_zero_if_not_found: Some(false),
        broker_name: None,
    });
    round_trip(UpdateConsumerOffsetRequestHeader {
        consumer_group: "g".into(),
        topic: "T".into(),
        queue_id: 7,
        commit_offset: i64::MAX,
        broker_name: Some("b".into()),
    });
    round_trip(GetMaxOffsetRequestHeader {
        topic: "T".into(),
        queue_id: 1,
        committed: Some(true),
        broker_name: None,
    });
    round_trip(GetMinOffsetRequestHeader {
        topic: "T".into(),
        queue_id: 1,
        broker_name: None,
    });
    round_trip(SearchOffsetRequestHeader {
        topic: "T".into(),
        queue_id: 1,
        timestamp: 1_700_000_000_000,
        boundary_type: Some("LOWER".into()),
        broker_name: None,
    });
    round_trip(OffsetResponseHeader { offset: -1 });
    round_trip(ConsumerSendMsgBackRequestHeader {
        offset: 123_456,
        group: "g".into(),
        delay_level: 0,
        origin_msg_id: Some("ID".into()),
        origin_topic: Some("T".into()),
        unit_mode: Some(false),
        max_reconsume_times: Some(16),
        broker_name: None,
    });
    let create = round_trip(CreateTopicRequestHeader::normal("T", 8));
    assert_eq!(
        create,
        fields(&[
            ("topic", "T"),
            ("defaultTopic", "TBW102"),
            ("readQueueNums", "8"),
            ("writeQueueNums", "8"),
            ("perm", "6"),
            ("topicFilterType", "SINGLE_TAG"),
            ("topicSysFlag", "0"),
            ("order", "false"),
        ])
    );
}

#[test]
fn java_key_spellings() {
    let f = UnregisterClientRequestHeader {
        client_id: "c".into(),
        producer_group: None,
        consumer_group: None,
    }
    .to_ext_fields();
    assert!(f.contains_key("clientID"), "capital ID as in Java");
    let f = ResetOffsetRequestHeader {
        is_force: false,
        ..Default::default()
    }
    .to_ext_fields();
    assert_eq!(f.get("isForce").map(String::as_str), Some("false"));
}

#[test]
fn booleans_parse_like_java() {
    let h = GetRouteInfoRequestHeader::from_ext_fields(&fields(&[
        ("topic", "T"),
        ("acceptStandardJsonOnly", "TRUE"),
    ]))
    .unwrap();
    assert_eq!(h.accept_standard_json_only, Some(true));
    let h = GetRouteInfoRequestHeader::from_ext_fields(&fields(&[
        ("topic", "T"),
        ("acceptStandardJsonOnly", "yes"),
    ]))
    .unwrap();
    assert_eq!(h.accept_standard_json_only, Some(false));
}

#[test]
fn numbers_reject_what_java_rejects() {
    for bad in ["", " 1", "1 ", "0x10", "1.0", "2147483648"] {
        let err =
            OffsetResponseHeader::from_ext_fields(&fields(&[("offset", "1")])).and_then(|_| {
                UpdateConsumerOffsetRequestHeader::from_ext_fields(&fields(&[
                    ("consumerGroup", "g"),
                    ("topic", "T"),
                    ("queueId", bad),
                    ("commitOffset", "1"),
                ]))
            });
        assert!(
            matches!(err, Err(CodecError::InvalidField { ref name, .. }) if name == "queueId"),
            "{bad:?}: {err:?}"
        );
    }
    // Java's parseInt accepts a leading '+', and so does this decoder.
    let ok = OffsetResponseHeader::from_ext_fields(&fields(&[("offset", "+5")])).unwrap();
    assert_eq!(ok.offset, 5);
}
