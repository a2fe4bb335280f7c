//! JSON bodies: route (both brokerAddrs forms), heartbeat, lock, consumer list,
//! consume-directly result, reset offset (object-keyed map).
//!
//! The fastjson texts below are written by hand in the shape fastjson 1.2.83 produces for
//! the Java classes (keys in alphabetical order, Long map keys unquoted for clients whose
//! version is below V4_9_4, object map keys for `Map<MessageQueue, Long>`).

use rocketmq_remoting::body::*;
use rocketmq_remoting::CodecError;

const ROUTE_FASTJSON: &str = r#"{"brokerDatas":[{"brokerAddrs":{0:"127.0.0.1:10911",1:"127.0.0.1:10912"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false},{"brokerAddrs":{0:"127.0.0.1:10921"},"brokerName":"broker-b","cluster":"DefaultCluster","enableActingMaster":false},{"brokerAddrs":{1:"127.0.0.1:10932"},"brokerName":"broker-c","cluster":"DefaultCluster","enableActingMaster":false}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-b","perm":6,"readQueueNums":2,"topicSysFlag":0,"writeQueueNums":2},{"brokerName":"broker-a","perm":6,"readQueueNums":3,"topicSysFlag":0,"writeQueueNums":1},{"brokerName":"broker-c","perm":6,"readQueueNums":1,"topicSysFlag":0,"writeQueueNums":1},{"brokerName":"broker-d","perm":2,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}"#;

#[test]
fn route_fastjson_and_standard_forms_agree() {
    let standard = ROUTE_FASTJSON
        .replace("{0:", "{\"0\":")
        .replace(",1:", ",\"1\":")
        .replace("{1:", "{\"1\":");
    assert!(serde_json::from_str::<serde_json::Value>(ROUTE_FASTJSON).is_err());
    let a = TopicRouteData::decode(ROUTE_FASTJSON.as_bytes()).unwrap();
    let b = TopicRouteData::decode(standard.as_bytes()).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.master_addr("broker-a"), Some("127.0.0.1:10911"));
    assert_eq!(
        a.broker("broker-a")
            .unwrap()
            .broker_addrs
            .get(&1)
            .map(String::as_str),
        Some("127.0.0.1:10912")
    );
    assert_eq!(a.master_addr("broker-c"), None);
    assert_eq!(
        a.broker("broker-c").unwrap().select_addr(),
        Some("127.0.0.1:10932")
    );
    assert_eq!(a.all_addrs().count(), 4);
    // Our own output parses back.
    assert_eq!(TopicRouteData::decode(&a.encode().unwrap()).unwrap(), a);
}

#[test]
fn route_queue_sets() {
    let route = TopicRouteData::decode(ROUTE_FASTJSON.as_bytes()).unwrap();
    let names = |qs: Vec<MessageQueue>| -> Vec<String> {
        qs.into_iter()
            .map(|q| format!("{}:{}", q.broker_name, q.queue_id))
            .collect()
    };
    // Readable: in route order, master or not; broker-d is write-only.
    assert_eq!(
        names(route.consumer_queues("T")),
        vec![
            "broker-b:0",
            "broker-b:1",
            "broker-a:0",
            "broker-a:1",
            "broker-a:2",
            "broker-c:0"
        ]
    );
    // Writable with a master, sorted by broker name: broker-c has no master, broker-d no
    // broker data.
    assert_eq!(
        names(route.producer_queues("T")),
        vec!["broker-a:0", "broker-b:0", "broker-b:1"]
    );
}

#[test]
fn route_errors_are_typed() {
    for bad in ["", "{", "7", r#"{"queueDatas":7}"#, "\u{0}"] {
        assert!(
            matches!(
                TopicRouteData::decode(bad.as_bytes()),
                Err(CodecError::Json { .. })
            ),
            "{bad:?}"
        );
    }
    // A 5.x static-topic route keeps its mapping visible.
    let r = TopicRouteData::decode(
        br#"{"queueDatas":[],"brokerDatas":[],"topicQueueMappingByBroker":{"b":{}}}"#,
    )
    .unwrap();
    assert!(r.topic_queue_mapping_by_broker.is_some());
}

#[test]
fn heartbeat_json_shape() {
    let hb = HeartbeatData {
        client_id: "10.0.0.5@1#2".into(),
        producer_data_set: vec![],
        consumer_data_set: vec![ConsumerData {
            group_name: "g".into(),
            consume_type: ConsumeType::ConsumePassively,
            message_model: MessageModel::Clustering,
            consume_from_where: ConsumeFromWhere::ConsumeFromLastOffset,
            subscription_data_set: vec![
                SubscriptionData::tag("TopicA", "TagA || TagB ||  || TagA", 1_700_000_000_000),
                SubscriptionData::tag("%RETRY%g", "*", 1_700_000_000_000),
            ],
            unit_mode: false,
        }],
        heartbeat_fingerprint: None,
        without_sub: None,
    };
    let json = String::from_utf8(hb.encode().unwrap()).unwrap();
    assert_eq!(
        json,
        concat!(
            r#"{"clientID":"10.0.0.5@1#2","producerDataSet":[],"consumerDataSet":[{"groupName":"g","#,
            r#""consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING","consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","#,
            r#""subscriptionDataSet":[{"classFilterMode":false,"topic":"TopicA","subString":"TagA || TagB ||  || TagA","#,
            r#""tagsSet":["TagA","TagB"],"codeSet":[2598919,2598920],"subVersion":1700000000000,"expressionType":"TAG"},"#,
            r#"{"classFilterMode":false,"topic":"%RETRY%g","subString":"*","tagsSet":[],"codeSet":[],"#,
            r#""subVersion":1700000000000,"expressionType":"TAG"}],"unitMode":false}]}"#
        )
    );
    assert_eq!(HeartbeatData::decode(json.as_bytes()).unwrap(), hb);
}

#[test]
fn subscription_rules() {
    let all = SubscriptionData::tag("T", "  ", 1);
    assert_eq!(all.sub_string, "*");
    assert!(all.matches_tag(None));
    let tags = SubscriptionData::tag("T", "A||B", 1);
    assert!(tags.matches_tag(Some("A")));
    assert!(!tags.matches_tag(Some("C")));
    assert!(!tags.matches_tag(None), "no TAGS: dropped, as Java does");
    let sql = SubscriptionData::sql92("T", "a > 1", 1);
    assert_eq!(sql.expression_type, "SQL92");
    assert!(sql.matches_tag(Some("anything")));
}

#[test]
fn consumer_list_and_lock_bodies() {
    let list = ConsumerListBody::decode(br#"{"consumerIdList":["b@2","a@1"]}"#).unwrap();
    assert_eq!(list.consumer_id_list, vec!["b@2", "a@1"]);

    let lock = LockBatchRequestBody {
        consumer_group: "g".into(),
        client_id: "c".into(),
        only_this_broker: false,
        mq_set: vec![MessageQueue::new("T", "broker-a", 0)],
    };
    assert_eq!(
        String::from_utf8(lock.encode().unwrap()).unwrap(),
        r#"{"consumerGroup":"g","clientId":"c","onlyThisBroker":false,"mqSet":[{"topic":"T","brokerName":"broker-a","queueId":0}]}"#
    );
    let resp = LockBatchResponseBody::decode(
        br#"{"lockOKMQSet":[{"brokerName":"broker-a","queueId":1,"topic":"T"}]}"#,
    )
    .unwrap();
    assert_eq!(
        resp.lock_ok_mq_set,
        vec![MessageQueue::new("T", "broker-a", 1)]
    );
    let unlock = UnlockBatchRequestBody::decode(&lock.encode().unwrap()).unwrap();
    assert_eq!(unlock.mq_set, lock.mq_set);
}

#[test]
fn consume_directly_result_and_check_client() {
    let r = ConsumeMessageDirectlyResult {
        order: false,
        auto_commit: true,
        consume_result: ConsumeResult::CrSuccess,
        remark: None,
        spent_time_mills: 3,
    };
    assert_eq!(
        String::from_utf8(r.encode().unwrap()).unwrap(),
        r#"{"order":false,"autoCommit":true,"consumeResult":"CR_SUCCESS","spentTimeMills":3}"#
    );
    let check = CheckClientRequestBody {
        client_id: "c".into(),
        group: "g".into(),
        subscription_data: SubscriptionData::sql92("T", "a>1", 5),
        namespace: None,
    };
    assert_eq!(
        CheckClientRequestBody::decode(&check.encode().unwrap()).unwrap(),
        check
    );
}

#[test]
fn message_queue_order_and_display() {
    let mut qs = [
        MessageQueue::new("T", "b", 0),
        MessageQueue::new("T", "a", 10),
        MessageQueue::new("T", "a", 2),
        MessageQueue::new("S", "z", 0),
    ];
    qs.sort();
    assert_eq!(qs[0].topic, "S");
    assert_eq!((qs[1].broker_name.as_str(), qs[1].queue_id), ("a", 2));
    assert_eq!(
        qs[2].to_string(),
        "MessageQueue [topic=T, brokerName=a, queueId=10]"
    );
}

#[test]
fn reset_offset_body_fastjson_object_keys() {
    let text = r#"{"offsetTable":{{"brokerName":"broker-a","queueId":0,"topic":"T"}:100,{"brokerName":"broker-b","queueId":3,"topic":"T"}:-1}}"#;
    let body = ResetOffsetBody::decode(text.as_bytes()).unwrap();
    assert_eq!(body.offset_table.len(), 2);
    assert_eq!(
        body.offset_table
            .get(&MessageQueue::new("T", "broker-a", 0)),
        Some(&100)
    );
    assert_eq!(
        body.offset_table
            .get(&MessageQueue::new("T", "broker-b", 3)),
        Some(&-1)
    );
    assert_eq!(
        ResetOffsetBody::decode(&body.encode_fastjson().unwrap()).unwrap(),
        body
    );

    // Standard JSON with the queue as a string key, whitespace, and an unknown field.
    let standard = r#" { "x" : [1, {"y": null}],
        "offsetTable" : { "{\"topic\":\"T\",\"brokerName\":\"broker-a\",\"queueId\":0}" : 100 } } "#;
    let body2 = ResetOffsetBody::decode(standard.as_bytes()).unwrap();
    assert_eq!(body2.offset_table.len(), 1);
    assert_eq!(
        ResetOffsetBody::decode(b"{}").unwrap().offset_table.len(),
        0
    );
    assert_eq!(
        ResetOffsetBody::decode(br#"{"offsetTable":null}"#)
            .unwrap()
            .offset_table
            .len(),
        0
    );
}

#[test]
fn reset_offset_body_errors_are_typed() {
    for bad in [
        "",
        "{",
        r#"{"offsetTable":{{"topic":"T"}:1}}"#,
        r#"{"offsetTable":{{"brokerName":"a","queueId":0,"topic":"T"}:"x"}}"#,
        r#"{"offsetTable":{{"brokerName":"a","queueId":0,"topic":"T"}:1}"#,
        r#"{"offsetTable":{}} trailing"#,
        r#"{"offsetTable":[]}"#,
    ] {
        let err = ResetOffsetBody::decode(bad.as_bytes()).unwrap_err();
        assert!(
            matches!(err, CodecError::Json { .. } | CodecError::Truncated { .. }),
            "{bad:?}: {err:?}"
        );
    }
}
